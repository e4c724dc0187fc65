"""Writers to object storage, on a real ``moto_server``: Zarr, COG and GeoParquet to s3:// URLs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr

import eoxr  # noqa: F401  (registers .eo)
from eoxr.errors import WriteError
from eoxr.io.write_zarr import write_state
from eoxr.testing import make_cube
from tests.batch._slow_write import kill_after
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
SLOW_WRITE = ROOT / "tests" / "batch" / "_slow_write.py"


def _keys(s3, bucket: str, prefix: str = "") -> dict[str, dict]:
    """Every object under ``prefix``: key -> its listing entry (ETag, LastModified, Size)."""
    out, token = {}, None
    while True:
        kw = {"ContinuationToken": token} if token else {}
        page = s3.client().list_objects_v2(Bucket=bucket, Prefix=prefix, **kw)
        out.update({o["Key"]: o for o in page.get("Contents", [])})
        if not page.get("IsTruncated"):
            return out
        token = page["NextContinuationToken"]


def _failing(cube: xr.DataArray, axis: int, index: int, message: str) -> xr.DataArray:
    """``cube`` whose chunks at ``index`` along ``axis`` raise ``message`` when computed."""

    def boom(block, block_info=None):
        if block_info[0]["chunk-location"][axis] == index:
            raise RuntimeError(message)
        return block

    return cube.copy(data=cube.data.map_blocks(boom, dtype=cube.dtype))


def test_zarr_to_s3_equals_local_and_is_consolidated_last(s3, bucket, tmp_path):
    require("s3fs", extra="cloud")
    cube = make_cube(chunks={"y": 8, "x": 16}, nan_fraction=0.1)
    url = f"s3://{bucket}/cubes/c.zarr"
    assert cube.eo.to_zarr(url) == url
    local = cube.eo.to_zarr(tmp_path / "c.zarr")
    a = xr.open_zarr(url, decode_coords="all")
    b = xr.open_zarr(local, decode_coords="all")
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
    assert a.reflectance.rio.crs.to_epsg() == 32633
    assert a.attrs["eoxr:write_state"] == "complete" and write_state(url) == "complete"
    keys = _keys(s3, bucket, "cubes/c.zarr/")
    assert "cubes/c.zarr/.zmetadata" in keys
    assert not [k for k in keys if ".eoxr_write" in k]  # no record left (resume=False)
    # (32/8) x (32/16) chunks of the data variable (time and band whole), 2 metadata
    assert len([k for k in keys if k.startswith("cubes/c.zarr/reflectance/")]) == 2 + 8


@pytest.mark.parametrize("resume", [False, True])
def test_zarr_v3_to_s3_equals_local(bucket, tmp_path, resume):
    require("s3fs", extra="cloud")
    cube = make_cube(times=None, chunks={"y": 16, "x": 16}, nan_fraction=0.1)
    url = f"s3://{bucket}/v3.zarr"
    cube.eo.to_zarr(url, zarr_format=3, resume=resume)
    local = cube.eo.to_zarr(tmp_path / "v3.zarr", zarr_format=3, resume=resume)
    a = xr.open_zarr(url, decode_coords="all", consolidated=True)  # consolidated metadata
    b = xr.open_zarr(local, decode_coords="all")
    assert a.attrs.pop("eoxr:write_state") == "complete" == write_state(url)
    b.attrs.pop("eoxr:write_state", None)  # on local disk only a resumable store has it
    xr.testing.assert_identical(a.load(), b.load())


def test_zarr_to_s3_refuses_missing_bucket_http_and_existing(bucket):
    require("s3fs", extra="cloud")
    cube = make_cube(times=None)
    with pytest.raises(WriteError, match="bucket 'no-such-bucket-eoxr' does not exist"):
        cube.eo.to_zarr("s3://no-such-bucket-eoxr/c.zarr")
    with pytest.raises(WriteError, match="read-only"):
        cube.eo.to_zarr("http://127.0.0.1:1/c.zarr")
    url = f"s3://{bucket}/c.zarr"
    cube.eo.to_zarr(url)
    with pytest.raises(WriteError, match="overwrite=True"):
        cube.eo.to_zarr(url)


def test_overwrite_never_deletes_a_prefix_eoxr_did_not_write(s3, bucket):
    require("s3fs", extra="cloud")
    client = s3.client()
    cube = make_cube(times=None, chunks={"y": 16})
    # A "folder" of other objects under the target name.
    client.put_object(Bucket=bucket, Key="folder.zarr/notes.txt", Body=b"mine")
    client.put_object(Bucket=bucket, Key="folder.zarr/sub/data.bin", Body=b"\x00" * 10)
    before = _keys(s3, bucket)
    with pytest.raises(WriteError, match="nothing was deleted"):
        cube.eo.to_zarr(f"s3://{bucket}/folder.zarr", overwrite=True)
    # A Zarr store holding one object that is not part of it.
    url = f"s3://{bucket}/store.zarr"
    cube.eo.to_zarr(url)
    client.put_object(Bucket=bucket, Key="store.zarr/README.txt", Body=b"keep me")
    # An object named like the store, and a sibling prefix sharing its name's start.
    client.put_object(Bucket=bucket, Key="file.zarr", Body=b"not a store")
    client.put_object(Bucket=bucket, Key="store.zarr.bak/x", Body=b"sibling")
    before = _keys(s3, bucket)
    with pytest.raises(WriteError, match=r"README\.txt"):
        cube.eo.to_zarr(url, overwrite=True)
    with pytest.raises(WriteError, match="an object"):
        cube.eo.to_zarr(f"s3://{bucket}/file.zarr", overwrite=True)
    with pytest.raises(WriteError, match="not a GeoTIFF"):
        cube.eo.to_cog(f"s3://{bucket}/folder.zarr", overwrite=True)
    after = _keys(s3, bucket)
    assert {k: v["ETag"] for k, v in after.items()} == {k: v["ETag"] for k, v in before.items()}

    # A store eoxr wrote is replaced; the sibling prefix stays.
    client.delete_object(Bucket=bucket, Key="store.zarr/README.txt")
    other = cube * 2
    other.eo.to_zarr(url, overwrite=True)
    np.testing.assert_array_equal(xr.open_zarr(url).reflectance.values, other.values)
    assert client.get_object(Bucket=bucket, Key="store.zarr.bak/x")["Body"].read() == b"sibling"


def test_failed_zarr_write_to_s3_leaves_nothing(s3, bucket):
    require("s3fs", extra="cloud")
    cube = make_cube(times=None, chunks={"y": 8})

    failing = _failing(cube, axis=1, index=2, message="disk full")
    with pytest.raises(WriteError, match="disk full"):
        failing.eo.to_zarr(f"s3://{bucket}/f.zarr")
    assert _keys(s3, bucket) == {}


def test_cog_to_s3_is_uploaded_whole_and_equals_local(s3, bucket, tmp_path):
    require("s3fs", extra="cloud")
    cube = make_cube(times=None, chunks={"y": 16, "x": 16}, nan_fraction=0.1)
    url = f"s3://{bucket}/out/cube.tif"
    assert cube.eo.to_cog(url) == url
    local = cube.eo.to_cog(tmp_path / "cube.tif")
    body = s3.client().get_object(Bucket=bucket, Key="out/cube.tif")["Body"].read()
    assert body == local.read_bytes()  # the same bytes as the local COG
    with rasterio.open(f"/vsis3/{bucket}/out/cube.tif") as src:  # GDAL reads it back
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.descriptions == ("B02", "B03", "B04", "B08")
        np.testing.assert_array_equal(src.read(), cube.values)
    with pytest.raises(WriteError, match="overwrite=True"):
        cube.eo.to_cog(url)
    (cube * 2).eo.to_cog(url, overwrite=True)  # a GeoTIFF is replaced
    body = s3.client().get_object(Bucket=bucket, Key="out/cube.tif")["Body"].read()
    with rasterio.MemoryFile(body) as mem, mem.open() as src:  # (GDAL caches what it read)
        np.testing.assert_array_equal(src.read(), (cube * 2).values)

    # Failing mid-write: nothing is uploaded (the file is written locally first).
    failing = _failing(cube, axis=2, index=1, message="out of memory")
    with pytest.raises(WriteError, match="Nothing was uploaded"):
        failing.eo.to_cog(f"s3://{bucket}/out/failed.tif")
    assert sorted(_keys(s3, bucket)) == ["out/cube.tif"]


def test_geoparquet_to_s3_round_trips(s3, bucket, tmp_path):
    require("s3fs", extra="cloud")
    require("geopandas", extra="embed")
    from eoxr.embed import read_geoparquet, to_geoparquet

    emb = xr.DataArray(
        np.arange(12, dtype="float32").reshape(3, 2, 2),
        dims=("feature", "y", "x"),
        coords={"y": [15.0, 5.0], "x": [5.0, 15.0]},
    ).rio.write_crs("EPSG:32633")
    url = f"s3://{bucket}/emb/e.parquet"
    assert to_geoparquet(emb, url) == url
    local = to_geoparquet(emb, tmp_path / "e.parquet")
    body = s3.client().get_object(Bucket=bucket, Key="emb/e.parquet")["Body"].read()
    (tmp_path / "back.parquet").write_bytes(body)
    xr.testing.assert_identical(read_geoparquet(tmp_path / "back.parquet"), read_geoparquet(local))
    with pytest.raises(WriteError, match="overwrite=True"):
        to_geoparquet(emb, url)
    to_geoparquet(emb * 2, url, overwrite=True)
    s3.client().put_object(Bucket=bucket, Key="emb/dir.parquet/part-0", Body=b"x")
    with pytest.raises(WriteError, match="nothing was deleted"):
        to_geoparquet(emb, f"s3://{bucket}/emb/dir.parquet", overwrite=True)


def _slow(url: str, log: Path, delay: float) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    env["EOXR_PROGRESS"] = "0"
    return subprocess.Popen(
        [sys.executable, str(SLOW_WRITE), url, str(log), str(delay)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow  # 8-15 s of real subprocesses: in `make test-slow` (CI runs it), not `make test`
def test_sigkill_mid_write_to_s3_then_resume_equals_uninterrupted(s3, bucket, tmp_path):
    require("s3fs", extra="cloud")
    url, prefix = f"s3://{bucket}/killed.zarr", "killed.zarr/"
    record = prefix + ".eoxr_write/done/"
    kill_after(_slow(url, tmp_path / "first.log", 0.4), lambda: len(_keys(s3, bucket, record)))

    # Killed mid-write: metadata marked incomplete, no consolidated metadata yet, a record.
    before = _keys(s3, bucket, prefix)
    assert prefix + ".zmetadata" not in before
    assert write_state(url) == "incomplete"
    done = {k.rsplit("@", 1)[1] for k in before if k.startswith(record)}
    assert 4 <= len(done) < 16
    with pytest.raises(WriteError, match="resume=True"):
        make_cube().eo.to_zarr(url)

    time.sleep(1.2)  # LastModified has 1 s resolution: a rewrite would show
    resumed = _slow(url, tmp_path / "second.log", 0.0)
    _, err = resumed.communicate(timeout=180)
    assert resumed.returncode == 0, err[-3000:]
    recomputed = set((tmp_path / "second.log").read_text().split())
    assert recomputed == {f"{i}.{j}" for i in range(4) for j in range(4)} - done
    after = _keys(s3, bucket, prefix)
    # The root group's metadata is rewritten at the end (state "complete"), nothing else.
    root_meta = {prefix + ".zgroup", prefix + ".zattrs"}
    unchanged = [
        k for k in before if not k.startswith(prefix + ".eoxr_write") and k not in root_meta
    ]
    for k in unchanged:  # metadata, coords and the chunks written before the kill
        assert after[k]["LastModified"] == before[k]["LastModified"], k
        assert after[k]["ETag"] == before[k]["ETag"], k
    assert {prefix + f"signal/{k}" for k in done} <= set(unchanged)
    assert write_state(url) == "complete"
    assert not [k for k in after if ".eoxr_write" in k]

    # The same as a write that was never interrupted.
    ref = f"s3://{bucket}/whole.zarr"
    whole = _slow(ref, tmp_path / "ref.log", 0.0)
    assert whole.communicate(timeout=180) and whole.returncode == 0
    xr.testing.assert_identical(
        xr.open_zarr(url, decode_coords="all").load(), xr.open_zarr(ref, decode_coords="all").load()
    )
