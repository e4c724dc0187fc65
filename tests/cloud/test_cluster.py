"""A cluster without a shared disk writes to object storage: scheduler and workers in separate
empty folders, the S3 server's credentials in their environment, the output on ``s3://``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pytest
import rasterio
import xarray as xr

import eoxr
import eoxr.datasets
from eoxr.io.write_zarr import write_state
from tests.cloud.cluster import dask_cluster
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "08_cluster_batch.ipynb"


@pytest.fixture(scope="session")
def s3_cluster(s3, tmp_path_factory):
    """A scheduler and two workers, each in its own empty folder, that can reach the S3 server."""
    env = {
        **os.environ,
        **s3.env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "EOXR_PROGRESS": "0",
    }
    with dask_cluster(tmp_path_factory.mktemp("no-shared-disk"), env, 2) as address:
        yield address


def _pipeline() -> xr.Dataset:
    """A speckle filter with a halo and dB on a chunked scene (several tasks per output)."""
    s1 = eoxr.datasets.synthetic_s1(seed=0, shape=(64, 64)).cube.chunk({"y": 32, "x": 32})
    vv = s1.sel(band="VV").isel(time=0, drop=True).drop_vars("band")
    return xr.Dataset({"vv_lee": vv.eo.denoise("lee", size=5), "vv_db": vv.eo.to_db()})


@pytest.mark.slow  # 8-15 s of real subprocesses: in `make test-slow` (CI runs it), not `make test`
@pytest.mark.parametrize("resume", [False, True])
def test_cluster_without_shared_disk_writes_to_s3_like_local(s3_cluster, bucket, tmp_path, resume):
    distributed = require("distributed", extra="distributed")
    require("s3fs", extra="cloud")
    url = f"s3://{bucket}/product.zarr"
    with distributed.Client(s3_cluster, timeout=30) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        _pipeline().eo.to_zarr(url, resume=resume)
    local = _pipeline().eo.to_zarr(tmp_path / "local.zarr")  # threads, in this process
    remote = xr.open_zarr(url, decode_coords="all").load()
    xr.testing.assert_identical(
        remote.drop_attrs(), xr.open_zarr(local, decode_coords="all").load().drop_attrs()
    )
    assert write_state(url) == "complete"
    assert bool(np.isfinite(remote.vv_lee).all()) and bool(np.isfinite(remote.vv_db).all())


@pytest.mark.notebook
@pytest.mark.slow  # papermill on a real scheduler, like tests/batch: `make test-slow`
def test_batch_cli_runs_cluster_notebook_to_s3(s3, s3_cluster, bucket, tmp_path, monkeypatch):
    require("papermill", extra="batch")
    require("s3fs", extra="cloud")
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setenv("EOXR_PROGRESS", "0")
    params = tmp_path / "runs.yaml"
    params.write_text("- name: summer\n  start: '2009-06-01'\n  end: '2009-08-31'\n")
    out = f"s3://{bucket}/runs"
    proc = subprocess.run(
        [sys.executable, "-m", "eoxr", "batch", str(NOTEBOOK), "--params", str(params)]
        + ["--out", out, "--scheduler", s3_cluster, "--timeout", "300"],
        capture_output=True,
        text=True,
        timeout=900,
        env=os.environ.copy(),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "[1/1] summer: ok in" in proc.stdout
    keys = {o["Key"] for o in s3.client().list_objects_v2(Bucket=bucket)["Contents"]}
    assert {"runs/summer.ipynb", "runs/batch_summary.csv"} <= keys
    assert "runs/summer/landsat_product.zarr/.zmetadata" in keys
    assert not [k for k in keys if ".eoxr_write" in k]
    table = pd.read_csv(f"{out}/batch_summary.csv")
    assert table.status.tolist() == ["ok"]
    assert table.output.tolist() == [f"{out}/summer"]
    product = f"{out}/summer/landsat_product.zarr"
    assert write_state(product) == "complete"
    ndvi = float(xr.open_zarr(product).ndvi.mean())
    assert 0.6 < ndvi < 0.8
    # Nothing was written to this machine's folders: the run's folder is the bucket.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.yaml"]
    executed = s3.client().get_object(Bucket=bucket, Key="runs/summer.ipynb")["Body"].read()
    assert s3_cluster.encode() in executed and b"mean NDVI" in executed


def _cog_cube() -> xr.Dataset:
    """Float bands with NaN, a halo filter, 4 chunk rows of 16: several stripes on a cluster."""
    s1 = eoxr.datasets.synthetic_s1(seed=1, shape=(64, 48)).cube.chunk({"y": 16, "x": 24})
    vv = s1.sel(band="VV").isel(time=0, drop=True).drop_vars("band")
    vv = vv.where((vv.x != vv.x[5]) | (vv.y > vv.y[40]))  # a NaN column across stripes
    return xr.Dataset({"vv_lee": vv.eo.denoise("lee", size=5), "vv_db": vv.eo.to_db()})


def test_cluster_to_cog_is_written_by_the_client_like_local(
    s3_cluster, bucket, tmp_path, monkeypatch
):
    distributed = require("distributed", extra="distributed")
    require("s3fs", extra="cloud")
    import eoxr._dask.store

    local = _cog_cube().eo.to_cog(tmp_path / "local.tif")  # threads, in this process
    # One chunk row per stripe, so the client writes several stripes into its temp file.
    monkeypatch.setattr(eoxr._dask.store, "_CLIENT_STRIPE_BYTES", 1)
    url = f"s3://{bucket}/export/product.tif"
    with (
        distributed.Client(s3_cluster, timeout=30) as client,
        distributed.get_task_stream(client) as stream,
    ):
        _cog_cube().eo.to_cog(url)
        on_cluster = _cog_cube().eo.to_cog(tmp_path / "cluster.tif")
    keys = [t["key"] if isinstance(t["key"], str) else t["key"][0] for t in stream.data]
    # The workers computed the cube (the filter's tasks ran there) ...
    assert any("lee" in k or "overlap" in k for k in keys), sorted(set(keys))[:20]
    # ... but wrote nothing: rioxarray's store tasks, which reopen the client's temp file by
    # its path on the worker, never ran.
    assert not [k for k in keys if k.startswith("store")]
    with fsspec.open(url, "rb") as f:
        uploaded = f.read()
    expected = local.read_bytes()
    assert uploaded == expected  # bit for bit, the whole file
    assert on_cluster.read_bytes() == expected
    with rasterio.open(on_cluster) as src:
        assert src.count == 2 and src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        written = src.read()
    cube = _cog_cube().to_array().transpose("variable", "y", "x").values
    assert np.isnan(cube).any() and np.isfinite(cube).any()
    np.testing.assert_array_equal(written, cube)  # NaN where the cube has NaN
