import warnings

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import eoxr
from eoxr import datasets
from eoxr.errors import BandNotFoundError, DimensionError, ParameterError
from eoxr.testing import assert_chunk_invariant, make_cube
from eoxr.testing.strategies import chunkings


@pytest.fixture(scope="module")
def scene():
    return datasets.synthetic_s2(seed=2, shape=(40, 40), times=6)


@pytest.mark.parametrize("method", ["median", "mean", "max", "min", "max_ndvi"])
def test_chunk_invariant_and_lazy(scene, method):
    masked = scene.cube.eo.mask_clouds(mask=scene.extras["scl"])
    assert_chunk_invariant(
        lambda c: c.eo.composite(method),
        masked,
        chunkings=[{"time": 1, "y": 9, "x": 13}, {"time": 2, "y": 40, "x": 5}],
    )


def test_median_is_nanmedian(scene):
    masked = scene.cube.eo.mask_clouds(mask=scene.extras["scl"])
    out = masked.eo.composite("median")
    np.testing.assert_allclose(out.values, np.nanmedian(masked.values, axis=0), rtol=1e-6)
    assert out.dtype == np.float32 and out.rio.crs == scene.cube.rio.crs
    # masking clouds makes the composite closer to the clean truth
    truth = scene.truth.median("time")
    assert float(abs(out - truth).mean()) < 0.75 * float(
        abs(scene.cube.median("time") - truth).mean()
    )


def test_max_ndvi_takes_whole_spectrum_from_best_date(scene):
    masked = scene.cube.eo.mask_clouds(mask=scene.extras["scl"])
    out = masked.eo.composite("max_ndvi").values
    v = masked.values
    ndvi = (v[:, 6] - v[:, 2]) / (v[:, 6] + v[:, 2])
    best = np.nanargmax(np.where(np.isnan(ndvi), -np.inf, ndvi), axis=0)
    yy, xx = np.mgrid[0:40, 0:40]
    np.testing.assert_array_equal(out, np.moveaxis(v[best, :, yy, xx], -1, 0))


def test_all_nan_pixel_gives_nan():
    cube = make_cube(bands=["red", "nir"], times=3, ny=3, nx=3)
    cube[:, :, 0, 0] = np.nan
    for m in ("median", "max_ndvi"):
        out = cube.eo.composite(m)
        assert np.isnan(out.values[:, 0, 0]).all() and np.isfinite(out.values[:, 1:, 1:]).all()


def test_dataset_input_and_errors():
    ds = datasets.open("landsat_colorado").isel(time=slice(0, 6)).eo.mask_clouds()
    out = ds.eo.composite("max_ndvi")
    assert set(out.data_vars) == {"red", "nir", "swir16"} and "time" not in out.dims
    with pytest.raises(DimensionError):
        make_cube(times=None).eo.composite()
    with pytest.raises(ParameterError, match="unknown composite"):
        make_cube().eo.composite("mode")
    with pytest.raises(BandNotFoundError):
        make_cube(bands=["B02", "B03"]).eo.composite("max_ndvi")


# ------------------------------------------------------------------ integer cubes, known answers
def _series(red, nir, dtype):
    """(time, band, y, x) cube with one pixel: red and nir given per date."""
    data = np.stack([np.asarray(red), np.asarray(nir)], axis=1).astype(dtype)[:, :, None, None]
    return xr.DataArray(
        data,
        dims=("time", "band", "y", "x"),
        coords={"band": ["red", "nir"], "y": [0.0], "x": [0.0], "time": np.arange(len(red))},
    )


@pytest.mark.parametrize(
    ("dtype", "red", "nir", "best"),
    [
        # date 0: NDVI -0.25 (3 - 5 wraps to 254 in uint8); date 1: +0.5; date 2: +0.048
        ("uint8", [5, 10, 20], [3, 30, 22], 1),
        ("uint16", [5000, 1000, 2000], [3000, 3000, 2100], 1),
        ("int16", [400, 300, -50], [100, 900, 250], 2),  # date 2: NDVI (250+50)/200 = 1.5
    ],
)
def test_integer_max_ndvi_never_wraps(dtype, red, nir, best):
    cube = _series(red, nir, dtype)
    for c in (cube, cube.chunk({"time": 1})):
        out = c.eo.composite("max_ndvi")
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out.values[:, 0, 0], [red[best], nir[best]])


@pytest.mark.parametrize(
    ("dtype", "values"),
    [
        ("uint8", [250, 3, 200, 7]),
        ("uint16", [65000, 60000, 50000, 61000]),
        ("int16", [-300, 32000, 12, -5]),
    ],
)
def test_integer_median_mean_are_float32(dtype, values):
    cube = _series(values, values[::-1], dtype)
    want = np.array([values, values[::-1]], dtype="float64")
    for c in (cube, cube.chunk({"time": 2})):
        med, mean = c.eo.composite("median"), c.eo.composite("mean")
        assert med.dtype == np.float32 and mean.dtype == np.float32
        np.testing.assert_allclose(med.values[:, 0, 0], np.median(want, axis=1), rtol=1e-7)
        np.testing.assert_allclose(mean.values[:, 0, 0], want.mean(axis=1), rtol=1e-6)
        mx = c.eo.composite("max")
        assert mx.dtype == np.dtype(dtype)  # min/max pick data values: the type is kept
        np.testing.assert_array_equal(mx.values[:, 0, 0], want.max(axis=1))


def test_integer_dataset_composites():
    ds = eoxr.bands.to_dataset(_series([5, 10, 20], [3, 30, 22], "uint8"))
    out = ds.eo.composite("max_ndvi")
    assert out["red"].item() == 10 and out["nir"].item() == 30 and out["nir"].dtype == np.float32
    assert ds.eo.composite("mean")["red"].dtype == np.float32


# ----------------------------------------------------------- property: median == np.nanmedian
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), nan_fraction=st.sampled_from([0.0, 0.3, 0.8]))
def test_median_equals_nanmedian_any_chunking(data, nan_fraction):
    cube = make_cube(bands=["red", "nir"], times=5, ny=6, nx=7, nan_fraction=0, seed=3)
    rng = np.random.default_rng(int(nan_fraction * 10))
    cube = cube.where(rng.random(cube.shape) >= nan_fraction)  # NaN per band too
    chunks = data.draw(chunkings({"time": 5, "band": 2, "y": 6, "x": 7}))
    got = cube.chunk(chunks).eo.composite("median")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN pixels
        want = np.nanmedian(cube.values, axis=0)
        got = got.values
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-6, equal_nan=True)
