import re

import numpy as np
import pytest
import xarray as xr

import eoxr
from eoxr import bands
from eoxr.errors import (
    AmbiguousBandsError,
    BandNotFoundError,
    DimensionError,
    GridMismatchError,
    ParameterError,
)
from eoxr.testing import make_cube
from tests.conftest import shared_path


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
    for tried in ("swir1", "swir16", "B11", "S1"):
        assert tried in info.value.tried
        assert tried in msg
    # only the labels of the sensor the cube is read with (SR_B6 is Landsat 8/9's SWIR 1)
    assert "SR_B6" not in info.value.tried
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


# ------------------------------------------------------------- sensor resolution: no silent guess
def _cube(labels, **attrs):
    cube = make_cube(bands=labels, ny=3, nx=3, times=None)
    cube.attrs.update(attrs)
    return cube


C2_L2 = ["SR_B3", "SR_B4", "SR_B5"]  # OLI: green, red, nir08; TM/ETM+: red, nir, swir16
PLAIN = ["B2", "B3", "B4", "B5", "B6", "B7"]  # Landsat L1 / GEE names; Sentinel-2 unpadded


@pytest.mark.parametrize(
    ("labels", "candidates"),
    [
        (C2_L2, {"landsat-oli-l2", "landsat-tm-l2"}),
        (
            ["SR_B1", "SR_B2", "SR_B3", "SR_B4", "SR_B5", "SR_B7", "QA_PIXEL"],
            {"landsat-oli-l2", "landsat-tm-l2"},
        ),
        (PLAIN, {"sentinel-2", "landsat-oli-l1", "landsat-tm-l1"}),
        (["B4", "B5"], {"sentinel-2", "landsat-oli-l1", "landsat-tm-l1"}),
        (["B2", "B3", "B4", "B5", "BQA"], {"landsat-oli-l1", "landsat-tm-l1"}),
        (["B8", "B4"], {"sentinel-2", "landsat-oli-l1", "landsat-tm-l1"}),
    ],
)
def test_ambiguous_families_raise_with_each_meaning(labels, candidates):
    cube = _cube(labels)
    with pytest.raises(AmbiguousBandsError) as info:
        cube.eo.sensor  # noqa: B018
    err = info.value
    assert set(err.candidates) == candidates
    msg = str(err)
    # one executable line per meaning: each settles the sensor to a table with that meaning
    fixes = re.findall(r"`(cube = cube\.eo\.declare_sensor\([^`]+\))`", msg)
    assert len(fixes) == len({tuple(m.items()) for m in err.candidates.values()})
    settled = set()
    for fix in fixes:
        ns = {"cube": cube}
        exec(fix, ns)
        settled.add(ns["cube"].eo.sensor)
        assert ns["cube"].eo.sensor in candidates
    assert len(settled) == len(fixes)
    for sensor, meanings in err.candidates.items():
        assert sensor in msg
        for label, meaning in meanings.items():
            assert f"{label}={meaning}" in msg
    assert isinstance(err, BandNotFoundError) and isinstance(err, KeyError)
    # every entry point goes through the same resolution
    for call in (
        lambda: cube.eo.bands,
        lambda: cube.eo.band("red"),
        lambda: cube.eo.index("NDVI"),
        lambda: cube.eo.rename_to_common(),
        lambda: bands.symbol_mapping(cube),
    ):
        with pytest.raises(AmbiguousBandsError):
            call()
    assert cube.eo.band(labels[0]).name == labels[0]  # an exact label needs no sensor
    assert cube.eo.to_array() is cube  # a layout call works on any cube


def test_c2_l2_meanings_listed():
    with pytest.raises(AmbiguousBandsError) as info:
        _cube(C2_L2).eo.index("NDVI")
    assert info.value.candidates == {
        "landsat-oli-l2": {"SR_B3": "green", "SR_B4": "red", "SR_B5": "nir08"},
        "landsat-tm-l2": {"SR_B3": "red", "SR_B4": "nir", "SR_B5": "swir16"},
    }


OLI_L2_RED_NIR = ("landsat-oli-l2", "SR_B4", "SR_B5")
TM_L2_RED_NIR = ("landsat-tm-l2", "SR_B3", "SR_B4")


