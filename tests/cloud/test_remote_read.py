"""Reading remote rasters (issue 23, Reading): COGs over HTTP and S3, against real servers.

The HTTP server runs in a subprocess, honours ``Range:`` and counts the body bytes it serves
(tests/cloud/servers.py); a window read is checked against its share of the file, retries against
a server that answers some requests with 503, ``sign=`` against one that refuses expired tokens.
Every result is compared bit for bit with the read of the same file from the local disk.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

import eoxr
from eoxr import datasets
from eoxr.errors import ReadError
from eoxr.testing import assert_lazy
from tests.cloud.servers import TokenSigner, http_server
from tests.conftest import require, shared_path

SIDE, TILE = 4096, 512
WINDOW = {"y": slice(1536, 2048), "x": slice(2560, 3072)}  # one 512² tile of the COG


def _write_cog(path: Path, side: int, tile: int) -> None:
    """A tiled deflate uint16 COG with overviews (x2, x4, x8), smooth field plus noise."""
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


@pytest.fixture(scope="module")
def cogs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cogs")
    _write_cog(root / "big.tif", SIDE, TILE)
    _write_cog(root / "small.tif", 1024, 256)
    with rasterio.open(root / "big.tif") as src:
        assert src.overviews(1) == [2, 4, 8] and src.block_shapes[0] == (TILE, TILE)
    return root


@pytest.fixture(scope="module")
def http(cogs):
    with http_server(cogs) as server:
        yield server


def _assert_same(remote, local) -> None:
    assert remote.dtype == local.dtype
    assert remote.dims == local.dims
    np.testing.assert_array_equal(remote.values, local.values)
    for dim in remote.dims:
        np.testing.assert_array_equal(remote[dim].values, local[dim].values)
    assert remote.rio.crs == local.rio.crs
    assert remote.rio.transform() == local.rio.transform()


def test_window_of_a_remote_cog_transfers_its_share(cogs, http):
    http.reset()
    da = eoxr.open_raster(http.href("big.tif"))
    assert_lazy(da)
    opened = http.bytes_served("big.tif")
    window = da.isel(WINDOW).compute()
    served = http.bytes_served("big.tif")
    share = (cogs / "big.tif").stat().st_size * TILE**2 / SIDE**2
    # opening reads the header only; the window reads about its tile: <= 4x its share in all
    assert opened < 0.1 * share, (opened, share)
    assert served <= 4 * share, (served, share)
    _assert_same(window, eoxr.open_raster(cogs / "big.tif").isel(WINDOW).compute())


def test_chunked_remote_read_equals_local_read(cogs, http):
    chunks = {"y": 700, "x": 300}  # chunks that do not follow the tiles
    remote = eoxr.open_raster(http.href("small.tif"), chunks=chunks)
    assert remote.chunks == eoxr.open_raster(cogs / "small.tif", chunks=chunks).chunks
    _assert_same(remote.compute(), eoxr.open_raster(cogs / "small.tif").compute())
    # point and strided selections, through dask and straight to the reader (chunks=None)
    want = eoxr.open_raster(cogs / "small.tif").isel(y=slice(3, 900, 7), x=5).compute()
    _assert_same(remote.isel(y=slice(3, 900, 7), x=5).compute(), want)
    unchunked = eoxr.open_raster(http.href("small.tif"), chunks=None)
    assert unchunked.chunks is None
    _assert_same(unchunked.isel(y=slice(3, 900, 7), x=5).load(), want)
    _assert_same(unchunked.isel(band=0, y=1000, x=slice(None, None, 3)).load(), local_row(cogs))


def local_row(cogs):
    return eoxr.open_raster(cogs / "small.tif").isel(band=0, y=1000, x=slice(None, None, 3))


def test_product_names_in_urls_give_bands_and_dates(cogs, http, tmp_path):
    folder = shared_path("s2_chesapeake_l1c_cc0")
    files = ["s2_B04.tif", "s2_B8A.tif"]  # 10 m and 20 m bands of a real L1C granule
    local = eoxr.open_raster([folder / f for f in files], stack="band", resolution=20)
    with http_server(folder) as server:
        remote = eoxr.open_raster([server.href(f) for f in files], stack="band", resolution=20)
        assert list(remote.band.values) == ["B04", "B8A"]
        _assert_same(remote.compute(), local.compute())


def test_envi_and_netcdf_urls_read_like_the_local_files():
    envi = shared_path("landsat_change_taizhou")  # ENVI data files with their .HDR headers
    files, times = ["2000TM", "2003TM"], ["2000-03-17", "2003-02-06"]
    local = eoxr.open_raster([envi / f for f in files], stack="time", times=times)
    with http_server(envi) as server:
        remote = eoxr.open_raster([server.href(f) for f in files], stack="time", times=times)
        _assert_same(remote.compute(), local.compute())
        np.testing.assert_array_equal(remote.wavelength.values, local.wavelength.values)
    nc = shared_path("s2_slovenia_timeseries", "s2l1c_5dates_13bands_epsg32633.nc")
    require("h5netcdf", extra="test")
    local = eoxr.open_raster(nc)
    with http_server(nc.parent) as server:
        remote = eoxr.open_raster(server.href(nc.name))
        assert_lazy(remote)
        _assert_same(remote.compute(), local.compute())


def test_retries_against_a_server_that_answers_503(cogs, monkeypatch):
    monkeypatch.setenv("GDAL_HTTP_RETRY_DELAY", "0.05")
    local = eoxr.open_raster(cogs / "small.tif").compute()
    with http_server(cogs, fail_every=2) as server:
        # GDAL's defaults do not retry: every other request failing breaks even the open
        with pytest.raises(rasterio.errors.RasterioIOError), rasterio.open(server.href("big.tif")):
            pass
        remote = eoxr.open_raster(server.href("small.tif"), chunks={"y": 256, "x": 256})
        _assert_same(remote.compute(), local)
        window = eoxr.open_raster(server.href("big.tif")).isel(WINDOW).compute()
        _assert_same(window, eoxr.open_raster(cogs / "big.tif").isel(WINDOW).compute())
        assert server.stats()["requests"]["/small.tif"] >= 16  # so at least 8 were 503


def test_the_environment_overrides_eoxr_gdal_options(monkeypatch):
    from eoxr.io.remote import GDAL_OPTIONS, gdal_options

    assert gdal_options()["GDAL_HTTP_MAX_RETRY"] == GDAL_OPTIONS["GDAL_HTTP_MAX_RETRY"]
    monkeypatch.setenv("GDAL_HTTP_MAX_RETRY", "0")
    assert "GDAL_HTTP_MAX_RETRY" not in gdal_options()  # GDAL reads the variable itself
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9000")
    monkeypatch.delenv("AWS_S3_ENDPOINT", raising=False)
    monkeypatch.delenv("AWS_HTTPS", raising=False)
    monkeypatch.delenv("AWS_VIRTUAL_HOSTING", raising=False)
    opts = gdal_options()
    assert opts["AWS_S3_ENDPOINT"] == "127.0.0.1:9000" and opts["AWS_HTTPS"] == "NO"


def test_failure_after_the_last_retry_names_the_url(cogs, monkeypatch):
    monkeypatch.setenv("GDAL_HTTP_MAX_RETRY", "2")
    monkeypatch.setenv("GDAL_HTTP_RETRY_DELAY", "0.05")
    with http_server(cogs, fail_every=1) as server:
        url = server.href("small.tif")
        with pytest.raises(ReadError, match="503") as err:
            eoxr.open_raster(url)
        assert url in str(err.value)
        assert server.stats()["requests"]["/small.tif"] == 3  # the first try and two retries
    with http_server(cogs) as server:  # opened fine; the server is gone at compute time
        url = server.href("small.tif")
        da = eoxr.open_raster(url, chunks={"y": 256, "x": 256})
    with pytest.raises(ReadError) as err:
        da.compute()
    assert url in str(err.value) and "read pixels" in str(err.value)


def test_missing_remote_file_names_the_url(http):
    url = http.href("nowhere/B04.tif")
    with pytest.raises(ReadError, match="no file at") as err:
        eoxr.open_raster(url)
    assert url in str(err.value) and "does not exist" not in str(err.value)


def test_sign_is_applied_at_read_time(cogs):
    local = eoxr.open_raster(cogs / "big.tif").isel(WINDOW).compute()
    with http_server(cogs, tokens=True) as server:
        url = server.href("big.tif")
        # a URL signed once, when the graph is built, fails once its token expired ...
        once = eoxr.open_raster(TokenSigner(server)(url)).isel(WINDOW)
        # ... while sign= signs again at compute time
        lazy = eoxr.open_raster(url, sign=TokenSigner(server)).isel(WINDOW)
        server.expire_tokens()  # the token of graph-building time is refused from now on
        with pytest.raises(ReadError, match="refused"):
            once.compute()
        _assert_same(lazy.compute(), local)
        assert len(server.stats()["token_pids"]) >= 3  # once; sign= at open and at the read


def test_coarse_resolution_reads_the_overviews(cogs, http):
    http.reset()
    coarse = eoxr.open_raster(http.href("big.tif"), resolution=80).compute()
    served = http.bytes_served("big.tif")
    size = (cogs / "big.tif").stat().st_size
    assert coarse.shape == (1, SIDE // 8, SIDE // 8)
    assert served < size / 20, (served, size)  # the x8 overview is ~1/64 of the file
    assert "overview" in coarse.attrs["history"]
    with rasterio.open(cogs / "big.tif", overview_level=2) as src:  # the x8 overview
        np.testing.assert_array_equal(coarse.values[0], src.read(1))
    _assert_same(coarse, eoxr.open_raster(cogs / "big.tif", resolution=80).compute())
    # a size between overviews: the finer one (x2, 20 m) is warped to 30 m
    between = eoxr.open_raster(http.href("big.tif"), resolution=30, resampling="average")
    assert "{'big.tif': 0}" in between.attrs["history"]
    local = eoxr.open_raster(cogs / "big.tif", resolution=30, resampling="average")
    _assert_same(between.compute(), local.compute())


def _catalog_items(n: int):
    """The first n items of the Landsat sample catalog, and the folder their assets lie in."""
    import pystac

    catalog = pystac.read_file(str(datasets.catalog_path("landsat_colorado")))
    items = sorted(catalog.get_items(recursive=True), key=lambda i: i.id)[:n]
    root = Path(items[0].assets["red"].get_absolute_href()).parents[1]
    return items, root


def _http_items(server, items, root: Path):
    """Copies of ``items`` whose asset hrefs are URLs of ``server`` (which serves ``root``)."""
    import pystac

    remote = []
    for item in items:
        item = item.clone()
        for asset in item.assets.values():
            href = Path(asset.get_absolute_href())
            asset.href = server.href(str(href.relative_to(root)))
        remote.append(item)
    return pystac.ItemCollection(remote)


def test_load_stac_with_http_asset_hrefs():
    local, root = _catalog_items(4)
    with http_server(root) as server:
        remote = _http_items(server, local, root)
        assert all(
            a.href.startswith("http://127.0.0.1:") for i in remote for a in i.assets.values()
        )
        got = eoxr.load_stac(remote, bands=["red", "nir", "fmask"])
        want = eoxr.load_stac(local, bands=["red", "nir", "fmask"])
        for name in want.data_vars:
            _assert_same(got[name].compute(), want[name].compute())
        assert sum(server.stats()["bytes"].values()) > 0


def _cog_item(href: str):
    """A STAC item (proj extension) whose one asset is the big COG at ``href``."""
    import pystac

    item = pystac.Item(
        "big", {"type": "Point", "coordinates": [15.0, 45.0]}, [14, 44, 16, 46],
        datetime.datetime(2024, 7, 16), {"proj:code": "EPSG:32633"},
    )  # fmt: skip
    item.add_asset("b1", pystac.Asset(href, media_type=pystac.MediaType.COG, roles=["data"]))
    item.assets["b1"].extra_fields.update(
        {"proj:shape": [SIDE, SIDE], "proj:transform": [10, 0, 500000, 0, -10, 5000000]}
    )
    item.stac_extensions.append("https://stac-extensions.github.io/projection/v2.0.0/schema.json")
    return item


def test_load_stac_at_a_coarse_resolution_reads_the_overviews(cogs, http):
    http.reset()
    kw = {"bands": ["b1"], "scale": False, "resolution": 80, "crs": "EPSG:32633"}
    remote = eoxr.load_stac([_cog_item(http.href("big.tif"))], **kw)
    local = eoxr.load_stac([_cog_item(str(cogs / "big.tif"))], **kw)
    got = remote.b1.compute()
    assert got.shape == (1, SIDE // 8, SIDE // 8)
    assert http.bytes_served("big.tif") < (cogs / "big.tif").stat().st_size / 20
    _assert_same(got, local.b1.compute())
    with rasterio.open(cogs / "big.tif", overview_level=2) as src:
        np.testing.assert_array_equal(got.values[0], src.read(1))


def test_load_stac_signs_at_read_time_and_names_failed_urls():
    local, root = _catalog_items(2)
    with http_server(root, tokens=True) as server:
        remote = _http_items(server, local, root)
        lazy = eoxr.load_stac(remote, bands=["red"], sign=TokenSigner(server))
        server.expire_tokens()  # tokens of graph-building time (if any) are refused now
        _assert_same(lazy.red.compute(), eoxr.load_stac(local, bands=["red"]).red.compute())
        unsigned = eoxr.load_stac(remote, bands=["red"])
        with pytest.raises(ReadError, match="refused") as err:
            unsigned.red.compute()
        assert "http://127.0.0.1:" in str(err.value)


def test_sign_and_gdal_options_apply_in_the_worker_process(cogs):
    distributed = require("distributed", extra="distributed")
    local = eoxr.open_raster(cogs / "big.tif").isel(WINDOW).compute()
    items, root = _catalog_items(2)
    with (
        http_server(cogs, tokens=True) as server,
        http_server(root, tokens=True) as stac_server,
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        lazy = eoxr.open_raster(server.href("big.tif"), sign=TokenSigner(server)).isel(WINDOW)
        once = eoxr.open_raster(TokenSigner(server)(server.href("big.tif"))).isel(WINDOW)
        remote = _http_items(stac_server, items, root)
        stac = eoxr.load_stac(remote, bands=["red"], sign=TokenSigner(stac_server))
        server.expire_tokens()
        stac_server.expire_tokens()
        server.reset()
        _assert_same(client.compute(lazy).result(), local)
        want = eoxr.load_stac(items, bands=["red"]).red.compute()
        _assert_same(client.compute(stac.red).result(), want)
        with pytest.raises(ReadError, match="refused"):  # typed, also from a worker
            client.compute(once).result()
        (worker_pid,) = client.run(os.getpid).values()
        pids = server.stats()["token_pids"]
        assert worker_pid != os.getpid()
        assert os.getpid() in pids and worker_pid in pids  # signed at open, then on the worker
        assert set(stac_server.stats()["token_pids"]) == {worker_pid}  # odc-stac: only there
        # eoxr's GDAL options held in the worker: no folder listing, no sidecar probes (a
        # plain GDAL open asks for "/" and big.tif.xml), and only about the window's bytes
        assert list(server.stats()["bytes"]) == ["/big.tif"]
        size = (cogs / "big.tif").stat().st_size
        assert server.bytes_served("big.tif") <= 4 * size * TILE**2 / SIDE**2


def test_s3_cog_read(cogs, s3, bucket, monkeypatch):
    s3.client().upload_file(str(cogs / "small.tif"), bucket, "scenes/small.tif")
    url = f"s3://{bucket}/scenes/small.tif"
    local = eoxr.open_raster(cogs / "small.tif").compute()
    _assert_same(eoxr.open_raster(url, chunks={"y": 512, "x": 512}).compute(), local)
    # only the standard AWS_ENDPOINT_URL: eoxr derives GDAL's endpoint options from it
    for key in ("AWS_S3_ENDPOINT", "AWS_HTTPS", "AWS_VIRTUAL_HOSTING"):
        monkeypatch.delenv(key)
    _assert_same(eoxr.open_raster(url).isel(y=slice(0, 300)).compute(), local.isel(y=slice(0, 300)))
    with pytest.raises(ReadError, match="no file at") as err:
        eoxr.open_raster(f"s3://{bucket}/scenes/missing.tif")
    assert f"s3://{bucket}/scenes/missing.tif" in str(err.value)
