"""Destriping, dead-pixel detection and repair on the synthetic scene."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import eoxr
from eoxr import hsi
from eoxr.errors import GridMismatchError, ParameterError
from eoxr.testing import assert_chunk_invariant, raise_if_dask_computes


def stripe_variance(cube, truth):
    """Per band: variance across x of the column means of the error (the stripe pattern)."""
    return (cube - truth).mean("y").var("x").values


@pytest.fixture(scope="module")
def repaired(scene):
    return scene.cube.eo.repair_dead_pixels(mask=scene.extras["dead_mask"]).compute()


def test_destripe_removes_90pct_of_column_mean_variance(scene, repaired):
    before = stripe_variance(repaired, scene.truth)
    after = stripe_variance(repaired.eo.destripe(), scene.truth)
    reduction = 1 - after / before
    assert 1 - after.sum() / before.sum() >= 0.90  # all bands together
    assert np.median(reduction) >= 0.90
    assert np.mean(reduction >= 0.90) >= 0.85  # most bands one by one
    assert reduction.min() >= 0.6  # and no band left striped


def test_destripe_leaves_clean_columns_untouched(scene, repaired):
    out = repaired.eo.destripe()
    offsets = (repaired - out).mean("y").values
    clean = scene.extras["stripes"].values == 0
    # only lines judged striped move; most clean columns are exactly unchanged
    assert np.mean(offsets[clean] == 0) > 0.9


def test_destripe_rows_and_multiplicative(scene):
    truth = scene.truth
    rng = np.random.default_rng(5)
    gains = np.where(
        rng.random(truth.sizes["y"]) < 0.1, rng.uniform(0.9, 1.1, truth.sizes["y"]), 1.0
    )
    noise = rng.normal(0, 0.002, truth.shape).astype("float32")
    striped = truth * xr.DataArray(gains.astype("float32"), dims="y") + noise
    out = striped.eo.destripe(dim="y", mode="multiplicative")
    before = (striped - truth).mean("x").var("y").sum()
    after = (out - truth).mean("x").var("y").sum()
    assert after < 0.1 * before


def test_destripe_moments_matches_global_statistics(repaired):
    out = repaired.eo.destripe(offsets="moments")
    means = out.mean("y")
    np.testing.assert_allclose(means.std("x"), 0, atol=1e-5)


def test_destripe_chunk_invariant_lazy_and_nan(scene, repaired):
    cube = repaired.copy()
    cube[:, 5:9, 10:13] = np.nan
    expected = hsi.destripe(cube)
    for ch in ({"band": -1, "y": 30, "x": 40}, {"band": 9, "y": 96, "x": 17}):
        with raise_if_dask_computes(max_computes=1):  # one pass for the line statistics
            got = hsi.destripe(cube.chunk(ch))
        eoxr.testing.assert_lazy(got)
        np.testing.assert_allclose(
            got.values, expected.values, rtol=1e-6, atol=1e-7, equal_nan=True
        )
    assert np.isnan(expected[:, 5:9, 10:13]).all() and np.isfinite(expected[:, 20:, :]).all()
    assert expected.dtype == np.float32 and expected.rio.crs == scene.cube.rio.crs


def test_find_dead_pixels_exact_on_synthetic(scene):
    mask = scene.cube.eo.find_dead_pixels()
    assert mask.dtype == bool and mask.dims == scene.cube.dims
    found = mask.any("band").values
    np.testing.assert_array_equal(found, scene.extras["dead_mask"].values)
    assert mask.all("band").values[found].all()  # dead pixels are flagged in every band


def test_find_dead_pixels_spikes_and_lines():
    from eoxr.datasets import synthetic_hsi

    s = synthetic_hsi(seed=3, shape=(40, 40), n_bands=30, dead_fraction=0.0, stripe_fraction=0)
    cube = s.cube.copy()
    col = s.extras["dead_column"]
    cube[12, 20, 5] += 0.3  # single-band spike
    cube[3, :, 30] = 0.2  # stuck column in one band only
    mask = hsi.find_dead_pixels(cube)
    assert bool(mask[12, 20, 5]) and int(mask[:, 20, 5].sum()) == 1
    assert bool(mask[3, :, 30].all()) and int(mask[:, 0, 30].sum()) == 1
    assert bool(mask[:, :, col].all())
    other = mask.values.copy()
    other[:, :, col] = other[:, :, 30] = other[12, 20, 5] = False
    assert other.sum() == 0


def test_find_dead_pixels_chunk_invariant(scene):
    sigma = hsi.estimate_noise(scene.cube, "diff")
    cube = scene.cube.isel(y=slice(0, 60), x=slice(0, 60))
    expected = hsi.find_dead_pixels(cube, noise=sigma)
    for ch in ({"band": -1, "y": 20, "x": 25}, {"band": -1, "y": 60, "x": 7}):
        with raise_if_dask_computes(max_computes=1):  # the dead-line pass
            got = hsi.find_dead_pixels(cube.chunk(ch), noise=sigma)
        np.testing.assert_array_equal(got.values, expected.values)


def test_repair_restores_dead_pixels(scene):
    fixed = scene.cube.eo.repair_dead_pixels()
    dead = scene.extras["dead_mask"].values
    err = np.abs(fixed.values - scene.truth.values)[:, dead]
    sigma = scene.extras["noise_sigma"].values[:, None]
    # a median of noisy neighbours: about the noise level, versus a whole spectrum before
    assert np.median(err / sigma) < 2.0
    assert np.abs(scene.cube.values - scene.truth.values)[:, dead].mean() > 20 * err.mean()
    healthy = ~dead
    np.testing.assert_array_equal(fixed.values[:, healthy], scene.cube.values[:, healthy])


def test_repair_chunk_invariant_nan_and_mask_forms(scene):
    cube = scene.cube.copy()
    cube[:, 40:44, 40:44] = np.nan
    mask = scene.extras["dead_mask"]
    assert_chunk_invariant(lambda c: hsi.repair_dead_pixels(c, mask=mask), cube)
    out = hsi.repair_dead_pixels(cube, mask=mask)
    assert np.isnan(out[:, 40:44, 40:44]).all()
    full = mask.expand_dims(band=cube.band.values).transpose(*cube.dims)
    np.testing.assert_array_equal(hsi.repair_dead_pixels(cube, mask=full).values, out.values)
    with pytest.raises(GridMismatchError, match="mask"):
        hsi.repair_dead_pixels(cube, mask=mask.isel(x=slice(0, 10)))


def test_repair_falls_back_to_spectral_neighbours():
    from eoxr.datasets import synthetic_hsi

    s = synthetic_hsi(seed=1, shape=(20, 20), n_bands=20, dead_fraction=0, stripe_fraction=0)
    cube = s.cube.copy()
    mask = xr.zeros_like(cube, dtype=bool)
    mask[7, 5:16, 5:16] = True  # an 11x11 hole in one band: the centre has no 5x5 neighbour
    out = hsi.repair_dead_pixels(cube, mask=mask).values
    assert np.isfinite(out).all()
    expect = 0.5 * (cube.values[6, 10, 10] + cube.values[8, 10, 10])
    assert abs(out[7, 10, 10] - expect) < 1e-6


def test_destripe_errors(scene):
    with pytest.raises(ParameterError, match="dim='z'"):
        scene.cube.eo.destripe(dim="z")
    with pytest.raises(ParameterError, match="mode"):
        scene.cube.eo.destripe(mode="gain")
    with pytest.raises(ParameterError, match="band_fraction"):
        scene.cube.eo.find_dead_pixels(band_fraction=0)
