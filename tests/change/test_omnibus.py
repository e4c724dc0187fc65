"""Omnibus SAR change test: false-positive rates, detection power, the synthetic S1 flood."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.stats import chi2

from eoxr import change as ch
from eoxr.change.omnibus import q_pvalue
from eoxr.datasets import synthetic_s1
from eoxr.errors import DimensionError, UnitsError
from eoxr.sar import estimate_looks
from eoxr.testing import raise_if_dask_computes

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


def textbook_pvalue(stat, f, omega2):
    """P(-2 rho ln Q > stat) by Box's expansion (Conradsen et al. 2016, eqs. 20 and 27)."""
    return 1.0 - ((1.0 - omega2) * chi2.cdf(stat, f) + omega2 * chi2.cdf(stat, f + 4))


def textbook_changes(x, enl, alpha):
    """Change dates of one pixel's series ``x`` (dates, channels) by the paper's procedure.

    Written from Conradsen et al. (2016), sec. III-IV, for ``p`` independent single-channel
    (1x1 "covariance") images, whose statistics add: ``ln Q = sum_channels ln Q_channel``. For
    l = first date: if the omnibus Q over dates l..k rejects, the first j whose R_j (date j
    against l..j-1) rejects is a change; restart at l = j; stop when Q or every R_j accepts.
    """
    k_all, p = x.shape
    n = enl

    def ln_q(y):  # omnibus over all rows of y
        k = len(y)
        return n * sum(
            k * np.log(k) + np.log(y[:, c]).sum() - k * np.log(y[:, c].sum()) for c in range(p)
        )

    def p_q(y):
        k = len(y)
        rho = 1 - (2 - 1) / (6 * (k - 1)) * (k / n - 1 / (n * k))
        omega2 = -(k - 1) / 4 * (1 - 1 / rho) ** 2
        return textbook_pvalue(-2 * rho * ln_q(y), (k - 1) * p, p * omega2)

    def p_r(y):  # R_j: last row against the rows before it
        j = len(y)
        ln_r = ln_q(y) - ln_q(y[:-1]) if j > 2 else ln_q(y)
        rho = 1 - (2 - 1) / (6 * n) * (1 + 1 / (j * (j - 1)))
        omega2 = -1 / 4 * (1 - 1 / rho) ** 2
        return textbook_pvalue(-2 * rho * ln_r, p, p * omega2)

    changes, ell = [], 0
    while ell < k_all - 1 and p_q(x[ell:]) < alpha:
        hit = next((j for j in range(ell + 1, k_all) if p_r(x[ell : j + 1]) < alpha), None)
        if hit is None:
            break
        changes.append(hit)
        ell = hit
    return changes


def test_stable_series_false_alarms_near_alpha():
    # gated procedure: a pixel of a stable series shows a change only when Q over the series
    # rejects (rate alpha) and then an R_j does; ungated, 1 - (1 - alpha)^9 = 8.6 % would
    res = ch.omnibus(gamma_series(seed=0), looks=ENL, alpha=ALPHA).compute()
    assert float((res.p_q < ALPHA).mean()) == pytest.approx(ALPHA, abs=0.002)
    any_change = float(res.change.any("time").mean())
    assert any_change <= 1.5 * ALPHA
    # the R_j p-values themselves are still exact tests at alpha (date 1 starts every run)
    pv = res.p_value.values[1:]
    assert float((pv < ALPHA).mean()) == pytest.approx(ALPHA, abs=0.002)
    c = res.change.values
    assert not c[0].any() and np.isnan(res.p_value.values[0]).all()


