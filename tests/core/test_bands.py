import numpy as np
import pytest
import xarray as xr

import eoxr  # noqa: F401
from eoxr import bands
from eoxr.errors import BandNotFoundError, DimensionError, GridMismatchError
from eoxr.testing import make_cube


@pytest.mark.parametrize(
    ("labels", "sensor", "expected"),
    [
        (
            ["B01", "B02", "B04", "B8A", "B08", "B11", "B12"],
            "sentinel-2",
            {
                "coastal": "B01",
                "blue": "B02",
                "red": "B04",
                "nir08": "B8A",
                "nir": "B08",
                "swir16": "B11",
                "swir22": "B12",
            },
        ),
        (
            ["SR_B1", "SR_B2", "SR_B4", "SR_B5", "SR_B6", "SR_B7", "ST_B10"],
            "landsat-oli-l2",
            {
                "coastal": "SR_B1",
                "blue": "SR_B2",
                "red": "SR_B4",
                "nir08": "SR_B5",
                "swir16": "SR_B6",
                "swir22": "SR_B7",
                "lwir11": "ST_B10",
            },
        ),
        (
            ["SR_B1", "SR_B3", "SR_B4", "SR_B5", "SR_B7", "ST_B6"],
            "landsat-tm-l2",
            {
                "blue": "SR_B1",
                "red": "SR_B3",
                "nir": "SR_B4",
                "swir16": "SR_B5",
                "swir22": "SR_B7",
                "lwir": "ST_B6",
            },
        ),
        (
            ["B1", "B2", "B4", "B5", "B10", "B11", "BQA"],
            "landsat-oli-l1",
            {
                "coastal": "B1",
                "blue": "B2",
                "red": "B4",
                "nir08": "B5",
                "lwir11": "B10",
                "lwir12": "B11",
            },
        ),
        (
            ["red", "NIR", "swir1", "SWIR2", "rededge1"],
            None,
            {
                "red": "red",
                "nir": "NIR",
                "swir16": "swir1",
                "swir22": "SWIR2",
                "rededge071": "rededge1",
            },
        ),
    ],
)
def test_band_mapping_per_sensor(labels, sensor, expected):
    cube = make_cube(bands=labels, ny=4, nx=4, times=None)
    assert bands.detect_sensor(cube) == sensor
    assert cube.eo.bands == expected


def test_same_label_differs_between_landsat_generations():
    # SR_B1 is coastal on OLI but blue on TM: the sensor decides, not the label alone.
    oli = make_cube(bands=["SR_B1", "SR_B6"], ny=2, nx=2, times=None)
    tm = make_cube(bands=["SR_B1", "SR_B5", "ST_B6"], ny=2, nx=2, times=None)
    assert oli.eo.bands["coastal"] == "SR_B1"
    assert tm.eo.bands["blue"] == "SR_B1"


def test_sensor_from_platform_attr():
    cube = make_cube(bands=["B1", "B2", "B3", "B4"], ny=2, nx=2, times=None)
    cube.attrs["platform"] = "landsat-8"
    assert cube.eo.sensor == "landsat-oli-l1"
    assert cube.eo.band("coastal").name == "B1"


def test_symbols_and_fallbacks():
    s2 = make_cube(bands=["B04", "B08", "B8A", "B11"], ny=2, nx=2, times=None)
    assert bands.symbol_mapping(s2) == {"R": "B04", "N": "B08", "N2": "B8A", "S1": "B11"}
    # Landsat 8/9: its only NIR band is nir08, which stands in for N (and not also for N2).
    l8 = make_cube(bands=["SR_B4", "SR_B5", "SR_B6"], ny=2, nx=2, times=None)
    assert bands.symbol_mapping(l8) == {"R": "SR_B4", "N": "SR_B5", "S1": "SR_B6"}
    assert l8.eo.band("nir").name == "SR_B5"


@pytest.mark.parametrize("alias", ["nir", "NIR", "N", "B08", "b8", "near_infrared"])
def test_aliases_case_insensitive(alias):
    cube = make_cube(bands=["B04", "B08"], ny=3, nx=3, times=None)
    band = cube.eo.band(alias)
    assert band.name == "B08"
    np.testing.assert_array_equal(band.values, cube.sel(band="B08").values)
    assert "band" not in band.coords


def test_missing_band_lists_present_and_tried():
    cube = make_cube(bands=["B02", "B04"], ny=2, nx=2, times=None)
    with pytest.raises(BandNotFoundError) as info:
        cube.eo.band("swir1")
    msg = str(info.value)
    assert "['B02', 'B04']" in msg
    for tried in ("swir1", "swir16", "B11", "SR_B6", "S1"):
        assert tried in info.value.tried
        assert tried in msg
    assert isinstance(info.value, KeyError)


def test_dataset_and_array_roundtrip_lazy():
    cube = make_cube(bands=["B02", "B04", "B08"], chunks={"x": 8})
    ds = cube.eo.to_dataset()
    assert list(ds.data_vars) == ["B02", "B04", "B08"]
    assert ds.eo.bands == {"blue": "B02", "red": "B04", "nir": "B08"}
    back = ds.eo.to_array()
    assert back.dims == cube.dims
    assert back.chunks is not None
    np.testing.assert_array_equal(back.values, cube.values)
    np.testing.assert_allclose(back["wavelength"].values, [492.4, 664.6, 832.8])
    assert back.rio.crs == cube.rio.crs


def test_dataset_without_spatial_dims():
    ds = xr.Dataset({"a": ("t", np.arange(3.0))})
    with pytest.raises(DimensionError, match="no spatial dimensions"):
        ds.eo.bands  # noqa: B018


def test_to_array_mismatched_grids():
    ds = xr.Dataset(
        {"B04": (("y", "x"), np.zeros((2, 2))), "B08": (("time", "y", "x"), np.zeros((1, 2, 2)))}
    )
    with pytest.raises(GridMismatchError):
        ds.eo.to_array()


def test_rename_to_common():
    cube = make_cube(bands=["B02", "B8A", "SCL"], ny=2, nx=2, times=None)
    assert list(cube.eo.rename_to_common()["band"].values) == ["blue", "nir08", "SCL"]


def test_band_table_is_data_and_consistent():
    tab = bands.table()
    assert {"sentinel-2", "landsat-oli-l2", "landsat-tm-l2"} <= set(tab.sensors)
    assert tab.sensors["sentinel-2"].bands["B8A"][0] == "nir08"
    assert tab.symbols["S2"] == "swir22"


def test_real_slovenia_bands(s2_slovenia):
    cube = s2_slovenia
    assert cube.eo.sensor == "sentinel-2"
    assert len(cube.eo.bands) == 13
    nir, red = cube.eo.band("nir"), cube.eo.band("red")
    ndvi = ((nir - red) / (nir + red)).isel(time=0)  # first date is clear
    assert float(ndvi.median()) > 0.4  # mostly vegetated valley
