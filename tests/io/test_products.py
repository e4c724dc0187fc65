"""Real products open as delivered: Sentinel-2 SAFE granules and Landsat scenes, real pixels.

The band files of ../shared/data (Sentinel-2 L1C at 10/20/60 m, Landsat 8 L1) are laid out
under real product names in tmp_path: JPEG2000 crops in a SAFE tree, or links to the GeoTIFFs.
"""

import os

import numpy as np
import pandas as pd
import pytest
import rasterio
from rasterio.windows import Window

import eoxr
from eoxr.errors import GridMismatchError, ParameterError
from eoxr.testing import assert_lazy, raise_if_dask_computes
from tests.conftest import shared_path

S2_SAFE = "S2B_MSIL1C_20180101T155101_N0206_R054_T18SUJ_20180101T173114.SAFE"
S2_GRANULE = "T18SUJ_20180101T155101"
L8_ID = "LC08_L1TP_022039_20170105_20170218_01_T1"
# A 1200 m square that lies on the 10, 20 and 60 m grids of the Chesapeake sample: pixel
# offsets (row, col) of its corner on each grid.
_CROP = {10: (58, 59, 120), 20: (29, 30, 60), 60: (10, 10, 20)}
_RES = {"B01": 60, "B02": 10, "B04": 10, "B05": 20, "B08": 10, "B8A": 20, "B11": 20}


def _s2_file(band):
    return shared_path("s2_chesapeake_l1c_cc0") / f"s2_{band}.tif"


def _s2_crop(band):
    row, col, n = _CROP[_RES[band]]
    with rasterio.open(_s2_file(band)) as src:
        win = Window(col, row, n, n)
        return src.read(1, window=win), src.window_transform(win), src.crs


@pytest.fixture(scope="module")
def safe_product(tmp_path_factory):
    """A SAFE tree with JPEG2000 band files (lossless crops of the real L1C bands)."""
    img = (
        tmp_path_factory.mktemp("s2")
        / S2_SAFE
        / "GRANULE"
        / "L1C_T18SUJ_A004000_20180101T155101"
        / "IMG_DATA"
    )
    img.mkdir(parents=True)
    files = []
    for band in _RES:
        data, transform, crs = _s2_crop(band)
        path = img / f"{S2_GRANULE}_{band}.jp2"
        prof = dict(driver="JP2OpenJPEG", width=data.shape[1], height=data.shape[0], count=1)
        prof.update(dtype="uint16", crs=crs, transform=transform, QUALITY=100, REVERSIBLE="YES")
        with rasterio.open(path, "w", **prof) as dst:
            dst.write(data, 1)
        files.append(path)
    return files


def test_safe_jp2_bands_onto_10m_lazily(safe_product):
    with raise_if_dask_computes():
        cube = eoxr.open_raster(
            safe_product, stack="band", resolution=10, resampling="bilinear", chunks={"x": 64}
        )
    assert_lazy(cube)
    assert cube.band.values.tolist() == list(_RES)
    assert cube.attrs["platform"] == "sentinel-2b"  # from the .SAFE folder above the granule
    assert cube.time.values == np.datetime64("2018-01-01T15:51:01")
    assert cube.sizes == {"band": 7, "y": 120, "x": 120}
    assert cube.rio.crs.to_epsg() == 32618 and cube.rio.resolution() == (10.0, -10.0)
    # 10 m bands are the JPEG2000 pixels unchanged (lossless), no resampling
    np.testing.assert_array_equal(cube.sel(band="B04").values, _s2_crop("B04")[0])
    # bilinear 20 -> 10 m keeps the band's mean and stays between neighbours' values
    b05 = _s2_crop("B05")[0].astype(float)
    got = cube.sel(band="B05").values
    inner = got[2:-2, 2:-2]
    assert abs(np.nanmean(inner) - b05[1:-1, 1:-1].mean()) < 0.01 * b05.mean()
    assert b05.min() <= np.nanmin(got) and np.nanmax(got) <= b05.max()


def test_safe_nearest_repeats_coarse_pixels(safe_product):
    cube = eoxr.open_raster(safe_product, stack="band", resolution="finest")
    b01 = _s2_crop("B01")[0]
    got = cube.sel(band="B01").values
    np.testing.assert_array_equal(got[::6, ::6], b01)  # each 60 m pixel covers 6 x 6 of 10 m
    np.testing.assert_array_equal(got[5::6, 5::6], b01)
    coarse = eoxr.open_raster(
        safe_product, stack="band", resolution="coarsest", resampling="average"
    )
    assert coarse.sizes["y"] == 20 and coarse.rio.resolution()[0] == 60.0
    b04 = _s2_crop("B04")[0].astype(float)
    np.testing.assert_allclose(
        coarse.sel(band="B04").values, b04.reshape(20, 6, 20, 6).mean(axis=(1, 3)), rtol=1e-3
    )


def test_safe_without_resolution_names_the_option(safe_product):
    with pytest.raises(GridMismatchError, match="resolution=10.*'finest'"):
        eoxr.open_raster(safe_product, stack="band")
    with pytest.raises(ParameterError, match="'bilinear'"):
        eoxr.open_raster(safe_product, stack="band", resolution=10, resampling="linear")


