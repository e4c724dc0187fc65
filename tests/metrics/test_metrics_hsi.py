"""eoxr.metrics against closed-form values."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eoxr import metrics
from eoxr.errors import DimensionError, GridMismatchError, ParameterError


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


@pytest.fixture
def tiny():
    """A 2-band 2x2 pair whose metrics are worked out by hand below."""
    ref = cube([[[1, 2], [3, 4]], [[2, 2], [2, 2]]])
    res = cube([[[1, 2], [3, 5]], [[2, 2], [2, 3]]])
    return res, ref


def _angle(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return np.degrees(np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b)))


def test_hand_computed_values_on_a_tiny_cube(tiny):
    res, ref = tiny
    # band 0: MSE 1/4, peak 4 -> 10 log10(64); band 1: MSE 1/4, peak 2 -> 10 log10(16)
    assert metrics.mpsnr(res, ref) == pytest.approx((10 * np.log10(64) + 10 * np.log10(16)) / 2)
    # only the pixel (1, 1) changes its spectrum: (4, 2) -> (5, 3)
    assert metrics.sam(res, ref) == pytest.approx(_angle((4, 2), (5, 3)) / 4)
    # RMSE / mean: 0.5 / 2.5 and 0.5 / 2
    assert metrics.ergas(res, ref) == pytest.approx(100 * np.sqrt((0.2**2 + 0.25**2) / 2))


def test_hand_computed_values_with_a_nan_pixel(tiny):
    res, ref = tiny
    res = res.copy()
    res[0, 0, 0] = np.nan  # the whole pixel (0, 0) leaves every band
    assert metrics.mpsnr(res, ref) == pytest.approx(
        (10 * np.log10(16 * 3) + 10 * np.log10(4 * 3)) / 2
    )
    assert metrics.sam(res, ref) == pytest.approx(_angle((4, 2), (5, 3)) / 3)
    rel = np.array([np.sqrt(1 / 3) / 3, np.sqrt(1 / 3) / 2])  # RMSE / mean of 3 pixels
    assert metrics.ergas(res, ref) == pytest.approx(100 * np.sqrt(np.mean(rel**2)))


def test_all_nan_band_raises_instead_of_nan(tiny):
    res, ref = tiny
    res = res.copy()
    res[1] = np.nan
    for f in (metrics.mpsnr, metrics.sam, metrics.ergas):
        with pytest.raises(ParameterError, match=r"positions \[1\] are NaN everywhere.*dropna"):
            f(res, ref)


def test_mssim_equals_skimage_mssim_and_needs_its_window():
    from skimage.metrics import structural_similarity

    rng = np.random.default_rng(0)
    a = rng.uniform(0, 1, (3, 9, 11))
    b = a + rng.normal(0, 0.1, a.shape)
    expected = np.mean(
        [structural_similarity(b[i], a[i], data_range=np.ptp(a[i])) for i in range(3)]
    )  # skimage crops the 3-pixel border
    assert metrics.mssim(cube(b), cube(a)) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ParameterError, match="7x7"):
        metrics.mssim(cube(b[:, :5]), cube(a[:, :5]))
