"""Omnibus SAR change test: false-positive rates, detection power, the synthetic S1 flood."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eoxr import change as ch
from eoxr.change.omnibus import q_pvalue
from eoxr.datasets import synthetic_s1
from eoxr.errors import DimensionError, UnitsError

from .conftest import assert_same_on_chunkings

ENL, T, ALPHA = 4.4, 10, 0.01


def gamma_series(seed=0, n=200, p=2, step_db=0.0, step_at=5):
    rng = np.random.default_rng(seed)
    x = rng.gamma(ENL, 1 / ENL, size=(T, p, n, n))
    x[step_at:] *= 10 ** (step_db / 10)
    return xr.DataArray(
        x.astype("float32"),
        dims=("time", "band", "y", "x"),
        coords={
            "time": np.datetime64("2024-01-01") + 12 * np.arange(T).astype("timedelta64[D]"),
            "band": ["VV", "VH"][:p],
        },
        attrs={"units": "1"},
    )


def test_false_positive_rates_no_change():
    res = ch.omnibus(gamma_series(seed=0), enl=ENL, alpha=ALPHA).compute()
    assert float((res.p_q < ALPHA).mean()) == pytest.approx(ALPHA, abs=0.002)
    c = res.change.values
    before = np.cumsum(c, axis=0) - c
    tested = np.isfinite(res.p_value.values) & (before == 0)  # R_j of the run from date 1
    assert float(c[tested].mean()) == pytest.approx(ALPHA, abs=0.002)
    assert not c[0].any() and np.isnan(res.p_value.values[0]).all()


def test_uncorrected_q_over_rejects():
    # why the corrected approximation: the plain chi-square p-value of Q rejects too often
    x = gamma_series(seed=1).values.astype(np.float64)
    k, p = float(T), x.shape[1]
    ln_q = ENL * (
        p * k * np.log(k) + np.log(x).sum(axis=(0, 1)) - k * np.log(x.sum(axis=0)).sum(axis=0)
    )
    plain = float((q_pvalue(ln_q, k, p, ENL, corrected=False) < ALPHA).mean())
    fixed = float((q_pvalue(ln_q, k, p, ENL) < ALPHA).mean())
    assert plain > 0.013 and abs(fixed - ALPHA) < 0.002


def test_step_of_6db_found_at_its_date():
    s = gamma_series(seed=2, step_db=6.0, step_at=5)
    res = ch.omnibus(s, enl=ENL, alpha=ALPHA).compute()
    first = res.first_change.values
    hit = float((first == s.time.values[5]).mean())
    early = float((first < s.time.values[5]).mean())
    # the exact test finds a +6 dB dual-pol step at ENL 4.4 in ~79 % of single pixels
    assert hit == pytest.approx(0.79, abs=0.02)
    assert early == pytest.approx(1 - (1 - ALPHA) ** 4, abs=0.006)  # 4 tests before it: ~4 %
    assert float((res.p_q < ALPHA).mean()) > 0.9


def test_synthetic_s1_flood_db_units_nan_and_chunks():
    s = synthetic_s1(seed=0, shape=(48, 40), times=8, flood_from=5)
    lin = s.cube
    res = ch.omnibus(lin, enl=4.4).compute()
    flood = s.change.values
    hit = res.first_change.values[flood] == lin.time.values[5]
    assert hit.mean() > 0.85
    assert res.n_changes.dtype == np.int16 and res.first_change.dtype.kind == "M"
    assert np.isnat(res.first_change.values[~flood]).mean() > 0.8
    # dB input declared by units gives the same answer
    db = ch.omnibus(lin.eo.to_db(), enl=4.4)
    np.testing.assert_allclose(db.p_q.values, res.p_q.values, rtol=2e-4, atol=1e-6)
    # a cloudless NaN date at a pixel is skipped, an all-NaN pixel gives NaN / NaT / 0
    holes = lin.copy()
    holes[:, :, 0, 0] = np.nan
    holes[2, :, 0, 1] = np.nan
    out = ch.omnibus(holes, enl=4.4).compute()
    assert np.isnan(out.p_q.values[0, 0]) and np.isnat(out.first_change.values[0, 0])
    assert int(out.n_changes.values[0, 0]) == 0 and np.isfinite(out.p_q.values[0, 1])
    assert np.isnan(out.p_value.values[2, 0, 1])
    assert_same_on_chunkings(
        lambda c: ch.omnibus(c, enl=4.4),
        lin,
        [{"y": 7, "x": 13, "time": 2, "band": 1}, {"y": 48, "x": 9}],
        computes=0,
        rtol=0,
    )


def test_enl_from_attrs_or_estimated_and_accessor():
    s = synthetic_s1(seed=1, shape=(64, 64), times=4)
    tagged = s.cube.assign_attrs({"eoxr:looks": 4.4})
    assert ch.omnibus(tagged).attrs["enl"] == 4.4
    est = s.cube.eo.change_omnibus(alpha=0.05)
    # estimated from the first date (edges of the small scene pull it below 4.4)
    assert 2.5 < est.attrs["enl"] < 6.0 and est.attrs["alpha"] == 0.05


def test_bad_inputs():
    s = synthetic_s1(seed=0, shape=(16, 16), times=3).cube
    with pytest.raises(DimensionError, match="time"):
        ch.omnibus(s.isel(time=[0]), enl=4.4)
    with pytest.raises(UnitsError, match="dB"):
        ch.omnibus(s.eo.to_db().drop_attrs(), enl=4.4).compute()
    with pytest.raises(DimensionError, match="polarisations"):
        ch.omnibus(s.assign_coords(band=["B04", "B08"]), enl=4.4)
