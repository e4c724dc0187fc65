"""``cube.eo.denoise``: one verb for SAR and hyperspectral methods, with checked parameters."""

import numpy as np
import pytest

import eoxr
from eoxr import datasets
from eoxr._registry import display_path, resolve
from eoxr.denoise import METHODS, data_kind, denoise
from eoxr.errors import ParameterError


@pytest.fixture(scope="module")
def sar():
    return datasets.synthetic_s1(shape=(48, 48), times=1, seed=3).cube


@pytest.fixture(scope="module")
def hsi():
    return datasets.synthetic_hsi(shape=(24, 24), n_bands=30, seed=1).cube


def test_method_table_lists_every_function():
    table = eoxr.denoise_methods()
    assert list(table["method"]) == list(METHODS)
    for name, (target, kind, _) in METHODS.items():
        assert callable(resolve(target)), target
        assert kind in ("sar", "hyperspectral")
        row = table.set_index("method").loc[name]
        assert row["function"] == display_path(target)


def test_help_names_where_each_method_is_documented(sar):
    doc = sar.eo.denoise.__doc__
    for name, (target, _, _) in METHODS.items():
        assert f"``{name}``: :func:`{display_path(target)}`" in doc
    assert "{methods}" not in doc


def test_denoise_equals_the_method_function(sar):
    got = sar.eo.denoise("lee", size=5, looks=4.4)
    expected = resolve(METHODS["lee"][0])(sar, size=5, looks=4.4)
    np.testing.assert_array_equal(got.values, expected.values)
    # speckle is reduced: the log-ratio to the clean backscatter shrinks
    truth = datasets.synthetic_s1(shape=(48, 48), times=1, seed=3).truth
    err_in = float(np.abs(np.log(sar / truth)).mean())
    err_out = float(np.abs(np.log(got / truth)).mean())
    assert err_out < 0.75 * err_in  # measured 0.66, (err_in, err_out)


def test_unknown_keyword_lists_the_method_parameters(sar):
    msg = r"no parameter 'window'.*\['size', 'looks', 'keep_points'"
    with pytest.raises(ParameterError, match=msg) as e:
        sar.eo.denoise("lee", window=5)
    assert "eoxr.sar.speckle.lee" in str(e.value)


def test_unknown_method_lists_the_methods(sar):
    with pytest.raises(ParameterError, match="unknown denoising method 'bm3d'.*'boxcar'"):
        denoise(sar, "bm3d")


def test_kind_mismatch_both_ways(sar, hsi):
    assert data_kind(sar) == "sar" and data_kind(hsi) == "hyperspectral"
    with pytest.raises(ParameterError, match="is for hyperspectral data but this cube looks sar"):
        sar.eo.denoise("mnf")
    with pytest.raises(ParameterError, match="is for sar data but this cube looks hyperspectral"):
        hsi.eo.denoise("lee")


def test_declared_kind_wins(sar):
    undeclared = sar.isel(band=0, time=0, drop=True).rename("s").assign_attrs({"eoxr:kind": "x"})
    assert data_kind(undeclared) is None
    assert data_kind(undeclared.assign_attrs({"eoxr:kind": "sar"})) == "sar"


def test_hyperspectral_method_through_the_verb(hsi):
    out = hsi.eo.denoise("savgol")
    assert out.dims == hsi.dims and out.dtype == hsi.dtype
    assert "history" in out.attrs
