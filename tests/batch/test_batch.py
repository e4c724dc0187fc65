"""eoxr batch: the cluster notebook through papermill on a real `dask scheduler`, and the API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import xarray as xr

import eoxr
from eoxr.io.write_zarr import write_state
from tests.conftest import require

require("papermill", extra="batch")
require("distributed", extra="distributed")
ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "08_cluster_batch.ipynb"


def tiny_notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(
        "x = 1\nscheduler_address = None\nout = None", metadata={"tags": ["parameters"]}
    )
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)
    return path


@pytest.mark.slow  # papermill runs on a real scheduler: `make test-slow` (CI runs it)
@pytest.mark.notebook
def test_cli_runs_cluster_notebook_on_real_scheduler(dask_scheduler, tmp_path, worktree_env):
    params = tmp_path / "runs.yaml"
    params.write_text(
        "- name: summer\n  start: '2009-06-01'\n  end: '2009-08-31'\n"
        "- name: broken\n  start: not-a-date\n"
    )
    out = tmp_path / "runs"
    proc = subprocess.run(
        [sys.executable, "-m", "eoxr", "batch", str(NOTEBOOK), "--params", str(params)]
        + ["--out", str(out), "--scheduler", dask_scheduler, "--timeout", "300"],
        capture_output=True,
        text=True,
        timeout=900,
        env=worktree_env,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-3000:]  # one run failed
    lines = proc.stdout.splitlines()
    assert any(line.startswith("[1/2] summer: ok in") for line in lines), proc.stdout
    failed = next(line for line in lines if line.startswith("[2/2] broken: failed"))
    assert "In[" in failed  # the error cell
    assert "1 ok, 1 failed" in proc.stdout
    table = pd.read_csv(out / "batch_summary.csv")
    assert table.run.tolist() == ["summer", "broken"]
    assert table.status.tolist() == ["ok", "failed"]
    assert (table.seconds > 0).all()

    # The good run wrote its product through the workers of the real scheduler.
    product = out / "summer" / "landsat_product.zarr"
    assert write_state(product) == "complete"
    ndvi = float(xr.open_zarr(product).ndvi.mean())
    assert 0.6 < ndvi < 0.8
    executed = (out / "summer.ipynb").read_text()
    assert dask_scheduler in executed and "mean NDVI" in executed
    assert (out / "broken.ipynb").exists()


@pytest.fixture
def no_ipykernel_left():
    """Forget the ipykernel modules that jupyter_client imports to find the python3 kernel.

    eoxr's progress default reads "ipykernel imported" as "running in a notebook"; running
    kernels from this process must not turn later tests' progress bars on.
    """
    before = set(sys.modules)
    yield
    for name in [m for m in sys.modules if m.startswith("ipykernel") and m not in before]:
        del sys.modules[name]


def test_api_runs_each_set_on_one_cluster_and_reports_failures(
    tmp_path, worktree_env, no_ipykernel_left
):
    nb = tiny_notebook(
        tmp_path / "tiny.ipynb",
        "import distributed\nfrom pathlib import Path\n"
        "c = distributed.Client(scheduler_address, timeout=30)\n"
        "assert x > 0, 'x must be positive'\n"
        "Path(out).mkdir()\n(Path(out) / 'x.txt').write_text(str(c.submit(lambda v: 2 * v, x)"
        ".result()))",
    )
    lines: list[str] = []
    table = eoxr.batch(
        nb,
        {"a": {"x": 3}, "b": {"x": -1}, "c": {"x": 5}},
        tmp_path / "o",
        n_workers=1,
        printer=lines.append,
    )
    assert table.status.tolist() == ["ok", "failed", "ok"]
    assert (tmp_path / "o" / "a" / "x.txt").read_text() == "6"
    assert (tmp_path / "o" / "c" / "x.txt").read_text() == "10"
    assert "AssertionError: x must be positive" in table.error[1]
    assert table.output[0] == str(tmp_path / "o" / "a")
    assert lines[0].startswith("eoxr batch: 3 runs of tiny.ipynb on tcp://")
    assert any("b: failed" in line for line in lines)
    assert "2 ok, 1 failed" in "\n".join(lines)
    assert {"run", "status", "seconds", "output"} <= set(lines[-1].split("\n")[0].split())