def test_l2a_granule_names_with_resolution_suffix(tmp_path):
    links = []
    for band, res in (("B02", 10), ("B05", 20), ("B09", 60)):
        link = tmp_path / f"{S2_GRANULE}_{band}_{res}m.jp2"
        link.symlink_to(_s2_file(band))  # GDAL reads by content: a GeoTIFF named .jp2 opens
        links.append(link)
    cube = eoxr.open_raster(links, stack="band", resolution=20)
    assert cube.band.values.tolist() == ["B02", "B05", "B09"]
    assert cube.attrs["platform"] == "sentinel-2"  # a bare granule name does not say A/B/C
    assert cube.sizes["y"] == 973 and cube.rio.resolution()[0] == 20.0
    assert str(cube.time.values)[:19] == "2018-01-01T15:51:01"


def _landsat_links(tmp_path, product_id, labels, source=None):
    src = source or {lab: lab for lab in labels}
    out = []
    for lab in labels:
        link = tmp_path / f"{product_id}_{lab}.TIF"
        link.symlink_to(shared_path("l8_gulf_coast_l1_cc0") / f"l8_{src[lab]}.tif")
        out.append(link)
    return out


def test_landsat_collection1_scene(tmp_path):
    labels = ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B9", "B10", "B11", "BQA"]
    files = _landsat_links(tmp_path, L8_ID, labels)
    with raise_if_dask_computes():
        cube = eoxr.open_raster(files, stack="band")
    assert_lazy(cube)
    assert cube.band.values.tolist() == labels
    assert cube.attrs["platform"] == "landsat-8"
    assert pd.Timestamp(cube.time.values) == pd.Timestamp("2017-01-05")
    assert cube.rio.crs.to_epsg() == 32616 and cube.sizes["y"] == 603
    with rasterio.open(files[3]) as r:
        np.testing.assert_array_equal(cube.sel(band="B4").values, r.read(1))
    # the platform lets eoxr.bands tell OLI's B4 (red) from TM's B4 (nir)
    np.testing.assert_array_equal(cube.eo.band("red").values, cube.sel(band="B4").values)
    # the 15 m panchromatic band needs a common grid
    pan = _landsat_links(tmp_path, L8_ID, ["B8"])
    with pytest.raises(GridMismatchError, match="pixel size 15 vs 30"):
        eoxr.open_raster(files + pan, stack="band")
    both = eoxr.open_raster(files + pan, stack="band", resolution=30, resampling="average")
    assert both.sizes == {"band": 12, "y": 603, "x": 627}


@pytest.mark.parametrize(
    ("product_id", "labels", "platform", "date", "red"),
    [
        (
            "LC09_L2SP_022039_20220105_20220218_02_T1",
            ["SR_B4", "SR_B5", "QA_PIXEL"],
            "landsat-9",
            "2022-01-05",
            "SR_B4",
        ),
        (
            "LE07_L2SP_022039_20020105_20200218_02_T1",
            ["SR_B1", "SR_B3", "QA_PIXEL"],
            "landsat-7",
            "2002-01-05",
            "SR_B3",
        ),
        (
            "LT05_L1TP_022039_19990607_20170218_01_T1",
            ["B3", "B4", "BQA"],
            "landsat-5",
            "1999-06-07",
            "B3",
        ),
        ("LC80220392017005LGN00", ["B4", "B5", "BQA"], "landsat-8", "2017-01-05", "B4"),
    ],
)
def test_landsat_naming_schemes(tmp_path, product_id, labels, platform, date, red):
    source = dict(zip(labels, ["B4", "B5", "BQA"]))
    files = _landsat_links(tmp_path, product_id, labels, source)
    cube = eoxr.open_raster(files, stack="band")
    assert cube.band.values.tolist() == labels  # raw labels: eoxr.bands maps them
    assert cube.attrs["platform"] == platform
    assert str(pd.Timestamp(cube.time.values).date()) == date
    # B4 is red on OLI and nir on TM/ETM+: the platform decides
    np.testing.assert_array_equal(cube.eo.band("red").values, cube.sel(band=red).values)
    one = eoxr.open_raster(files[0])  # a single product file is labelled too
    assert one.band.values.tolist() == [labels[0]] and one.attrs["platform"] == platform


def test_geotiff_tags_give_platform_and_travel_in_attrs(tmp_path):
    src = shared_path("l8_gulf_coast_l1_cc0") / "l8_B4.tif"
    path = tmp_path / "red.tif"
    with rasterio.open(src) as r:
        prof = r.profile
        data = r.read(1, window=Window(0, 0, 32, 32))
        prof.update(width=32, height=32, transform=r.window_transform(Window(0, 0, 32, 32)))
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(data, 1)
        dst.update_tags(SPACECRAFT_ID="LANDSAT_8", LANDSAT_PRODUCT_ID=L8_ID)
        dst.set_band_description(1, "red")
    cube = eoxr.open_raster(path)
    assert cube.attrs["SPACECRAFT_ID"] == "LANDSAT_8"
    assert cube.attrs["LANDSAT_PRODUCT_ID"] == L8_ID
    assert cube.attrs["platform"] == "landsat-8"
    assert cube.band.values.tolist() == ["red"]  # the file's band description


def test_colorado_time_series_keeps_platform_per_date():
    root = shared_path("landsat_sr_timeseries_colorado")
    files = sorted(root.glob("*/*_b4.tif"))
    files = [f for f in files if f.name.startswith("LT5")][:2] + [
        f for f in files if f.name.startswith("LE7")
    ][:2]
    cube = eoxr.open_raster(files, stack="time")
    assert cube.band.values.tolist() == ["b4"]
    assert sorted(set(cube.platform.values.tolist())) == ["landsat-5", "landsat-7"]
    assert "platform" not in cube.attrs
    assert os.path.basename(files[0]).startswith("LT5")
