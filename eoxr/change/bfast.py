"""BFAST-monitor (Verbesselt et al. 2012): breaks in a seasonal series after a stable history.

Per pixel, a harmonic model (intercept, ``order`` harmonics of one year, optionally a linear trend)
is fitted
by OLS on the stable history: all valid observations before ``monitor_start``
(``history="all"``), or those after the last instability that the reverse-ordered CUSUM test
finds (``history="roc"``, R ``bfast``'s ``history_roc``). In the
monitoring period the moving sum (MOSUM) of the residuals over the last ``h * n`` observations
(``n``: history length), scaled by ``sigma sqrt(n)``, is compared with the boundary
``crit sqrt(2 logplus(i / n))`` (``i``: observation count; ``logplus(x) = max(log x, 1)``) as in
R's ``strucchange::mefp`` / ``bfast::bfastmonitor``; the first crossing is the break.

No Python loop per pixel: the normal equations of all pixels of a chunk come from one matrix
product (each pixel has its own cloud mask) and one batched solve; the ROC test and the MOSUM
monitoring are compiled (numba) passes over each pixel's valid observations.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np
import pandas as pd
import xarray as xr
from scipy import optimize, special

from .._attrs import finalize, finalize_dataset
from .._dask.blockwise import map_blocks
from .._dims import band_dim, spatial_dims
from ..errors import DimensionError, ParameterError
from ._pair import Packed

#: status codes of :func:`bfast_monitor`
NO_BREAK, BREAK, SHORT_HISTORY, NO_MONITORING = 0, 1, 2, 3
STATUS_MEANINGS = "no_break break too_little_history no_monitoring_data"

# Critical values of the max-functional OLS-MOSUM monitoring test (strucchange's table of
# simulated boundaries, Zeileis et al. 2005; Chu, Hornik & Kuan 1995), for the relative
# bandwidth h, the monitoring horizon ``end`` (in history lengths) and these levels.
_LEVELS = np.array([0.001, 0.005, 0.01, 0.02, 0.025, 0.03, 0.04, 0.05])
_CRIT = {  # (h, end) -> critical values at _LEVELS
    (0.25, 2): (1.674, 1.5073, 1.4333, 1.3503, 1.3234, 1.2977, 1.2582, 1.2276),
    (0.25, 4): (1.7455, 1.597, 1.5198, 1.4454, 1.4202, 1.3984, 1.3637, 1.3362),
    (0.25, 6): (1.7455, 1.598, 1.5216, 1.4481, 1.4236, 1.4027, 1.3683, 1.3411),
    (0.25, 8): (1.7455, 1.598, 1.5216, 1.4482, 1.4238, 1.4031, 1.3685, 1.3417),
    (0.25, 10): (1.7455, 1.598, 1.5216, 1.4482, 1.4238, 1.4032, 1.3689, 1.3418),
    (0.5, 2): (2.4346, 2.1519, 2.0315, 1.887, 1.8419, 1.8022, 1.7363, 1.6873),
    (0.5, 4): (2.5689, 2.3205, 2.2012, 2.0755, 2.034, 1.9947, 1.9332, 1.8863),
    (0.5, 6): (2.5703, 2.3253, 2.2085, 2.0824, 2.0427, 2.0048, 1.9472, 1.8996),
    (0.5, 8): (2.5703, 2.3255, 2.2088, 2.0828, 2.0442, 2.0065, 1.9489, 1.9013),
    (0.5, 10): (2.5703, 2.3255, 2.2091, 2.0829, 2.0444, 2.007, 1.9492, 1.902),
    (1.0, 2): (3.4547, 3.0295, 2.7996, 2.5599, 2.4831, 2.4205, 2.3104, 2.2241),
    (1.0, 4): (3.9354, 3.4603, 3.2528, 3.0302, 2.9554, 2.8942, 2.788, 2.7044),
    (1.0, 6): (3.941, 3.4734, 3.274, 3.0457, 2.9765, 2.9183, 2.8162, 2.7371),
    (1.0, 8): (3.941, 3.4742, 3.2749, 3.0484, 2.9793, 2.9209, 2.8213, 2.7429),
    (1.0, 10): (3.941, 3.4742, 3.2769, 3.0493, 2.98, 2.9223, 2.8243, 2.7459),
}


def critical_value(h: float, end: int, level: float) -> float:
    """Boundary constant of the OLS-MOSUM monitoring test (interpolated between levels)."""
    key = (float(h), int(end))
    if key not in _CRIT:
        raise ParameterError(
            f"h={h!r}, end={end!r}: the critical-value table covers h in (0.25, 0.5, 1) and "
            "end in (2, 4, 6, 8, 10)."
        )
    if not _LEVELS[0] <= level <= _LEVELS[-1]:
        raise ParameterError(f"alpha={level!r}: the table covers levels 0.001 ... 0.05.")
    return float(np.interp(level, _LEVELS, np.array(_CRIT[key])))


def decimal_years(times: Any) -> np.ndarray:
    """Dates as fractional years (2020.5 is mid-2020)."""
    t = pd.DatetimeIndex(times)
    start = pd.DatetimeIndex([f"{y}-01-01" for y in t.year])
    length = np.where(t.is_leap_year, 366.0, 365.0)
    return np.asarray(t.year + ((t - start).total_seconds() / 86400.0) / length, dtype=float)


def design_matrix(t: np.ndarray, order: int, trend: bool = False) -> np.ndarray:
    """``[1, (t,) sin(2 pi t), cos(2 pi t), ..., sin(2 pi order t), cos(...)]`` per date."""
    cols = [np.ones_like(t), t] if trend else [np.ones_like(t)]
    for j in range(1, order + 1):
        cols += [np.sin(2 * np.pi * j * t), np.cos(2 * np.pi * j * t)]
    return np.stack(cols, axis=1)


def brownian_motion_pvalue(x: float) -> float:
    """p-value of the max functional of the Rec-CUSUM process (Brownian motion, linear boundary).

    ``P(sup |W(t)| / (1 + 2t) > x)`` as in Brown, Durbin & Evans (1975) and R's
    ``strucchange::pvalue.efp`` (``1 - 0.1465 x`` below 0.3).
    """
    if x < 0.3:
        return 1.0 - 0.1465 * x
    phi = special.ndtr
    return float(
        2.0
        * (
            1.0
            - phi(3.0 * x)
            + np.exp(-4.0 * x * x) * (phi(x) + phi(5.0 * x) - 1.0)
            - np.exp(-16.0 * x * x) * (1.0 - phi(x))
        )
    )


def roc_critical_value(level: float) -> float:
    """``x`` with :func:`brownian_motion_pvalue` ``(x) == level`` (0.9479 at 0.05)."""
    root = optimize.brentq(lambda x: brownian_motion_pvalue(x) - level, 0.3, 20.0, xtol=1e-12)
    return float(root)


@numba.njit(nogil=True, error_model="numpy", cache=True)
def _roc_start(
    y: np.ndarray, design: np.ndarray, history: np.ndarray, crit_test: float, crit_bound: float
) -> np.ndarray:  # pragma: no cover - compiled
    """First time index of the stable history of each pixel (reverse-ordered CUSUM test).

    The valid history observations are taken newest first; their recursive residuals come from
    a Givens-updated QR factorisation ``[R | z]`` of the rows seen so far (one ``O(k^2)``
    update per observation: the residual is what is left of ``y`` after the rotations). A
    pixel with fewer than ``k + 2`` valid history observations, or whose newest ``k`` do not
    determine the model, keeps its whole history (index 0).
    """
    n_pix, nt = y.shape
    k = design.shape[1]
    start = np.zeros(n_pix, np.int64)
    idx = np.empty(nt, np.int64)
    w = np.empty(nt)
    rr = np.empty((k, k))
    z = np.empty(k)
    row = np.empty(k)
    for i in range(n_pix):
        n = 0
        for t in range(nt - 1, -1, -1):
            if history[t] and y[i, t] == y[i, t]:
                idx[n] = t
                n += 1
        if n < k + 2:
            continue
        rr[:] = 0.0
        z[:] = 0.0
        m = 0
        singular = False
        for j in range(n):
            t = idx[j]
            yt = y[i, t]
            if j == k:  # the newest k observations must determine the model
                big = 0.0
                for c in range(k):
                    big = max(big, abs(rr[c, c]))
                for c in range(k):
                    singular |= abs(rr[c, c]) <= 1e-10 * big
                if singular:
                    break
            for c in range(k):
                row[c] = design[t, c]
            ry = yt
            for c in range(k):
                if row[c] == 0.0:
                    continue
                r = np.sqrt(rr[c, c] * rr[c, c] + row[c] * row[c])
                inv = 1.0 / r
                cs = rr[c, c] * inv
                sn = row[c] * inv
                rr[c, c] = r
                for l in range(c + 1, k):
                    a = rr[c, l]
                    rr[c, l] = cs * a + sn * row[l]
                    row[l] = cs * row[l] - sn * a
                a = z[c]
                z[c] = cs * a + sn * ry
                ry = cs * ry - sn * a
            if j >= k:
                # what is left of y once the row is rotated into a QR with positive diagonal
                # is the recursive residual (y - x b) / sqrt(1 + x (X'X)^-1 x), b from the
                # rows before
                w[m] = ry
                m += 1
        if singular:
            continue
        mean = 0.0
        for c in range(m):
            mean += w[c]
        mean /= m
        var = 0.0
        for c in range(m):
            var += (w[c] - mean) ** 2
        sigma = np.sqrt(var / (m - 1))
        if not sigma > 0.0:
            continue
        scale = sigma * np.sqrt(m)
        stat = 0.0
        acc = 0.0
        for c in range(m):
            acc += w[c]
            stat = max(stat, abs(acc / scale) / (1.0 + 2.0 * (c + 1) / m))
        if not stat > crit_test:
            continue
        acc = 0.0
        for c in range(m):
            acc += w[c]
            if abs(acc / scale) > crit_bound * (1.0 + 2.0 * (c + 1) / m):
                # R: y_start = m - p + 2 (1-based, p = c + 1): newest-first position k + c - 1
                start[i] = idx[k + c - 1]
                break
    return start


@numba.njit(nogil=True, error_model="numpy", cache=True)
def _monitor(
    y: np.ndarray,
    fitted: np.ndarray,
    history: np.ndarray,
    n: np.ndarray,
    win: np.ndarray,
    ok: np.ndarray,
    first: np.ndarray,
    k: int,
    crit: float,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """MOSUM monitoring of each pixel's valid residuals: break index and median residual.

    Observations before ``first[i]`` (the start of the stable history) are left out.

    One pass per pixel over its series (the residuals, their cumulative sums and the
    monitoring-period values live in small per-pixel buffers), instead of a dozen passes of
    full ``(pixels, time)`` temporaries.
    """
    n_pix, nt = y.shape
    brk = np.full(n_pix, np.nan)
    mag = np.full(n_pix, np.nan)
    csum = np.zeros(nt + 1)
    mon = np.empty(nt)
    for i in range(n_pix):
        if not ok[i]:
            continue
        m = 0  # valid observations so far
        n_mon = 0
        rss = 0.0
        for t in range(first[i], nt):
            v = y[i, t]
            if v != v:
                continue
            r = v - fitted[i, t]
            m += 1
            csum[m] = csum[m - 1] + r
            if history[t]:
                rss += r * r
            else:
                mon[n_mon] = r
                n_mon += 1
        if n_mon:
            mag[i] = np.median(mon[:n_mon])
        scale = np.sqrt(rss / (n[i] - k)) * np.sqrt(n[i])
        c = 0
        for t in range(first[i], nt):
            if y[i, t] != y[i, t]:
                continue
            c += 1
            if history[t] or c <= n[i]:
                continue
            lag = max(c - win[i], 0)
            rel = c / n[i]
            bound = crit * np.sqrt(2.0 * (np.log(rel) if rel > np.e else 1.0))
            if abs((csum[c] - csum[lag]) / scale) > bound:
                brk[i] = t
                break
    return brk, mag


def bfast_kernel(
    block: np.ndarray,
    *,
    design: np.ndarray,
    history: np.ndarray,
    h: float,
    crit: float,
    roc: tuple[float, float] | None = None,
) -> np.ndarray:
    """BFAST-monitor on a ``(time, ...)`` block; packed ``(..., 5)``.

    Output per pixel: ``[break_index (NaN: none), magnitude, status, n_history,
    history_start_index (NaN: no valid history)]``. With ``roc=(crit_test, crit_bound)`` the
    stable history of each pixel starts where :func:`_roc_start` says. The normal equations of
    all pixels come from one matrix product (each pixel with its own cloud mask and history
    start) and one batched solve; the monitoring runs per pixel in :func:`_monitor`.
    """
    nt = block.shape[0]
    shape = block.shape[1:]
    y = np.ascontiguousarray(block.reshape(nt, -1).astype(np.float64).T)  # (N, T)
    n_pix, k = y.shape[0], design.shape[1]
    if roc is None:
        first = np.zeros(n_pix, np.int64)
    else:
        first = _roc_start(y, design, history, float(roc[0]), float(roc[1]))
    hist = np.isfinite(y[:, history])
    if roc is not None:
        hist &= np.flatnonzero(history)[None, :] >= first[:, None]
    n = hist.sum(axis=1)
    dh = design[history]
    outer = (dh[:, :, None] * dh[:, None, :]).reshape(len(dh), k * k)
    normal = (hist.astype(np.float64) @ outer).reshape(n_pix, k, k)
    rhs = np.where(hist, y[:, history], 0.0) @ dh
    win = np.floor(h * n).astype(np.int64)
    ok = (n > k) & (win >= 1)
    # pixels without enough history get an identity system (their result is discarded)
    normal[~ok] = np.eye(k)
    rhs[~ok] = 0.0
    # harmonics that the history's dates cannot separate (e.g. one season only): singular
    eig = np.linalg.eigvalsh(normal)
    ok &= eig[:, 0] > 1e-10 * eig[:, -1]
    normal[~ok] = np.eye(k)
    beta = np.linalg.solve(normal, rhs[..., None])[..., 0]
    fitted = beta @ design.T
    brk, mag = _monitor(y, fitted, history, n.astype(np.float64), win, ok, first, k, float(crit))
    any_mon = np.isfinite(y[:, ~history]).any(axis=1)
    has = np.isfinite(brk)
    status = np.where(
        ~ok, SHORT_HISTORY, np.where(~any_mon, NO_MONITORING, np.where(has, BREAK, NO_BREAK))
    )
    # first valid history observation at or after the history start
    hist_idx = np.flatnonzero(history)
    start = np.where(n > 0, hist_idx[np.argmax(hist, axis=1)], np.nan)
    out = np.stack(
        [brk, mag, status.astype(np.float64), n.astype(np.float64), start.astype(np.float64)],
        axis=-1,
    )
    return out.reshape((*shape, 5)).astype(np.float32)


def _series(cube: xr.DataArray | xr.Dataset, index: str | None) -> xr.DataArray:
    if isinstance(cube, xr.Dataset) or band_dim(cube) is not None:
        if index is None:
            raise ParameterError("bfast_monitor on a multi-band cube needs `index=` (e.g. 'NDVI').")
        from ..indices import index as spectral_index

        return spectral_index(cube, index)
    return cube


def bfast_monitor(
    cube: xr.DataArray | xr.Dataset,
    index: str | None = "NDVI",
    *,
    monitor_start: Any,
    order: int = 3,
    h: float = 0.25,
    alpha: float = 0.05,
    end: int = 10,
    trend: bool = False,
    history: str = "all",
    roc_alpha: float | None = None,
) -> xr.Dataset:
    """Detect the first break after ``monitor_start`` in a seasonal series (BFAST-monitor).

    Parameters
    ----------
    cube : DataArray or Dataset
        A reflectance series ``(time, band, y, x)`` (then ``index`` is computed first through
        :func:`eoxr.indices.index`) or a single-variable series ``(time, y, x)`` (``index``
        ignored). NaN (clouds) are skipped pixel by pixel. ``time`` is made one chunk.
    index : str, optional
        Spectral index to monitor (``"NDVI"``, ``"NBR"``, a formula...).
    monitor_start : date-like
        First date of the monitoring period; the stable history is taken from the valid
        observations before it (see ``history``).
    order : int
        Number of harmonics of the yearly cycle.
    h : {0.25, 0.5, 1}
        MOSUM bandwidth relative to the history length.
    alpha : float
        Significance level of the monitoring test, 0.001 ... 0.05.
    end : {2, 4, 6, 8, 10}
        Longest monitoring horizon in history lengths (selects the critical value, as R).
    trend : bool
        Add a linear trend to the model (R's ``response ~ trend + harmon``). Off by default: a
        trend fitted on the history and extrapolated over the monitoring period biases the
        residuals, and the tabulated boundaries (derived for stationary regressors) then give
        far more false alarms than ``alpha`` (0.3 instead of 0.05 on pure noise, 8 years
        monthly); the harmonic model keeps the false-alarm rate at or below ``alpha``.
    history : {"all", "roc"}
        Stable-history selection per pixel. ``"all"`` (eoxr's default): every valid observation
        before ``monitor_start``. ``"roc"`` (R ``bfastmonitor``'s default, ``history="ROC"``):
        the reverse-ordered CUSUM test (Verbesselt et al. 2012; R ``bfast::history_roc``) runs
        the recursive-residual CUSUM test backwards in time from ``monitor_start``; if it
        rejects stability at ``roc_alpha``, the history starts after the first crossing of the
        boundary (at 0.05, as R's ``boundary()`` default), else it is the whole history.
        eoxr keeps ``"all"`` as default: its false-alarm rate is the tabulated one, it costs
        about half as much, and results do not change for users of earlier versions; pass
        ``history="roc"`` for R's default when the history may hold a disturbance.
    roc_alpha : float, optional
        Significance level of the ROC test, 0.001 ... 0.05 (default: ``alpha``, as R).

    Returns
    -------
    Dataset
        ``break_time`` (y, x) datetime64 of the first break (NaT: none); ``magnitude``: median
        residual over the monitoring period (negative for a drop of the index); ``status``
        int8: 0 no break, 1 break, 2 too little history (no more valid history observations
        than model terms, a MOSUM window below one observation, or harmonics that the history's
        dates cannot separate), 3 no valid
        observation in the monitoring period; ``n_history``; ``history_start`` (y, x)
        datetime64 of the first observation of the stable history (NaT: none). Attrs
        ``critical_value``, ``monitor_start``, ``history_selection`` (``"all"`` or ``"roc"``).

    Examples
    --------
    >>> import numpy as np, pandas as pd, xarray as xr
    >>> t = pd.date_range("2015-01-01", periods=120, freq="16D")
    >>> season = 0.5 + 0.2 * np.sin(2 * np.pi * np.asarray(t.day_of_year) / 365.25)
    >>> drop = 0.3 * np.asarray(t >= "2019-06-01")
    >>> y = (season - drop)[:, None, None] + np.random.default_rng(0).normal(0, 0.02, (120, 2, 2))
    >>> da = xr.DataArray(y.astype("float32"), dims=("time", "y", "x"), coords={"time": t})
    >>> res = bfast_monitor(da, monitor_start="2019-01-01")
    >>> res.status.values.tolist(), str(res.break_time.values[0, 0])[:7]
    ([[1, 1], [1, 1]], '2019-06')
    """
    series = _series(cube, index)
    if "time" not in series.dims:
        raise DimensionError(f"bfast_monitor needs a `time` dim, got dims {tuple(series.dims)}.")
    ydim, xdim = spatial_dims(series)
    extra = [d for d in series.dims if d not in ("time", ydim, xdim)]
    if extra:
        raise DimensionError(f"bfast_monitor: unexpected dims {extra}; select one index first.")
    if not isinstance(order, int | np.integer) or order < 1:
        raise ParameterError(f"order={order!r}: expected an integer >= 1 (harmonics per year).")
    crit = critical_value(h, end, alpha)
    if history not in ("all", "roc"):
        raise ParameterError(
            f"history={history!r}: expected 'all' (every observation before monitor_start) or "
            "'roc' (R's reverse-ordered CUSUM selection), e.g. history='roc'."
        )
    roc = None
    if history == "roc":
        roc_alpha = alpha if roc_alpha is None else roc_alpha
        if not (isinstance(roc_alpha, float | int) and 0.001 <= roc_alpha <= 0.05):
            raise ParameterError(
                f"roc_alpha={roc_alpha!r}: expected a level in 0.001 ... 0.05, e.g. 0.05."
            )
        roc = (roc_critical_value(float(roc_alpha)), roc_critical_value(0.05))
    times = pd.DatetimeIndex(series["time"].values)
    start = pd.Timestamp(monitor_start)
    before = np.asarray(times < start)
    if not before.any() or before.all():
        raise ParameterError(
            f"monitor_start={monitor_start!r} must fall inside the series "
            f"({times[0].date()} ... {times[-1].date()}): there must be dates before and after."
        )
    t = decimal_years(times)
    design = design_matrix(t - decimal_years([start])[0], int(order), bool(trend))
    if not np.issubdtype(series.dtype, np.floating):
        series = series.astype(np.float32)
    series = series.transpose("time", ydim, xdim)
    packed = map_blocks(
        bfast_kernel,
        series,
        dtype=np.float32,
        whole=("time",),
        drop_dims=("time",),
        new_dims={"_out": 5},
        kwargs={"design": design, "history": before, "h": float(h), "crit": crit, "roc": roc},
    )
    like = series.isel(time=0, drop=True)
    res = Packed(packed, like)
    tv = series["time"].values
    brk = res.dates(0, tv)
    ds = xr.Dataset(
        {
            "break_time": finalize(brk, like, long_name="date of the first break"),
            "magnitude": finalize(
                res.plane(1, series.dtype),
                like,
                long_name="median residual in the monitoring period",
                units=series.attrs.get("units"),
            ),
            "status": finalize(
                res.plane(2, np.int8),
                like,
                long_name="BFAST-monitor status",
                attrs={"flag_values": [0, 1, 2, 3], "flag_meanings": STATUS_MEANINGS},
            ),
            "n_history": finalize(
                res.plane(3, np.int16),
                like,
                long_name="valid observations in the stable history",
            ),
            "history_start": finalize(
                res.dates(4, tv), like, long_name="first observation of the stable history"
            ),
        }
    )
    out = finalize_dataset(
        ds,
        like,
        history=f"bfast_monitor: order={order}, h={h}, alpha={alpha}, end={end}, trend={trend}, "
        f"history={history!r}" + (f", roc_alpha={roc_alpha}" if roc else ""),
    )
    return out.assign_attrs(
        critical_value=crit, monitor_start=str(start.date()), history_selection=history
    )


__all__ = [
    "bfast_monitor",
    "critical_value",
    "decimal_years",
    "design_matrix",
    "bfast_kernel",
    "brownian_motion_pvalue",
    "roc_critical_value",
]