def test_flags_match_textbook_procedure_per_pixel():
    # stable pixels, one step, two steps, skipped (NaN) dates: compare every pixel's dates
    rng = np.random.default_rng(7)
    n = 40
    x = rng.gamma(ENL, 1 / ENL, size=(T, 2, n, n))
    x[4:, :, :20] *= 10 ** (5.0 / 10)  # +5 dB from date 4 in the top half
    x[7:, :, :10, :20] *= 10 ** (-8.0 / 10)  # and -8 dB from date 7 in a quarter of it
    x[2, :, ::3, ::4] = np.nan
    x[8, 0, 1::5] = 0.0  # zero power: no-data
    da = xr.DataArray(x.astype("float32"), dims=("time", "band", "y", "x"), attrs={"units": "1"})
    da = da.assign_coords(band=["VV", "VH"])
    got = ch.omnibus(da.chunk({"y": 13, "x": 17}), looks=ENL, alpha=0.05)
    flags = got.change.values
    xx = da.values.astype(np.float64)
    n_diff = 0
    for iy in range(n):
        for ix in range(n):
            s = xx[:, :, iy, ix]
            ok = np.where(np.all(np.isfinite(s) & (s > 0), axis=1))[0]
            want = [int(ok[j]) for j in textbook_changes(s[ok], ENL, 0.05)]
            n_diff += list(np.where(flags[:, iy, ix])[0]) != want
    # float32 p-values vs float64: a p-value within rounding of alpha may flip, nothing else
    assert n_diff <= 2
    assert flags[:, 20:].any(axis=0).mean() < 0.1 and flags[4, :20].mean() > 0.6


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
    res = ch.omnibus(s, looks=ENL, alpha=ALPHA).compute()
    first = res.first_change.values
    hit = float((first == s.time.values[5]).mean())
    early = float((first < s.time.values[5]).mean())
    # the exact R_5 test finds a +6 dB dual-pol step at ENL 4.4 in ~79 % of single pixels, and
    # the omnibus gate over all 10 dates opens at > 95 % of them
    assert 0.72 < hit < 0.8
    assert early == pytest.approx(1 - (1 - ALPHA) ** 4, abs=0.006)  # 4 tests before it: ~4 %
    assert float((res.p_q < ALPHA).mean()) > 0.95


def test_synthetic_s1_flood_db_units_nan_and_chunks():
    s = synthetic_s1(seed=0, shape=(48, 40), times=8, flood_from=5)
    lin = s.cube
    res = ch.omnibus(lin, looks=4.4).compute()
    flood = s.change.values
    hit = res.first_change.values[flood] == lin.time.values[5]
    assert hit.mean() > 0.85
    assert res.n_changes.dtype == np.int16 and res.first_change.dtype.kind == "M"
    assert np.isnat(res.first_change.values[~flood]).mean() > 0.8
    # dB input declared by units gives the same answer
    db = ch.omnibus(lin.eo.to_db(), looks=4.4)
    np.testing.assert_allclose(db.p_q.values, res.p_q.values, rtol=2e-4, atol=1e-6)
    # a cloudless NaN date at a pixel is skipped, an all-NaN pixel gives NaN / NaT / 0
    holes = lin.copy()
    holes[:, :, 0, 0] = np.nan
    holes[2, :, 0, 1] = np.nan
    out = ch.omnibus(holes, looks=4.4).compute()
    assert np.isnan(out.p_q.values[0, 0]) and np.isnat(out.first_change.values[0, 0])
    assert int(out.n_changes.values[0, 0]) == 0 and np.isfinite(out.p_q.values[0, 1])
    assert np.isnan(out.p_value.values[2, 0, 1])
    assert_same_on_chunkings(
        lambda c: ch.omnibus(c, looks=4.4),
        lin,
        [{"y": 7, "x": 13, "time": 2, "band": 1}, {"y": 48, "x": 9}],
        computes=0,
        rtol=0,
    )


