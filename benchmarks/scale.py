"""Benchmark: scale of an eoxr pipeline written to Zarr on a Dask cluster of worker processes.

Run: ``.venv/bin/python benchmarks/scale.py [--small]``

The cube is generated lazily, block by block (never materialised anywhere): red, nir and swir16
reflectance and a speckled VV backscatter, float32, in 1024 px chunks. The pipeline is NDVI
(``eo.index``), a 7x7 Lee filter on VV (``eo.denoise("lee")``) and a small conv model
(``eo.apply_model``, 256 px patches, 16 px overlap), written with ``to_zarr(resume=True)``.

``to_zarr`` computes the Lee filter's global point-target threshold (a 98th percentile) first,
in one pass, then writes row by row in stripes of 4096 px (see ``eoxr._dask.store.store_blocks``).

Reported:

1. peak memory per cube size (full: 4096^2, 8192^2, 16384^2; ``--small``: 1024^2, 2048^2),
   sampled in a thread: the summed RSS of client + scheduler + 2 workers (it counts the shared
   library pages each process maps, ~0.1 GiB a process, once per process), their summed PSS
   (shared pages divided among the processes that share them: the memory the machine spends),
   and the largest worker's RSS, every 50 ms. Flat when memory does not grow with the cube;
2. throughput (Mpx/s) on 1, 2 and 4 single-threaded workers at one size;
3. graph overhead against the same computation written with bare ``map_overlap``/arithmetic and
   ``Dataset.to_zarr``: tasks per output chunk, graph build time, wall time, and scheduler
   overhead (wall minus the summed task time divided by the workers).

The workers run with glibc's default allocator settings, as on a cluster: the Makefile's
``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_`` (faster single-process benchmarks, freed
blocks kept in the heap) are removed from their environment; measured, they cost each worker
~0.3 GiB here for ~15 % of speed.

Each measurement runs in its own LocalCluster whose workers have imported the stack before the
clock starts and run the pipeline once on a small numpy cube (numba compiles its kernels once
per process), so times are the pipeline's; timings on a shared 2-core machine vary by 10-15 %
(more under load): compare ratios within one run.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

import dask.array as dsa
import distributed
import numpy as np
import psutil
import torch
import xarray as xr
from scipy.ndimage import uniform_filter

import eoxr  # noqa: F401

CHUNK, BANDS, LOOKS = 1024, ("red", "nir", "swir16"), 4.0


def _block(block_info=None, *, n: int):
    """One generated block: smooth reflectance fields plus noise, and gamma-speckled VV."""
    info = block_info[None]
    (y0, y1), (x0, x1) = info["array-location"][1:]
    rng = np.random.default_rng([y0, x0, n])
    yy, xx = np.meshgrid(np.arange(y0, y1), np.arange(x0, x1), indexing="ij")
    field = 0.5 + 0.4 * np.sin(yy / 97.0) * np.cos(xx / 131.0)
    out = np.empty((4, y1 - y0, x1 - x0), np.float32)
    out[0] = 0.08 + 0.05 * field + rng.normal(0, 0.005, field.shape)
    out[1] = 0.15 + 0.35 * field + rng.normal(0, 0.01, field.shape)
    out[2] = 0.12 + 0.10 * field + rng.normal(0, 0.01, field.shape)
    out[3] = 0.1 * field * rng.gamma(LOOKS, 1.0 / LOOKS, field.shape)
    return out


def cube(n: int) -> xr.DataArray:
    data = dsa.map_blocks(
        _block,
        n=n,
        chunks=((4,), (CHUNK,) * (n // CHUNK), (CHUNK,) * (n // CHUNK)),
        dtype=np.float32,
        meta=np.empty((0, 0, 0), np.float32),
    )
    da = xr.DataArray(
        data,
        dims=("band", "y", "x"),
        coords={
            "band": [*BANDS, "vv"],
            "y": 5_000_000.0 - 10.0 * np.arange(n),
            "x": 500_000.0 + 10.0 * np.arange(n),
        },
        name="cube",
    )
    return da.rio.write_crs("EPSG:32633")


def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 2, 1)
    ).eval()


def eoxr_product(c: xr.DataArray, point_threshold: float | None = None) -> xr.Dataset:
    opt = c.sel(band=list(BANDS))
    vv = c.sel(band="vv", drop=True)
    scores = opt.eo.apply_model(
        model(), input_dims={"y": 256, "x": 256}, input_overlap={"y": 16, "x": 16}
    )
    return xr.Dataset(
        {
            "ndvi": opt.eo.index("NDVI"),
            "vv_lee": vv.eo.denoise("lee", size=7, looks=LOOKS, point_threshold=point_threshold),
            "score": scores.isel({"class": 0}, drop=True),
        }
    )


def _lee(block: np.ndarray, looks: float) -> np.ndarray:
    b = block.astype(np.float64)
    mean = uniform_filter(b, 7, mode="reflect")
    var = np.maximum(uniform_filter(b * b, 7, mode="reflect") - mean * mean, 0)
    cu2 = 1.0 / looks
    ci2 = var / np.maximum(mean * mean, 1e-30)
    w = np.clip(1 - cu2 / np.maximum(ci2, 1e-30), 0, 1)
    return (mean + w * (b - mean)).astype(np.float32)


def _conv(block: np.ndarray, net: torch.nn.Module) -> np.ndarray:
    """Score of class 0 on a block with a 1 px halo (the net's receptive field), cropped."""
    with torch.no_grad():
        out = net(torch.from_numpy(np.ascontiguousarray(block))[None])[0, 0].numpy()
    return out[1:-1, 1:-1]


def bare_product(c: xr.DataArray) -> xr.Dataset:
    """The same computation by hand: dask arithmetic and map_overlap per block."""
    d = c.data
    red, nir, vv = d[0], d[1], d[3]
    ndvi = (nir - red) / (nir + red)
    lee = dsa.map_overlap(_lee, vv, depth=3, boundary="reflect", looks=LOOKS, dtype=np.float32)
    net = model()
    score = dsa.map_overlap(
        _conv,
        d[:3],
        depth={0: 0, 1: 1, 2: 1},
        boundary="reflect",
        trim=False,
        net=net,
        dtype=np.float32,
        drop_axis=0,
        chunks=d.chunks[1:],
    )
    dims, coords = ("y", "x"), {"y": c.y, "x": c.x}
    return xr.Dataset(
        {k: (dims, v) for k, v in {"ndvi": ndvi, "vv_lee": lee, "score": score}.items()},
        coords=coords,
    )


class PeakRSS:
    """Peaks of the summed RSS and PSS of this process and its children, sampled in a thread."""

    def __enter__(self):
        self.peak, self.pss, self._stop = 0, 0, threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()
        return self

    def _run(self):
        me = psutil.Process()
        self.worker = 0  # the largest single child process (a worker)
        while not self._stop.is_set():
            total = pss = 0
            for p in [me, *me.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):  # a worker may exit meanwhile
                    mem = p.memory_full_info()
                    total, pss = total + mem.rss, pss + mem.pss
                    if p.pid != me.pid:
                        self.worker = max(self.worker, mem.rss)
            self.peak, self.pss = max(self.peak, total), max(self.pss, pss)
            time.sleep(0.05)

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def _warm() -> None:
    """The pipeline once on a small numpy cube: imports done and numba kernels compiled."""
    eoxr_product(cube(CHUNK).compute()).compute()


def _cluster(n_workers: int) -> distributed.Client:
    client = distributed.Client(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        memory_limit="2GiB",
        dashboard_address=":0",
    )
    client.run(_warm)
    return client


def run_eoxr(n: int, tmp: Path, resume: bool = True) -> float:
    out = tmp / f"eoxr-{n}.zarr"
    t0 = time.perf_counter()
    eoxr_product(cube(n)).eo.to_zarr(out, resume=resume)
    wall = time.perf_counter() - t0
    shutil.rmtree(out)
    return wall


def rss_table(sizes: list[int], tmp: Path) -> list[tuple]:
    rows = []
    for n in sizes:
        with _cluster(2), PeakRSS() as rss:
            wall = run_eoxr(n, tmp)
        gib = [rss.peak / 2**30, rss.pss / 2**30, rss.worker / 2**30]
        rows.append((f"{n}^2", n * n / wall / 1e6, *gib))
        print(
            f"  {n}^2: {wall:.1f} s, peak RSS {gib[0]:.2f} GiB, PSS {gib[1]:.2f} GiB "
            f"(largest worker {gib[2]:.2f} GiB)",
            flush=True,
        )
    return rows


def throughput_table(n: int, tmp: Path) -> list[tuple]:
    rows = []
    for w in (1, 2, 4):
        with _cluster(w):
            wall = run_eoxr(n, tmp)
        rows.append((w, n * n / wall / 1e6))
        print(f"  {w} workers: {wall:.1f} s", flush=True)
    return rows


def _graph_tasks(ds: xr.Dataset) -> int:
    return len(ds.__dask_graph__())


def overhead_table(n: int, tmp: Path) -> list[tuple]:
    rows = []
    n_chunks = (n // CHUNK) ** 2
    labels = (
        "eoxr (to_zarr resume)",
        "eoxr (to_zarr atomic)",
        "eoxr (to_zarr resume, point_threshold given: one pass)",
        "bare map_overlap",
    )
    for label in labels:
        t0 = time.perf_counter()
        if label.startswith("bare"):
            ds = bare_product(cube(n))
        else:  # a fixed threshold (linear power 0.2): no statistic to compute first
            ds = eoxr_product(cube(n), point_threshold=0.2 if "given" in label else None)
        build = time.perf_counter() - t0
        tasks = _graph_tasks(ds)
        out = tmp / "o.zarr"
        with _cluster(2) as client, distributed.get_task_stream(client) as ts:
            t0 = time.perf_counter()
            if label.startswith("bare"):
                ds.to_zarr(out, mode="w")
            else:
                ds.eo.to_zarr(out, resume="resume" in label)
            wall = time.perf_counter() - t0
        busy = sum(
            s["stop"] - s["start"]
            for t in ts.data
            for s in t["startstops"]
            if s["action"] == "compute"
        )
        shutil.rmtree(out)
        rows.append((label, tasks / n_chunks, build, wall, max(wall - busy / 2, 0.0)))
        print(f"  {label}: {wall:.1f} s", flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", action="store_true", help="1024^2 and 2048^2 only (quick)")
    args = ap.parse_args()
    sizes = [1024, 2048] if args.small else [4096, 8192, 16384]
    n_speed = sizes[-1] if args.small else 8192
    for var in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):  # workers inherit it
        os.environ.pop(var, None)
    tmp = Path(tempfile.mkdtemp(prefix="eoxr-scale-"))
    try:
        print("peak RSS (2 workers, 2 GiB limit each):", flush=True)
        rss = rss_table(sizes, tmp)
        print(f"throughput at {n_speed}^2:", flush=True)
        speed = throughput_table(n_speed, tmp)
        print(f"graph overhead at {n_speed}^2 ({CHUNK} px chunks, 2 workers):", flush=True)
        over = overhead_table(n_speed, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        "\n| cube | Mpx/s | peak RSS, all processes (GiB) | peak PSS, all processes (GiB) "
        "| peak RSS of one worker (GiB) |\n|---|---|---|---|---|"
    )
    for size, mpx, gib, pss, worker in rss:
        print(f"| {size} | {mpx:.2f} | {gib:.2f} | {pss:.2f} | {worker:.2f} |")
    print(f"\n| workers | Mpx/s at {n_speed}^2 | speed-up |\n|---|---|---|")
    for w, mpx in speed:
        print(f"| {w} | {mpx:.2f} | {mpx / speed[0][1]:.2f} |")
    print(
        "\n| graph | tasks per output chunk | build (s) | wall (s) | scheduler overhead (s) |"
        "\n|---|---|---|---|---|"
    )
    for label, per, build, wall, sched in over:
        print(f"| {label} | {per:.1f} | {build:.2f} | {wall:.1f} | {sched:.1f} |")


if __name__ == "__main__":
    main()
