"""Benchmark: torch patch inference over a float32 cube — bare torch vs naive xbatcher vs eoxr.

Run: ``.venv/bin/python benchmarks/models.py [--size 2048] [--rss-sizes 2048 4096]``

Same models (a small U-Net-like net and a 1x1 conv), same cube, same patch size (256), overlap
(32) and batch size (16), in one process:

(a) floor: bare torch on patches pre-sliced into one array (only the forward passes are timed);
(b) naive: the loop users write today — xbatcher ``BatchGenerator`` -> tensor -> model -> manual
    mean stitching into a preallocated array (xbatcher drops the edge pixels it cannot fit);
(c) eoxr: ``apply_model`` (cosine blending, reflect-padded edges, every pixel covered);
(d) eoxr with the same model exported to ONNX (onnxruntime, when installed).

Throughput is patches run per second (each method's own patch count), best of two runs;
overhead is relative to the floor. Peak RSS comes from one subprocess per method and cube
size (Zarr cube in; eoxr writes Zarr out, the others a numpy array) with the 1x1 conv.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import dask
import numpy as np
import torch
import xarray as xr
from torch import nn

import eoxr  # noqa: F401
from eoxr.ml import apply_model

PATCH, OVERLAP, BATCH, K = 256, 32, 16, 3
# glibc keeps large temporaries instead of faulting them in again per batch (PERF_NOTES.md).
MALLOC = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "2147483647"}


class TinyUNet(nn.Module):
    """Two-level U-Net-like net: 3x3 convs, one pooling level, skip connection."""

    def __init__(self, c: int = 4, k: int = K, w: int = 16) -> None:
        super().__init__()
        self.enc = nn.Sequential(
            nn.Conv2d(c, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, w, 3, padding=1), nn.ReLU()
        )
        self.down = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU())
        self.up = nn.Upsample(scale_factor=2)
        self.dec = nn.Sequential(nn.Conv2d(3 * w, w, 3, padding=1), nn.ReLU(), nn.Conv2d(w, k, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.enc(x)
        return self.dec(torch.cat([a, self.up(self.down(a))], 1))


def make_model(name: str) -> nn.Module:
    torch.manual_seed(0)
    return (TinyUNet() if name == "unet" else nn.Conv2d(4, K, 1)).eval()


def make_cube(n: int) -> xr.DataArray:
    rng = np.random.default_rng(0)
    data = rng.random((4, n, n), dtype=np.float32) * 0.5
    return xr.DataArray(
        data,
        dims=("band", "y", "x"),
        coords={
            "band": ["B02", "B03", "B04", "B08"],
            "y": 5e6 - 10.0 * np.arange(n),
            "x": 5e5 + 10.0 * np.arange(n),
        },
    )


def floor(cube: xr.DataArray, model: nn.Module) -> tuple[float, int]:
    """(a) forward passes only, on eoxr's patch grid pre-sliced into one array."""
    s, n = PATCH - OVERLAP, cube.sizes["y"]
    lead = OVERLAP // 2
    trail = -(-n // s) * s + OVERLAP - lead - n
    pad = np.pad(cube.values, ((0, 0), (lead, trail), (lead, trail)), mode="symmetric")
    starts = range(0, pad.shape[1] - PATCH + 1, s)
    patches = np.stack([pad[:, i : i + PATCH, j : j + PATCH] for i in starts for j in starts])
    t = time.perf_counter()
    with torch.inference_mode():
        for b in range(0, len(patches), BATCH):
            model(torch.from_numpy(patches[b : b + BATCH]))
    return time.perf_counter() - t, len(patches)


def naive(cube: xr.DataArray, model: nn.Module) -> tuple[float, int]:
    """(b) BatchGenerator -> tensor -> model -> manual mean stitching."""
    import xbatcher

    t = time.perf_counter()
    gen = xbatcher.BatchGenerator(
        cube, input_dims={"y": PATCH, "x": PATCH}, input_overlap={"y": OVERLAP, "x": OVERLAP}
    )
    out = np.zeros((K, cube.sizes["y"], cube.sizes["x"]), np.float32)
    count = np.zeros(out.shape[1:], np.float32)
    yidx, xidx = cube.indexes["y"], cube.indexes["x"]
    batch, where, n = [], [], 0

    def flush() -> None:
        with torch.inference_mode():
            pred = model(torch.from_numpy(np.stack(batch))).numpy()
        for p, (i, j) in zip(pred, where):
            out[:, i : i + PATCH, j : j + PATCH] += p
            count[i : i + PATCH, j : j + PATCH] += 1
        batch.clear()
        where.clear()

    for patch in gen:
        batch.append(np.asarray(patch.values, np.float32))
        where.append((yidx.get_loc(patch.y.values[0]), xidx.get_loc(patch.x.values[0])))
        n += 1
        if len(batch) == BATCH:
            flush()
    if batch:
        flush()
    np.divide(out, count, out=out, where=count > 0)
    return time.perf_counter() - t, n


def to_onnx(model: nn.Module, path: Path) -> Path | None:
    """The model as an ONNX file with dynamic batch and spatial dims (None without onnxruntime)."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    import warnings

    with warnings.catch_warnings():  # the TorchScript-based exporter needs no extra package
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model,
            (torch.zeros(1, 4, PATCH, PATCH),),
            path,
            input_names=["x"],
            dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}},
            dynamo=False,
        )
    return path


def eoxr_apply(
    cube: xr.DataArray, model: nn.Module | Path, zarr_path: str | None = None
) -> tuple[float, int]:
    """(c) apply_model into a preallocated array (or a Zarr store)."""
    t = time.perf_counter()
    res = apply_model(
        cube,
        model,
        input_dims={"y": PATCH, "x": PATCH},
        input_overlap={"y": OVERLAP, "x": OVERLAP},
        batch_size=BATCH,
        device="cpu",
    )
    if zarr_path is not None:
        res.eo.to_zarr(zarr_path, name="pred", overwrite=True)
    elif hasattr(res.data, "dask"):
        target = np.empty(res.shape, np.float32)
        dask.array.store(res.data, target, lock=False)
    n = -(-cube.sizes["y"] // (PATCH - OVERLAP)) * -(-cube.sizes["x"] // (PATCH - OVERLAP))
    return time.perf_counter() - t, n


def rss_child(method: str, store: str) -> None:
    """Run one method on the Zarr cube and print seconds, patches and peak RSS as JSON."""
    cube = xr.open_zarr(store)["cube"]
    model = make_model("1x1")
    with tempfile.TemporaryDirectory() as tmp:
        if method == "floor":
            sec, n = floor(cube.load(), model)
        elif method == "naive":
            sec, n = naive(cube, model)
        else:
            sec, n = eoxr_apply(cube, model, zarr_path=str(Path(tmp) / "out.zarr"))
    # VmHWM, not ru_maxrss: a forked child inherits its parent's ru_maxrss (Linux)
    status = Path("/proc/self/status").read_text().splitlines()
    hwm = [line for line in status if line.startswith("VmHWM:")]
    rss = (
        int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    ) / 1024
    print(json.dumps({"seconds": sec, "patches": n, "rss_mib": rss}))


def write_store(size: int, path: Path) -> str:
    """The cube as a Zarr store with 1024 px chunks (a lazily loaded cube, as from disk)."""
    make_cube(size).chunk({"y": 1024, "x": 1024}).eo.to_zarr(path, name="cube")
    return str(path)


def best(fn: Any, *args: Any, reps: int = 2) -> tuple[float, int]:
    """Fastest of ``reps`` runs: the machine is shared, the minimum is the least disturbed."""
    runs = [fn(*args) for _ in range(reps)]
    return min(runs)


def timing_table(size: int, tmp: Path) -> None:
    base = make_cube(size)
    lazy = xr.open_zarr(write_store(size, tmp / f"t{size}.zarr"))["cube"]
    cubes = {"numpy": base, "dask": lazy}
    print(
        f"\ncube 4 x {size} x {size} float32, patch {PATCH}, overlap {OVERLAP}, batch {BATCH},"
        f" torch threads {torch.get_num_threads()}; dask = Zarr store, 1024 px chunks, "
        "threaded scheduler"
    )
    print(f"{'model':6} {'method':22} {'patches':>8} {'s':>7} {'patch/s':>8} {'vs floor':>9}")
    for name in ("1x1", "unet"):
        model = make_model(name)
        onnx_path = to_onnx(model, tmp / f"{name}.onnx")
        floor(base.isel(y=slice(0, 512), x=slice(0, 512)), model)  # warm-up
        sec, n = best(floor, base, model)
        ref = n / sec
        print(f"{name:6} {'(a) floor torch':22} {n:8d} {sec:7.2f} {ref:8.1f} {'':>9}")
        for backing, cube in cubes.items():
            for label, fn in (("(b) naive xbatcher", naive), ("(c) eoxr apply_model", eoxr_apply)):
                sec, n = best(fn, cube, model)
                print(
                    f"{name:6} {label + ' ' + backing:22} {n:8d} {sec:7.2f} {n / sec:8.1f} "
                    f"{ref / (n / sec) - 1:+8.0%}"
                )
            if onnx_path is not None:
                sec, n = best(eoxr_apply, cube, onnx_path)
                label = "(d) eoxr ONNX " + backing
                print(
                    f"{name:6} {label:22} {n:8d} {sec:7.2f} {n / sec:8.1f} "
                    f"{ref / (n / sec) - 1:+8.0%}"
                )


def rss_table(sizes: list[int], tmp: Path) -> None:
    print("\npeak RSS, 1x1 conv, Zarr cube (1024 chunks) in; one subprocess each")
    print(f"{'size':>6} {'method':10} {'s':>7} {'patch/s':>8} {'peak RSS MiB':>13}")
    env = {**os.environ, **MALLOC}
    for size in sizes:
        store = write_store(size, tmp / f"cube{size}.zarr")
        for method in ("floor", "naive", "eoxr"):
            out = subprocess.run(
                [sys.executable, __file__, "--rss-child", method, store],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{size:6d} {method:10} {r['seconds']:7.2f} "
                f"{r['patches'] / r['seconds']:8.1f} {r['rss_mib']:13.0f}"
            )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=2048, help="0 skips the timing table")
    p.add_argument("--rss-sizes", type=int, nargs="*", default=[2048, 4096])
    p.add_argument("--rss-child", nargs=2, metavar=("METHOD", "STORE"))
    args = p.parse_args()
    if args.rss_child:
        rss_child(*args.rss_child)
        return
    if any(os.environ.get(k) != v for k, v in MALLOC.items()):  # same allocator as `make bench`
        os.execve(
            sys.executable, [sys.executable, __file__, *sys.argv[1:]], {**os.environ, **MALLOC}
        )
    with tempfile.TemporaryDirectory() as tmp:
        if args.size:
            timing_table(args.size, Path(tmp))
        rss_table(args.rss_sizes, Path(tmp))


if __name__ == "__main__":
    main()