@pytest.mark.parametrize(
    ("labels", "attrs", "want"),
    [
        (C2_L2, {"platform": "landsat-8"}, OLI_L2_RED_NIR),
        (C2_L2, {"platform": "LANDSAT_9"}, OLI_L2_RED_NIR),
        (C2_L2, {"eo:platform": "Landsat 8"}, OLI_L2_RED_NIR),
        (C2_L2, {"SPACECRAFT_ID": "LANDSAT_7"}, TM_L2_RED_NIR),
        (C2_L2, {"platform": "landsat-5"}, TM_L2_RED_NIR),
        (C2_L2, {"LANDSAT_PRODUCT_ID": "LC08_L2SP_044034_20200101_20200823_02_T1"}, OLI_L2_RED_NIR),
        (C2_L2, {"product_id": "LE07_L2SP_035032_20080427_20200914_02_T1"}, TM_L2_RED_NIR),
        (C2_L2, {"LANDSAT_SCENE_ID": "LT50350322008118EDC00"}, TM_L2_RED_NIR),
        (
            C2_L2,
            {"source": "/data/LC09_L2SP_044034_20220101_20220103_02_T1_SR_B4.TIF"},
            OLI_L2_RED_NIR,
        ),
        (C2_L2, {"instruments": ["oli", "tirs"]}, OLI_L2_RED_NIR),
        (C2_L2, {"SENSOR_ID": "ETM"}, TM_L2_RED_NIR),
        (C2_L2, {"collection": "landsat-c2-l2", "platform": "landsat-8"}, OLI_L2_RED_NIR),
        (C2_L2, {"eoxr:sensor": "landsat-tm-l2"}, TM_L2_RED_NIR),
        ([*C2_L2, "SR_B6"], {}, OLI_L2_RED_NIR),
        ([*C2_L2, "ST_B10"], {}, OLI_L2_RED_NIR),
        ([*C2_L2, "SR_QA_AEROSOL"], {}, OLI_L2_RED_NIR),
        ([*C2_L2, "ST_B6"], {}, TM_L2_RED_NIR),
        ([*C2_L2, "SR_ATMOS_OPACITY"], {}, TM_L2_RED_NIR),
        (
            [f"LC08_L2SP_044034_20200101_20200823_02_T1_{b}" for b in C2_L2],
            {},
            (
                "landsat-oli-l2",
                "LC08_L2SP_044034_20200101_20200823_02_T1_SR_B4",
                "LC08_L2SP_044034_20200101_20200823_02_T1_SR_B5",
            ),
        ),
        (PLAIN, {"platform": "landsat-8"}, ("landsat-oli-l1", "B4", "B5")),
        (PLAIN, {"platform": "landsat-7"}, ("landsat-tm-l1", "B3", "B4")),
        (PLAIN, {"platform": "Sentinel-2A"}, ("sentinel-2", "B4", "B8")),
        (PLAIN, {"constellation": "sentinel-2"}, ("sentinel-2", "B4", "B8")),
        (
            PLAIN,
            {"PRODUCT_ID": "S2B_MSIL2A_20200101T100031_N0213_R122_T33UVP_20200101T120000"},
            ("sentinel-2", "B4", "B8"),
        ),
        ([*PLAIN, "B8A"], {}, ("sentinel-2", "B4", "B8A")),
        ([*PLAIN, "B12"], {}, ("sentinel-2", "B4", "B8")),
        (["B02", "B03", "B04", "B05"], {}, ("sentinel-2", "B04", "B08")),
        (["B4", "B5", "SCL"], {}, ("sentinel-2", "B4", "B8")),
        (["B2", "B3", "B4", "B5", "B10", "B11", "BQA"], {}, ("landsat-oli-l1", "B4", "B5")),
        (
            ["B1", "B2", "B3", "B4", "B5", "B6", "B7", "B9", "B10", "B11"],
            {},
            ("landsat-oli-l1", "B4", "B5"),
        ),
        (["l8_B4", "l8_B5"], {}, ("landsat-oli-l1", "l8_B4", "l8_B5")),
        (["s2_B04", "s2_B05"], {}, ("sentinel-2", "s2_B04", "s2_B08")),
    ],
)
def test_each_clue_resolves(labels, attrs, want):
    sensor, red, nir = want
    cube = _cube(labels, **attrs)
    assert cube.eo.sensor == sensor
    assert cube.eo.band("red").name == red
    if nir in labels:
        assert cube.eo.band("nir").name == nir
        assert cube.eo.index("NDVI").attrs["index_bands"] == f"N={nir}, R={red}"


def test_clue_on_dataset_variables_and_stac_properties():
    ds = bands.to_dataset(_cube(C2_L2))
    ds["SR_B4"].attrs["platform"] = "landsat-8"
    assert ds.eo.sensor == "landsat-oli-l2" and ds.eo.band("red").name == "SR_B4"
    assert bands.detect_sensor(C2_L2, {"platform": "landsat-7", "instruments": ["etm+"]}) == (
        "landsat-tm-l2"
    )


