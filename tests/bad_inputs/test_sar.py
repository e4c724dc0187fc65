"""Catalogue of bad inputs to eoxr.sar and eoxr.metrics: exception type and key message.

Nothing here writes files; every case fails before any computation result is returned.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eoxr import metrics, sar
from eoxr.datasets import synthetic_hsi
from eoxr.errors import DataTypeError, GridMismatchError, ParameterError, UnitsError


@pytest.fixture(scope="module")
def img():
    rng = np.random.default_rng(0)
    return xr.DataArray(
        (0.1 * rng.gamma(4.4, 1 / 4.4, (32, 36))).astype("float32"),
        dims=("y", "x"),
        attrs={"units": "1"},
    )


def test_negative_intensity_without_units(img):
    db = sar.to_db(img).drop_attrs()
    with pytest.raises(UnitsError, match=r"negative values but no `units` attr"):
        sar.lee(db, looks=4.4)


def test_db_values_declared_linear(img):
    db_as_linear = sar.to_db(img).assign_attrs(units="1")
    with pytest.raises(UnitsError, match=r"declared linear power.*units'\] = 'dB'"):
        sar.refined_lee(db_as_linear, looks=4.4)
    with pytest.raises(UnitsError, match="declared linear power"):
        sar.estimate_looks(db_as_linear.chunk({"y": 8}))
    with pytest.raises(UnitsError, match="declared linear power"):
        sar.multilook(db_as_linear, factors=2).values  # noqa: B018  (the check runs in the graph)


def test_all_zero_scene_has_no_looks_estimate(img):
    with pytest.raises(ParameterError, match="cannot estimate the number of looks"):
        sar.estimate_looks(img * 0)


@pytest.mark.parametrize("size", [4, 6, 2])
def test_even_size(img, size):
    with pytest.raises(ParameterError, match="odd integer"):
        sar.lee(img, size=size, looks=4.4)


@pytest.mark.parametrize("size", [1, -3, 0])
def test_size_below_three(img, size):
    with pytest.raises(ParameterError, match="size"):
        sar.kuan(img, size=size, looks=4.4)


def test_size_mapping_on_foreign_dims_or_even(img):
    with pytest.raises(ParameterError, match="keys must be the spatial dims"):
        sar.lee(img, size={"time": 5}, looks=4.4)
    with pytest.raises(ParameterError, match="odd integer"):
        sar.lee(img, size={"y": 5, "x": 4}, looks=4.4)
    with pytest.raises(ParameterError, match="7x7"):
        sar.refined_lee(img, size={"y": 5, "x": 5}, looks=4.4)


@pytest.mark.parametrize("factors", [0, {"y": 0}, {"x": -2}, {"y": 2.5}, True])
def test_multilook_factor_zero_or_not_integer(img, factors):
    with pytest.raises(ParameterError, match="multilook factor"):
        sar.multilook(img, factors=factors)


def test_multilook_factor_on_non_spatial_dim(img):
    with pytest.raises(ParameterError, match="not a spatial dim"):
        sar.multilook(img, factors={"time": 2})


def test_unknown_filter_parameter(img):
    with pytest.raises(TypeError, match="unexpected keyword argument 'window'"):
        sar.lee(img, window=7)
    with pytest.raises(TypeError, match="positional"):
        sar.lee(img, 7)  # options are keyword-only


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [
        ({"looks": 0}, "not a valid number of looks"),
        ({"looks": "many"}, "not a valid number of looks"),
        ({"min_count": 0}, "min_count"),
        ({"point_threshold": -1.0}, "point_threshold"),
        ({"keep_points": "yes"}, "keep_points"),
    ],
)
def test_bad_filter_options(img, kwargs, phrase):
    with pytest.raises(ParameterError, match=phrase):
        sar.gamma_map(img, **({"looks": 4.4} | kwargs))


def test_bad_sigma_and_damping(img):
    with pytest.raises(ParameterError, match=r"sigma=0.2 must lie in \[0.5, 0.99\]"):
        sar.lee_sigma(img, looks=4.4, sigma=0.2)
    with pytest.raises(ParameterError, match="damping"):
        sar.frost(img, damping=0)


def test_hyperspectral_cube_to_a_sar_filter():
    cube = synthetic_hsi(shape=(16, 16), n_bands=24).cube
    with pytest.raises(ParameterError, match="is for sar data"):
        cube.eo.denoise("refined_lee")


def test_complex_slc_to_a_filter(img):
    with pytest.raises(DataTypeError, match=r"abs\(slc\) \*\* 2"):
        sar.lee(img.astype("complex64"), looks=4.4)


def test_unknown_metric_option_and_filter(img):
    with pytest.raises(ParameterError, match=r"option\(s\) \['windw'\] are taken by none"):
        metrics.compare_filters(img, filters=["lee"], looks=4.4, windw=7)
    with pytest.raises(ParameterError, match=r"unknown filter\(s\) \['nlmeans'\]"):
        metrics.compare_filters(img, filters=["lee", "nlmeans"])
    with pytest.raises(TypeError, match="unexpected keyword argument 'maks'"):
        metrics.enl(img, maks=np.ones((32, 36), bool))


def test_metric_mask_on_another_grid(img):
    with pytest.raises(GridMismatchError, match="mask has shape"):
        metrics.mean_ratio(img, img, mask=np.ones((10, 10), bool))
    with pytest.raises(GridMismatchError, match="same grid"):
        metrics.ssi(img, img.isel(x=slice(0, 20)))


def test_metric_bad_data_range():
    ref = xr.DataArray(np.ones((2, 8, 8), "float32"), dims=("band", "y", "x"))
    with pytest.raises(ParameterError, match="data_range"):
        metrics.mpsnr(ref, ref, data_range=0)
