"""to_zarr(resume=True): a write killed with SIGKILL is finished by a re-run, chunk for chunk."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import eoxr.testing as et
from eoxr.errors import ParameterError, WriteError
from eoxr.io.write_zarr import write_state
from tests.batch._slow_write import kill_after

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "_slow_write.py"
TOTAL = 16  # 64x64 in 16x16 chunks


def _run(store: Path, log: Path, delay: float, env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(store), str(log), str(delay)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _done(store: Path) -> set[str]:
    record = store / ".eoxr_write" / "done"
    return set(os.listdir(record)) if record.is_dir() else set()


@pytest.mark.slow  # 8-15 s of real subprocesses: in `make test-slow` (CI runs it), not `make test`
def test_sigkill_mid_write_then_resume_equals_uninterrupted(tmp_path, worktree_env):
    store, log = tmp_path / "killed.zarr", tmp_path / "first.log"
    kill_after(_run(store, log, 0.4, worktree_env), lambda: len(_done(store)))

    # Killed mid-write: an incomplete store, some chunks recorded, some not.
    assert write_state(store) == "incomplete"
    done = {name.split("@")[1] for name in _done(store)}
    assert 4 <= len(done) < TOTAL
    chunk_mtimes = {k: (store / "signal" / k).stat().st_mtime_ns for k in done}
    with pytest.raises(WriteError, match="resume=True"):  # refused without resume
        et.make_cube().eo.to_zarr(store)

    # Resume: only the chunks not recorded are computed and written.
    resumed = _run(store, tmp_path / "second.log", 0.0, worktree_env)
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err[-3000:]
    recomputed = set((tmp_path / "second.log").read_text().split())
    all_blocks = {f"{i}.{j}" for i in range(4) for j in range(4)}
    assert recomputed == all_blocks - done
    for k, mtime in chunk_mtimes.items():  # completed chunks were not rewritten
        assert (store / "signal" / k).stat().st_mtime_ns == mtime
    assert write_state(store) == "complete"
    assert not (store / ".eoxr_write").exists()

    # The same as a write that was never interrupted.
    ref = tmp_path / "uninterrupted.zarr"
    whole = _run(ref, tmp_path / "ref.log", 0.0, worktree_env)
    assert whole.communicate(timeout=120) and whole.returncode == 0
    a = xr.open_zarr(store, decode_coords="all").load()
    b = xr.open_zarr(ref, decode_coords="all").load()
    xr.testing.assert_identical(a, b)
    assert a.rio.crs.to_epsg() == 32633
    np.testing.assert_allclose(
        a.signal.values, np.sqrt(np.arange(64 * 64, dtype=np.float32)).reshape(64, 64) * 2 - 1
    )

    # A finished store: resuming again computes nothing and changes nothing.
    again = _run(store, tmp_path / "third.log", 0.0, worktree_env)
    assert again.communicate(timeout=120) and again.returncode == 0
    assert not (tmp_path / "third.log").exists()


def test_resume_matches_plain_write_and_works_on_numpy(tmp_path):
    cube = et.make_cube(chunks={"y": 16, "x": 16})
    cube.eo.to_zarr(tmp_path / "plain.zarr")
    cube.eo.to_zarr(tmp_path / "resumable.zarr", resume=True)
    plain = xr.open_zarr(tmp_path / "plain.zarr", decode_coords="all").load()
    resumable = xr.open_zarr(tmp_path / "resumable.zarr", decode_coords="all").load()
    assert resumable.attrs.pop("eoxr:write_state") == "complete"
    xr.testing.assert_identical(plain, resumable)

    eager = et.make_cube()  # numpy-backed: written whole at creation, then marked complete
    eager.eo.to_zarr(tmp_path / "eager.zarr", resume=True)
    assert write_state(tmp_path / "eager.zarr") == "complete"
    back = xr.open_zarr(tmp_path / "eager.zarr")
    np.testing.assert_array_equal(back[eager.name or "data"].values, eager.values)


def test_resume_with_other_layout_is_refused(tmp_path, worktree_env):
    store = tmp_path / "s.zarr"
    proc = _run(store, tmp_path / "log", 0.3, worktree_env)
    try:
        deadline = time.monotonic() + 120
        while not _done(store):
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    before = sorted(p.name for p in store.rglob("*"))
    cube = xr.DataArray(np.zeros((64, 64), np.float32), dims=("y", "x"), name="signal")
    with pytest.raises(WriteError, match="another layout"):
        cube.chunk(32).eo.to_zarr(store, resume=True)
    assert sorted(p.name for p in store.rglob("*")) == before
    with pytest.raises(ParameterError, match="only one"):
        cube.eo.to_zarr(store, resume=True, overwrite=True)
    cube.chunk(16).eo.to_zarr(store, overwrite=True)  # overwrite replaces it, atomically
    assert write_state(store) is None
