"""Hyperspectral denoisers: quality on the synthetic scene, chunk invariance, NaN, errors."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import eoxr
from eoxr import hsi, metrics
from eoxr.errors import ParameterError
from eoxr.testing import assert_chunk_invariant, raise_if_dask_computes

METHODS = {
    "mnf": {},
    "pca": {},
    "savgol": {"size": 7, "order": 2},
    "tv": {},
    "subspace": {},
}


@pytest.fixture(scope="module")
def prepared(scene):
    """Dead pixels repaired and stripes removed: what the denoisers are meant to see."""
    return scene.cube.eo.repair_dead_pixels().eo.destripe().compute()


@pytest.fixture(scope="module")
def scores(scene, prepared):
    out = {
        "noisy": metrics.compare(scene.cube, scene.truth),
        "prepared": metrics.compare(prepared, scene.truth),
    }
    for name, params in METHODS.items():
        out[name] = metrics.compare(prepared.eo.denoise(name, **params).compute(), scene.truth)
    return out


@pytest.mark.parametrize("method", list(METHODS))
def test_method_gains_mpsnr_and_lowers_sam(scores, method):
    got, noisy, prep = scores[method], scores["noisy"], scores["prepared"]
    # over the noisy input (the whole workflow) and over the prepared cube (the method itself)
    assert got["mpsnr"] > noisy["mpsnr"] + 10
    assert got["mpsnr"] > prep["mpsnr"] + 1.0
    # savgol only smooths along wavelength, within a 7-band window: a smaller SAM drop
    ratio = 0.9 if method == "savgol" else 0.7
    assert got["sam"] < ratio * prep["sam"] and prep["sam"] < noisy["sam"]
    assert got["mssim"] > prep["mssim"]


def test_spectral_spatial_methods_rank_as_expected(scores):
    # subspace (spatial + spectral) > mnf (spectral, SNR-ordered) > savgol (local spectral)
    assert scores["subspace"]["mpsnr"] > scores["mnf"]["mpsnr"] > scores["savgol"]["mpsnr"]
    assert scores["subspace"]["sam"] < 0.5 * scores["savgol"]["sam"]


def test_denoise_verb_lists_and_dispatches(prepared):
    listing = eoxr.denoise_methods()
    hs = set(listing.loc[listing.kind == "hyperspectral", "method"])
    assert {"mnf", "pca", "savgol", "tv", "subspace"} <= hs
    via_verb = prepared.eo.denoise("pca", n_components=5)
    xr.testing.assert_equal(via_verb, hsi.pca(prepared, n_components=5))
    assert via_verb.attrs["history"].endswith("pca denoising, 5 components")


@pytest.mark.parametrize("fit", [hsi.fit_mnf, hsi.fit_pca])
def test_fitted_projection_is_chunk_invariant_and_lazy(prepared, fit):
    t = fit(prepared)
    assert_chunk_invariant(lambda c: hsi.apply_transform(c, t), prepared, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fit", [hsi.fit_mnf, hsi.fit_pca, hsi.fit_subspace])
def test_fit_does_not_depend_on_chunks(prepared, fit):
    a = fit(prepared)
    b = fit(prepared.chunk({"band": -1, "y": 29, "x": 50}))
    assert a.n_components == b.n_components
    pa, pb = a.inverse @ a.forward, b.inverse @ b.forward
    np.testing.assert_allclose(pb, pa, atol=1e-7 * np.abs(pa).max())


def test_fit_once_then_lazy(prepared):
    cube = prepared.chunk({"band": -1, "y": 48, "x": 48})
    with raise_if_dask_computes(max_computes=1):  # the statistics pass
        out = hsi.mnf(cube)
    assert eoxr.testing.assert_lazy(out) is None
    assert out.dtype == np.float32 and out.dims == cube.dims
    assert "mnf denoising" in out.attrs["history"] and out.attrs["units"] == "1"


def test_mnf_component_choice(prepared):
    t = hsi.fit_mnf(prepared)
    snr = t.eigenvalues - 1
    assert t.n_components == int(np.sum(snr >= 1.0))
    assert 3 <= t.n_components <= 15  # 5 endmembers; noise and stripes leave a few more
    assert hsi.fit_mnf(prepared, n_components=4).n_components == 4
    assert hsi.fit_mnf(prepared, min_snr=1000).n_components < t.n_components
    th = hsi.fit_mnf(prepared, noise="hysime")
    assert abs(th.n_components - t.n_components) <= 3


def test_subspace_nlmeans_is_chunk_exact(prepared):
    t = hsi.fit_subspace(prepared)
    small = prepared.isel(y=slice(0, 60), x=slice(0, 60))
    assert_chunk_invariant(
        lambda c: hsi.subspace(c, transform=t),
        small,
        chunkings=[{"band": -1, "y": 30, "x": 25}],
        rtol=1e-5,
        atol=1e-6,
    )


CHUNKINGS = [
    {"band": -1, "y": 32, "x": 32},
    {"band": -1, "y": 17, "x": 64},
    {"band": 7, "y": 25, "x": 40},
]


def test_tv_is_chunk_exact(prepared):
    """Default: each whole band image solved in one task, identical whatever the chunking."""
    sigma = hsi.estimate_noise(prepared, "diff")
    small = prepared.isel(band=slice(0, 20), y=slice(0, 64), x=slice(0, 64))
    with_nan = small.where(small.x != 5)  # a NaN column: filled for the solver, NaN again
    assert_chunk_invariant(
        lambda c: hsi.tv(c, noise=sigma[:20]), with_nan, chunkings=CHUNKINGS, rtol=0.0, atol=0.0
    )


def test_subspace_tv_is_chunk_exact(prepared):
    t = hsi.fit_subspace(prepared)
    small = prepared.isel(y=slice(0, 60), x=slice(0, 60))
    assert_chunk_invariant(
        lambda c: hsi.subspace(c, transform=t, spatial="tv", n_iter=20),
        small,
        chunkings=CHUNKINGS,
        rtol=1e-6,
        atol=0.0,
    )


def test_tv_whole_images_equal_an_independent_chambolle(prepared):
    """The exact path is skimage's Chambolle on each band image with weight strength*sigma."""
    from skimage.restoration import denoise_tv_chambolle

    sigma = hsi.estimate_noise(prepared, "diff")[:5]
    small = prepared.isel(band=slice(0, 5), y=slice(0, 40), x=slice(0, 40))
    got = hsi.tv(small.chunk({"y": 16, "x": 16}), strength=2.0, noise=sigma, n_iter=30).values
    for b in range(5):
        want = denoise_tv_chambolle(
            small.values[b].astype("float64"),
            weight=2.0 * float(sigma[b]),
            eps=0.0,
            max_num_iter=30,
        )
        np.testing.assert_allclose(got[b], want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("func", ["tv", "subspace"])
def test_tiled_tv_stays_within_the_stated_bound(prepared, func):
    """With ``halo`` TV is solved tile by tile: within 5e-6 of the largest value (docstring)."""
    sigma = hsi.estimate_noise(prepared, "diff")
    if func == "tv":
        small = prepared.isel(band=slice(0, 20), y=slice(0, 64), x=slice(0, 64))

        def run(c, **kw):
            return hsi.tv(c, noise=sigma[:20], **kw)
    else:
        t = hsi.fit_subspace(prepared)
        small = prepared.isel(y=slice(0, 64), x=slice(0, 64))

        def run(c, **kw):
            return hsi.subspace(c, transform=t, spatial="tv", **kw)

    whole = run(small).values
    scale = float(np.abs(whole).max())
    for chunks in CHUNKINGS:
        with raise_if_dask_computes():
            lazy = run(small.chunk(chunks), halo=16)
        diff = np.abs(lazy.values - whole)
        assert 0 < diff.max() <= 5e-6 * scale, (chunks, diff.max() / scale)


def test_nan_pixels_stay_nan_and_do_not_spread(prepared):
    holes = np.zeros(prepared.shape[1:], bool)
    holes[10:14, 20:25] = True
    cube = prepared.where(~xr.DataArray(holes, dims=("y", "x")))
    for name in METHODS:
        out = cube.eo.denoise(name).values
        assert np.isnan(out[:, holes]).all(), name
        assert not np.isnan(out[:, ~holes]).any(), name


def test_partial_nan_spectrum_in_savgol(prepared):
    cube = prepared.copy()
    cube[5, 3, 3] = np.nan
    out = hsi.savgol(cube, size=7, order=2)
    assert np.isnan(out[5, 3, 3])
    assert np.isfinite(out[:, 3, 3].values).sum() == cube.sizes["band"] - 1
    # the missing band is interpolated for the fit: its neighbours barely move
    np.testing.assert_allclose(
        out[4, 3, 3], hsi.savgol(prepared, size=7, order=2)[4, 3, 3], atol=0.005
    )


def test_savgol_wavelength_spacing(prepared):
    keep = np.r_[0:40, 50:100]
    gappy = prepared.isel(band=keep)
    with pytest.raises(ParameterError, match="spacing='index'"):
        hsi.savgol(gappy)
    assert hsi.savgol(gappy, spacing="index").shape == gappy.shape
    no_wl = prepared.drop_vars(["wavelength", "fwhm"])
    assert hsi.savgol(no_wl).shape == prepared.shape
    assert_chunk_invariant(lambda c: hsi.savgol(c, size=9, order=3), prepared.isel(y=slice(0, 40)))


def test_parameter_errors(prepared):
    with pytest.raises(ParameterError, match="n_components"):
        hsi.mnf(prepared, n_components=0)
    with pytest.raises(ParameterError, match="fitted on"):
        hsi.apply_transform(prepared.isel(band=slice(0, 10)), hsi.fit_pca(prepared, n_components=3))
    with pytest.raises(ParameterError, match="size"):
        hsi.savgol(prepared, size=4)
    with pytest.raises(ParameterError, match="spatial"):
        hsi.subspace(prepared, spatial="bm3d")
    with pytest.raises(ParameterError, match="hyperspectral"):
        prepared.assign_attrs({"eoxr:kind": "sar"}).eo.denoise("mnf")


def test_savgol_matches_scipy_oracle(prepared):
    from scipy.signal import savgol_filter

    expected = savgol_filter(prepared.values.astype("float64"), 9, 3, axis=0, mode="interp")
    np.testing.assert_allclose(hsi.savgol(prepared, size=9, order=3).values, expected, atol=1e-6)


def test_dim_order_coords_and_crs_are_kept(scene, prepared):
    cube = prepared.transpose("y", "x", "band")
    for name in ("mnf", "savgol"):
        out = cube.eo.denoise(name)
        assert out.dims == ("y", "x", "band") and out.dtype == np.float32
        xr.testing.assert_identical(out.coords.to_dataset(), cube.coords.to_dataset())
        assert out.rio.crs == scene.cube.rio.crs
    assert cube.eo.destripe().dims == ("y", "x", "band")
