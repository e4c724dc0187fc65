"""Noise estimation, bad bands and the one-pass statistics of eoxr.hsi."""

from __future__ import annotations

import dask
import numpy as np
import pytest
import xarray as xr

import eoxr
from eoxr import hsi
from eoxr._sample import sample_mask
from eoxr.errors import DimensionError, ParameterError
from eoxr.hsi._stats import cube_moments
from eoxr.testing import raise_if_dask_computes

CHUNKINGS = [{"band": -1, "y": 40, "x": 37}, {"band": 7, "y": 23, "x": 96}]


def eager_chunk_check(func, cube, *, rtol=1e-6, computes=3):
    """``func`` on numpy equals ``func`` on dask chunkings; stats within ``computes`` passes."""
    expected = func(cube)
    for ch in CHUNKINGS:
        with raise_if_dask_computes(max_computes=computes):
            got = func(cube.chunk(ch))
        np.testing.assert_allclose(
            np.asarray(got.values, dtype="float64"),
            np.asarray(expected.values, dtype="float64"),
            rtol=rtol,
            atol=0,
            equal_nan=True,
            err_msg=str(ch),
        )
    return expected


def test_diff_recovers_sigma_within_15pct_on_raw_scene(scene):
    sigma = eager_chunk_check(lambda c: c.eo.estimate_noise("diff"), scene.cube, computes=1)
    ratio = sigma.values / scene.extras["noise_sigma"].values
    assert np.all(np.abs(ratio - 1) < 0.15), ratio
    assert sigma.dims == ("band",) and "wavelength" in sigma.coords and "snr" in sigma.coords


def test_hysime_recovers_sigma_within_15pct_after_repair_and_destripe(scene):
    prepared = scene.cube.eo.repair_dead_pixels().eo.destripe()
    sigma = eager_chunk_check(
        lambda c: c.eo.estimate_noise("hysime"), prepared.compute(), computes=1
    )
    ratio = sigma.values / scene.extras["noise_sigma"].values
    assert np.all(np.abs(ratio - 1) < 0.15), ratio
    assert sigma.attrs["method"] == "hysime" and "estimate_noise" in sigma.attrs["history"]


def test_hysime_counts_stripes_as_noise(scene):
    # documented behaviour: stripes inflate HySime (so users destripe first)
    raw = hsi.estimate_noise(scene.cube, "hysime").values
    prepared = hsi.estimate_noise(hsi.destripe(hsi.repair_dead_pixels(scene.cube)), "hysime")
    assert np.median(raw / prepared.values) > 1.02


def test_nan_pixels_do_not_poison_statistics(scene):
    cube = scene.cube.copy()
    rng = np.random.default_rng(3)
    holes = rng.random(cube.shape[1:]) < 0.05
    cube = cube.where(~xr.DataArray(holes, dims=("y", "x")))
    for method in ("hysime", "diff"):
        a = hsi.estimate_noise(scene.cube, method).values
        b = hsi.estimate_noise(cube, method).values
        assert np.all(np.isfinite(b))
        np.testing.assert_allclose(b, a, rtol=0.08)


def test_moments_are_chunk_invariant_and_exact():
    rng = np.random.default_rng(0)
    data = rng.normal(0.3, 0.05, (6, 30, 20)).astype("float32")
    data[:, 3, 4] = np.nan
    cube = xr.DataArray(data, dims=("band", "y", "x"))
    m, d = cube_moments(cube, diff=2)
    valid = data.reshape(6, -1)[:, ~np.isnan(data.reshape(6, -1)).any(0)].astype("float64")
    np.testing.assert_allclose(m.cov, np.cov(valid), rtol=1e-10)
    assert m.n == 599
    m2, d2 = cube_moments(cube.chunk({"band": -1, "y": 7, "x": 6}), diff=2)
    np.testing.assert_allclose(m2.gram, m.gram, rtol=1e-12)
    np.testing.assert_allclose(d2.gram, d.gram, rtol=1e-12)
    assert d2.n == d.n == 20 * 28 - 3 * 1  # the NaN pixel spoils 3 second differences


def test_sample_mask_is_chunk_independent_and_seeded():
    a = sample_mask((50, 40), 0.2, seed=1)
    b = np.asarray(sample_mask((50, 40), 0.2, seed=1, chunks=((13, 37), (40,))).compute())
    np.testing.assert_array_equal(a, b)
    assert abs(a.mean() - 0.2) < 0.03
    assert not np.array_equal(a, sample_mask((50, 40), 0.2, seed=2))


def test_sampled_hysime_is_close_to_full(scene):
    full = hsi.estimate_noise(scene.cube, "hysime").values
    n_pixels = scene.cube.sizes["y"] * scene.cube.sizes["x"]
    part = hsi.estimate_noise(scene.cube, "hysime", sample=n_pixels * 3 // 10, seed=0).values
    np.testing.assert_allclose(part, full, rtol=0.1)


def test_find_bad_bands_flags_water_absorption(scene):
    bad = scene.cube.eo.find_bad_bands()
    water = scene.extras["water_bands"].values
    assert bad.dtype == bool and bad.dims == ("band",)
    assert bad.values[water].all()
    assert bad.values.mean() < 0.4
    by_snr = scene.cube.eo.find_bad_bands(
        wavelength_ranges=None, noise=hsi.estimate_noise(scene.cube)
    )
    deep = (scene.extras["water_bands"].wavelength > 1850) & (
        scene.extras["water_bands"].wavelength < 1920
    )
    assert by_snr.values[deep.values].all()  # the deepest absorption is found by SNR alone


def test_wavelength_needed_only_where_used(scene):
    cube = scene.cube.drop_vars(["wavelength", "fwhm"])
    assert hsi.estimate_noise(cube).sizes["band"] == cube.sizes["band"]
    assert hsi.find_bad_bands(cube, wavelength_ranges=None).dtype == bool
    with pytest.raises(ParameterError, match="wavelength"):
        hsi.find_bad_bands(cube)


def test_bad_inputs_raise_clear_errors(scene):
    with pytest.raises(ParameterError, match="hysime"):
        hsi.estimate_noise(scene.cube, "bogus")
    with pytest.raises(DimensionError, match="band"):
        hsi.estimate_noise(scene.cube.isel(band=0))
    with pytest.raises(DimensionError, match="isel"):
        hsi.fit_mnf(scene.cube.expand_dims(time=2))
    with pytest.raises(eoxr.errors.DataTypeError, match="10000"):
        hsi.estimate_noise((scene.cube * 10000).astype("int16"))
    with pytest.raises(ParameterError, match="number of pixels"):
        hsi.estimate_noise(scene.cube, sample=1.5)


def test_stats_pass_reads_cube_once(scene):
    cube = scene.cube.chunk({"band": -1, "y": 48, "x": 48})
    calls = []
    with dask.config.set(scheduler=lambda dsk, keys, **kw: calls.append(1) or dask.get(dsk, keys)):
        hsi.fit_mnf(cube)
    assert len(calls) == 1
