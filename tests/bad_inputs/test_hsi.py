"""Catalogue of bad inputs to eoxr.hsi: exception type and key message.

Nothing in eoxr.hsi writes files; every case fails before a result is returned, and the cheap
checks (option values) fail before any pass over a dask cube.
"""

from __future__ import annotations

import numpy as np
import pytest

import eoxr  # noqa: F401  (registers .eo)
from eoxr import hsi
from eoxr.datasets import synthetic_hsi
from eoxr.errors import DataTypeError, DimensionError, GridMismatchError, ParameterError
from eoxr.testing import raise_if_dask_computes


@pytest.fixture(scope="module")
def cube():
    return synthetic_hsi(seed=0, shape=(40, 40), n_bands=30, dead_fraction=0).cube


def test_hysime_with_too_few_pixels_per_band():
    small = synthetic_hsi(seed=0, shape=(12, 12), n_bands=63, dead_fraction=0).cube
    with pytest.raises(ParameterError, match=r"at least 3 complete pixels per band.*noise='diff'"):
        hsi.estimate_noise(small, "hysime")
    with pytest.raises(ParameterError, match="complete pixels per band"):
        hsi.subspace(small)  # whitens with HySime by default


def test_hysime_on_duplicated_pixels(cube):
    dup = cube.isel(y=np.repeat(np.arange(4), 6), x=np.repeat(np.arange(5), 6))  # 20 spectra
    with pytest.raises(ParameterError, match="span only"):
        hsi.estimate_noise(dup, "hysime")


def test_no_band_dim(cube):
    with pytest.raises(DimensionError, match="no band dimension"):
        hsi.destripe(cube.isel(band=0, drop=True))
    with pytest.raises(DimensionError, match="to_array"):
        hsi.mnf(cube.to_dataset(dim="band"))


def test_unknown_noise_method_fails_before_any_pass(cube):
    lazy = cube.chunk({"y": 20})
    for call in (
        lambda: hsi.mnf(lazy, noise="mad"),
        lambda: hsi.tv(lazy, noise="mad"),
        lambda: hsi.subspace(lazy, noise="mad"),
        lambda: hsi.find_bad_bands(lazy, noise="mad"),
        lambda: hsi.find_dead_pixels(lazy, noise="mad"),
    ):
        with (
            raise_if_dask_computes(max_computes=0),
            pytest.raises(ParameterError, match="'diff' or 'hysime'"),
        ):
            call()
    with pytest.raises(ParameterError, match="'hysime' or 'diff'"):
        hsi.estimate_noise(cube, "mad")


def test_noise_sigma_of_the_wrong_length(cube):
    short = hsi.estimate_noise(cube.isel(band=slice(0, 20)), "diff")
    for call in (
        lambda: hsi.tv(cube, noise=short),
        lambda: hsi.mnf(cube, noise=short),
        lambda: hsi.find_dead_pixels(cube, noise=short),
        lambda: hsi.find_bad_bands(cube, noise=short),
    ):
        with pytest.raises(ParameterError, match=r"one sigma per band \(30 values"):
            call()


def test_noise_as_a_bare_array(cube):
    with pytest.raises(ParameterError, match="per-band sigma DataArray; got ndarray"):
        hsi.tv(cube, noise=np.full(30, 0.01))


def test_destripe_along_the_band_dim(cube):
    with pytest.raises(ParameterError, match=r"dim='band'.*'x' \(column stripes"):
        hsi.destripe(cube, dim="band")


@pytest.mark.parametrize(
    "ranges,phrase",
    [
        ("1340-1460", "pairs in nm"),
        ([(1460, 1340)], "low < high"),
        ([1340, 1460], "pairs in nm"),
        ([(1.34, 1.46)], "micrometres"),
    ],
)
def test_unknown_wavelength_range_format(cube, ranges, phrase):
    with pytest.raises(ParameterError, match=phrase):
        hsi.find_bad_bands(cube, wavelength_ranges=ranges)


def test_wavelengths_missing_or_in_micrometres(cube):
    with pytest.raises(ParameterError, match="no `wavelength` coordinate"):
        hsi.find_bad_bands(cube.drop_vars("wavelength"))
    um = cube.assign_coords(wavelength=cube.wavelength / 1000)
    with pytest.raises(ParameterError, match="micrometres"):
        hsi.find_bad_bands(um)


def test_integer_digital_numbers(cube):
    dn = (cube * 10000).astype("int16")
    with pytest.raises(DataTypeError, match=r"int16 values.*Scale digital numbers"):
        hsi.tv(dn)


def test_repair_with_a_mask_of_the_wrong_shape(cube):
    with pytest.raises(GridMismatchError, match="does not fit the cube"):
        hsi.repair_dead_pixels(cube, mask=cube.isel(y=slice(0, 10), band=0) > 0)
    with pytest.raises(GridMismatchError, match="boolean DataArray"):
        hsi.repair_dead_pixels(cube, mask=np.zeros((40, 40), bool))


def test_even_or_too_large_window_sizes(cube):
    with pytest.raises(ParameterError, match="size=4"):
        hsi.savgol(cube, size=4)
    with pytest.raises(ParameterError, match="size=31 exceeds"):
        hsi.savgol(cube, size=31)
    with pytest.raises(ParameterError, match="size=6"):
        hsi.subspace(cube, size=6)


def test_bbl_marks_every_band_bad(cube):
    with pytest.raises(ParameterError, match="marks every band bad"):
        hsi.mnf(cube.assign_coords(bbl=("band", np.zeros(30, int))))


def test_transform_fitted_on_other_bands(cube):
    t = hsi.fit_pca(cube.isel(band=slice(0, 20)), n_components=3)
    with pytest.raises(ParameterError, match="fitted on 20 bands but the cube has 30"):
        hsi.apply_transform(cube, t)


@pytest.mark.parametrize("fit", ["estimate_noise", "fit_mnf", "fit_pca", "fit_subspace"])
def test_sample_given_as_a_fraction(cube, fit):
    # sample= is a number of pixels everywhere: 0.1 of these 1600 pixels is sample=160
    with raise_if_dask_computes(), pytest.raises(ParameterError, match=r"pass sample=160\."):
        getattr(hsi, fit)(cube.chunk({"y": 20}), sample=0.1)
