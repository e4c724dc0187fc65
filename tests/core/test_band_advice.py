"""Error advice is code that works on the object the user holds: each fix is executed here.

The fixes are taken from the messages (every ```cube = ...``` span), run on the cube of the
failing call, and the failing verb is retried. On a DataArray band labels are coordinate values
(``assign_coords``), on a Dataset variable names (``rename``).
"""

import re

import numpy as np
import pytest
import xarray as xr

import eoxr
import eoxr.testing as et
from eoxr import bands
from eoxr.errors import AmbiguousBandsError, BandNotFoundError, DimensionError, ParameterError

FORMS = ["dataarray", "dataset"]
C2_L2 = ["SR_B1", "SR_B2", "SR_B3", "SR_B4", "SR_B5", "SR_B7"]


def _cube(labels, form="dataarray", times=None, **attrs):
    cube = et.make_cube(bands=labels, ny=6, nx=5, times=times, as_dataset=form == "dataset")
    cube.attrs.update(attrs)
    return cube


def _fixes(message):
    """Every ``cube = ...`` line the message suggests."""
    return re.findall(r"`(cube = [^`]+)`", message)


def _run_fix(cube, code, **names):
    ns = {"cube": cube, "xr": xr, "eoxr": eoxr, **names}
    exec(code, ns)
    return ns["cube"]


def _band(cube, label):
    """One band as a plain array, read without eoxr (the independent side of the checks)."""
    if isinstance(cube, xr.Dataset):
        return cube[label].values
    return cube.sel(band=label).values


def _ndvi(nir, red):
    return (nir - red) / (nir + red)


# ----------------------------------------------------------------- item 1: relabel / add
@pytest.mark.parametrize("form", FORMS)
def test_relabel_advice_runs_on_the_object_held(form):
    cube = _cube(["B04", "B03", "band_8"], form)
    with pytest.raises(BandNotFoundError) as info:
        cube.eo.index("NDVI")
    msg = str(info.value)
    relabel = [f for f in _fixes(msg) if "concat" not in f and ".assign(" not in f]
    assert len(relabel) == 1, msg
    if form == "dataarray":  # rename would rename the array or its dims, not a band
        assert ".assign_coords(band=" in relabel[0] and ".rename(" not in relabel[0]
    else:
        assert relabel[0] == "cube = cube.rename({'band_8': 'nir'})"
    fixed = _run_fix(cube, relabel[0])
    assert fixed.eo.band("nir").name == "nir"
    got = fixed.eo.index("NDVI").values
    np.testing.assert_allclose(got, _ndvi(_band(cube, "band_8"), _band(cube, "B04")), rtol=1e-6)


@pytest.mark.parametrize("form", FORMS)
def test_add_band_advice_runs_and_the_index_follows(form):
    cube = _cube(["B04", "B03", "B02"], form)
    nir = _cube(["B08"], "dataarray").isel(band=0, drop=True) * 0.5 + 0.25
    with pytest.raises(BandNotFoundError) as info:
        cube.eo.band("nir")
    add = [f for f in _fixes(str(info.value)) if "nir" in f]
    assert len(add) == 1
    fixed = _run_fix(cube, add[0], nir=nir)
    assert fixed.eo.band("nir").name == "nir"
    got = fixed.eo.index("NDVI").values
    np.testing.assert_allclose(got, _ndvi(nir.values, _band(cube, "B04")), rtol=1e-6)


def test_add_band_advice_on_a_cube_with_wavelengths_and_time():
    cube = _cube(["B04", "B03"], times=3).eo.to_dataset().eo.to_array()  # wavelength coord
    assert "wavelength" in cube.coords
    nir = cube.isel(band=0, drop=True) + 0.1
    with pytest.raises(BandNotFoundError) as info:
        cube.eo.index("NDVI")
    (add,) = [f for f in _fixes(str(info.value)) if "xr.concat" in f]
    fixed = _run_fix(cube, add, nir=nir)
    assert fixed.dims == cube.dims
    np.testing.assert_allclose(
        fixed.eo.index("NDVI").values, _ndvi(nir.values, cube.sel(band="B04").values), rtol=1e-6
    )


