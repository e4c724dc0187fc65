import datetime as dt

import numpy as np
import pystac
import pytest
import rasterio
from pystac.extensions.projection import ProjectionExtension

import eoxr
from eoxr import datasets
from eoxr.errors import BandNotFoundError, ReadError
from eoxr.io.stac import scale_offset
from eoxr.testing import assert_lazy, raise_if_dask_computes


def test_load_local_catalog_is_lazy_and_scaled():
    with raise_if_dask_computes():
        ds = eoxr.load_stac(
            datasets.catalog_path("s2_chesapeake"),
            bands=["red", "nir", "B11"],
            resolution=10,
            chunks={"x": 128, "y": 128},
        )
    assert_lazy(ds)
    assert list(ds.data_vars) == ["B04", "B08", "B11"]
    assert ds.B04.dtype == np.float32 and ds.B04.attrs["units"] == "1"
    assert ds.rio.crs.to_epsg() == 32618
    assert ds.B04.chunks[1][0] == 128
    # equals the COG digital numbers x 1e-4, pixel for pixel
    src = datasets.data_dir("s2_chesapeake") / "s2_chesapeake_l1c" / "B04.tif"
    with rasterio.open(src) as r:
        dn = r.read(1)
    np.testing.assert_allclose(ds.B04.isel(time=0).values, dn * np.float32(1e-4), rtol=1e-6)
    assert "load_stac" in ds.attrs["history"]


def test_common_names_and_item_collection():
    cat = pystac.Catalog.from_file(str(datasets.catalog_path("landsat_colorado")))
    items = pystac.ItemCollection(list(cat.get_items(recursive=True))[:5])
    ds = eoxr.load_stac(items, bands=["swir1", "nir", "fmask"], common_names=True)
    assert list(ds.data_vars) == ["swir16", "nir", "fmask"]
    assert ds.sizes["time"] == 5
    assert ds.fmask.dtype == np.uint8  # quality codes are not scaled
    # nodata (-9999 in the files) becomes NaN, everything else is DN x 1e-4
    first = min(items, key=lambda i: i.datetime)
    with rasterio.open(first.assets["nir"].get_absolute_href()) as r:
        raw = r.read(1)
    got = ds.nir.sel(time=ds.time[0]).values
    np.testing.assert_array_equal(np.isnan(got), raw == -9999)
    np.testing.assert_allclose(got[raw != -9999], raw[raw != -9999] * np.float32(1e-4), rtol=1e-6)


def _s2_item(tmp_path, baseline, offset=None):
    data = np.full((4, 4), 2000, dtype=np.uint16)
    data[0, 0] = 0
    href = tmp_path / f"B04_{baseline}.tif"
    prof = {
        "driver": "GTiff",
        "width": 4,
        "height": 4,
        "count": 1,
        "dtype": "uint16",
        "crs": "EPSG:32633",
        "transform": rasterio.transform.from_origin(500000, 5000000, 10, 10),
        "nodata": 0,
    }
    with rasterio.open(href, "w", **prof) as dst:
        dst.write(data, 1)
    item = pystac.Item(
        f"s2-{baseline}",
        {"type": "Point", "coordinates": [15.0, 45.0]},
        [15, 45, 15.001, 45.001],
        dt.datetime(2023, 5, 1, tzinfo=dt.timezone.utc),
        {"platform": "sentinel-2b", "s2:processing_baseline": baseline, "proj:code": "EPSG:32633"},
    )
    rb = {"nodata": 0, "data_type": "uint16"}
    if offset is not None:
        rb.update(scale=1e-4, offset=offset)
    item.add_asset(
        "B04",
        pystac.Asset(
            str(href),
            media_type=pystac.MediaType.GEOTIFF,
            roles=["data"],
            extra_fields={
                "raster:bands": [rb],
                "proj:shape": [4, 4],
                "proj:transform": [10, 0, 500000, 0, -10, 5000000],
            },
        ),
    )
    ProjectionExtension.add_to(item)
    item.set_self_href(str(tmp_path / f"{item.id}.json"))
    return item


@pytest.mark.parametrize(
    ("baseline", "offset", "expected"),
    [("03.01", None, 0.2), ("04.00", None, 0.1), ("05.09", -0.1, 0.1), ("05.09", 0.0, 0.2)],
)
def test_sentinel2_baseline_offset(tmp_path, baseline, offset, expected):
    item = _s2_item(tmp_path, baseline, offset)
    ds = eoxr.load_stac([item], bands=["red"])
    vals = ds.B04.isel(time=0).values
    assert np.isnan(vals[0, 0])
    np.testing.assert_allclose(vals[1:, 1:], expected, rtol=1e-6)
    assert scale_offset(item, "B04")[0] == pytest.approx(1e-4)


def test_unknown_band_and_bad_inputs(tmp_path):
    with pytest.raises(BandNotFoundError, match="coastal"):
        eoxr.load_stac(datasets.catalog_path("landsat_colorado"), bands=["coastal"])
    with pytest.raises(ReadError, match="does not exist"):
        eoxr.load_stac(tmp_path / "nope.json")
    with pytest.raises(ReadError, match="no STAC items"):
        eoxr.load_stac([])


def test_thermal_band_units_kelvin(tmp_path):
    # Landsat C2 L2 surface temperature: DN * 0.00341802 + 149.0 gives kelvin, not reflectance.
    item = _s2_item(tmp_path, "05.00", offset=0.0)
    item.properties["platform"] = "landsat-8"
    asset = item.assets.pop("B04")
    asset.extra_fields["raster:bands"] = [
        {"nodata": 0, "data_type": "uint16", "scale": 0.00341802, "offset": 149.0}
    ]
    item.add_asset("ST_B10", asset)
    ds = eoxr.load_stac([item], bands=["ST_B10"])
    assert ds.ST_B10.attrs["units"] == "K"
    np.testing.assert_allclose(ds.ST_B10.values[0, 1:, 1:], 2000 * 0.00341802 + 149.0, rtol=1e-6)


def test_single_band_name_is_one_band():
    ds = eoxr.load_stac(datasets.catalog_path("landsat_colorado"), bands="nir")
    assert list(ds.data_vars) == ["nir"]


def test_ambiguous_asset_keys_use_the_assets_common_names(tmp_path):
    # SR_B4 is red on OLI and NIR on TM/ETM+; without a platform property the keys alone are
    # ambiguous, but each asset's eo:common_name says what it holds, so loading works and the
    # cube only refuses to guess later if asked for a sensor-dependent name.
    item = _s2_item(tmp_path, "05.00", offset=0.0)
    item.properties.pop("platform")
    asset = item.assets.pop("B04")
    asset.extra_fields["eo:common_name"] = "red"
    item.add_asset("SR_B4", asset)
    ds = eoxr.load_stac([item], bands=["red"])
    assert list(ds.data_vars) == ["SR_B4"]
    assert "eoxr:sensor" not in ds.attrs
