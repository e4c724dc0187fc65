"""Child process of the resume tests: write a cube whose chunks are slow, with resume=True.

Usage: ``python _slow_write.py STORE LOG DELAY``. Chunks are computed one at a time (synchronous
scheduler) and each appends its block index to LOG before sleeping DELAY seconds, so a parent
can kill the process after a known number of chunks.
"""

import signal
import subprocess
import sys
import time
from collections.abc import Callable

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

import eoxr  # noqa: F401  (registers .eo)

N, CHUNK = 64, 16


def slow(block, block_info=None, log=None, delay=0.0):
    loc = block_info[0]["chunk-location"]
    with open(log, "a") as f:
        f.write(".".join(map(str, loc)) + "\n")
    time.sleep(delay)
    return np.sqrt(block) * 2.0 - 1.0


def cube(log: str, delay: float) -> xr.DataArray:
    base = dsa.arange(N * N, dtype=np.float32, chunks=CHUNK * N).reshape(N, N).rechunk(CHUNK)
    data = base.map_blocks(slow, log=log, delay=delay, dtype=np.float32)
    da = xr.DataArray(
        data,
        dims=("y", "x"),
        coords={"y": 4_800_000.0 - 10.0 * np.arange(N), "x": 600_000.0 + 10.0 * np.arange(N)},
        name="signal",
        attrs={"long_name": "slow signal", "units": "1"},
    )
    return da.rio.write_crs("EPSG:32633")


def kill_after(proc: subprocess.Popen, recorded: Callable[[], int], n: int = 4) -> None:
    """SIGKILL ``proc`` once ``recorded()`` (chunks recorded as done) reaches ``n``."""
    try:
        deadline = time.monotonic() + 120
        while recorded() < n:
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "the slow write did not progress"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


if __name__ == "__main__":
    store, log, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
    with dask.config.set(scheduler="synchronous"):
        cube(log, delay).eo.to_zarr(store, resume=True)
    print("done")
