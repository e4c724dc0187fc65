"""Bad inputs to resumable writes, eoxr.client and eoxr.batch: typed errors, nothing touched.

Every case snapshots the workspace (paths and content digests) before and after: a refused call
neither writes nor deletes anything.
"""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import dask
import dask.array as dsa
import nbformat
import numpy as np
import pytest
import xarray as xr

import eoxr
from eoxr.errors import ClusterError, ParameterError, WriteError
from eoxr.io.write_zarr import write_state
from tests.conftest import require

require("papermill", extra="batch")
ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "08_cluster_batch.ipynb"


def _snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha1(p.read_bytes()).hexdigest() if p.is_file() else "/"
        for p in sorted(root.rglob("*"))
    }


def _refused(root: Path, call, error: type, phrase: str) -> pytest.ExceptionInfo:
    before = _snapshot(root)
    with pytest.raises(error, match=phrase) as info:
        call()
    assert _snapshot(root) == before
    return info


def _cube(fail_at: tuple[int, int] | None = None) -> xr.DataArray:
    def kernel(block, block_info=None):
        if block_info[0]["chunk-location"] == fail_at:
            raise RuntimeError("disk quota exceeded")
        return block + 1

    data = dsa.arange(32 * 32, dtype=np.float32, chunks=256).reshape(32, 32).rechunk(8)
    return xr.DataArray(data.map_blocks(kernel, dtype=np.float32), dims=("y", "x"), name="v")


@pytest.fixture
def interrupted(tmp_path):
    """An eoxr store whose resumable write failed on one chunk: incomplete, others recorded."""
    store = tmp_path / "out.zarr"
    # One thread: no other chunk is still being written when the error comes back.
    with (
        dask.config.set(scheduler="synchronous"),
        pytest.raises(WriteError, match="call again with resume=True"),
    ):
        _cube(fail_at=(2, 1)).eo.to_zarr(store, resume=True)
    assert write_state(store) == "incomplete"
    return store


def test_incomplete_store_without_resume(interrupted):
    call = lambda: _cube().eo.to_zarr(interrupted)  # noqa: E731
    _refused(interrupted.parent, call, WriteError, "incomplete store.*pass resume=True")
    _cube().eo.to_zarr(interrupted, resume=True)  # and resume finishes it
    assert write_state(interrupted) == "complete"
    np.testing.assert_array_equal(xr.open_zarr(interrupted).v.values, _cube().values)


def test_resume_on_a_store_eoxr_did_not_start(tmp_path):
    store = tmp_path / "theirs.zarr"
    xr.Dataset({"v": ("x", np.arange(4.0))}).to_zarr(store, zarr_format=2)
    call = lambda: _cube().eo.to_zarr(store, resume=True)  # noqa: E731
    _refused(tmp_path, call, WriteError, "not a store that eoxr started.*Nothing was changed")


def test_resume_on_a_user_folder(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "thesis.docx").write_bytes(b"chapter 1 " * 50)
    call = lambda: _cube().eo.to_zarr(folder, resume=True)  # noqa: E731
    _refused(tmp_path, call, WriteError, "a directory with 1 entries")


def test_resume_and_overwrite_together(interrupted):
    call = lambda: _cube().eo.to_zarr(interrupted, resume=True, overwrite=True)  # noqa: E731
    _refused(interrupted.parent, call, ParameterError, "pass only one")


@pytest.mark.parametrize(
    "text, phrase",
    [
        ("42\n", "list of mappings.*got int"),
        ("- 2009-06-01\n- 2009-07-01\n", "list of mappings.*got list"),
        ("[]\n", "empty"),
        ("- {name: a}\n- {name: a}\n", "more than once"),
        ("- {name: ../up}\n", "cannot be file names"),
        ("{a: [unclosed\n", "not valid YAML"),
    ],
)
def test_params_that_are_not_runs(tmp_path, text, phrase):
    params = tmp_path / "p.yaml"
    params.write_text(text)
    call = lambda: eoxr.batch(NOTEBOOK, params, tmp_path / "out")  # noqa: E731
    _refused(tmp_path, call, ParameterError, phrase)


def test_unsafe_yaml_tag_is_refused(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text(f"- !!python/object/apply:os.system ['touch {tmp_path / 'pwned'}']\n")
    call = lambda: eoxr.batch(NOTEBOOK, params, tmp_path / "out")  # noqa: E731
    _refused(tmp_path, call, ParameterError, "YAML tag that is refused.*safe loader")
    assert not (tmp_path / "pwned").exists()


def test_unknown_scheduler_times_out(tmp_path):
    with socket.socket() as s:  # a free port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    t0 = time.monotonic()
    _refused(
        tmp_path,
        lambda: eoxr.client(address, timeout=2),
        ClusterError,
        f"no Dask scheduler answered at '{address}' within 2 s",
    )
    assert time.monotonic() - t0 < 15
    call = lambda: eoxr.batch(  # noqa: E731
        NOTEBOOK, [{}], tmp_path / "out", scheduler=address, connect_timeout=2
    )
    _refused(tmp_path, call, ClusterError, "is running")  # and `out` is not created


def test_notebook_without_parameters_cell(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("start = '2009-06-01'")]
    nbformat.write(nb, tmp_path / "plain.ipynb")
    call = lambda: eoxr.batch(tmp_path / "plain.ipynb", [{"start": "x"}], tmp_path / "o")  # noqa: E731
    _refused(tmp_path, call, ParameterError, "no cell tagged `parameters`")


def test_parameter_the_notebook_does_not_declare(tmp_path):
    call = lambda: eoxr.batch(NOTEBOOK, [{"strat": "2009-06-01"}], tmp_path / "o")  # noqa: E731
    _refused(tmp_path, call, ParameterError, r"\['strat'\] are not declared.*'start'")


def test_cli_reports_bad_params_without_traceback(tmp_path):
    params = tmp_path / "p.yaml"
    params.write_text("just a string\n")
    before = _snapshot(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-m", "eoxr", "batch", str(NOTEBOOK), "--params", str(params)]
        + ["--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 2
    assert "eoxr batch: parameters must be a list of mappings" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert _snapshot(tmp_path) == before
