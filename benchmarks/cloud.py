"""Writing to object storage against local disk: throughput, and the overhead of resumable writes.

Run from the repository root: ``PYTHONPATH=. .venv/bin/python benchmarks/cloud.py`` (``--small``
for a quick run). Needs ``eoxr[cloud]`` and ``moto[server]`` (the test extra): the object store
is a real ``moto_server`` subprocess on loopback (``tests/cloud/servers.py``), reached only
through the standard ``AWS_*`` / ``AWS_ENDPOINT_URL`` environment. Its numbers are an S3 API
served by one Python process on this machine, not a cloud: what they show is eoxr's own cost per
request and per chunk, compared within one run.

Rows (each the best of ``--repeats`` runs, cases taking turns round after round):

* ``to_zarr`` to local disk and to ``s3://``, with and without ``resume=True`` (the resumable
  write records each finished chunk: one more small object per chunk on a store), next to
  xarray's own ``Dataset.to_zarr`` to the same URL (the floor: no state, no record);
* ``to_cog`` to local disk and to ``s3://`` (written locally, validated, uploaded in one put);
* reading the Zarr stores back (``xr.open_zarr(...).load()``, fsspec for the URL).

* reading COGs over HTTP from a range-capable server subprocess that counts the bytes it serves
  (``tests/cloud/servers.py``): the bytes fetched for one 512² window of a tiled COG against
  the window's share of the file, the bytes for a read at 8x coarser ``resolution=`` (the
  COG's overviews), and the throughput of a whole-file read, over HTTP and from ``s3://``,
  against the same read from local disk.

The cube is numpy-backed and chunked (no computation in the graph): the write rows measure
writing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import eoxr  # registers .eo
from tests.cloud.servers import http_server, s3_server


def make_cube(n: int, chunk: int, seed: int = 0) -> xr.DataArray:
    """A (band, y, x) float32 reflectance-like cube in memory, chunked ``chunk`` x ``chunk``."""
    rng = np.random.default_rng(seed)
    data = rng.uniform(0.01, 0.6, (4, n, n)).astype("float32")
    da = xr.DataArray(
        data,
        dims=("band", "y", "x"),
        coords={
            "band": ["B02", "B03", "B04", "B08"],
            "y": 4_800_000.0 - 10.0 * np.arange(n),
            "x": 600_000.0 + 10.0 * np.arange(n),
        },
        name="reflectance",
    ).rio.write_crs("EPSG:32633")
    return da.chunk({"band": 4, "y": chunk, "x": chunk})


def best(fn: Callable[[], None], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="1024^2 instead of 2048^2")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    n = 1024 if args.small else 2048
    cube = make_cube(n, 512)
    mb = cube.nbytes / 2**20
    blocks = int(np.prod([len(c) for c in cube.chunks]))
    tmp = Path(tempfile.mkdtemp(prefix="eoxr-bench-cloud-"))
    with s3_server() as server:
        os.environ.update(server.env)
        os.environ["EOXR_PROGRESS"] = "0"
        client = server.client()
        bucket = "eoxr-bench"
        client.create_bucket(Bucket=bucket)

        def fresh(kind: str) -> str:
            return f"{kind}-{uuid.uuid4().hex[:8]}"

        def local_zarr(resume: bool) -> Callable[[], None]:
            def run() -> None:
                path = tmp / f"{fresh('z')}.zarr"
                cube.eo.to_zarr(path, resume=resume)
                shutil.rmtree(path)

            return run

        def s3_zarr(resume: bool) -> Callable[[], None]:
            return lambda: cube.eo.to_zarr(f"s3://{bucket}/{fresh('z')}.zarr", resume=resume)

        def s3_xarray() -> None:
            url = f"s3://{bucket}/{fresh('x')}.zarr"
            cube.to_dataset().to_zarr(url, mode="w-", consolidated=True, zarr_format=2)

        def local_cog() -> None:
            path = tmp / f"{fresh('c')}.tif"
            cube.eo.to_cog(path)
            path.unlink()

        def s3_cog() -> None:
            cube.eo.to_cog(f"s3://{bucket}/{fresh('c')}.tif")

        cases: dict[str, Callable[[], None]] = {
            "to_zarr  local": local_zarr(False),
            "to_zarr  local  resume": local_zarr(True),
            "to_zarr  s3": s3_zarr(False),
            "to_zarr  s3     resume": s3_zarr(True),
            "xarray   s3     (floor)": s3_xarray,
            "to_cog   local": local_cog,
            "to_cog   s3": s3_cog,
        }
        for fn in cases.values():  # warm: imports, the server's first requests
            fn()
        seconds = {k: [] for k in cases}
        for _ in range(args.repeats):
            for k, fn in cases.items():
                seconds[k].append(best(fn, 1))
        kept = {k: min(v) for k, v in seconds.items()}

        # Reading the stores back: local folder and s3:// through fsspec.
        local_store = cube.eo.to_zarr(tmp / "read.zarr")
        url = cube.eo.to_zarr(f"s3://{bucket}/read.zarr")
        reads = {
            "read zarr local": lambda: xr.open_zarr(local_store).load(),
            "read zarr s3": lambda: xr.open_zarr(url).load(),
        }
        for k, fn in reads.items():
            fn()
            kept[k] = best(fn, args.repeats)
        remote = remote_reads(tmp / "cogs", n, bucket, args.repeats)
    shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"\n(band=4, {n}x{n}) float32, {mb:.0f} MB in {blocks} chunks of 512x512, best of "
        f"{args.repeats}; ratio: time / the same operation on local disk\n"
    )
    print(f"{'case':28s} {'s':>7s} {'MB/s':>7s} {'ratio':>7s}")
    pairs = {
        "to_zarr  s3": "to_zarr  local",
        "to_zarr  s3     resume": "to_zarr  local  resume",
        "xarray   s3     (floor)": "to_zarr  local",
        "to_cog   s3": "to_cog   local",
        "read zarr s3": "read zarr local",
    }
    for k, s in kept.items():
        ratio = f"{s / kept[pairs[k]]:7.2f}" if k in pairs else f"{'':7s}"
        print(f"{k:28s} {s:7.2f} {mb / s:7.1f} {ratio}")
    over_s3 = kept["to_zarr  s3     resume"] / kept["to_zarr  s3"]
    over_local = kept["to_zarr  local  resume"] / kept["to_zarr  local"]
    floor = kept["to_zarr  s3"] / kept["xarray   s3     (floor)"]
    print(
        f"\nresumable-write overhead: {over_s3:.2f}x on s3 ({blocks} record objects), "
        f"{over_local:.2f}x on local disk; eoxr to_zarr on s3 vs xarray's own: {floor:.2f}x"
    )
    print_remote(remote)


def write_cog(path: Path, side: int, tile: int = 512) -> None:
    """A tiled deflate uint16 COG with x2, x4, x8 overviews (a smooth field plus noise)."""
    import rasterio
    from rasterio.transform import from_origin

    rng = np.random.default_rng(23)
    yy, xx = np.mgrid[0:side, 0:side]
    field = 2000 + 800 * np.sin(yy / 97.0) * np.cos(xx / 131.0)
    data = (field + rng.normal(0, 40, (side, side))).astype("uint16")
    profile = dict(
        driver="COG", width=side, height=side, count=1, dtype="uint16", crs="EPSG:32633",
        transform=from_origin(500000, 5000000, 10, 10), blocksize=tile, compress="deflate",
        overview_resampling="average", overview_count=3,
    )  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)


def remote_reads(folder: Path, n: int, bucket: str, repeats: int) -> dict:
    """Bytes per window, overview bytes and whole-file read throughput: HTTP, s3, local."""
    side = 2 * n  # a COG larger than the window by far: 4096² (2048² with --small)
    folder.mkdir()
    cog = folder / "big.tif"
    write_cog(cog, side)
    size = cog.stat().st_size
    window = {"y": slice(side // 2 - 512, side // 2), "x": slice(side // 2, side // 2 + 512)}
    share = size * 512**2 / side**2
    url = f"s3://{bucket}/big.tif"
    import fsspec

    fsspec.filesystem("s3").put(str(cog), url)
    out: dict = {"file MB": size / 2**20, "share": share}
    fs = fsspec.filesystem("s3")
    fresh = iter(range(10**6))  # GDAL caches what it read per URL: every read gets a new one

    keys = iter([f"s3://{bucket}/big-{i}.tif" for i in range(repeats + 1)])
    for key in list(keys):
        fs.copy(url, key)  # a new key per read, copied before the timing
    keys = iter([f"s3://{bucket}/big-{i}.tif" for i in range(repeats + 1)])

    with http_server(folder) as http:

        def href() -> str:
            return f"{http.href('big.tif')}?v={next(fresh)}"

        eoxr.open_raster(href()).isel(window).compute()  # warm: GDAL, the connection
        http.reset()
        eoxr.open_raster(href()).isel(window).compute()
        out["window"] = (http.bytes_served("big.tif"), http.stats()["requests"]["/big.tif"])
        http.reset()
        eoxr.open_raster(href(), resolution=80).compute()
        out["overview"] = http.bytes_served("big.tif")
        reads = {
            "read cog local": lambda: eoxr.open_raster(cog).compute(),
            "read cog http": lambda: eoxr.open_raster(href()).compute(),
            "read cog s3": lambda: eoxr.open_raster(next(keys)).compute(),
        }
        for fn in reads.values():
            fn()
        secs = {k: [] for k in reads}
        for _ in range(repeats):  # the cases take turns
            for k, fn in reads.items():
                secs[k].append(best(fn, 1))
    out["reads"] = {k: min(v) for k, v in secs.items()}
    out["raw MB"] = side * side * 2 / 2**20
    return out


def print_remote(r: dict) -> None:
    """The remote-read rows: bytes fetched against the window's share, and throughput."""
    served, requests = r["window"]
    print(
        f"\nremote COG ({r['file MB']:.1f} MB, tiled 512, deflate, overviews x2 x4 x8) over a "
        f"range-capable HTTP server on loopback:\n"
        f"  one 512² window (open + read): {served:,} B in {requests} requests = "
        f"{served / r['share']:.2f}x the window's share of the file ({r['share']:,.0f} B)\n"
        f"  resolution=80 (x8 overview): {r['overview']:,} B = "
        f"{r['overview'] / (r['file MB'] * 2**20):.1%} of the file"
    )
    local = r["reads"]["read cog local"]
    for k, s in r["reads"].items():
        print(f"  {k:26s} {s:7.2f} s {r['raw MB'] / s:7.1f} MB/s (decoded) {s / local:7.2f}x")


if __name__ == "__main__":
    main()
