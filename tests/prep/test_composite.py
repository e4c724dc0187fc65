import numpy as np
import pytest

from eoxr import datasets
from eoxr.errors import BandNotFoundError, DimensionError, ParameterError
from eoxr.testing import assert_chunk_invariant, make_cube


@pytest.fixture(scope="module")
def scene():
    return datasets.synthetic_s2(seed=2, shape=(40, 40), times=6)


@pytest.mark.parametrize("method", ["median", "mean", "max", "min", "max_ndvi"])
def test_chunk_invariant_and_lazy(scene, method):
    masked = scene.cube.eo.mask_clouds(mask=scene.extras["scl"])
    assert_chunk_invariant(
        lambda c: c.eo.composite(method),
        masked,
        [{"time": 1, "y": 9, "x": 13}, {"time": 2, "y": 40, "x": 5}],
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
