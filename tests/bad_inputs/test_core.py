"""Catalogue of bad inputs to the core (accessor, denoise, datasets, CLI): type and message."""

import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

import eoxr
from eoxr import datasets
from eoxr.errors import AccessorError, DimensionError, ParameterError
from eoxr.testing import make_cube
from eoxr.testing.strategies import nan_mask


@pytest.fixture(scope="module")
def sar():
    return datasets.synthetic_s1(shape=(24, 24), times=1).cube


@pytest.fixture(scope="module")
def hsi():
    return datasets.synthetic_hsi(shape=(16, 16), n_bands=24).cube


def test_dataarray_verb_on_a_dataset():
    ds = make_cube(times=None, as_dataset=True)
    with pytest.raises(AccessorError, match=r"`estimate_noise` works on a DataArray.*to_array\(\)"):
        ds.eo.estimate_noise()
    assert not hasattr(ds.eo, "destripe")  # an AttributeError: hasattr and getattr work


def test_sar_verb_on_a_dataset_without_sar_variables():
    with pytest.raises(AccessorError, match="`destripe` works on a DataArray"):
        make_cube(as_dataset=True).eo.destripe()


def test_to_dataset_without_a_band_dimension():
    da = xr.DataArray(np.zeros((3, 4), "float32"), dims=("y", "x"))
    with pytest.raises(DimensionError, match="no band dimension"):
        da.eo.to_dataset()


def test_denoise_unknown_method(sar):
    with pytest.raises(ParameterError, match=r"unknown denoising method 'nlmeans'.*available"):
        sar.eo.denoise("nlmeans")


def test_denoise_unknown_keyword_lists_parameters(sar):
    with pytest.raises(ParameterError, match=r"'gamma_map' has no parameter 'window'.*'size'"):
        sar.eo.denoise("gamma_map", window=7)


def test_denoise_sar_method_on_hyperspectral_cube(hsi):
    with pytest.raises(ParameterError, match="'lee' is for sar data but this cube looks hyper"):
        hsi.eo.denoise("lee")


def test_denoise_hyperspectral_method_on_sar_cube(sar):
    with pytest.raises(ParameterError, match=r"'tv' is for hyperspectral data.*'eoxr:kind'"):
        eoxr.denoise.denoise(sar, "tv")


def test_datasets_open_unknown_name(tmp_path):
    with pytest.raises(ParameterError, match=r"unknown sample 's2_paris'.*landsat_colorado"):
        datasets.open("s2_paris")
    with pytest.raises(ParameterError, match="unknown sample"):
        datasets.catalog_path("")


def test_unknown_nan_pattern_in_strategies():
    with pytest.raises(ValueError, match="unknown NaN pattern 'diagonal'"):
        nan_mask("diagonal", (1, 3, 3), np.random.default_rng(0))


def test_demo_unknown_step_writes_nothing(tmp_path):
    out = tmp_path / "demo"
    run = subprocess.run(
        [sys.executable, "-m", "eoxr", "demo", "--out", str(out), "--only", "nosuch"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "unknown steps ['nosuch']" in run.stderr
    assert not out.exists()


def test_synthetic_s1_too_small():
    with pytest.raises(ParameterError, match=r"shape=\(8, 8\) is too small.*\(16, 16\)"):
        datasets.synthetic_s1(shape=(8, 8))
