"""Hyperspectral functions on other layouts (wavelength dim, bands last) and all-NaN bands."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import eoxr  # noqa: F401  (registers .eo)
from eoxr import hsi
from eoxr.datasets import synthetic_hsi
from eoxr.errors import ParameterError


@pytest.fixture(scope="module")
def small():
    return synthetic_hsi(seed=1, shape=(40, 40), n_bands=30, dead_fraction=0.0)


def test_wavelength_dim_gives_the_band_dim_results(small):
    cube = small.cube
    wcube = cube.swap_dims(band="wavelength")
    for name in ("mnf", "savgol"):
        got = wcube.eo.denoise(name)
        assert got.dims == ("wavelength", "y", "x") and got.dtype == np.float32
        xr.testing.assert_identical(got.coords.to_dataset(), wcube.coords.to_dataset())
        np.testing.assert_array_equal(got.values, cube.eo.denoise(name).values)
    np.testing.assert_array_equal(wcube.eo.destripe().values, cube.eo.destripe().values)
    sigma = wcube.eo.estimate_noise("diff")
    assert sigma.dims == ("wavelength",)
    np.testing.assert_array_equal(sigma.values, cube.eo.estimate_noise("diff").values)


def test_bands_last_layout_is_kept(small):
    cube = small.cube.transpose("y", "x", "band")
    sigma = hsi.estimate_noise(small.cube, "diff")
    for func in (lambda c: hsi.tv(c, noise=sigma), hsi.subspace, hsi.repair_dead_pixels):
        got = func(cube)
        assert got.dims == ("y", "x", "band")
        np.testing.assert_allclose(
            got.transpose("band", "y", "x").values, func(small.cube).values, rtol=1e-6, atol=1e-7
        )


@pytest.fixture(scope="module")
def nan_band(small):
    cube = small.cube.copy()
    cube[5] = np.nan
    return cube


@pytest.mark.parametrize("func", [hsi.fit_mnf, hsi.fit_pca, hsi.fit_subspace, hsi.estimate_noise])
def test_all_nan_band_names_the_band_in_the_fit_error(nan_band, func):
    # before: fit_mnf fitted on 0 pixels and mnf returned the input unchanged, silently
    with pytest.raises(ParameterError, match=r"NaN everywhere \(band = \[6\]\).*dropna"):
        func(nan_band)
    with pytest.raises(ParameterError, match=r"NaN everywhere"):
        func(nan_band.chunk({"band": -1, "y": 20, "x": 20}))
    assert func(nan_band.dropna("band", how="all")) is not None  # the advised fix works


def test_too_few_complete_pixels_is_explained(small):
    cube = small.cube.isel(y=slice(0, 4), x=slice(0, 4))  # 16 pixels for 30 bands
    with pytest.raises(ParameterError, match="more NaN-free pixels than bands: 16"):
        hsi.fit_mnf(cube)


def test_all_nan_band_is_flagged_bad_not_infinite_snr(nan_band, small):
    sigma = hsi.estimate_noise(nan_band, "diff")
    assert np.isnan(sigma.values[5]) and np.isnan(sigma.snr.values[5])  # was inf
    assert np.isfinite(sigma.snr.values[np.arange(30) != 5]).all()
    kw = {"noise": "diff", "wavelength_ranges": None, "min_snr": 1.0}
    expected = hsi.find_bad_bands(small.cube, **kw).values
    assert not expected[5]
    expected[5] = True
    np.testing.assert_array_equal(hsi.find_bad_bands(nan_band, **kw).values, expected)


def test_zero_filled_band_has_zero_snr(small):
    cube = small.cube.copy()
    cube[7] = 0.0
    assert hsi.estimate_noise(cube, "diff").snr.values[7] == 0.0


def test_per_band_methods_keep_an_all_nan_band_nan(nan_band, small):
    for name in ("savgol", "tv"):
        got = nan_band.eo.denoise(name).values  # tv: crashed (NaN sigma, then weight 0)
        assert np.isnan(got[5]).all()
        assert not np.isnan(got[np.arange(30) != 5]).any()
    # tv is per band: the other bands are what they are without the NaN band
    np.testing.assert_allclose(got[:5], hsi.tv(small.cube).values[:5], rtol=1e-6)


def test_dead_lines_need_three_valid_pixels(small):
    # an orthorectified swath: NaN outside a triangle. The lines that cross its corner in one
    # valid pixel were flagged as dead lines before.
    cube = small.cube.copy()
    yy, xx = np.mgrid[0:40, 0:40]
    cube = cube.where(xr.DataArray(yy + xx < 40, dims=("y", "x")))
    found = hsi.find_dead_pixels(cube).any("band").values
    col = small.extras["dead_column"]
    expected = np.zeros((40, 40), bool)
    expected[: 40 - col, col] = True  # the planted dead column, inside the swath
    np.testing.assert_array_equal(found, expected)


def test_bad_noise_option_fails_before_reading_the_cube(small):
    from eoxr.testing import raise_if_dask_computes

    with (
        raise_if_dask_computes(max_computes=0),
        pytest.raises(ParameterError, match="'diff' or 'hysime'"),
    ):
        hsi.fit_mnf(small.cube.chunk({"y": 20}), noise="bogus")


@pytest.fixture(scope="module")
def series(small):
    other = synthetic_hsi(seed=2, shape=(40, 40), n_bands=30, dead_fraction=0.0).cube
    time = xr.DataArray(
        np.array(["2020-01-01", "2020-02-01"], "datetime64[ns]"), dims="time", name="time"
    )
    return xr.concat([small.cube, other], dim=time).transpose("y", "time", "band", "x"), other


@pytest.mark.parametrize(
    "name",
    [
        "estimate_noise",
        "find_bad_bands",
        "destripe",
        "find_dead_pixels",
        "repair_dead_pixels",
        "mnf",
        "savgol",
    ],
)
def test_time_dim_is_processed_scene_by_scene(series, name):
    cube, second = series
    func = getattr(hsi, name)
    out = func(cube)
    ref = func(second)
    assert out.dims == tuple(d for d in cube.dims if d in out.dims)  # input order kept
    np.testing.assert_array_equal(out.time.values, cube.time.values)
    np.testing.assert_array_equal(out.isel(time=1).transpose(*ref.dims).values, ref.values)


def test_time_dim_slices_per_scene_arguments_and_stays_lazy(series, small):
    cube, second = series
    masks = xr.concat([hsi.find_dead_pixels(small.cube), hsi.find_dead_pixels(second)], "time")
    got = hsi.repair_dead_pixels(cube.chunk({"y": 20}), mask=masks)
    assert got.chunks is not None
    np.testing.assert_array_equal(
        got.isel(time=1).transpose(*second.dims).values, hsi.repair_dead_pixels(second).values
    )
