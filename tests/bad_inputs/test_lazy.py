"""Catalogue of bad inputs to the hyperspectral verbs that build lazy graphs.

``destripe``, ``find_dead_pixels``, ``repair_dead_pixels``, ``estimate_noise("diff")`` and
``find_bad_bands`` compute nothing at call time, so a bad option must fail when the verb is
called, not later when the result is computed: every case checks the exception type, a key
phrase, and that no dask computation ran before it. Nothing here writes files.
"""

from __future__ import annotations

import pytest
import xarray as xr

import eoxr  # noqa: F401  (registers .eo)
from eoxr import hsi
from eoxr.datasets import synthetic_hsi
from eoxr.errors import GridMismatchError, ParameterError
from eoxr.testing import raise_if_dask_computes


@pytest.fixture(scope="module")
def lazy():
    return synthetic_hsi(seed=0, shape=(32, 32), n_bands=20).cube.chunk({"y": 16, "x": 16})


CASES = {
    "destripe z not a number": (
        lambda c: hsi.destripe(c, z="strong"),
        ParameterError,
        r"z='strong' must be a finite number > 0",
    ),
    "destripe z zero": (lambda c: hsi.destripe(c, z=0), ParameterError, "z=0 must be"),
    "destripe z nan": (lambda c: hsi.destripe(c, z=float("nan")), ParameterError, "finite"),
    "destripe band dim": (lambda c: hsi.destripe(c, dim="band"), ParameterError, "spatial dim"),
    "destripe offsets": (
        lambda c: hsi.destripe(c, offsets="median"),
        ParameterError,
        "'robust' or 'moments'",
    ),
    "find_bad_bands min_snr text": (
        lambda c: hsi.find_bad_bands(c, min_snr="high", noise="diff"),
        ParameterError,
        r"min_snr='high' must be a finite number >= 0",
    ),
    "find_bad_bands min_snr negative": (
        lambda c: hsi.find_bad_bands(c, min_snr=-1, noise="diff"),
        ParameterError,
        "min_snr=-1",
    ),
    "find_bad_bands short sigma": (
        lambda c: hsi.find_bad_bands(c, noise=xr.DataArray([0.1, 0.2], dims="band")),
        ParameterError,
        "one sigma per band",
    ),
    "find_dead_pixels short sigma": (
        lambda c: hsi.find_dead_pixels(c, noise=xr.DataArray([0.1, 0.2], dims="band")),
        ParameterError,
        "one sigma per band",
    ),
    "find_dead_pixels unknown noise": (
        lambda c: hsi.find_dead_pixels(c, noise="mad"),
        ParameterError,
        "not a noise estimator",
    ),
    "find_dead_pixels band_fraction": (
        lambda c: hsi.find_dead_pixels(c, band_fraction=0),
        ParameterError,
        r"must lie in \(0, 1\]",
    ),
    "repair_dead_pixels mask off the grid": (
        lambda c: hsi.repair_dead_pixels(
            c, mask=xr.zeros_like(c.isel(band=0, y=slice(0, 8)), bool)
        ),
        GridMismatchError,
        "does not fit the cube",
    ),
    "estimate_noise unknown method": (
        lambda c: hsi.estimate_noise(c, "mad"),
        ParameterError,
        "not a noise estimator",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_option_fails_at_call_time(lazy, name):
    call, error, phrase = CASES[name]
    with raise_if_dask_computes(), pytest.raises(error, match=phrase):
        call(lazy)
