"""Bad inputs to band resolution, spectral indices and preparation: type + key phrase each.

Nothing here writes files, so there is nothing to check on disk.
"""

import numpy as np
import pytest
import xarray as xr

import eoxr
import eoxr.indices
import eoxr.testing as et
from eoxr import bands
from eoxr.errors import (
    AmbiguousBandsError,
    BandNotFoundError,
    CatalogError,
    DataTypeError,
    DimensionError,
    GridMismatchError,
    ParameterError,
    UnitsError,
)


def _cube(labels, times=None, dtype="float32", **attrs):
    cube = et.make_cube(bands=labels, ny=4, nx=4, times=times, dtype=dtype)
    cube.attrs.update(attrs)
    return cube


CASES = [
    # (id, callable, exception type, key phrase)
    (
        "landsat-c2-l2-labels-without-sensor",
        lambda: _cube(["SR_B3", "SR_B4", "SR_B5"]).eo.index("NDVI"),
        AmbiguousBandsError,
        "SR_B4=red, SR_B5=nir08",
    ),
    (
        "plain-band-numbers-landsat-or-sentinel2",
        lambda: _cube(["B2", "B3", "B4", "B5"]).eo.band("nir"),
        AmbiguousBandsError,
        "cube = cube.eo.declare_sensor(",
    ),
    (
        "landsat-l1-numbers-oli-or-tm",
        lambda: _cube(["B3", "B4", "B5", "BQA"]).eo.bands,
        AmbiguousBandsError,
        "landsat-tm-l1",
    ),
    (
        "metadata-contradicts-labels",
        lambda: _cube(["B04", "B8A"], platform="landsat-8").eo.bands,
        AmbiguousBandsError,
        "disagree",
    ),
    (
        "declare-unknown-platform",
        lambda: bands.declare_sensor(_cube(["B4", "B5"]), "landsat-42"),
        ParameterError,
        "unknown sensor or platform 'landsat-42'",
    ),
    (
        "unknown-platform-attr-with-band-numbers",
        lambda: _cube(["B1", "B2", "B3", "B4"], platform="PlanetScope").eo.index("NDVI"),
        BandNotFoundError,
        "'PlanetScope' has no band table",
    ),
    (
        "missing-band",
        lambda: _cube(["B02", "B04"]).eo.band("swir1"),
        BandNotFoundError,
        "Bands present: ['B02', 'B04']",
    ),
    (
        "scale-on-reflectance-floats",
        lambda: _cube(["B02", "B04", "B08"]).eo.index("EVI", scale=1e-4),
        UnitsError,
        "already floating point",
    ),
    (
        "integer-dn-without-scale",
        lambda: _cube(["B04", "B08"], dtype="uint16").eo.index("NDVI"),
        DataTypeError,
        "Pass scale=",
    ),
    (
        "float-dn-without-scale",
        lambda: _cube(["B04", "B08"], units="DN").eo.index("NDVI"),
        UnitsError,
        "digital numbers",
    ),
    (
        "boolean-bands",
        lambda: _cube(["B04", "B08"]).astype(bool).eo.index("NDVI"),
        DataTypeError,
        "numeric reflectance",
    ),
    (
        "unknown-index-name",
        lambda: _cube(["B04", "B08"]).eo.index("NDVX"),
        CatalogError,
        "Did you mean",
    ),
    (
        "formula-with-unknown-symbol",
        lambda: _cube(["B04", "B08"]).eo.index("(N - R) / (N + Q)"),
        BandNotFoundError,
        "band 'Q' not found",
    ),
    (
        "formula-calling-python",
        lambda: _cube(["B04", "B08"]).eo.index("__import__('os')"),
        CatalogError,
        "unknown function",
    ),
    (
        "unknown-kernel",
        lambda: _cube(["B04", "B08"]).eo.index("NDVI", kernel="gauss"),
        ParameterError,
        "kernel='gauss' is not one of",
    ),
    (
        "catalog-unknown-domain",
        lambda: eoxr.indices.catalog(domain="forest"),
        ParameterError,
        "unknown domain ['forest']",
    ),
    (
        "catalog-with-ambiguous-label-list",
        lambda: eoxr.indices.catalog(bands_available=["B3", "B4", "B5"]),
        AmbiguousBandsError,
        "B5=nir08",
    ),
    (
        "unknown-composite-method",
        lambda: _cube(["B04", "B08"], times=3).eo.composite("mode"),
        ParameterError,
        "use one of ['median', 'mean', 'min', 'max', 'max_ndvi']",
    ),
    (
        "max-ndvi-without-red-nir",
        lambda: _cube(["B02", "B03"], times=3).eo.composite("max_ndvi"),
        BandNotFoundError,
        "band 'red' not found",
    ),
    (
        "composite-without-time",
        lambda: _cube(["B04", "B08"]).eo.composite("median"),
        DimensionError,
        "cannot composite over 'time'",
    ),
    (
        "unknown-mask-kind",
        lambda: _cube(["B04", "B08", "SCL"]).eo.mask_clouds(kind="s2cloudless"),
        ParameterError,
        "unknown mask kind 's2cloudless'",
    ),
    (
        "negative-mask-buffer",
        lambda: _cube(["B04", "B08", "SCL"]).eo.mask_clouds(buffer=-2),
        ParameterError,
        "buffer=-2",
    ),
    (
        "mask-on-another-grid",
        lambda: _cube(["B04", "B08"]).eo.mask_clouds(
            mask=xr.DataArray(np.zeros((3, 3), "uint8"), dims=("y", "x"), name="SCL")
        ),
        GridMismatchError,
        "does not match the cube grid",
    ),
    (
        "dataset-bands-on-different-grids",
        lambda: xr.Dataset(
            {
                "B04": (("y", "x"), np.zeros((2, 2))),
                "B08": (("time", "y", "x"), np.zeros((1, 2, 2))),
            }
        ).eo.to_array(),
        GridMismatchError,
        "different dims",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "phrase"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input(call, error, phrase):
    with pytest.raises(error) as info:
        call()
    assert phrase in str(info.value)


def test_ambiguity_error_is_a_band_error():
    with pytest.raises(BandNotFoundError):  # callers catching missing bands see it too
        _cube(["SR_B3", "SR_B4", "SR_B5"]).eo.band("red")
    assert issubclass(AmbiguousBandsError, KeyError)
    assert eoxr.errors.AmbiguousBandsError is AmbiguousBandsError


def test_ambiguity_error_pickles():
    import pickle

    with pytest.raises(AmbiguousBandsError) as info:
        _cube(["SR_B3", "SR_B4", "SR_B5"]).eo.bands  # noqa: B018
    back = pickle.loads(pickle.dumps(info.value))
    assert str(back) == str(info.value) and back.candidates == info.value.candidates
