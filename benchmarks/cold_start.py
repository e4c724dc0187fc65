"""Cold start: the first call of each compiled kernel in a new process, uncached vs cached.

Run from the repository root: ``PYTHONPATH=. .venv/bin/python benchmarks/cold_start.py``
(``--repeats 3`` by default). Each case runs in fresh interpreters: first with empty numba and
eoxr kernel caches (``NUMBA_CACHE_DIR`` and ``EOXR_CACHE_DIR`` pointing to a new temporary
folder: every kernel compiles), then twice more on the caches that run filled (the machine code
is loaded from disk). The time is that of the first call on a small input, after the imports;
the warm call (the same call again in the same process) is printed next to it, so what is left
above it is the cost of the first call. Best of ``--repeats`` per column.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

CASES = {
    "sar.lee (moment kernel, point step, histogram)": (
        "import numpy as np, xarray as xr\nfrom eoxr import sar\n"
        "a = xr.DataArray(np.random.default_rng(0).gamma(4.4, 0.1, (256, 256)).astype('f4'),"
        " dims=('y', 'x'), attrs={'units': '1'})\n"
        "call = lambda: sar.lee(a, looks=4.4)\n"
    ),
    "sar.refined_lee": (
        "import numpy as np, xarray as xr\nfrom eoxr import sar\n"
        "a = xr.DataArray(np.random.default_rng(0).gamma(4.4, 0.1, (256, 256)).astype('f4'),"
        " dims=('y', 'x'), attrs={'units': '1'})\n"
        "call = lambda: sar.refined_lee(a, looks=4.4)\n"
    ),
    "sar.lee_sigma": (
        "import numpy as np, xarray as xr\nfrom eoxr import sar\n"
        "a = xr.DataArray(np.random.default_rng(0).gamma(4.4, 0.1, (256, 256)).astype('f4'),"
        " dims=('y', 'x'), attrs={'units': '1'})\n"
        "call = lambda: sar.lee_sigma(a, looks=4.4)\n"
    ),
    "sar.frost": (
        "import numpy as np, xarray as xr\nfrom eoxr import sar\n"
        "a = xr.DataArray(np.random.default_rng(0).gamma(4.4, 0.1, (256, 256)).astype('f4'),"
        " dims=('y', 'x'), attrs={'units': '1'})\n"
        "call = lambda: sar.frost(a)\n"
    ),
    "indices NDVI (generated kernel)": (
        "import numpy as np, xarray as xr, eoxr\n"
        "rng = np.random.default_rng(0)\n"
        "ds = xr.Dataset({b: (('y', 'x'), rng.random((256, 256), dtype='f4'))"
        " for b in ('red', 'nir')}, attrs={'platform': 'sentinel-2a'})\n"
        "call = lambda: ds.eo.indices('NDVI')\n"
    ),
}

_RUN = """
import time
{setup}
t0 = time.perf_counter(); call(); first = time.perf_counter() - t0
t0 = time.perf_counter(); call(); warm = time.perf_counter() - t0
print(__import__('json').dumps([first, warm]))
"""


def once(setup: str, cache: str) -> tuple[float, float]:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, EOXR_CACHE_DIR=cache)
    out = subprocess.run(
        [sys.executable, "-c", _RUN.format(setup=setup)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return tuple(json.loads(out.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print(f"first call in a new process, s (best of {args.repeats}); warm: the same call again")
    print(f"  {'case':48s} {'uncached':>9s} {'cached':>9s} {'warm':>9s}")
    for name, setup in CASES.items():
        cold, cached, warm = [], [], []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as tmp:
                first, w = once(setup, tmp)
                cold.append(first)
                for _ in range(2):
                    first, w = once(setup, tmp)
                    cached.append(first)
                    warm.append(w)
        print(f"  {name:48s} {min(cold):9.3f} {min(cached):9.3f} {min(warm):9.4f}")


if __name__ == "__main__":
    main()
