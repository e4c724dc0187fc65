"""Change detection: IR-MAD, BFAST-monitor and the SAR omnibus test, with pyxccd per pixel.

Run from the repository root: ``PYTHONPATH=. .venv/bin/python benchmarks/change.py`` (full
size: minutes on 2 cores and ~10 GB) or with ``--small`` (seconds). Sizes (full / small):

* IR-MAD on 2 dates x 6 bands x 4096^2 (1024^2 chunks) / 1024^2: time of the fit on the
  1,000,000-pixel sample (all iterations, per iteration) and of one lazy pass applying the
  transform (chi-square written to nothing: ``.sum()``), the "iteration pass" of the target;
* BFAST-monitor on 250 dates x 512^2 (128^2 chunks) / 128^2, NDVI-like series with 20 % NaN:
  us per pixel, and per pixel per core;
* omnibus on 10 dates x 2 bands x 2048^2 (512^2 chunks) / 512^2 gamma speckle: us per pixel;
* pyxccd (COLD, compiled C, per-pixel calls), where installed, inputs prepared before the
  timer, best of 3: on the BFAST-monitor series themselves (one band, flexible mode: the
  nearest to equal work; COLD still fits every break) and in its standard 7-band mode
  (labelled: different work). us per pixel on one core, to set against BFAST-monitor's
  us/pixel/core.

Targets: BFAST-monitor <= 20 us/pixel/core; IR-MAD <= 3 s per iteration pass at full size.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
import xarray as xr

from eoxr.change import bfast_monitor, irmad, omnibus
from eoxr.change.irmad import draw_sample, fit_irmad


def timed(func):
    t0 = time.perf_counter()
    out = func()
    return out, time.perf_counter() - t0


def timed_cpu(func):
    """Result, wall seconds and CPU seconds of all threads (per-core cost on a shared box)."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = func()
    return out, time.perf_counter() - t0, time.process_time() - c0