def test_relabel_advice_for_many_bands_and_one_band():
    labels = [f"ch{i}" for i in range(20)]
    cube = _cube(labels)
    code = bands.relabel_code(cube, {"ch7": "nir", "ch3": "red"})
    fixed = _run_fix(cube, code)
    assert fixed["band"].values.tolist() == [{"ch7": "nir", "ch3": "red"}.get(b, b) for b in labels]
    assert "for b in cube['band']" in code  # 20 labels: not written out
    assert fixed.eo.bands == {"red": "red", "nir": "nir"}
    one = _cube(["ch7"]).isel(band=0, drop=True).rename("ch7")
    with pytest.raises(BandNotFoundError) as info:
        one.eo.band("nir")
    (fix,) = [f for f in _fixes(str(info.value)) if "rename" in f]
    assert _run_fix(one, fix).eo.band("nir").name == "nir"


def test_spatial_dims_advice_runs():
    # a Dataset's bands are its variables with the spatial dims, so it needs them named
    cube = _cube(["B04", "B08"], "dataset").rename({"y": "rows", "x": "cols"})
    with pytest.raises(DimensionError) as info:
        cube.eo.index("NDVI")
    (fix,) = _fixes(str(info.value))
    assert _run_fix(cube, fix).eo.index("NDVI").dims == ("y", "x")


@pytest.mark.parametrize("form", [*FORMS, "one band"])
def test_unread_labels_advice_runs(form):
    labels = ["B1", "B2", "B3", "B4"] if form != "one band" else ["B3"]
    cube = _cube(labels, "dataset" if form == "dataset" else "dataarray", platform="PlanetScope")
    if form == "one band":
        cube = cube.isel(band=0, drop=True).rename("B3")
    with pytest.raises(BandNotFoundError) as info:
        cube.eo.band("red")
    fixes = _fixes(str(info.value))
    assert len(fixes) == 2, fixes
    relabel, declare = fixes
    # the user fills in the names eoxr cannot know (PlanetScope has no band table)
    names = dict(zip(["B1", "B2", "B3", "B4"], ["blue", "green", "red", "nir"], strict=True))
    assert _run_fix(cube, relabel, names=names).eo.bands == {names[b]: names[b] for b in labels}
    assert "declare_sensor('sentinel-2')" in declare  # for data that really are Sentinel-2
    declared = _run_fix(cube, declare)
    assert declared.eo.bands == {bands.canonical_name(b, "sentinel-2"): b for b in labels}


# ----------------------------------------------------------------- item 2: NIR missing
RGB_ONLY = [
    (["B04", "B03", "B02"], {}),  # Sentinel-2 (zero-padded numbers say so)
    (["B4", "B3", "B2"], {"platform": "sentinel-2a"}),
    (["SR_B4", "SR_B3", "SR_B2"], {"platform": "landsat-8"}),  # Landsat 8/9 C2 L2
    (["B4", "B3", "B2"], {"platform": "LANDSAT_9"}),  # Landsat 8/9 C2 L1
    (["SR_B4", "SR_B3", "SR_B2", "ST_B10"], {}),  # ST_B10 exists only on OLI/TIRS
    (["red", "green", "blue"], {}),
]


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(("labels", "attrs"), RGB_ONLY)
def test_missing_nir_is_not_an_ambiguity(labels, attrs, form):
    cube = _cube(labels, form, **attrs)
    for call in (lambda c: c.eo.index("NDVI"), lambda c: c.eo.band("nir")):
        with pytest.raises(BandNotFoundError) as info:
            call(cube)
        err = info.value
        msg = str(err)
        assert not isinstance(err, AmbiguousBandsError)
        assert "ambiguous" not in msg.lower()
        assert "has no nir (near infrared) band" in msg
        assert err.present == labels and str(labels) in msg
        nir = cube[labels[0]] if form == "dataset" else cube.isel(band=0, drop=True)
        (add,) = [f for f in _fixes(msg) if "nir" in f]
        assert call(_run_fix(cube, add, nir=nir + 0.5)) is not None


def test_no_sensor_has_nir_is_a_missing_band_even_when_labels_are_ambiguous():
    cube = _cube(["SR_B2", "SR_B3"])  # blue/green on Landsat 8/9, green/red on 4/5/7
    for call in (lambda: cube.eo.index("NDVI"), lambda: cube.eo.band("nir")):
        with pytest.raises(BandNotFoundError) as info:
            call()
        assert not isinstance(info.value, AmbiguousBandsError)
        assert "on every sensor they may come from" in str(info.value)


