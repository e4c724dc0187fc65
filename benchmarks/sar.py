"""SAR speckle filters against the box-filter floor and a scipy-vectorised Lee, in one process.

Run: ``.venv/bin/python benchmarks/sar.py`` (about a minute on 2 cores; ``--small`` for a
512x512 smoke run, ``--dask`` adds a dask run, ``--findpeaks`` the findpeaks package's
pure-Python filters against eoxr on the same crops, same protocol).

* 2048x2048 float32 gamma speckle (4.4 looks, two backscatter levels), windows 7x7 and 11x11,
  on 1 thread and on every core (numba and OpenCV thread counts set alike; scipy is
  single-threaded);
* floor: one ``cv2.blur`` box filter of the same image and window (a Lee filter needs two box
  means plus a pointwise step, so this bounds any Lee implementation from above);
* reference: a vectorised Lee from ``scipy.ndimage.uniform_filter`` in float32;
* eoxr: every adaptive filter through the public API with its defaults (xarray in, xarray out,
  point targets kept, their threshold each slice's 98th percentile, a one-pass statistic;
  ``looks`` given), Mpx/s and the ratio to the floor and to scipy; Lee also with
  ``point_threshold=`` given (no statistic pass) and with ``keep_points=False`` (no point
  targets), the Lee kernel alone (the numba moment filter on a NaN-padded numpy block, as
  ``map_overlap`` hands it over: no xarray, padding copy, dB check or output allocation), and
  the statistic alone; every adaptive filter with ``keep_points=False`` too (its own kernel
  through the API), and what its defaults cost on top of that kernel;
* ``--dask``: the same on a 4096x4096 dask array in 1024x1024 chunks, next to ``cv2.blur`` and
  the scipy Lee run through dask's ``map_overlap`` on the same chunks, the halo step alone
  (a kernel that copies its block) through dask's ``map_overlap`` and through eoxr's, and the
  same cube as one numpy array (the floor, Lee with its defaults and without points) for what
  the dask rows could at best reach;
* accuracy: max relative error of each Lee against a float64 reference (interior pixels),
  including a Lee from ``cv2.blur`` box sums (float32 sums drift on high-dynamic-range data).

Best of ``REPEAT`` runs, CPU time on 1 thread (robust to other jobs), wall clock on more: on a
shared machine compare ratios inside one run only.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import numba
import numpy as np
import xarray as xr
from scipy import ndimage

from eoxr import sar
from eoxr._dask.overlap import map_overlap
from eoxr.sar import _kernels as K
from eoxr.sar._filtering import _N_STRIPES as N_STRIPES
from eoxr.sar.looks import slice_quantile

LOOKS = 4.4
SIZES = (7, 11)
REPEAT = 9
REPEAT_FLOOR = 25  # the floor takes a few ms: more tries to find a quiet moment
FILTERS = [
    "lee",
    "kuan",
    "gamma_map",
    "enhanced_lee",
    "frost",
    "refined_lee",
    "lee_sigma",
    "boxcar",
]
ADAPTIVE = [name for name in FILTERS if name != "boxcar"]  # the filters with a point step


def best_of(func, repeat=REPEAT, clock=time.perf_counter):
    func()
    times = []
    for _ in range(repeat):
        t0 = clock()
        func()
        times.append(clock() - t0)
    return min(times)


def image(n, seed=0):
    rng = np.random.default_rng(seed)
    clean = np.where((np.arange(n)[:, None] // 256 + np.arange(n)[None, :] // 256) % 2, 0.02, 0.2)
    return (clean * rng.gamma(LOOKS, 1 / LOOKS, (n, n))).astype(np.float32)


def kwargs(name, size):
    """Defaults but the window and ``looks`` (given: no looks-estimate pass)."""
    kw = {} if name in ("boxcar", "frost") else {"looks": LOOKS}
    if name != "refined_lee":
        kw["size"] = size
    return kw


def scipy_lee(img, dtype, size):
    """Vectorised Lee (same formula as eoxr.sar.lee) from uniform_filter local moments."""
    x = img.astype(dtype, copy=False)
    m = ndimage.uniform_filter(x, size)
    m2 = ndimage.uniform_filter(x * x, size)
    return _lee_formula(x, m, m2, dtype)


def cv2_lee(img, size):
    """The same Lee from ``cv2.blur`` box means (float32 running sums inside OpenCV)."""
    import cv2

    m = cv2.blur(img, (size, size))
    m2 = cv2.blur(img * img, (size, size))
    return _lee_formula(img, m, m2, np.float32)


def _lee_formula(x, m, m2, dtype):
    var = np.maximum(m2 - m * m, 0)
    cu2 = dtype(1 / LOOKS)
    ci2 = var / (m * m)
    k = np.clip((ci2 - cu2) / (ci2 + cu2 * cu2), 0, 1)
    return m + k * (x - m)


def rel_err(a, ref, size):
    s = (slice(size, -size),) * 2
    return float(np.max(np.abs(a[s].astype(np.float64) - ref[s]) / np.abs(ref[s])))


def set_threads(k):
    numba.set_num_threads(k)
    try:
        import cv2

        cv2.setNumThreads(k)
    except ImportError:
        pass


def measure(img, threads):
    """Mpx/s of the floor, the scipy Lee and every eoxr filter, per window size."""
    import cv2

    da = xr.DataArray(img, dims=("y", "x"), attrs={"units": "1"})
    px = img.size / 1e6
    set_threads(threads)
    # one thread: CPU time, insensitive to other jobs on a shared machine; more: wall clock
    clock = time.process_time if threads == 1 else time.perf_counter

    def best_of(func, repeat=REPEAT):
        return globals()["best_of"](func, repeat, clock)

    rows = {}
    for size in SIZES:
        r = {
            "floor cv2.blur": px
            / best_of(lambda size=size: cv2.blur(img, (size, size)), REPEAT_FLOOR),
            "scipy Lee f32": px / best_of(lambda size=size: scipy_lee(img, np.float32, size)),
        }
        for name in FILTERS:
            if name == "refined_lee" and size != 7:
                continue
            f = getattr(sar, name)
            kw = kwargs(name, size)
            r[name] = px / best_of(lambda f=f, kw=kw: f(da, **kw))
        kw = dict(kwargs("lee", size), point_threshold=1.0)
        r["lee point_threshold=1"] = px / best_of(lambda kw=kw: sar.lee(da, **kw))
        # each adaptive filter's own kernel through the API (no statistic, no point step): what
        # its defaults cost on top of it (the ratio the "defaults cost" table prints)
        for name in ADAPTIVE:
            if name == "refined_lee" and size != 7:
                continue
            f, kw = getattr(sar, name), dict(kwargs(name, size), keep_points=False)
            r[f"{name} keep_points=False"] = px / best_of(lambda f=f, kw=kw: f(da, **kw))
        # the kernel alone: the moment filter on a NaN-padded numpy block, as map_overlap hands
        # it over (no xarray, no padding copy, no dB check, no output allocation)
        h = size // 2
        block = np.pad(img, h, constant_values=np.nan)
        res = np.empty_like(block)
        r["Lee kernel alone"] = px / best_of(
            lambda h=h, block=block, res=res: K.moment_filter(
                block, h, h, K.LEE, 1 / LOOKS, 0.0, 0.0, 1.0, 0, res, N_STRIPES
            )
        )
        r["98th percentile alone"] = px / best_of(lambda: slice_quantile(da, 0.98))
        rows[size] = r
    return rows


def accuracy(img, size):
    da = xr.DataArray(img, dims=("y", "x"), attrs={"units": "1"})
    # high dynamic range: bright scatterers (x1e4) on the dark half, where float32 sums drift
    hdr = img.copy()
    hdr[::97, ::89] *= 1e4
    out = {}
    for label, data in (("speckle", img), ("speckle + x1e4 points", hdr)):
        ref64 = scipy_lee(data, np.float64, size)
        d = da.copy(data=data)
        eo = sar.lee(d, size=size, looks=LOOKS, keep_points=False).values
        out[label] = {
            "eoxr lee f32 out": rel_err(eo, ref64, size),
            "scipy uniform_filter f32": rel_err(scipy_lee(data, np.float32, size), ref64, size),
            "cv2.blur f32": rel_err(cv2_lee(data, size), ref64, size),
        }
    return out


def dask_speeds(threads, big=4096, repeat=3):
    """Mpx/s on a persisted dask array (1024^2 chunks), peers through ``map_overlap`` too."""
    import cv2
    import dask
    import dask.array as dsa

    gen = dsa.random.default_rng(0).gamma(LOOKS, 1 / LOOKS, (big, big), chunks=1024)
    cube = xr.DataArray(
        (gen * 0.1).astype(np.float32), dims=("y", "x"), attrs={"units": "1"}
    ).persist()
    set_threads(threads)
    px = big * big / 1e6
    runs = {
        "floor cv2.blur (map_overlap)": lambda: cube.data.map_overlap(
            lambda b: cv2.blur(b, (7, 7)), depth=3, boundary="reflect"
        ),
        "scipy Lee f32 (map_overlap)": lambda: cube.data.map_overlap(
            lambda b: scipy_lee(b, np.float32, 7), depth=3, boundary="reflect"
        ),
    }
    for name in FILTERS:
        runs[name] = lambda name=name: getattr(sar, name)(cube, **kwargs(name, 7)).data
    runs["lee point_threshold=1"] = lambda: (
        sar.lee(cube, point_threshold=1.0, **kwargs("lee", 7)).data
    )
    runs["lee keep_points=False"] = lambda: (
        sar.lee(cube, keep_points=False, **kwargs("lee", 7)).data
    )
    # the halo step alone (a kernel that returns a copy of its block): dask's map_overlap, as the
    # peers above use it, and eoxr's (one task per padded block, eoxr/_dask/halo.py)
    runs["halo only: dask map_overlap"] = lambda: cube.data.map_overlap(
        np.copy, depth=3, boundary=np.nan
    )
    runs["halo only: eoxr map_overlap"] = lambda: (
        map_overlap(np.copy, cube, {"y": 3, "x": 3}, boundary="nan").data
    )
    # the same cube as one numpy array, in the same run: what the dask rows could at best reach
    # (x scipy of these rows: eoxr in memory against the scipy peer on dask chunks)
    whole = cube.compute()
    runs["in memory (numpy): floor cv2.blur"] = lambda: cv2.blur(whole.values, (7, 7))
    runs["in memory (numpy): lee"] = lambda: sar.lee(whole, **kwargs("lee", 7))
    runs["in memory (numpy): lee keep_points=False"] = lambda: sar.lee(
        whole, keep_points=False, **kwargs("lee", 7)
    )
    out = {}
    with dask.config.set(scheduler="threads"):
        for name, make in runs.items():
            out[name] = px / best_of(lambda make=make: _done(make()), repeat)
    return out


def _done(result):
    """A dask result computed into memory (persisted); numpy and xarray results as they are."""
    import dask

    return result.persist() if dask.is_dask_collection(result) else result


def findpeaks_speeds(repeat=3):
    """findpeaks and eoxr on the same crops, same protocol: one warm call, best of ``repeat``.

    findpeaks' pure-Python loops run at ~0.04 Mpx/s, so both run on small crops (a 2048^2 image
    would take minutes per call); eoxr's per-call overhead weighs more there than at 2048^2.
    """
    logging.disable(logging.WARNING)
    from findpeaks.filters.frost import frost_filter
    from findpeaks.filters.kuan import kuan_filter
    from findpeaks.filters.lee import lee_filter
    from findpeaks.filters.lee_enhanced import lee_enhanced_filter
    from findpeaks.filters.lee_sigma import lee_sigma_filter

    cu = float(np.sqrt(1 / LOOKS))
    funcs = {
        "lee": (lambda a: lee_filter(a, win_size=7, cu=cu), 128),
        "kuan": (lambda a: kuan_filter(a, win_size=7, cu=cu), 64),
        "frost": (lambda a: frost_filter(a, damping_factor=2.0, win_size=7), 64),
        "enhanced_lee": (
            lambda a: lee_enhanced_filter(
                a, win_size=7, cu=cu, k=1.0, cmax=float(np.sqrt(1 + 2 / LOOKS))
            ),
            64,
        ),
        "lee_sigma": (lambda a: lee_sigma_filter(a, win_size=7, num_looks=4), 64),
    }
    out = {}
    for name, (f, n) in funcs.items():
        crop = image(n, seed=1) * 1000  # findpeaks works on 0-255-like grey values
        da = xr.DataArray(crop, dims=("y", "x"), attrs={"units": "1"})
        kw = {"size": 7} if name == "frost" else {"size": 7, "looks": LOOKS}
        peer = best_of(lambda f=f, crop=crop: f(crop.copy()), repeat)
        ours = best_of(lambda name=name, kw=kw, da=da: getattr(sar, name)(da, **kw), repeat)
        out[name] = (n, n * n / peer / 1e6, n * n / ours / 1e6)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--small", action="store_true", help="512x512 instead of 2048x2048")
    ap.add_argument("--dask", action="store_true", help="also 4096x4096 in 1024 chunks")
    ap.add_argument("--findpeaks", action="store_true", help="also findpeaks (7x7, crops)")
    args = ap.parse_args()
    n = 512 if args.small else 2048
    img = image(n)
    cores = numba.config.NUMBA_NUM_THREADS
    load0 = os.getloadavg()
    tables = {k: measure(img, k) for k in sorted({1, cores})}
    load1 = os.getloadavg()

    print(
        f"\n{n}x{n} float32 gamma speckle, looks {LOOKS}, best of {REPEAT} (1 thread: CPU time, "
        "more: wall clock), Mpx/s "
        f"(higher is better). Load average (1 min) {load0[0]:.1f} before, {load1[0]:.1f} after, "
        f"on {os.cpu_count()} cores."
    )
    print("x floor: share of one cv2.blur of the same window; x scipy: speed-up over the scipy Lee")
    for threads, rows in tables.items():
        for size, r in rows.items():
            floor, ref = r["floor cv2.blur"], r["scipy Lee f32"]
            print(f"\n{threads} thread(s), {size}x{size}")
            print(f"  {'method':30s} {'Mpx/s':>8s} {'x floor':>8s} {'x scipy':>8s}")
            for name, speed in r.items():
                print(f"  {name:30s} {speed:8.1f} {speed / floor:8.2f} {speed / ref:8.2f}")
            print(
                "  defaults cost (speed with defaults / speed of the filter's own kernel, "
                "keep_points=False): "
                + ", ".join(
                    f"{name} {r[name] / r[f'{name} keep_points=False']:.2f}"
                    for name in ADAPTIVE
                    if name in r
                )
            )

    print("\nLee accuracy vs a float64 reference (max relative error, interior pixels):")
    for size in SIZES:
        for label, errs in accuracy(img, size).items():
            text = ", ".join(f"{k} {v:.1e}" for k, v in errs.items())
            print(f"  {size}x{size} {label}: {text}")

    if args.dask:
        speeds = dask_speeds(cores)
        floor, ref = speeds["floor cv2.blur (map_overlap)"], speeds["scipy Lee f32 (map_overlap)"]
        print(
            f"\ndask 4096x4096, 1024x1024 chunks, threaded scheduler, 7x7, defaults, best of 3, "
            f"Mpx/s ({cores} cores)"
        )
        print(f"  {'method':30s} {'Mpx/s':>8s} {'x floor':>8s} {'x scipy':>8s}")
        for name, speed in speeds.items():
            print(f"  {name:30s} {speed:8.1f} {speed / floor:8.2f} {speed / ref:8.2f}")
    if args.findpeaks:
        print(
            "\nfindpeaks vs eoxr (defaults), 7x7, the same crop for both, one warm call then "
            f"best of 3 each, Mpx/s ({cores} cores)"
        )
        print(f"  {'filter':14s} {'crop':>6s} {'findpeaks':>10s} {'eoxr':>10s} {'x':>8s}")
        for name, (n, peer, ours) in findpeaks_speeds().items():
            print(f"  {name:14s} {n:6d} {peer:10.4f} {ours:10.2f} {ours / peer:8.0f}")


if __name__ == "__main__":
    main()
