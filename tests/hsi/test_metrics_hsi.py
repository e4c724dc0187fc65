"""eoxr.metrics against closed-form values."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eoxr import metrics
from eoxr.errors import DimensionError, GridMismatchError


def cube(values) -> xr.DataArray:
    return xr.DataArray(np.asarray(values, dtype="float32"), dims=("band", "y", "x"))


@pytest.fixture
def ref():
    rng = np.random.default_rng(0)
    return cube(rng.uniform(0.1, 0.5, (4, 20, 20)))


def test_mpsnr_closed_form(ref):
    out = ref + 0.01
    peak = ref.max(("y", "x")).values.astype("float64")
    expected = np.mean(10 * np.log10(peak**2 / 0.01**2))
    assert metrics.mpsnr(out, ref) == pytest.approx(expected, rel=1e-5)
    assert metrics.mpsnr(out, ref, data_range=1.0) == pytest.approx(40.0, rel=1e-4)
    assert metrics.mpsnr(ref, ref) == np.inf


def test_sam_closed_form():
    ref = cube(np.ones((2, 3, 3)))
    out = ref.copy()
    out[1] = 0.0  # every spectrum (1, 1) becomes (1, 0): 45 degrees
    assert metrics.sam(out, ref) == pytest.approx(45.0)
    assert metrics.sam(3 * ref, ref) == pytest.approx(0.0, abs=1e-6)


def test_ergas_closed_form(ref):
    out = ref + 0.1 * ref.mean(("y", "x"))  # RMSE_b / mean_b = 0.1 -> 100 * 0.1 = 10
    assert metrics.ergas(out, ref) == pytest.approx(10.0, rel=1e-4)
    assert metrics.ergas(out, ref, ratio=0.25) == pytest.approx(2.5, rel=1e-4)


def test_mssim_orders_degradations(ref):
    rng = np.random.default_rng(1)
    small = ref + rng.normal(0, 0.01, ref.shape).astype("float32")
    large = ref + rng.normal(0, 0.1, ref.shape).astype("float32")
    assert metrics.mssim(ref, ref) == pytest.approx(1.0)
    assert 1.0 > metrics.mssim(small, ref) > metrics.mssim(large, ref) > 0


def test_nan_pixels_are_left_out(ref):
    out = ref + 0.01
    holed = out.copy()
    holed[:, 2, 3] = np.nan
    holed[1, 5, 5] = np.nan  # NaN in one band drops the whole pixel everywhere
    for f in (metrics.mpsnr, metrics.sam, metrics.ergas, metrics.mssim):
        assert np.isfinite(f(holed, ref))
    assert metrics.mpsnr(holed, ref) == pytest.approx(metrics.mpsnr(out, ref), rel=1e-3)
    assert set(metrics.compare(holed, ref)) == {"mpsnr", "mssim", "sam", "ergas"}


def test_errors(ref):
    with pytest.raises(GridMismatchError, match="same grid"):
        metrics.mpsnr(ref.isel(x=slice(0, 5)), ref)
    with pytest.raises(DimensionError):
        metrics.sam(ref.isel(band=0), ref.isel(band=0))


def test_transposed_input_is_aligned(ref):
    out = (ref + 0.01).transpose("y", "x", "band")
    assert metrics.mpsnr(out, ref) == pytest.approx(metrics.mpsnr(ref + 0.01, ref))