def test_nir_on_some_sensors_only_stays_an_ambiguity_that_says_which():
    cube = _cube(["SR_B4", "SR_B3", "SR_B2"])  # no metadata: SR_B4 is NIR on Landsat 4/5/7
    with pytest.raises(AmbiguousBandsError) as info:
        cube.eo.index("NDVI")
    msg = str(info.value)
    assert "landsat-oli-l2 has no N (nir) band" in msg and "landsat-tm-l2 reads N=SR_B4" in msg
    with pytest.raises(AmbiguousBandsError, match="'nir' is 'SR_B4' on landsat-tm-l2"):
        cube.eo.band("nir")


# ----------------------------------------------------------------- item 3: declare_sensor
SPELLINGS = ["landsat-5", "LANDSAT_5", "Landsat 5", "LT05", "lt5", "Landsat-5 TM", "TM"]
TM_L2 = {
    "blue": "SR_B1",
    "green": "SR_B2",
    "red": "SR_B3",
    "nir": "SR_B4",
    "swir16": "SR_B5",
    "swir22": "SR_B7",
}


def _check_landsat5(cube, original):
    assert cube.eo.sensor == "landsat-tm-l2"
    assert cube.eo.bands == TM_L2
    assert cube.eo.band("nir").name == "SR_B4"
    ndvi = cube.eo.index("NDVI")
    assert ndvi.attrs["index_bands"] == "N=SR_B4, R=SR_B3"
    want = _ndvi(_band(original, "SR_B4"), _band(original, "SR_B3"))
    np.testing.assert_allclose(ndvi.values, want, rtol=1e-6)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_declare_landsat5_settles_c2_labels(spelling, form):
    cube = _cube(C2_L2, form)
    with pytest.raises(AmbiguousBandsError):
        cube.eo.bands  # noqa: B018
    _check_landsat5(cube.eo.declare_sensor(spelling), cube)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize(
    "metadata",
    [
        {"instruments": ["oli", "tirs"]},
        {"platform": "landsat-8"},
        {"LANDSAT_PRODUCT_ID": "LC08_L2SP_044034_20200101_20200101_02_T1"},
        {"eoxr:sensor": "landsat-oli-l2"},
    ],
)
def test_declaration_wins_over_other_metadata(metadata, form):
    cube = _cube(C2_L2, form, **metadata)
    if form == "dataset":  # odc-stac style: metadata on each variable too
        for v in cube.data_vars.values():
            v.attrs.update(metadata)
    _check_landsat5(cube.eo.declare_sensor("LANDSAT_5"), cube)


def test_the_ambiguity_message_line_for_landsat_4_5_7_settles_it():
    cube = _cube(C2_L2)
    with pytest.raises(AmbiguousBandsError) as info:
        cube.eo.index("NDVI")
    (tm,) = [f for f in _fixes(str(info.value)) if "landsat-4" in f or "landsat-5" in f]
    _check_landsat5(_run_fix(cube, tm), cube)


@pytest.mark.parametrize("form", FORMS)
def test_declaration_after_xarray_operations(form):
    cube = _cube(C2_L2, form, times=2)
    declared = cube.eo.declare_sensor("landsat-5")
    # operations that keep attrs (xarray's default for these) keep the declaration
    for kept in (
        declared * 1.0,
        declared - declared.mean("time"),
        declared.where(declared > 0),
        declared.mean("time"),
        xr.concat([declared, declared], "time"),
    ):
        assert kept.eo.band("nir").name == "SR_B4"
    # an operation that drops attrs drops the declaration: the ambiguity comes back (never a
    # silent Landsat 8/9 reading), and the line its message gives settles it again
    with xr.set_options(keep_attrs=False):
        reduced = declared.mean("time")
    assert "eoxr:sensor" not in reduced.attrs
    with pytest.raises(AmbiguousBandsError) as info:
        reduced.eo.band("nir")
    assert "drops attrs" in str(info.value)
    (tm,) = [f for f in _fixes(str(info.value)) if "landsat-4" in f]
    assert _run_fix(reduced, tm).eo.band("nir").name == "SR_B4"


def test_declaring_a_sensor_that_does_not_know_the_labels():
    with pytest.raises(ParameterError, match="not all bands of 'landsat-5'"):
        _cube(["B04", "B8A"]).eo.declare_sensor("landsat-5")
    with pytest.raises(AmbiguousBandsError, match="'landsat' fits several band tables"):
        _cube(C2_L2).eo.declare_sensor("landsat")
    with pytest.raises(ParameterError, match="unknown sensor or platform 'MODIS'"):
        _cube(C2_L2).eo.declare_sensor("MODIS")
