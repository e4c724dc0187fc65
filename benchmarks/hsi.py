"""Benchmark: hyperspectral denoising, eoxr vs Spectral Python (SPy), seconds per 100 megavoxels.

Run: ``.venv/bin/python benchmarks/hsi.py [--size 1024] [--bands 200] [--big 2048]``

One process, one synthetic AVIRIS-like float32 cube (``bands x size x size``, from
:func:`eoxr.datasets.synthetic_hsi`, stripes and dead pixels off) for every method:

* SPy: ``calc_stats`` + ``noise_from_diffs`` + ``mnf(...).denoise(img, num=k)`` on the same data
  in SPy's native (rows, cols, bands) layout (the transpose is done before timing), with the same
  number of components ``k`` that eoxr's ``mnf`` chose;
* eoxr ``mnf`` (fit + apply) on the numpy-backed cube, on a dask cube (256 px chunks), and with a
  10 % pixel sample for the fit; ``pca`` and ``savgol`` on the full cube;
* ``tv`` and ``subspace`` (spatial, much slower per voxel) on a ``--crop`` px window, scaled.

First the streaming case: ``mnf`` on a lazily generated ``bands x big x big`` dask cube that is
never held in memory (each 256 px block is generated on demand), reporting the peak resident
memory next to what SPy would need to hold the cube and its float64 statistics input.
Times are the best of ``--repeat`` runs; the machine is shared, so compare ratios within a run.
"""

from __future__ import annotations

import argparse
import resource
import time
import warnings

import dask
import dask.array as dsa
import numpy as np
import xarray as xr


def best(fn, repeat: int) -> float:
    ts = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t)
    return min(ts)


def spy_mnf(img: np.ndarray, k: int) -> np.ndarray:
    import spectral

    signal = spectral.calc_stats(img)
    noise = spectral.noise_from_diffs(img)
    return spectral.mnf(signal, noise).denoise(img, num=k)


def _block(block_id, bands: int, n: int, wl: np.ndarray, em: np.ndarray) -> np.ndarray:
    """One generated (bands, n, n) block: smooth mixtures plus band-varying noise."""
    rng = np.random.default_rng(block_id[1] * 1009 + block_id[2])
    yy, xx = np.mgrid[0:n, 0:n] / n
    ph = rng.uniform(0, 2 * np.pi, (em.shape[0], 2))
    ab = np.stack([1.5 + np.sin(3 * yy + p[0]) * np.cos(2 * xx + p[1]) for p in ph])
    ab /= ab.sum(axis=0, keepdims=True)
    sigma = 0.004 * (1 + 2 * (wl > 1800))
    out = np.einsum("kb,kyx->byx", em, ab) + rng.normal(size=(bands, n, n)) * sigma[:, None, None]
    return out.astype("float32")


def lazy_cube(bands: int, size: int, chunk: int = 256) -> xr.DataArray:
    from eoxr.datasets import synthetic_hsi

    ref = synthetic_hsi(shape=(16, 16), n_bands=bands)
    em = ref.extras["endmembers"].values
    wl = ref.cube.wavelength.values
    data = dsa.map_blocks(
        _block,
        dtype="float32",
        chunks=((bands,), (chunk,) * (size // chunk), (chunk,) * (size // chunk)),
        bands=bands,
        n=chunk,
        wl=wl,
        em=em,
        meta=np.empty((0, 0, 0), "float32"),
    )
    return xr.DataArray(data, dims=("band", "y", "x"), coords={"wavelength": ("band", wl)})


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--bands", type=int, default=200)
    p.add_argument("--crop", type=int, default=256)
    p.add_argument("--big", type=int, default=2048)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--streaming-only", action="store_true")
    a = p.parse_args()
    warnings.simplefilter("ignore")
    _streaming(a)  # first, so that the process's peak RSS measures the streaming run alone
    if not a.streaming_only:
        _in_memory(a)


def _in_memory(a) -> None:
    from eoxr import hsi
    from eoxr.datasets import synthetic_hsi

    t = time.perf_counter()
    cube = synthetic_hsi(
        seed=0, shape=(a.size, a.size), n_bands=a.bands, dead_fraction=0, stripe_fraction=0
    ).cube
    print(
        f"cube {a.bands} x {a.size} x {a.size} float32 "
        f"({cube.nbytes / 1e9:.2f} GB) generated in {time.perf_counter() - t:.0f} s"
    )
    k = hsi.fit_mnf(cube).n_components
    bip = np.ascontiguousarray(np.moveaxis(cube.values, 0, -1))  # SPy's native layout
    dcube = cube.chunk({"band": -1, "y": 256, "x": 256})
    rows = [
        ("SPy mnf+denoise (numpy)", a.size, lambda: spy_mnf(bip, k)),
        ("eoxr mnf (numpy)", a.size, lambda: hsi.mnf(cube, n_components=k).values),
        ("eoxr mnf (dask 256 px)", a.size, lambda: hsi.mnf(dcube, n_components=k).compute()),
        (
            "eoxr mnf sample=10 % of the pixels (numpy)",
            a.size,
            lambda: hsi.mnf(cube, n_components=k, sample=a.size**2 // 10).values,
        ),
        ("eoxr pca (numpy)", a.size, lambda: hsi.pca(cube, n_components=k).values),
        ("eoxr savgol 7/2 (numpy)", a.size, lambda: hsi.savgol(cube, size=7, order=2).values),
    ]
    crop = cube.isel(y=slice(0, a.crop), x=slice(0, a.crop))
    rows += [
        ("eoxr tv (numpy, crop)", a.crop, lambda: hsi.tv(crop).values),
        ("eoxr subspace nlmeans (numpy, crop)", a.crop, lambda: hsi.subspace(crop).values),
    ]
    print(f"\nMNF components kept: {k}.  s/100 Mvox = seconds per 1e8 voxels (lower is faster)")
    print(f"{'method':40s} {'px':>6s} {'seconds':>9s} {'s/100Mvox':>10s} {'vs SPy':>7s}")
    ref = None
    for name, px, fn in rows:
        with dask.config.set(scheduler="threads"):
            secs = best(fn, 1 if "crop" in name else a.repeat)
        per = secs / (a.bands * px * px / 1e8)
        ref = per if ref is None else ref
        print(f"{name:40s} {px:6d} {secs:9.2f} {per:10.2f} {ref / per:6.2f}x")


def _streaming(a) -> None:
    from eoxr import hsi

    big = lazy_cube(a.bands, a.big)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    t = time.perf_counter()
    with dask.config.set(scheduler="threads"):
        out = hsi.mnf(big)
        total = float(out.sum().compute())
    secs = time.perf_counter() - t
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    gb = big.size * 4 / 1e9
    print(
        f"\nstreaming: eoxr mnf on a lazily generated {a.bands} x {a.big} x {a.big} dask cube "
        f"({gb:.1f} GB float32, never held): {secs:.1f} s = "
        f"{secs / (big.size / 1e8):.2f} s/100Mvox including generation (2 passes), "
        f"peak RSS of the process {rss1:.2f} GB (before: {rss0:.2f} GB; sum {total:.3g})."
    )
    print(
        f"SPy (ndarray input) needs the whole cube in memory: {gb:.1f} GB float32 + a "
        f"float64 copy in calc_stats ({2 * gb:.1f} GB) and a float64 result ({2 * gb:.1f} GB)."
    )


if __name__ == "__main__":
    main()
