"""Straightforward float64 reference implementations of the speckle filters, from the papers.

One Python loop per pixel over a NaN-padded image; no code shared with eoxr's kernels.
"""

from __future__ import annotations

import math

import numpy as np


def _windows(img: np.ndarray, hy: int, hx: int | None = None):
    hx = hy if hx is None else hx
    pad = np.pad(img.astype(np.float64), ((hy, hy), (hx, hx)), constant_values=np.nan)
    for i in range(img.shape[0]):
        for j in range(img.shape[1]):
            yield i, j, pad[i : i + 2 * hy + 1, j : j + 2 * hx + 1]


def _stats(v: np.ndarray) -> tuple[float, float]:
    v = v[~np.isnan(v)]
    return float(v.mean()), float(v.var())


def point_mask(img: np.ndarray, threshold: float, min_count: int) -> np.ndarray:
    """Lee et al. 2009 point targets: >= threshold with >= min_count such pixels in 3x3."""
    bright = np.nan_to_num(img, nan=-np.inf) >= threshold
    mask = np.zeros(img.shape, bool)
    for i, j, w in _windows(bright.astype(float), 1):
        mask[i, j] = bright[i, j] and np.nansum(w) >= min_count
    return mask


def filter_ref(
    img: np.ndarray,
    method: str,
    size: int | tuple[int, int],
    looks: float,
    threshold: float | None = None,
    min_count: int = 3,
    **kw,
) -> np.ndarray:
    """Reference output of ``method`` (NaN centre -> NaN).

    With ``threshold``: point targets keep their value and are left out of every window.
    """
    sy, sx = (size, size) if isinstance(size, int) else size
    h = (sy // 2, sx // 2)
    points = (
        np.zeros(img.shape, bool) if threshold is None else point_mask(img, threshold, min_count)
    )
    work = np.where(points, np.nan, img.astype(np.float64))
    out = np.full(img.shape, np.nan)
    cu2 = 1.0 / looks
    for i, j, w in _windows(work, *h):
        z = w[h]
        if np.isnan(z):
            continue
        out[i, j] = _ONE[method](z, w, cu2, looks, h, **kw)
    out[points] = img[points]
    return out


def _boxcar(z, w, cu2, L, h):
    return _stats(w)[0]


def _median(z, w, cu2, L, h):
    return float(np.median(w[~np.isnan(w)]))


def _lee(z, w, cu2, L, h):
    # Lee 1980 multiplicative: Q = (var - m^2 s2) / (1 + s2), k = Q / (m^2 s2 + Q).
    m, var = _stats(w)
    q = (var - m * m * cu2) / (1 + cu2)
    k = q / (m * m * cu2 + q) if (m * m * cu2 + q) != 0 else 0.0
    k = min(max(k, 0.0), 1.0)
    return m + k * (z - m)


def _kuan(z, w, cu2, L, h):
    m, var = _stats(w)
    ci2 = var / m**2
    wgt = (1 - cu2 / ci2) / (1 + cu2) if ci2 > 0 else 0.0
    wgt = min(max(wgt, 0.0), 1.0)
    return m + wgt * (z - m)


def _enhanced_lee(z, w, cu2, L, h, damping=1.0):
    m, var = _stats(w)
    ci, cu, cmax = math.sqrt(var) / m, math.sqrt(cu2), math.sqrt(1 + 2 / L)
    if ci <= cu:
        return m
    if ci >= cmax:
        return z
    wgt = math.exp(-damping * (ci - cu) / (cmax - ci))
    return m * wgt + z * (1 - wgt)


def _gamma_map(z, w, cu2, L, h):
    m, var = _stats(w)
    ci, cu = math.sqrt(var) / m, math.sqrt(cu2)
    if ci <= cu:
        return m
    if ci >= math.sqrt(2) * cu:
        return z
    alpha = (1 + cu2) / (ci**2 - cu2)
    b = alpha - L - 1
    return (b * m + math.sqrt(m * m * b * b + 4 * alpha * L * z * m)) / (2 * alpha)


def _frost(z, w, cu2, L, h, damping=2.0):
    m, var = _stats(w)
    a = damping * var / m**2
    num = den = 0.0
    hy, hx = h
    for di in range(-hy, hy + 1):
        for dj in range(-hx, hx + 1):
            v = w[hy + di, hx + dj]
            if not np.isnan(v):
                wt = math.exp(-a * math.hypot(di, dj))
                num += wt * v
                den += wt
    return num / den


def _mmse(z, v, s2):
    v = v[~np.isnan(v)]
    m, var = v.mean(), v.var()
    if var == 0:
        return m
    b = min(max((var - m * m * s2) / (var * (1 + s2)), 0.0), 1.0)
    return m + b * (z - m)


def _refined_lee(z, w, cu2, L, h, scale="amplitude", tie=0):
    """Lee 1981 refined filter on one 7x7 window.

    ``tie``: which of the directions whose gradient ties with the largest (within 1e-9
    relative) to take, in order (the last if fewer tie). Ties are structural where most 3x3
    sub-windows are empty (NaN columns, image edges: an empty one takes the centre's value), and
    there the rounding of the gradient sums, which differs between any two implementations,
    decides; the paper does not say which to take.
    """

    def sub_mean(a, b):
        blk = w[2 * a : 2 * a + 3, 2 * b : 2 * b + 3]
        return np.nanmean(blk) if (~np.isnan(blk)).any() else np.nan

    # the window is chosen on the square roots of the 3x3 intensity means (amplitude scale);
    # scale="intensity": on the means themselves, as written in Lee et al. 1999
    sub = np.array([[sub_mean(a, b) for b in range(3)] for a in range(3)])
    sub = np.sqrt(sub) if scale == "amplitude" else sub
    sub[np.isnan(sub)] = sub[1, 1]
    c = sub[1, 1]
    grads = np.array(
        [
            abs(sub[:, 2].sum() - sub[:, 0].sum()),
            abs(sub[2].sum() - sub[0].sum()),
            abs(sub[0, 1] + sub[0, 2] + sub[1, 2] - sub[1, 0] - sub[2, 0] - sub[2, 1]),
            abs(sub[0, 0] + sub[0, 1] + sub[1, 0] - sub[1, 2] - sub[2, 1] - sub[2, 2]),
        ]
    )
    tied = np.flatnonzero(grads >= grads.max() * (1 - 1e-9))
    d = int(tied[min(tie, tied.size - 1)])
    pairs = [((1, 0), (1, 2)), ((0, 1), (2, 1)), ((0, 2), (2, 0)), ((0, 0), (2, 2))]
    first, second = pairs[d]
    side = 0 if abs(c - sub[first]) <= abs(c - sub[second]) else 1
    r, cc = np.mgrid[0:7, 0:7]
    halves = [(cc <= 3, cc >= 3), (r <= 3, r >= 3), (cc >= r, cc <= r), (r + cc <= 6, r + cc >= 6)]
    return _mmse(z, w[halves[d][side]], cu2)


def _lee_sigma(z, w, cu2, L, h, eta1, eta2, sv2):
    w3 = w[h[0] - 1 : h[0] + 2, h[1] - 1 : h[1] + 2]
    xh = _mmse(z, w3.copy(), cu2)
    inside = w[(w >= eta1 * xh) & (w <= eta2 * xh)]
    return _mmse(z, inside, sv2) if inside.size else xh


_ONE = {
    "boxcar": _boxcar,
    "median": _median,
    "lee": _lee,
    "kuan": _kuan,
    "enhanced_lee": _enhanced_lee,
    "gamma_map": _gamma_map,
    "frost": _frost,
    "refined_lee": _refined_lee,
    "lee_sigma": _lee_sigma,
}