def test_enl_from_attrs_or_estimated_and_accessor():
    s = synthetic_s1(seed=1, shape=(64, 64), times=4)
    tagged = s.cube.assign_attrs({"eoxr:looks": 4.4})
    assert ch.omnibus(tagged).attrs["looks"] == 4.4
    est = s.cube.eo.change_omnibus(alpha=0.05)
    # estimated from the first date (edges of the small scene pull it below 4.4)
    assert 2.5 < est.attrs["looks"] < 6.0 and est.attrs["alpha"] == 0.05


def test_estimated_looks_stay_in_the_graph():
    """Without looks= the estimate is a lazy 0-d coordinate: nothing computes at call time, and
    the result is the eager one (the same estimate_looks on the first date's first band)."""
    s = synthetic_s1(seed=1, shape=(64, 64), times=4).cube
    eager = ch.omnibus(s)
    want = estimate_looks(s.isel(time=0, band=0))
    assert eager.attrs["looks"] == want and float(eager.looks) == want
    with raise_if_dask_computes():
        lazy = s.chunk({"y": 24, "x": 40}).eo.change_omnibus()
    assert "looks" not in lazy.attrs and "estimated" in lazy.attrs["history"]
    got = lazy.compute()
    assert float(got.looks) == want
    xr.testing.assert_identical(got.drop_attrs(), eager.drop_attrs())


def test_dataset_of_polarisations_equals_the_dataarray_form():
    """A Dataset of ``vv`` / ``vh`` variables, as load_stac yields, gives the stacked result."""
    da = gamma_series(seed=3, n=24, step_db=-8.0)
    ds = xr.Dataset(
        {str(b).lower(): da.sel(band=b, drop=True).assign_attrs(units="1") for b in da.band.values}
    )
    want = ch.omnibus(da, looks=ENL).compute()
    got = ds.eo.change_omnibus(looks=ENL).compute()
    xr.testing.assert_identical(got.drop_attrs(), want.drop_attrs())
    assert got.attrs["looks"] == ENL
    db = xr.Dataset({v: ds[v].eo.to_db() for v in ds.data_vars})  # units "dB" on the variables
    xr.testing.assert_equal(ch.omnibus(db, looks=ENL).change.compute(), want.change)


def test_options_are_keyword_only():
    s = synthetic_s1(seed=0, shape=(16, 16), times=3).cube
    with pytest.raises(TypeError):
        ch.omnibus(s, 4.4)
    with pytest.raises(TypeError):
        s.eo.change_omnibus(4.4)


def test_bad_inputs():
    s = synthetic_s1(seed=0, shape=(16, 16), times=3).cube
    with pytest.raises(DimensionError, match="time"):
        ch.omnibus(s.isel(time=[0]), looks=4.4)
    with pytest.raises(UnitsError, match="dB"):
        ch.omnibus(s.eo.to_db().drop_attrs(), looks=4.4).compute()
    with pytest.raises(DimensionError, match="polarisations"):
        ch.omnibus(s.assign_coords(band=["B04", "B08"]), looks=4.4)


@pytest.mark.parametrize("kind", ["int", "float"])
def test_dates_as_numbers_give_the_same_change_dates(kind):
    # a series indexed by acquisition number or decimal year instead of datetimes: the same
    # dates come back as those numbers (NaN where none), not a dtype-promotion crash
    s = synthetic_s1(seed=0, shape=(24, 20), times=6, flood_from=4)
    lin = s.cube
    numbers = np.arange(6) if kind == "int" else 2020.0 + np.arange(6) / 12
    res = ch.omnibus(lin, looks=4.4).compute()
    out = ch.omnibus(lin.assign_coords(time=numbers), looks=4.4).compute()
    want = np.full(res.first_change.shape, np.nan)
    have = ~np.isnat(res.first_change.values)
    index = {t: i for i, t in enumerate(lin.time.values)}
    want[have] = [numbers[index[t]] for t in res.first_change.values[have]]
    assert out.first_change.dtype == np.float64
    np.testing.assert_array_equal(out.first_change.values, want)
    np.testing.assert_array_equal(out.n_changes.values, res.n_changes.values)
