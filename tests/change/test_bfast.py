"""BFAST-monitor: planted breaks, false alarms, a per-pixel oracle, NaN and short histories."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from eoxr.change import bfast_monitor
from eoxr.change.bfast import critical_value, decimal_years, design_matrix, roc_critical_value
from eoxr.datasets import synthetic_s2
from eoxr.errors import DimensionError, ParameterError
from tests.conftest import require

from .bfast_reference import bfast_pixel, roc_pixel
from .conftest import assert_same_on_chunkings

TIMES = pd.date_range("2012-01-01", periods=184, freq="16D")  # 8 years
START = pd.Timestamp("2017-01-01")
BREAK = pd.Timestamp("2018-03-01")
DISTURBANCE_END = pd.Timestamp("2014-01-01")  # disturbance in the history period


def seasonal_series(n=40, cloud=0.2, drop=0.2, seed=0, broken_rows=None):
    """NDVI-like series: trend + two harmonics + noise; rows < broken_rows drop at BREAK."""
    rng = np.random.default_rng(seed)
    t = decimal_years(TIMES)[:, None, None]
    amp = rng.uniform(0.1, 0.3, (1, n, n))
    y = 0.5 + amp * np.sin(2 * np.pi * t) + 0.05 * np.cos(4 * np.pi * t)
    y = y + rng.normal(0, 0.03, (len(TIMES), n, n))
    broken_rows = n // 2 if broken_rows is None else broken_rows
    y[np.asarray(TIMES >= BREAK), :broken_rows] -= drop
    y[rng.random(y.shape) < cloud] = np.nan
    return xr.DataArray(
        y.astype("float32"), dims=("time", "y", "x"), coords={"time": TIMES}, name="NDVI"
    )


def test_breaks_found_on_time_and_false_alarms_below_level():
    s = seasonal_series(n=40)
    res = bfast_monitor(s, monitor_start=START).compute()
    broken = res.isel(y=slice(0, 20))
    stable = res.isel(y=slice(20, None))
    assert (broken.status == 1).mean() > 0.99
    delay = (broken.break_time.values - np.datetime64(BREAK)) / np.timedelta64(1, "D")
    # found within a few observations after the drop (the MOSUM needs a few to cross)
    assert np.all(delay >= 0) and np.median(delay) < 100
    assert float((stable.status == 1).mean()) <= 0.05
    assert float(broken.magnitude.median()) == pytest.approx(-0.2, abs=0.03)
    assert abs(float(stable.magnitude.median())) < 0.01


def test_false_alarm_rate_no_break_matches_level():
    s = seasonal_series(n=60, broken_rows=0, seed=5)
    for level in (0.05, 0.01):
        rate = float((bfast_monitor(s, monitor_start=START, alpha=level).status == 1).mean())
        assert rate <= level + 0.01


def test_matches_per_pixel_reference():
    s = seasonal_series(n=12, seed=3, cloud=0.3)
    s[:, 0, 0] = np.nan  # all-NaN pixel
    s[:110, 0, 1] = np.nan  # no history left (the monitoring starts at date 115)
    res = bfast_monitor(s, monitor_start=START, order=2, h=0.5, alpha=0.01, trend=True).compute()
    t = decimal_years(TIMES)
    design = design_matrix(t - decimal_years([START])[0], 2, trend=True)
    history = np.asarray(TIMES < START)
    crit = critical_value(0.5, 10, 0.01)
    for iy in range(12):
        for ix in range(12):
            brk, mag, n = bfast_pixel(s.values[:, iy, ix].astype(float), design, history, 0.5, crit)
            got = res.isel(y=iy, x=ix)
            assert int(got.n_history) == n
            if brk is None:
                assert np.isnat(got.break_time.values)
            else:
                assert got.break_time.values == s.time.values[brk], (iy, ix)
            np.testing.assert_allclose(float(got.magnitude), mag, rtol=1e-4, atol=1e-6)
            valid = np.flatnonzero(np.isfinite(s.values[: int(history.sum()), iy, ix]))
            if valid.size:  # history="all": the stable history starts at the first valid date
                assert got.history_start.values == s.time.values[valid[0]]
            else:
                assert np.isnat(got.history_start.values)
    assert int(res.status[0, 0]) == 2 and int(res.status[0, 1]) == 2


def disturbed_history_series(n, seed, cloud=0.2):
    """No break in the monitoring period; rows < n // 2 lie 0.2 lower before DISTURBANCE_END."""
    s = seasonal_series(n=n, seed=seed, cloud=cloud, broken_rows=0)
    s[np.asarray(TIMES < DISTURBANCE_END), : n // 2] -= 0.2
    return s


@pytest.mark.parametrize(("order", "trend", "level"), [(3, False, 0.05), (2, True, 0.01)])
def test_roc_history_matches_textbook_reverse_ordered_cusum(order, trend, level):
    """history="roc": the stable-history start equals a written-out ROC procedure per pixel
    (recursive residuals from one OLS fit per step, Rec-CUSUM process, Brown-Durbin-Evans
    p-value and boundary, R's start rule), and the monitoring then equals the plain oracle."""
    n = 12
    s = disturbed_history_series(n=n, seed=3, cloud=0.3)
    s[:, 0, 0] = np.nan  # no valid observation
    s[:108, 0, 1] = np.nan  # fewer history observations than k + 2: the whole history is kept
    res = bfast_monitor(
        s, monitor_start=START, order=order, trend=trend, alpha=level, history="roc"
    ).compute()
    assert res.attrs["history_selection"] == "roc" and "history='roc'" in res.attrs["history"]
    t = decimal_years(TIMES)
    design = design_matrix(t - decimal_years([START])[0], order, trend=trend)
    before = np.asarray(TIMES < START)
    crit = critical_value(0.25, 10, level)
    truncated = np.zeros((n, n), bool)
    for iy in range(n):
        for ix in range(n):
            y = s.values[:, iy, ix].astype(float)
            first = roc_pixel(y, design, before, level=level)
            got = res.isel(y=iy, x=ix)
            if first is None:
                assert np.isnat(got.history_start.values)
                continue
            assert got.history_start.values == s.time.values[first], (iy, ix)
            truncated[iy, ix] = np.isfinite(y[:first]).any()
            brk, mag, n_hist = bfast_pixel(y, design, before, 0.25, crit, first=first)
            assert int(got.n_history) == n_hist
            if brk is None:
                assert np.isnat(got.break_time.values)
            else:
                assert got.break_time.values == s.time.values[brk], (iy, ix)
    # the reference is not vacuous: disturbed histories are cut, stable ones mostly kept
    assert truncated[: n // 2].mean() > 0.75 and truncated[n // 2 :].mean() < 0.15
    assert not truncated[0, 1] and int(res.status[0, 1]) == 2


def test_roc_removes_the_false_alarms_of_a_disturbed_history():
    s = disturbed_history_series(n=40, seed=7)
    every = bfast_monitor(s, monitor_start=START).compute()
    roc = bfast_monitor(s, monitor_start=START, history="roc").compute()
    disturbed, stable = slice(0, 20), slice(20, None)
    # history="all" fits the model through the disturbance: most pixels "break" at once
    assert float((every.status[disturbed] == 1).mean()) > 0.5
    assert float((roc.status[disturbed] == 1).mean()) <= 0.05
    assert float((roc.status[stable] == 1).mean()) <= 0.05
    # the selected start lies at the end of the disturbance, a few observations into it as the
    # backward CUSUM needs them to cross (published behaviour of the ROC test)
    lag = (roc.history_start[disturbed].values - np.datetime64(DISTURBANCE_END)) / np.timedelta64(
        1, "D"
    )
    assert np.all(lag <= 0) and np.median(lag) > -365
    kept = roc.history_start[stable] == every.history_start[stable]
    assert float(kept.mean()) >= 0.93  # ROC rejects a stable history at about its level 0.05


def test_roc_critical_values_match_published():
    """Brown, Durbin & Evans (1975): Rec-CUSUM boundary constants 0.850, 0.948, 1.143."""
    for level, want in ((0.10, 0.850), (0.05, 0.948), (0.01, 1.143)):
        assert roc_critical_value(level) == pytest.approx(want, abs=6e-4)


def test_agrees_with_nrt_mosum_when_installed(monkeypatch):
    """The JRC ``nrt`` package's MoSum (a Python port of bfastmonitor's monitoring), where nrt
    imports: break flags and dates equal once both use nrt's decimal dates (day / (Dec 31 -
    Jan 1)) and nrt's history residuals get the sign of its monitoring residuals (nrt 0.3.0's
    ``ols`` returns fitted - observed, ``monitor`` observed - fitted; as shipped the flags
    agree on 99.8-99.9 % of the pixels of this series)."""
    require("nrt", extra="test")
    from nrt.fit_methods import ols
    from nrt.monitor.mosum import MoSum
    from nrt.utils import datetimeIndex_to_decimal_dates

    import eoxr.change.bfast as bfast_module

    s = seasonal_series(n=30, seed=0).astype("float64")
    s = s.assign_coords(y=np.arange(30)[::-1] + 0.5, x=np.arange(30) + 0.5)
    mosum = MoSum(trend=False, harmonic_order=3, sensitivity=0.05, h=0.25)
    mosum.fit(s.sel(time=s.time < np.datetime64(START)), method="OLS")
    # mean 1 fitted to (0, 0, 3): observed - fitted of the last is +2, fitted - observed -2
    if ols(np.ones((3, 1)), np.array([[0.0], [0.0], [3.0]]))[1][-1, 0] < 0:
        mosum.window = -mosum.window
    for t in s.time.values[s.time.values >= np.datetime64(START)]:
        mosum.monitor(s.sel(time=t).values, pd.Timestamp(t).to_pydatetime())
    monkeypatch.setattr(
        bfast_module, "decimal_years", lambda t: datetimeIndex_to_decimal_dates(pd.DatetimeIndex(t))
    )
    res = bfast_monitor(s, monitor_start=START).compute()
    ours, theirs = res.status.values == 1, mosum.mask == 3
    np.testing.assert_array_equal(ours, theirs)
    days = res.break_time.values[ours].astype("datetime64[D]").astype(int)
    assert (days == mosum.detection_date[ours]).mean() >= 0.995


def test_chunk_invariant_and_lazy():
    s = seasonal_series(n=16, seed=1)
    assert_same_on_chunkings(
        lambda c: bfast_monitor(c, monitor_start=START),
        s,
        [{"y": 5, "x": 7, "time": 50}, {"y": 16, "x": 3}],
        computes=0,
        rtol=0,
    )
    d = disturbed_history_series(n=16, seed=2)
    assert_same_on_chunkings(
        lambda c: bfast_monitor(c, monitor_start=START, history="roc"),
        d,
        [{"y": 5, "x": 7, "time": 50}, {"y": 16, "x": 3}],
        computes=0,
        rtol=0,
    )


def test_multiband_cube_ndvi_through_accessor():
    scene = synthetic_s2(seed=0, shape=(32, 32), times=36, cloud_cover=0.1)
    cube = scene.cube.eo.mask_clouds(mask=scene.extras["scl"])
    start = scene.cube.time.values[18]
    res = cube.eo.bfast_monitor(monitor_start=start, order=1)
    changed = scene.change.values
    found = res.status.values == 1
    assert found[changed].mean() > 0.9 and found[~changed].mean() < 0.1


def test_bad_inputs():
    s = seasonal_series(n=4)
    with pytest.raises(ParameterError, match="inside the series"):
        bfast_monitor(s, monitor_start="2030-01-01")
    with pytest.raises(ParameterError, match="h in"):
        bfast_monitor(s, monitor_start=START, h=0.3)
    with pytest.raises(ParameterError, match="level"):
        bfast_monitor(s, monitor_start=START, alpha=0.2)
    with pytest.raises(DimensionError, match="time"):
        bfast_monitor(s.isel(time=0), monitor_start=START)
    with pytest.raises(ParameterError, match="history='roc'"):
        bfast_monitor(s, monitor_start=START, history="ROC")
    with pytest.raises(ParameterError, match="roc_alpha"):
        bfast_monitor(s, monitor_start=START, history="roc", roc_alpha=0.1)
