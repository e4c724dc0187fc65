"""Benchmark: patch embeddings — eoxr ``embed`` vs bare torch on the same patches, and the
ukis-csmask cloud U-Net through eoxr vs ukis-csmask's own ``CSmask``.

Run: ``.venv/bin/python benchmarks/embed.py [--small]``

(1) Overhead. Random convolutional features (256 features, 3x3 kernels) and a ResNet-18
    backbone (random weights, 4 input bands) over a 4-band float32 cube (2048^2; 512^2 with
    ``--small``), 32 px patches, batch 64. Bare torch gets the preprocessed patches pre-cut
    into one array and only its forward passes are timed; eoxr runs ``cube.eo.embed(...)
    .compute()`` end to end (band selection by name, preprocessing, patch cutting, NaN checks,
    assembly) on a dask cube with dask's synchronous scheduler, so both use the same torch
    threads. Interleaved, best of three; ratio = eoxr / bare torch.
(2) Memory. Peak RSS of one subprocess per cube size embedding a lazily generated dask cube
    (RCF): flat in cube size means patches stream through, the cube is never held.
(3) csmask. ``eoxr.prep.csmask`` vs ``ukis_csmask.CSmask`` on the real Chesapeake L1C scene at
    20 m (a 512 px crop with ``--small``), both on CPU, and their pixel agreement.
(4) Resizing. A ResNet-18 (eoxr's own, random weights, 4 bands) embedding 32 px patches at
    224 px (``encoder(..., input_size=224)``): eoxr ``embed`` end to end vs a bare torch loop
    over the same standardized patches, pre-cut, doing ``F.interpolate(224, bilinear,
    align_corners=False)`` and the forward pass per batch. The issue's size is 2048^2 (4096
    patches: about 20 min per run on 2 loaded cores); ``--resize-size N`` embeds an N^2 cube
    instead (``--only-resize`` runs this part alone). Interleaved, best of ``--repeats``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import dask
import dask.array as dsa
import numpy as np
import torch
import xarray as xr

import eoxr  # noqa: F401
import eoxr.testing as et
from eoxr.embed import embed, encoder
from eoxr.embed.resnet import resnet

PATCH, BATCH = 32, 64
BANDS = ["B02", "B03", "B04", "B08"]
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "s2_chesapeake_l1c_cc0"


def encoders() -> dict:
    torch.manual_seed(0)
    return {
        "rcf256": encoder("rcf", bands=BANDS, features=256, size=3, seed=0),
        "resnet18": encoder(resnet("resnet18", 4).eval(), bands=BANDS, mean=0.1, std=0.05),
    }


def cut_patches(cube: np.ndarray, enc) -> np.ndarray:
    """The standardized whole patches of a ``(band, y, x)`` array, ``(N, C, PATCH, PATCH)``."""
    m = np.asarray(enc.mean, np.float32)[:, None, None]
    s = np.asarray(enc.std, np.float32)[:, None, None]
    x = (cube * np.float32(enc.scale) - m) / s
    c, n, _ = x.shape
    k = n // PATCH
    patches = x[:, : k * PATCH, : k * PATCH].reshape(c, k, PATCH, k, PATCH)
    patches = np.ascontiguousarray(patches.transpose(1, 3, 0, 2, 4).reshape(-1, c, PATCH, PATCH))
    return patches


def bare_torch(cube: np.ndarray, enc) -> float:
    """Forward passes only, on preprocessed patches cut beforehand."""
    patches = cut_patches(cube, enc)
    t0 = time.perf_counter()
    with torch.inference_mode():
        for i in range(0, len(patches), BATCH):
            enc.model(torch.from_numpy(patches[i : i + BATCH]))
    return time.perf_counter() - t0


def eoxr_embed(cube: xr.DataArray, enc) -> float:
    t0 = time.perf_counter()
    with dask.config.set(scheduler="synchronous"):
        embed(cube, enc, patch=PATCH, batch_size=BATCH).compute()
    return time.perf_counter() - t0


def overhead(size: int) -> dict:
    cube = et.make_cube(bands=BANDS, ny=size, nx=size, times=None, seed=0)
    lazy = cube.chunk({"y": 512, "x": 512})
    out = {}
    for name, enc in encoders().items():
        # interleaved, best of three: the machine's load drifts between runs
        runs = [(bare_torch(cube.values, enc), eoxr_embed(lazy, enc)) for _ in range(3)]
        bare, ours = min(r[0] for r in runs), min(r[1] for r in runs)
        out[name] = {"bare_s": round(bare, 3), "eoxr_s": round(ours, 3), "ratio": ours / bare}
        print(
            f"  {name:9s} bare torch {bare:7.2f} s   eoxr {ours:7.2f} s   ratio {ours / bare:.2f}"
        )
    return out


def bare_resized(cube: np.ndarray, enc, size: int) -> tuple[float, float]:
    """Interpolate + forward passes only, on standardized patches cut beforehand."""
    patches = cut_patches(cube, enc)
    t0, c0 = time.perf_counter(), time.process_time()
    with torch.inference_mode():
        for i in range(0, len(patches), BATCH):
            b = torch.from_numpy(patches[i : i + BATCH])
            b = torch.nn.functional.interpolate(
                b, size=(size, size), mode="bilinear", align_corners=False
            )
            enc.model(b)
    return time.perf_counter() - t0, time.process_time() - c0


def eoxr_timed(cube: xr.DataArray, enc) -> tuple[float, float]:
    """Wall and CPU seconds (all threads) of ``embed(...).compute()``."""
    c0 = time.process_time()
    wall = eoxr_embed(cube, enc)
    return wall, time.process_time() - c0


def resized(size: int, repeats: int) -> dict:
    """eoxr embed with input_size=224 vs the bare interpolate + ResNet-18 loop."""
    cube = et.make_cube(bands=BANDS, ny=size, nx=size, times=None, seed=0)
    lazy = cube.chunk({"y": 512, "x": 512})
    torch.manual_seed(0)
    net = resnet("resnet18", 4).eval()
    enc = encoder(net, bands=BANDS, mean=0.1, std=0.05, input_size=224)
    runs = [(bare_resized(cube.values, enc, 224), eoxr_timed(lazy, enc)) for _ in range(repeats)]
    n = (size // PATCH) ** 2
    out: dict = {"patches": n}
    # wall time, and CPU time (all threads: steadier on a shared machine), best of the runs
    for i, what in enumerate(("wall", "cpu")):
        bare, ours = min(r[0][i] for r in runs), min(r[1][i] for r in runs)
        out[what] = {"bare_s": bare, "eoxr_s": ours, "ratio": ours / bare}
        print(
            f"  {size}^2, {n} patches of {PATCH} px at 224 px, {what:4s}: bare torch "
            f"{bare:7.2f} s   eoxr {ours:7.2f} s   ratio {ours / bare:.3f}"
        )
    print(f"  all runs ((bare wall, cpu), (eoxr wall, cpu)): {runs}")
    return out


def rss_child(size: int) -> None:
    """Embed a lazily generated cube (never held in memory) and print the peak RSS."""
    data = dsa.random.default_rng(0).uniform(0.01, 0.6, (4, size, size), chunks=(4, 512, 512))
    coords = {"band": BANDS, **et.make_grid_coords(size, size)}
    cube = xr.DataArray(data.astype("float32"), dims=("band", "y", "x"), coords=coords)
    with dask.config.set(scheduler="synchronous"):
        embed(cube, encoders()["rcf256"], patch=PATCH, batch_size=BATCH).compute()
    print(json.dumps({"rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def memory(sizes: list[int]) -> dict:
    out = {}
    for n in sizes:
        res = subprocess.run(
            [sys.executable, __file__, "--rss-child", str(n)], capture_output=True, text=True
        )
        rss = json.loads(res.stdout.strip().splitlines()[-1])["rss_mb"]
        out[n] = rss
        print(f"  {n}^2 x 4 bands ({n * n * 16 / 1e6:.0f} MB as float32): peak RSS {rss:.0f} MB")
    return out


def chesapeake_20m(crop: int | None) -> xr.DataArray:
    import rioxarray

    arrays = []
    for b in ("B02", "B03", "B04", "B08", "B11", "B12"):
        da = rioxarray.open_rasterio(DATA / f"s2_{b}.tif").squeeze("band", drop=True)
        if b in ("B02", "B03", "B04", "B08"):
            da = da.coarsen(y=2, x=2, boundary="trim").mean()
        arrays.append(da)
    n = min(min(a.sizes["y"], a.sizes["x"]) for a in arrays)
    n = min(n, crop or n)
    data = np.stack([a.values[:n, :n] for a in arrays]).astype("float32") / 1e4
    ref = arrays[-1]
    coords = {"band": ["B02", "B03", "B04", "B08", "B11", "B12"], "y": ref.y[:n], "x": ref.x[:n]}
    return xr.DataArray(data, dims=("band", "y", "x"), coords=coords)


def csmask_bench(crop: int | None) -> dict:
    from ukis_csmask.mask import CSmask

    from eoxr.prep.csmask import csmask

    cube = chesapeake_20m(crop)
    img = np.moveaxis(cube.values, 0, -1)
    order = ["blue", "green", "red", "nir", "swir16", "swir22"]
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = CSmask(img.copy(), order, batch_size=4).csm[..., 0]
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = csmask(cube.chunk({"y": 512, "x": 512}), batch_size=4).values
    t_ours = time.perf_counter() - t0
    agree = float((ours == ref).mean())
    print(
        f"  {cube.sizes['y']}x{cube.sizes['x']} px: CSmask {t_ref:.1f} s, eoxr {t_ours:.1f} s "
        f"(ratio {t_ours / t_ref:.2f}), agreement {agree:.4%}"
    )
    return {"csmask_s": t_ref, "eoxr_s": t_ours, "agreement": agree}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", action="store_true", help="512^2 cube, small RSS sizes, crop")
    ap.add_argument("--rss-child", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--resize-size", type=int, default=2048, help="cube side for part (4)")
    ap.add_argument("--repeats", type=int, default=3, help="runs of part (4), best kept")
    ap.add_argument("--only-resize", action="store_true", help="run part (4) alone")
    args = ap.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    if args.only_resize:
        print(f"(4) embed at 224 px, ResNet-18, {args.resize_size}^2 x 4 bands")
        resized(args.resize_size, args.repeats)
        return
    size = 512 if args.small else 2048
    print(f"(1) embed overhead, {size}^2 x 4 bands, {PATCH} px patches, batch {BATCH}")
    overhead(size)
    print("(2) peak memory, RCF 256 on a lazily generated cube")
    memory([512, 1024] if args.small else [1024, 2048, 4096])
    if DATA.exists():
        print("(3) ukis-csmask 6-band L1C U-Net, Chesapeake at 20 m")
        try:
            csmask_bench(512 if args.small else None)
        except ImportError as err:
            print(f"  skipped: {err}")
    print(f"(4) embed at 224 px, ResNet-18, {args.resize_size}^2 x 4 bands")
    resized(args.resize_size, args.repeats)


if __name__ == "__main__":
    main()
