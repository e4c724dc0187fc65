"""Bands resolved once (issue 21): the value a verb passes down, and the walks of the verbs.

``eoxr._resolved.resolve_cube`` reads a cube's labels, dims, sensor and radiometry once; the
value must answer as the functions that read the cube (``bands.resolve_band``,
``radiometry.classify`` / ``product_scaling``) do, and the verbs must not ask the cube again.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import eoxr.testing as et
from eoxr import bands, radiometry
from eoxr._resolved import resolve_cube
from eoxr.errors import AmbiguousBandsError, BandNotFoundError, UnitsError
from tests._walk import BAND_MODULES, LAYERS, walk
from tests.conftest import require

NAMES = ["red", "nir", "N", "swir16", "S2", "swir1", "nir08", "B04", "blue", "coastal", "lwir11"]
CUBES = {
    "sentinel-2": lambda: et.make_cube(
        bands=["B02", "B03", "B04", "B08", "B8A", "B11", "B12", "SCL"]
    ),
    "landsat-oli-l2": lambda: et.make_cube(bands=["SR_B2", "SR_B4", "SR_B5", "SR_B6", "ST_B10"]),
    "landsat declared tm": lambda: bands.declare_sensor(
        et.make_cube(bands=["SR_B3", "SR_B4", "SR_B5"]), "LT05"
    ),
    "platform attr": lambda: et.make_cube(bands=["B2", "B3", "B4", "B5"]).assign_attrs(
        platform="landsat-8"
    ),
    "product id": lambda: et.make_cube(bands=["B4", "B5", "B6"]).assign_attrs(
        product_id="LC08_L1TP_044034_20210508_20210518_02_T1"
    ),
    "common names": lambda: et.make_cube(bands=["red", "nir", "swir16"]),
    "dataset": lambda: et.make_cube(bands=["B04", "B08", "B11"], as_dataset=True),
}


@pytest.mark.parametrize("case", sorted(CUBES))
def test_value_answers_as_the_cube_does(case: str) -> None:
    cube = CUBES[case]()
    rb = resolve_cube(cube)
    assert rb.labels == tuple(bands.band_labels(cube))
    assert rb.sensor == bands.detect_sensor(cube)
    assert rb.kind == radiometry.classify(cube)
    for name in NAMES:
        try:
            want = bands.resolve_band(cube, name)
        except BandNotFoundError:
            want = None
        assert rb.label(name) == want, name
    with pytest.raises(AttributeError):  # frozen
        rb.kind = "dn"  # type: ignore[misc]


def test_ambiguous_labels_name_nothing_and_the_cube_asks() -> None:
    cube = et.make_cube(bands=["SR_B3", "SR_B4", "SR_B5"])  # OLI or TM: B4 is red or nir
    rb = resolve_cube(cube)
    assert rb.sensors.ambiguous and rb.sensor is None and rb.label("nir") is None
    assert rb.label("SR_B4") == "SR_B4"  # a label is itself on any sensor
    with pytest.raises(AmbiguousBandsError, match="declare_sensor"):
        bands.resolve_band(cube, "nir")  # what a verb falls back on: it asks, never guesses


def test_radiometry_is_read_once_and_raises_where_needed() -> None:
    dn = et.make_cube(bands=["B04", "B08"], dtype="uint16", times=None)
    rb = resolve_cube(dn)
    assert rb.kind == "dn" and rb.product() == radiometry.product_scaling(dn)
    assert rb.as_reflectance().kind == "reflectance" and rb.as_reflectance().product() is None
    # a Sentinel-2 cube from 2024 without its processing baseline: the offset is unknown, so
    # resolving does not raise, and the scaling raises the error product_scaling raises
    late = et.make_cube(bands=["B04", "B08"], dtype="uint16")  # two dates in 2024
    rb = resolve_cube(late)
    with pytest.raises(UnitsError, match="processing baseline") as got:
        rb.product()
    with pytest.raises(UnitsError) as want:
        radiometry.product_scaling(late)
    assert str(got.value) == str(want.value)


def test_select_keeps_sensor_and_radiometry() -> None:
    rb = resolve_cube(et.make_cube(bands=["B02", "B04", "B08", "B11"], dtype="uint16"))
    sub = rb.select(["B08", "B04"])
    assert sub.labels == ("B08", "B04") and sub.sensor == "sentinel-2" and sub.kind == "dn"
    assert sub.label("red") == "B04" and sub.label("swir16") is None


def _verbs() -> dict:
    from eoxr.embed import embed, encoder
    from eoxr.indices import index, indices
    from eoxr.ml import apply_model

    torch = require("torch", extra="ml")
    torch.manual_seed(0)
    net = torch.nn.Conv2d(2, 3, 3, padding=1).eval()
    rcf = encoder("rcf", bands=["red", "nir"], features=8, size=3)
    return {
        "index": lambda c: index(c, "NDVI"),
        "indices": lambda c: indices(c, ["NDVI", "EVI", "NBR"]),
        "indices of DN": lambda c: indices(c, ["NDVI"], scale=1e-4),
        "apply_model": lambda c: apply_model(
            c, net, input_dims={"y": 32, "x": 32}, bands=["nir", "red"], mean=0.3, std=0.2
        ),
        "embed": lambda c: embed(c, rcf, patch=16, stride=8),
    }


@pytest.mark.parametrize("verb", ["index", "indices", "indices of DN", "apply_model", "embed"])
def test_verbs_resolve_the_bands_once(verb: str) -> None:
    cube = et.make_cube(bands=["B02", "B03", "B04", "B08", "B11", "B12"], ny=64, nx=64)
    cube = cube.assign_attrs(platform="sentinel-2b")
    if verb == "indices of DN":
        cube = (cube * 1e4).astype("uint16").assign_attrs(units="DN")
    build = _verbs()[verb]
    want = build(cube)  # numpy
    lazy = cube.chunk({"y": 32, "x": 32})
    with et.raise_if_dask_computes():
        out, entered, calls = walk(lambda: build(lazy))
    assert calls[("_resolved.py", "resolve_cube")] == 1
    assert calls[("_sensors.py", "resolve_sensor")] == 1
    assert calls[("bands.py", "resolve_band")] == 0
    assert not [m for m in entered if m in BAND_MODULES], entered
    layers = {m.split("/")[0] if m.startswith(LAYERS) else m for m in entered}
    assert len(layers) <= 8, sorted(entered)
    got = out if isinstance(out, xr.DataArray) else out.to_dataarray()
    ref = want if isinstance(want, xr.DataArray) else want.to_dataarray()
    np.testing.assert_allclose(got.values, ref.values, rtol=1e-6, equal_nan=True)
