"""A plain per-pixel BFAST-monitor, written for clarity, as an oracle for the vectorised one."""

from __future__ import annotations

import math

import numpy as np


def bfast_pixel(y, design, history, h, crit):
    """``(break_index or None, magnitude, n_history)`` for one pixel's series ``y``."""
    keep = [i for i in range(len(y)) if math.isfinite(y[i])]
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