def bench_irmad(size: int, chunk: int) -> list[str]:
    rng = np.random.default_rng(0)
    base = rng.gamma(4.0, 0.02, (6, size, size)).astype("float32")
    a = xr.DataArray(base, dims=("band", "y", "x")).chunk({"y": chunk, "x": chunk})
    later = base * 1.3 + 0.01 + rng.normal(0, 0.005, base.shape).astype("float32")
    later[:, : size // 8, : size // 8] = later[::-1, : size // 8, : size // 8]
    b = a.copy(data=later).chunk({"y": chunk, "x": chunk})
    (x, y), draw = timed(lambda: draw_sample(a, b, 1_000_000, 0))
    fit, iterate = timed(lambda: fit_irmad(x, y, max_iter=50, tol=1e-3, reg=0.0))
    res, total = timed(lambda: irmad(a, b, sample=1_000_000))
    _, apply = timed(lambda: float(res.chi2.sum()))
    it = fit["iterations"]
    return [
        f"IR-MAD 2 x 6 x {size}^2: sample of {len(x):,} px drawn in one pass {draw:.2f} s; "
        f"{it} iterations {iterate:.2f} s = {iterate / it:.3f} s/iteration; irmad() "
        f"{total:.2f} s; lazy apply pass over the image {apply:.2f} s"
    ]


def ndvi_series(size: int, dates: int) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The NDVI-like cube of the BFAST-monitor and pyxccd rows: season + noise, 20 % NaN."""
    rng = np.random.default_rng(1)
    times = pd.date_range("2010-01-01", periods=dates, freq="8D")
    t = (times.day_of_year.to_numpy() / 365.25)[:, None, None]
    y = 0.5 + 0.2 * np.sin(2 * np.pi * t) + rng.normal(0, 0.03, (dates, size, size))
    y[rng.random(y.shape) < 0.2] = np.nan
    return times, y.astype("float32")


def bench_bfast(size: int, chunk: int, dates: int) -> list[str]:
    times, y = ndvi_series(size, dates)
    da = xr.DataArray(y, dims=("time", "y", "x"), coords={"time": times})
    da = da.chunk({"time": -1, "y": chunk, "x": chunk})
    start = times[dates // 2]
    bfast_monitor(da.isel(y=slice(0, 4), x=slice(0, 4)), monitor_start=start).compute()  # JIT
    res, secs, cpu = timed_cpu(lambda: bfast_monitor(da, monitor_start=start).compute())
    cores = os.cpu_count() or 1
    us = secs / size**2 * 1e6
    return [
        f"BFAST-monitor {dates} dates x {size}^2: {secs:.2f} s = {us:.2f} us/pixel wall "
        f"({us * cores:.2f} us/pixel/core on {cores} cores); CPU time "
        f"{cpu / size**2 * 1e6:.2f} us/pixel; breaks on "
        f"{float((res.status == 1).mean()):.1%} of no-break pixels (level 0.05)"
    ]


def bench_omnibus(size: int, chunk: int) -> list[str]:
    rng = np.random.default_rng(2)
    x = rng.gamma(4.4, 1 / 4.4, (10, 2, size, size)).astype("float32")
    da = xr.DataArray(x, dims=("time", "band", "y", "x"), attrs={"units": "1"})
    da = da.assign_coords(
        time=pd.date_range("2024-01-01", periods=10, freq="12D"), band=["VV", "VH"]
    )
    da = da.chunk({"y": chunk, "x": chunk})
    res, secs = timed(lambda: omnibus(da, looks=4.4).compute())
    return [
        f"omnibus 10 x 2 x {size}^2: {secs:.2f} s = {secs / size**2 * 1e6:.2f} us/pixel; "
        f"FPR of Q {float((res.p_q < 0.01).mean()):.4f} at alpha 0.01"
    ]


def bench_pyxccd(n_pixels: int, size: int, dates: int, repeat: int = 3) -> list[str]:
    """pyxccd per pixel, inputs prepared before the timer, best of ``repeat`` passes.

    Two rows, both labelled: COLD on the same single-index series as BFAST-monitor (flexible
    mode, one band; the nearest to equal work, though COLD still fits harmonic segments with
    lasso and looks for every break while BFAST-monitor tests one monitoring period), and COLD
    in its standard mode on 7 bands (6 reflectances + thermal): different work.
    """
    try:
        import pyxccd
    except ImportError:
        return ["pyxccd: not installed (pip install pyxccd), skipped"]
    times, y = ndvi_series(size, dates)
    days = (times.to_julian_date() - 1721424.5).to_numpy().astype(np.int64)
    pix = y.reshape(dates, -1)[:, :n_pixels]
    bad = np.isnan(pix)
    series = [np.where(bad[:, i], 0, np.round(pix[:, i] * 10000)).astype(np.int64)[:, None]
              for i in range(pix.shape[1])]  # fmt: skip
    qas = [np.where(bad[:, i], 4, 0).astype(np.int64) for i in range(pix.shape[1])]

    def one_band():
        for ts, qa in zip(series, qas):
            pyxccd.cold_detect_flex(days, ts, qa, lam=20, tmask_b1_index=1, tmask_b2_index=1)

    rng = np.random.default_rng(3)
    season = 1000 + 400 * np.sin(2 * np.pi * days / 365.25)
    seven = [
        [(season * f + rng.normal(0, 30, dates)).astype(np.int64) for f in (0.3, 0.5, 0.4, 2.0)]
        + [(season * f + rng.normal(0, 30, dates)).astype(np.int64) for f in (1.5, 0.8)]
        + [np.full(dates, 2900, np.int64), np.zeros(dates, np.int64)]
        for _ in range(pix.shape[1])
    ]

    def seven_bands():
        for bands in seven:
            pyxccd.cold_detect(days, *bands)

    out = []
    for label, func in (
        ("COLD flex, 1 band = the BFAST-monitor series (nearest to equal work)", one_band),
        ("COLD, 7 bands (6 + thermal), all breaks: different work from BFAST", seven_bands),
    ):
        func()  # warm
        secs = min(timed(func)[1] for _ in range(repeat))
        out.append(
            f"pyxccd {label}: {dates} dates, {pix.shape[1]} pixels, best of {repeat}: "
            f"{secs / pix.shape[1] * 1e6:.0f} us/pixel (1 core)"
        )
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--small", action="store_true", help="reduced sizes (seconds, not minutes)")
    args = p.parse_args()
    if args.small:
        sizes = {"irmad": (1024, 512), "bfast": (128, 64, 250), "omnibus": (512, 256), "xccd": 50}
    else:
        sizes = {"irmad": (4096, 1024), "bfast": (512, 128, 250), "omnibus": (2048, 512),
                 "xccd": 500}  # fmt: skip
    lines = []
    lines += bench_irmad(*sizes["irmad"])
    lines += bench_bfast(*sizes["bfast"])
    lines += bench_omnibus(*sizes["omnibus"])
    lines += bench_pyxccd(sizes["xccd"], sizes["bfast"][0], sizes["bfast"][2])
    print("\n".join(lines))


if __name__ == "__main__":
    main()
