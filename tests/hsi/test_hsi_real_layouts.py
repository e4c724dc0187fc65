"""Issue 10 for hyperspectral cubes: HySime with few pixels, SNR >= 0, ENVI ``bbl``, curvilinear
``xc``/``yc`` grids and progress bars of the fits."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import eoxr  # noqa: F401  (registers .eo)
from eoxr import hsi
from eoxr.datasets import synthetic_hsi
from eoxr.errors import ParameterError
from eoxr.testing import assert_chunk_invariant


def _clean_scene(shape, n_bands, seed=0):
    """Synthetic scene with its dead pixels (and planted dead column) set to NaN (nodata)."""
    s = synthetic_hsi(seed=seed, shape=shape, n_bands=n_bands, stripe_fraction=0)
    return s.cube.where(~s.extras["dead_mask"]), s.extras["noise_sigma"].values


# --- HySime and the pixels/bands ratio -----------------------------------------------------


def test_hysime_refuses_63_bands_on_100_pixels():
    cube, _ = _clean_scene((10, 11), 63)  # one column is NaN: 100 complete pixels
    with pytest.raises(ParameterError, match=r"at least 3 complete pixels per band, got 100"):
        hsi.estimate_noise(cube, "hysime")
    with pytest.raises(ParameterError, match="noise='diff'"):
        hsi.fit_mnf(cube, noise="hysime")
    # the advised estimator works on the same crop
    assert np.isfinite(hsi.estimate_noise(cube, "diff").values).all()


def test_hysime_at_a_healthy_ratio_matches_the_known_noise():
    cube, truth = _clean_scene((48, 48), 63)  # ~2200 complete pixels, 35 per band
    ratio = hsi.estimate_noise(cube, "hysime").values / truth
    assert 0.97 < np.median(ratio) < 1.06
    assert np.all((ratio > 0.85) & (ratio < 1.2))
    # dask gives the same numbers
    lazy = hsi.estimate_noise(cube.chunk({"y": 20, "x": 17}), "hysime").values / truth
    np.testing.assert_allclose(lazy, ratio, rtol=1e-9)


def test_hysime_refuses_resampled_pixels_that_span_too_few_dimensions():
    cube, _ = _clean_scene((60, 60), 63)
    distinct = cube.isel(y=slice(0, 36, 6), x=slice(0, 36, 6))  # 6 x 6 = 36 spectra
    # 576 pixels (9 per band) but only 36 distinct spectra: before, sigma was ~1e-4 x the truth
    up = distinct.isel(y=np.repeat(np.arange(6), 4), x=np.repeat(np.arange(6), 4))
    with pytest.raises(ParameterError, match="span only 3[0-9] of 63 band dimensions"):
        hsi.estimate_noise(up, "hysime")


def test_constant_band_gets_zero_noise_and_zero_snr_from_hysime():
    cube, _ = _clean_scene((40, 40), 30)
    cube = cube.copy()
    cube[4] = cube[4].where(cube[4].isnull(), 0.0)
    sigma = hsi.estimate_noise(cube, "hysime")
    assert sigma.values[4] == 0 and sigma.snr.values[4] == 0
    assert (sigma.values[np.arange(30) != 4] > 0).all()


# --- SNR is never negative --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["diff", "hysime"])
def test_snr_never_negative(method):
    cube, _ = _clean_scene((40, 40), 30)
    cube = cube - cube.mean(("y", "x")) * xr.DataArray(np.arange(30) % 2 * 2.0, dims="band")
    assert (cube.mean(("y", "x")) < 0).any()  # bands of negative mean: mean/sigma was < 0
    snr = hsi.estimate_noise(cube, method).snr.values
    assert (snr >= 0).all()
    bad = hsi.find_bad_bands(cube, noise=method, wavelength_ranges=None)
    assert (bad.snr.values >= 0).all()


def test_snr_of_definition():
    sigma = np.array([1.0, 2.0, 0.0, 0.0, np.nan, 3.0])
    power = np.array([26.0, 4.0, 0.0, 1.0, 1.0, 1.0])  # signal power 25, 0, 0, 1, -, < 0
    np.testing.assert_array_equal(
        hsi.noise.snr_of(sigma, power), [5.0, 0.0, 0.0, np.inf, np.nan, 0.0]
    )


def test_find_bad_bands_accepts_a_plain_sigma():
    cube, truth = _clean_scene((40, 40), 30)
    sigma = xr.DataArray(truth, dims="band")  # no snr coordinate: SNR from the band power
    got = hsi.find_bad_bands(cube, noise=sigma, wavelength_ranges=None)
    ref = hsi.find_bad_bands(cube, noise="diff", wavelength_ranges=None)
    assert np.corrcoef(got.snr, ref.snr)[0, 1] > 0.95


# --- ENVI bbl ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bbl_cube():
    s = synthetic_hsi(seed=3, shape=(40, 40), n_bands=40, dead_fraction=0)
    bbl = np.ones(40, int)
    bbl[[0, 1, 39]] = 0  # at the ends: the good bands stay evenly spaced for savgol
    cube = s.cube.assign_coords(bbl=("band", bbl))
    cube[[0, 1, 39]] = 0.0  # what such bands often hold
    return cube


def test_find_bad_bands_honours_bbl(bbl_cube):
    bad = hsi.find_bad_bands(bbl_cube, noise="diff")
    assert bad.values[[0, 1, 39]].all()
    assert list(bad.reason.values[[0, 1, 39]]) == ["bbl"] * 3
    assert set(bad.reason.values[~bad.values]) == {""}
    sigma = hsi.estimate_noise(bbl_cube, "hysime")
    assert np.isnan(sigma.values[[0, 1, 39]]).all()
    np.testing.assert_allclose(
        sigma.values[2:39], hsi.estimate_noise(bbl_cube.isel(band=slice(2, 39))).values
    )


@pytest.mark.parametrize(
    "func",
    [
        hsi.mnf,
        hsi.pca,
        lambda c: hsi.savgol(c, size=7),
        hsi.tv,
        hsi.subspace,
        hsi.destripe,
        hsi.repair_dead_pixels,
    ],
    ids=["mnf", "pca", "savgol", "tv", "subspace", "destripe", "repair"],
)
def test_denoisers_keep_bbl_bands_and_ignore_them(bbl_cube, func):
    out = func(bbl_cube)
    np.testing.assert_array_equal(out.values[[0, 1, 39]], bbl_cube.values[[0, 1, 39]])
    good = bbl_cube.isel(band=slice(2, 39)).drop_vars("bbl")
    np.testing.assert_allclose(out.values[2:39], func(good).values, rtol=1e-5, atol=1e-6)
    assert out.dims == bbl_cube.dims and "bbl" in out.coords


def test_bbl_bands_stay_out_of_dead_pixel_flags(bbl_cube):
    mask = hsi.find_dead_pixels(bbl_cube)
    assert not mask.values[[0, 1, 39]].any()
    lazy = hsi.mnf(bbl_cube.chunk({"y": 20}))
    np.testing.assert_allclose(lazy.values, hsi.mnf(bbl_cube).values, rtol=1e-5, atol=1e-6)


# --- curvilinear grids: 2-D xc / yc -------------------------------------------------------------


def _curvilinear(cube: xr.DataArray) -> xr.DataArray:
    ny, nx = cube.sizes["y"], cube.sizes["x"]
    yy, xx = np.meshgrid(np.arange(ny, dtype=float), np.arange(nx, dtype=float), indexing="ij")
    bare = cube.drop_vars(["y", "x", "spatial_ref"], errors="ignore")
    return bare.assign_coords(xc=(("y", "x"), xx + 0.1 * yy), yc=(("y", "x"), yy - 0.05 * xx))


@pytest.fixture(scope="module")
def curvi():
    s = synthetic_hsi(seed=4, shape=(40, 48), n_bands=20, dead_fraction=0)
    return _curvilinear(s.cube)


@pytest.mark.parametrize("name", ["destripe", "tv"])
def test_curvilinear_coords_numpy_and_dask(curvi, name):
    func = getattr(hsi, name)
    out = func(curvi)
    assert set(out.coords) == set(curvi.coords)  # no spurious index coords
    xr.testing.assert_identical(out.xc, curvi.xc)
    # tv is iterative and global: chunked results agree to a tolerance (see spatial.py)
    atol = 2e-3 if name == "tv" else 1e-7
    for chunks in ({"y": 20, "x": 24}, {"y": 13, "x": 7}, {"band": 5, "y": 40, "x": 11}):
        lazy = func(curvi.chunk(chunks))  # before: "inconsistent chunks along dimension x"
        assert lazy.chunks is not None and set(lazy.coords) == set(curvi.coords)
        assert lazy.chunksizes["x"] == curvi.chunk(chunks).chunksizes["x"]
        np.testing.assert_allclose(lazy.values, out.values, rtol=1e-5, atol=atol)
        assert np.isfinite(float((lazy * lazy.xc).mean()))  # coords and data chunks agree
    if name == "tv":
        sigma = hsi.estimate_noise(curvi, "diff")
        assert_chunk_invariant(
            lambda c: func(c, noise=sigma),
            curvi,
            chunkings=[{"y": 13, "x": 7}],
            rtol=1e-5,
            atol=atol,
        )


def test_image_smaller_than_the_halo(curvi):
    tiny = curvi.isel(y=slice(0, 10), x=slice(0, 12))
    sigma = hsi.estimate_noise(tiny, "diff")
    whole = hsi.tv(tiny, noise=sigma).values  # before: "depth 16 is larger than your array"
    lazy = hsi.tv(tiny.chunk({"y": 5, "x": 3}), noise=sigma).values
    np.testing.assert_allclose(lazy, whole, atol=2e-3)
    assert hsi.subspace(tiny.chunk({"y": 5}), rank=3, noise=sigma).shape == tiny.shape


@pytest.mark.slow
def test_jasper_with_curvilinear_coords(jasper):
    noisy = _curvilinear(jasper[0].isel(band=slice(0, 60)))
    for func in (hsi.destripe, hsi.tv):
        whole = func(noisy)
        lazy = func(noisy.chunk({"y": 30, "x": 45}))
        assert set(lazy.coords) == set(noisy.coords)
        np.testing.assert_allclose(lazy.values, whole.values, atol=5e-3)


# --- progress bars of the fits ----------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda c: hsi.mnf(c, progress=True),
        lambda c: hsi.pca(c, progress=True),
        lambda c: hsi.subspace(c, progress=True),
        lambda c: hsi.estimate_noise(c, progress=True),
        lambda c: hsi.find_bad_bands(c, progress=True),
        lambda c: hsi.find_dead_pixels(c, noise="hysime", progress=True),
        lambda c: hsi.tv(c, noise="hysime", progress=True),  # the default noise is lazy
    ],
)
def test_fits_show_progress(monkeypatch, call):
    # destripe, find_dead_pixels and tv (noise="diff") compute nothing at call time, so they show
    # no bar: tests/core/test_laziness.py checks that they stay lazy
    from eoxr._dask import progress

    seen = []
    real = progress.progress_bar
    monkeypatch.setattr(progress, "progress_bar", lambda p=None: seen.append(p) or real(False))
    cube = synthetic_hsi(seed=5, shape=(32, 32), n_bands=20, dead_fraction=0).cube
    call(cube.chunk({"y": 16}))
    assert seen and all(p is True for p in seen)
