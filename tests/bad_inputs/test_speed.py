"""Catalogue of bad inputs on the fused speckle-kernel paths: exception type and key message.

The moment filters (Lee, Kuan, Gamma-MAP, enhanced Lee) find the point targets inside the
kernel; Frost, refined Lee and Lee sigma through one masking pass: both paths are covered.
Nothing here writes files.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eoxr import sar
from eoxr.errors import ParameterError, UnitsError

FUSED, MASKED = "lee", "frost"


@pytest.fixture(scope="module")
def img():
    rng = np.random.default_rng(0)
    return xr.DataArray(
        (0.1 * rng.gamma(4.4, 1 / 4.4, (24, 28))).astype("float32"),
        dims=("y", "x"),
        attrs={"units": "1"},
    )


@pytest.mark.parametrize("name", [FUSED, MASKED, "gamma_map", "lee_sigma"])
def test_db_labelled_linear_raises_when_the_kernel_runs_on_dask(img, name):
    bad = img.copy(data=img.values - 20.0)  # dB values under units="1"
    out = getattr(sar, name)(bad.chunk({"y": 10}), point_threshold=1.0)  # lazy: no error yet
    with pytest.raises(UnitsError, match="declared linear power"):
        out.compute()


@pytest.mark.parametrize("name", [FUSED, MASKED])
@pytest.mark.parametrize("value", [0.0, -1.0, float("nan"), "high"])
def test_point_threshold_must_be_a_positive_number(img, name, value):
    with pytest.raises(ParameterError, match=r"point_threshold=.* must be a number > 0"):
        getattr(sar, name)(img, point_threshold=value)


@pytest.mark.parametrize("name", [FUSED, MASKED])
@pytest.mark.parametrize("value", [0, 10, 2.5, True])
def test_min_count_must_be_an_integer_in_1_9(img, name, value):
    with pytest.raises(ParameterError, match=r"min_count=.* must be an integer in \[1, 9\]"):
        getattr(sar, name)(img, min_count=value)


@pytest.mark.parametrize("size", [4, 1, {"y": 5, "x": 6}])
def test_even_or_tiny_window_on_the_fused_path(img, size):
    with pytest.raises(ParameterError, match="odd integer >= 3"):
        sar.kuan(img, size=size, looks=4.4)


def test_refined_lee_window_is_fixed(img):
    with pytest.raises(ParameterError, match="7x7 window of Lee 1981"):
        sar.refined_lee(img, size=11)