def test_candidates_that_agree_raise_nothing():
    # SR_B7 is swir22 on every Landsat; B7 + BQA is swir22 on both Landsat L1 tables.
    assert _cube(["SR_B7", "QA_PIXEL"]).eo.bands == {"swir22": "SR_B7"}
    assert _cube(["B7", "BQA"]).eo.band("swir2").name == "B7"


def test_red_edge_not_computable_from_landsat_numbers():
    l8 = _cube(PLAIN, platform="landsat-8")
    with pytest.raises(BandNotFoundError, match="RE1"):
        l8.eo.index("NDREI")  # (N - RE1) / (N + RE1): OLI has no red edge
    s2 = _cube([*PLAIN, "B8"], platform="sentinel-2b")
    assert s2.eo.index("NDREI").attrs["index_bands"] == "N=B8, RE1=B5"


def test_declare_sensor():
    cube = _cube(C2_L2)
    oli = bands.declare_sensor(cube, "landsat-8")
    assert oli.attrs["platform"] == "landsat-8" and oli.attrs["eoxr:sensor"] == "landsat-oli-l2"
    assert "platform" not in cube.attrs  # the input is not modified
    assert oli.eo.band("nir").name == "SR_B5"
    assert bands.declare_sensor(cube, "LANDSAT_5").eo.band("nir").name == "SR_B4"
    assert bands.declare_sensor(cube, "landsat-tm-l2").eo.sensor == "landsat-tm-l2"
    with pytest.raises(ParameterError, match="unknown sensor or platform 'landsat-42'"):
        bands.declare_sensor(cube, "landsat-42")


def test_unknown_platform_does_not_read_sensor_numbers():
    cube = _cube(["B1", "B2", "B3", "B4"], platform="PlanetScope")  # B3 red, B4 NIR there
    assert cube.eo.sensor is None and cube.eo.bands == {}
    with pytest.raises(BandNotFoundError, match="'PlanetScope' has no band table"):
        cube.eo.band("red")


def test_platform_without_band_table():
    # Landsat 1-3 MSS: B4 green, B5 red, B6/B7 NIR; eoxr has no MSS table and must not guess.
    cube = _cube(["B4", "B5", "B6", "B7"], platform="landsat-1")
    assert cube.eo.sensor is None
    with pytest.raises(BandNotFoundError, match="'landsat-1' has no band table"):
        cube.eo.index("NDVI")


def test_metadata_that_contradicts_the_labels_raises():
    cube = _cube(["B04", "B8A", "B05"], platform="landsat-8")
    with pytest.raises(AmbiguousBandsError, match="disagree"):
        cube.eo.bands  # noqa: B018


def test_real_landsat8_l1_files_resolve():
    folder = shared_path("l8_gulf_coast_l1_cc0")
    files = sorted(p for p in folder.glob("l8_B*.tif") if p.stem != "l8_B8")  # B8: 15 m pan
    cube = eoxr.open_raster(files, stack="band", chunks={"x": 256, "y": 256})
    assert cube.eo.sensor == "landsat-oli-l1"
    ndvi = cube.eo.index("NDVI", scale=1.0)
    # open_raster drops the file names' shared prefix (l8_B5 -> B5)
    assert ndvi.attrs["index_bands"] == "N=B5, R=B4"
    prefixed = cube.assign_coords(band=[f"l8_{b}" for b in cube.band.values])
    assert prefixed.eo.sensor == "landsat-oli-l1"  # a sensor prefix on each label
    assert cube.drop_sel(band="BQA").eo.sensor == "landsat-oli-l1"  # B9 + B10 + B11


def test_real_sentinel2_files_resolve():
    folder = shared_path("s2_chesapeake_l1c_cc0")
    files = [folder / f"s2_{b}.tif" for b in ("B02", "B03", "B04", "B08")]
    cube = eoxr.open_raster(files, stack="band", chunks={"x": 512, "y": 512})
    assert cube.eo.sensor == "sentinel-2"
    assert cube.eo.bands == {"blue": "B02", "green": "B03", "red": "B04", "nir": "B08"}


def test_builtin_samples_resolve():
    from eoxr import datasets

    ls = datasets.open("landsat_colorado")
    assert ls.eo.sensor in {"landsat-tm-l2", "landsat-tm-l1"}
    assert ls.eo.bands == {"red": "red", "nir": "nir", "swir16": "swir16"}
    s2 = datasets.open("s2_chesapeake", bands=["red", "nir"])
    assert s2.eo.sensor == "sentinel-2" and s2.eo.band("nir").name == "B08"
