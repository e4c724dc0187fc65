"""A plain per-pixel BFAST-monitor, written for clarity, as an oracle for the vectorised one."""

from __future__ import annotations

import math

import numpy as np


def bfast_pixel(y, design, history, h, crit, first=0):
    """``(break_index or None, magnitude, n_history)`` for one pixel's series ``y``.

    Observations before time index ``first`` (the start of the stable history) are left out.
    """
    keep = [i for i in range(first, len(y)) if math.isfinite(y[i])]
    hist = [i for i in keep if history[i]]
    mon = [i for i in keep if not history[i]]
    n, k = len(hist), design.shape[1]
    win = int(math.floor(h * n))
    if n <= k or win < 1:
        return None, float("nan"), n
    beta = np.linalg.lstsq(design[hist], y[hist], rcond=None)[0]
    resid = {i: y[i] - design[i] @ beta for i in keep}
    sigma = math.sqrt(sum(resid[i] ** 2 for i in hist) / (n - k))
    mag = float(np.median([resid[i] for i in mon])) if mon else float("nan")
    for pos, i in enumerate(keep):
        count = pos + 1
        if count <= n:
            continue
        window = keep[max(0, count - win) : count]
        mosum = sum(resid[j] for j in window) / (sigma * math.sqrt(n))
        rel = count / n
        bound = crit * math.sqrt(2 * (math.log(rel) if rel > math.e else 1.0))
        if abs(mosum) > bound:
            return i, mag, n
    return None, mag, n


def _bde_pvalue(x):
    """Brown, Durbin & Evans (1975) p-value of ``sup |W(t)| / (1 + 2t)`` (strucchange's form)."""
    from scipy.stats import norm

    if x < 0.3:
        return 1 - 0.1465 * x
    p = norm.cdf
    tail = math.exp(-4 * x**2) * (p(x) + p(5 * x) - 1) - math.exp(-16 * x**2) * (1 - p(x))
    return 2 * (1 - p(3 * x) + tail)


def _bde_crit(level):
    from scipy.optimize import brentq

    return brentq(lambda x: _bde_pvalue(x) - level, 0.3, 20, xtol=1e-12)


def roc_pixel(y, design, history, level=0.05):
    """Start index of the stable history by the reverse-ordered CUSUM test, written out.

    Follows R bfast's ``history_roc`` with strucchange's ``efp(type="Rec-CUSUM")``, ``sctest``
    and ``boundary`` (alpha 0.05), with the recursive residuals from their definition: one OLS
    fit of the first ``j`` (reversed) observations for each ``j`` (no updating formula).
    Returns the time index of the first observation of the stable history (None: no history).
    """
    keep = [i for i in range(len(y)) if history[i] and math.isfinite(y[i])]
    if not keep:
        return None
    n, k = len(keep), design.shape[1]
    if n < k + 2:
        return keep[0]
    x_rev = design[keep][::-1]
    y_rev = np.asarray(y, float)[keep][::-1]
    w = []
    for j in range(k, n):
        xj, yj = x_rev[:j], y_rev[:j]
        beta = np.linalg.lstsq(xj, yj, rcond=None)[0]
        inv = np.linalg.inv(xj.T @ xj)
        w.append((y_rev[j] - x_rev[j] @ beta) / math.sqrt(1 + x_rev[j] @ inv @ x_rev[j]))
    w = np.array(w)
    m = len(w)
    process = np.cumsum(np.r_[0.0, w]) / (np.std(w, ddof=1) * math.sqrt(m))
    frac = np.arange(1, m + 1) / m
    stat = np.max(np.abs(process[1:]) / (1 + 2 * frac))
    if not _bde_pvalue(stat) < level:
        return keep[0]
    bound = _bde_crit(0.05) * (1 + 2 * frac)
    first = int(np.flatnonzero(np.abs(process[1:]) > bound)[0]) + 1  # R's min(which(...))
    y_start = len(process) - first + 1  # 1-based row of the chronological history
    return keep[y_start - 1]
