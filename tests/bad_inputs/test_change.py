"""Bad-input catalogue of eoxr.change: each case asserts the error type and a key phrase."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from eoxr import change as ch
from eoxr.datasets import synthetic_s1, synthetic_s2
from eoxr.errors import (
    DataTypeError,
    DimensionError,
    GridMismatchError,
    ParameterError,
    UnitsError,
)


@pytest.fixture(scope="module")
def s2():
    return synthetic_s2(seed=0, shape=(24, 20), times=4, cloud_cover=0.0).cube


@pytest.fixture(scope="module")
def s1():
    return synthetic_s1(seed=0, shape=(16, 16), times=3).cube


def test_mismatched_grids_name_both_grids(s2):
    a, b = s2.isel(time=0), s2.isel(time=1)
    with pytest.raises(GridMismatchError, match=r"24x20 px.*20x20 px.*reproject_match"):
        ch.cva(a, b.isel(y=slice(0, 20)))


def test_mismatched_crs(s2):
    a, b = s2.isel(time=0), s2.isel(time=1).rio.write_crs("EPSG:4326")
    with pytest.raises(GridMismatchError, match="EPSG:4326"):
        ch.difference(a, b)


def test_one_date_only(s2):
    with pytest.raises(DimensionError, match="two dates"):
        ch.difference(s2.isel(time=[0]))
    with pytest.raises(DimensionError, match="one date per input"):
        ch.cva(s2, s2)


def test_omnibus_one_date(s1):
    with pytest.raises(DimensionError, match=">= 2 dates"):
        ch.omnibus(s1.isel(time=[0]), looks=4.4)


def test_all_nan_statistic_cannot_be_thresholded(s2):
    with pytest.raises(ParameterError, match="no finite value"):
        ch.threshold(s2.isel(time=0, band=0) * np.nan)


def test_lazy_change_threshold_raises_when_computed(s2):
    """The threshold is in the graph: an all-NaN statistic raises when the result is computed."""
    a, b = s2.isel(time=0).chunk({"x": 16}), s2.isel(time=1).chunk({"x": 16})
    res = ch.change(a * np.nan, b, method="diff")  # builds its graph without error
    with pytest.raises(ParameterError, match="no finite value"):
        res.compute()
    with pytest.raises(ParameterError, match="no finite value"):
        ch.change(a.compute() * np.nan, b.compute(), method="diff")  # numpy: now


def test_omnibus_dataset_without_polarisations(s1):
    ds = s1.eo.to_dataset()
    with pytest.raises(DimensionError, match="no data variables"):
        ch.omnibus(ds[[]], looks=4.4)
    with pytest.raises(DimensionError, match="polarisations"):
        ch.omnibus(ds.rename({v: f"B0{i}" for i, v in enumerate(ds.data_vars)}), looks=4.4)


def test_all_nan_pair_cannot_fit_irmad(s2):
    with pytest.raises(ParameterError, match="valid pixels"):
        ch.irmad(s2.isel(time=0) * np.nan, s2.isel(time=1))


def test_all_nan_series_gives_nodata_codes_not_garbage(s1):
    res = ch.omnibus(s1 * np.nan, looks=4.4).compute()
    assert np.isnan(res.p_q).all() and np.isnat(res.first_change.values).all()
    assert int(res.n_changes.sum()) == 0
    t = pd.date_range("2015-01-01", periods=60, freq="30D")
    nan = xr.DataArray(np.full((60, 3, 3), np.nan, "float32"), dims=("time", "y", "x"),
                       coords={"time": t})  # fmt: skip
    bf = ch.bfast_monitor(nan, monitor_start=t[30])
    assert (bf.status == 2).all() and np.isnat(bf.break_time.values).all()


def test_negative_sar_intensity_undeclared_units(s1):
    db = s1.eo.to_db().drop_attrs()  # dB values, units forgotten
    with pytest.raises(UnitsError, match="dB"):
        ch.omnibus(db, looks=4.4).compute()
    with pytest.raises(UnitsError, match="negative"):
        ch.difference(db.isel(time=0), db.isel(time=1), kind="log_ratio").compute()


def test_integer_or_complex_data(s1, s2):
    with pytest.raises(DataTypeError, match="floating"):
        ch.omnibus((s1 * 1000).astype("int32"), looks=4.4)
    with pytest.raises(DataTypeError, match="real numbers"):
        ch.difference(s2.isel(time=0).astype("complex64"), s2.isel(time=1))


def test_invalid_literal_parameters_list_valid_values(s2):
    a, b = s2.isel(time=0), s2.isel(time=1)
    with pytest.raises(ParameterError, match="log_ratio"):
        ch.difference(a, b, kind="log")
    with pytest.raises(ParameterError, match="kittler_illingworth"):
        a.eo.change(b, threshold_method="triangle")
    with pytest.raises(ParameterError, match="irmad"):
        a.eo.change(b, method="mad")


def test_bands_differ(s2):
    with pytest.raises(DimensionError, match="different bands"):
        ch.cva(s2.isel(time=0), s2.isel(time=1, band=[1, 0, 2, 3, 4, 5, 6, 7, 8, 9]))


def test_bfast_bad_parameters():
    t = pd.date_range("2015-01-01", periods=60, freq="30D")
    da = xr.DataArray(np.random.default_rng(0).random((60, 2, 2)), dims=("time", "y", "x"),
                      coords={"time": t})  # fmt: skip
    with pytest.raises(ParameterError, match="h in"):
        ch.bfast_monitor(da, monitor_start=t[30], h=0.3)
    with pytest.raises(ParameterError, match="inside the series"):
        ch.bfast_monitor(da, monitor_start="1990-01-01")


def test_vectorize_needs_2d_boolean_mask(s2):
    with pytest.raises(DimensionError, match="2-D"):
        (s2.isel(band=0) > 0.1).eo.vectorize()
    with pytest.raises(ParameterError, match="min_area"):
        (s2.isel(time=0, band=0) > 0.1).eo.vectorize(min_area=-1)


def test_embedding_feature_counts_differ():
    e = xr.DataArray(np.ones((4, 3, 3), "float32"), dims=("feature", "y", "x"))
    with pytest.raises(DimensionError, match="features"):
        ch.embedding_distance(e, e.isel(feature=slice(0, 3)))


@pytest.mark.parametrize("func", [ch.cva, ch.difference, ch.irmad, ch.pca_kmeans, ch.change])
def test_empty_band_selection_is_named(s2, func):
    a, b = s2.isel(time=0).sel(band=[]), s2.isel(time=1).sel(band=[])
    with pytest.raises(DimensionError, match=r"band selection is empty.*cube\.sel\(band="):
        func(a.chunk(), b.chunk())
    with pytest.raises(DimensionError, match="no data variables"):
        func(s2.isel(time=0).to_dataset("band")[[]], s2.isel(time=1).to_dataset("band"))


def test_omnibus_empty_band_selection(s1):
    with pytest.raises(DimensionError, match="band selection is empty"):
        ch.omnibus(s1.isel(band=[]), looks=4.4)
    with pytest.raises(DimensionError, match="spatial selection is empty"):
        ch.omnibus(s1.isel(x=slice(0, 0)), looks=4.4)


@pytest.mark.parametrize("func", ["irmad", "pca_kmeans"])
def test_sample_given_as_a_fraction(s2, func):
    # sample= is a number of pixels: 0.5 of these 24 x 20 pixels is sample=240
    with pytest.raises(ParameterError, match=r"number of pixels: .* pass sample=240\."):
        getattr(ch, func)(s2.isel(time=0), s2.isel(time=1), sample=0.5)
