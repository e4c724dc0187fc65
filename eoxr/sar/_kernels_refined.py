"""Numba kernel of the refined Lee filter (Lee 1981): 8 edge-aligned 7x7 half windows.

Same block convention as :mod:`eoxr.sar._kernels` (NaN-padded 2-D block, interior of ``out``
written, float64 window statistics computed the same way for every pixel so results do not
depend on where a chunk starts).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from ._kernels import keep_stripe_points, stripe_rows, stripes

_jit = {"cache": True, "nogil": True, "error_model": "numpy"}
_LANES = 64  # output pixels per column tile: the tile's partial sums stay in L1 cache


def refined_lee_masks() -> np.ndarray:
    """The 8 non-symmetric 7x7 windows of Lee 1981, ``(8, 7, 7)`` booleans (28 pixels each).

    Order: left, right (vertical edge), upper, lower (horizontal edge), upper-right, lower-left
    (edge along the main diagonal), upper-left, lower-right (edge along the anti-diagonal).
    Each half includes the edge line through the centre.
    """
    r, c = np.mgrid[0:7, 0:7]
    return np.stack([c <= 3, c >= 3, r <= 3, r >= 3, c >= r, c <= r, r + c <= 6, r + c >= 6])


@numba.njit(inline="always", **_jit)
def mmse(z, n, s, s2, sv2):
    """Lee MMSE estimate with var_x = (var_z - m^2 sv2) / (1 + sv2), b = var_x / var_z in [0, 1]."""
    m = s / n
    var = max(s2 / n - m * m, 0.0)
    if var <= 0.0:
        return m
    b = min(max((var - m * m * sv2) / (var * (1.0 + sv2)), 0.0), 1.0)
    return m + b * (z - m)


@numba.njit(inline="always", **_jit)
def _amp_row(x, r, cn, cs, out):
    """Square roots of the NaN-aware 3x3 means centred on row ``r``, columns ``1..nx-2``.

    NaN where no valid sample. The window is chosen on this amplitude scale (see
    :func:`refined_lee_filter`). Sums in a fixed order: the three rows per column, then the
    three columns.
    """
    a, b, c = x[r - 1], x[r], x[r + 1]
    for j in range(cn.size):
        va, vb, vc = np.float64(a[j]), np.float64(b[j]), np.float64(c[j])
        oa, ob, oc = va == va, vb == vb, vc == vc
        cn[j] = (1.0 if oa else 0.0) + (1.0 if ob else 0.0) + (1.0 if oc else 0.0)
        cs[j] = (va if oa else 0.0) + (vb if ob else 0.0) + (vc if oc else 0.0)
    n = cn.size - 2
    dst = out[1 : 1 + n]  # indices from 0 (a shifted index is checked for wraparound)
    for j in range(n):
        wn = cn[j] + cn[j + 1] + cn[j + 2]
        ws = cs[j] + cs[j + 1] + cs[j + 2]
        dst[j] = math.sqrt(max(ws / wn, 0.0)) if wn > 0.0 else np.nan


@numba.njit(inline="always", **_jit)
def _window_index(c, a0, a1, a2, b0, b2, c0, c1, c2):
    """Window of Lee 1981 (0..7, order of :func:`refined_lee_masks`) from 3x3 sub-window values.

    ``a*, b*, c*``: the rows of the nine sub-window values, centre ``c``. The strongest of the
    four directional gradients (vertical edge, horizontal edge, the two diagonals; first one
    wins ties) gives the edge direction; the sub-window value nearer to the centre's gives the
    side of the edge. Written with selects, not branches, so the caller's lane loop vectorises.
    """
    g0 = abs(a2 + b2 + c2 - a0 - b0 - c0)
    g1 = abs(c0 + c1 + c2 - a0 - a1 - a2)
    g2 = abs(a1 + a2 + b2 - b0 - c0 - c1)
    g3 = abs(a0 + a1 + b0 - b2 - c1 - c2)
    # the index as a float: float selects on float compares vectorise (integer ones do not)
    w = 0.0 if abs(c - b0) <= abs(c - b2) else 1.0
    g = g0
    w = (2.0 if abs(c - a1) <= abs(c - c1) else 3.0) if g1 > g else w
    g = g1 if g1 > g else g
    w = (4.0 if abs(c - a2) <= abs(c - c0) else 5.0) if g2 > g else w
    g = g2 if g2 > g else g
    return (6.0 if abs(c - a0) <= abs(c - c2) else 7.0) if g3 > g else w


@numba.njit(inline="always", **_jit)
def _rows7(width):
    a = np.empty((7, width))
    return a[0], a[1], a[2], a[3], a[4], a[5], a[6]


@numba.njit(inline="always", **_jit)
def _rows6(width):
    a = np.empty((6, width))
    return a[0], a[1], a[2], a[3], a[4], a[5]


@numba.njit(inline="always", **_jit)
def _store(k, v0, v1, v2, v3, v4, v5, v6, t, b):
    """Running sums of one column's 7 values: ``tm[k]`` rows 0..m-1, ``bm[k]`` rows 7-m..6."""
    t1, t2, t3, t4, t5, t6, t7 = t
    b1, b2, b3, b4, b5, b6 = b
    acc = v0
    t1[k] = acc
    acc += v1
    t2[k] = acc
    acc += v2
    t3[k] = acc
    acc += v3
    t4[k] = acc
    acc += v4
    t5[k] = acc
    acc += v5
    t6[k] = acc
    t7[k] = acc + v6
    acc = v6
    b1[k] = acc
    acc += v5
    b2[k] = acc
    acc += v4
    b3[k] = acc
    acc += v3
    b4[k] = acc
    acc += v2
    b5[k] = acc
    b6[k] = acc + v1


@numba.njit(inline="always", **_jit)
def _runs(xs, counts, ts, bs, tq, bq):
    """Column runs (:func:`_store`) of the 7 rows ``xs``: of the values and of their squares.

    NaN samples add exactly 0; ``counts``: of the valid-sample flags (into ``ts, bs``) instead.
    One output array per run so that the stores vectorise (a 2-D store is checked for
    wraparound).
    """
    x0, x1, x2, x3, x4, x5, x6 = xs
    for k in range(x0.size):
        v0, v1, v2, v3 = np.float64(x0[k]), np.float64(x1[k]), np.float64(x2[k]), np.float64(x3[k])
        v4, v5, v6 = np.float64(x4[k]), np.float64(x5[k]), np.float64(x6[k])
        if counts:
            o0, o1, o2 = (
                1.0 if v0 == v0 else 0.0,
                1.0 if v1 == v1 else 0.0,
                1.0 if v2 == v2 else 0.0,
            )
            o3, o4 = 1.0 if v3 == v3 else 0.0, 1.0 if v4 == v4 else 0.0
            o5, o6 = 1.0 if v5 == v5 else 0.0, 1.0 if v6 == v6 else 0.0
            _store(k, o0, o1, o2, o3, o4, o5, o6, ts, bs)
        else:
            v0, v1, v2, v3 = (
                v0 if v0 == v0 else 0.0,
                v1 if v1 == v1 else 0.0,
                v2 if v2 == v2 else 0.0,
                v3 if v3 == v3 else 0.0,
            )
            v4, v5, v6 = v4 if v4 == v4 else 0.0, v5 if v5 == v5 else 0.0, v6 if v6 == v6 else 0.0
            _store(k, v0, v1, v2, v3, v4, v5, v6, ts, bs)
            _store(k, v0 * v0, v1 * v1, v2 * v2, v3 * v3, v4 * v4, v5 * v5, v6 * v6, tq, bq)


@numba.njit(inline="always", **_jit)
def _row_nans(row, flags):
    """``flags[t]``: the number of NaN in columns ``j0-3 .. j0+nl+2`` of ``row``, tile ``t``."""
    nx = row.size
    for tile in range(flags.size):
        j0 = 3 + tile * _LANES
        seg = row[j0 - 3 : min(j0 + _LANES, nx - 3) + 3]
        nan = 0
        for k in range(seg.size):
            nan += seg[k] != seg[k]
        flags[tile] = nan


@numba.njit(inline="always", **_jit)
def _pick(w, q, t1, t2, t3, t4, t5, t6, t7, b1, b2, b3, b4, b5, b6):
    """Sum over window ``w`` of the pixel at lane ``q``, from the column running sums.

    Column ``dj`` (lane ``q + 3 + dj``) of each half window is one vertical run: all 7 rows
    (``t7``) or 0 for left/right, rows -3..0 (``t4``) / 0..3 (``b4``) for upper/lower, and for
    the diagonal halves a run from the top (``tk``: k rows) or from the bottom (``bk``) whose
    length steps by one from column to column. All 8 sums are formed, then one is selected.
    """
    left = t7[q] + t7[q + 1] + t7[q + 2] + t7[q + 3]
    right = t7[q + 3] + t7[q + 4] + t7[q + 5] + t7[q + 6]
    up = t4[q] + t4[q + 1] + t4[q + 2] + t4[q + 3] + t4[q + 4] + t4[q + 5] + t4[q + 6]
    lo = b4[q] + b4[q + 1] + b4[q + 2] + b4[q + 3] + b4[q + 4] + b4[q + 5] + b4[q + 6]
    ur = t1[q] + t2[q + 1] + t3[q + 2] + t4[q + 3] + t5[q + 4] + t6[q + 5] + t7[q + 6]
    ll = t7[q] + b6[q + 1] + b5[q + 2] + b4[q + 3] + b3[q + 4] + b2[q + 5] + b1[q + 6]
    ul = t7[q] + t6[q + 1] + t5[q + 2] + t4[q + 3] + t3[q + 4] + t2[q + 5] + t1[q + 6]
    lr = b1[q] + b2[q + 1] + b3[q + 2] + b4[q + 3] + b5[q + 4] + b6[q + 5] + t7[q + 6]
    e01 = left if w == 0.0 else right
    e23 = up if w == 2.0 else lo
    e45 = ur if w == 4.0 else ll
    e67 = ul if w == 6.0 else lr
    # flat selects between values all computed: a nested conditional makes LLVM sink the
    # sums into branches and load their inputs with masked loads (3x slower)
    e03 = e01 if w < 2.0 else e23
    e47 = e45 if w < 6.0 else e67
    return e03 if w < 4.0 else e47


@numba.njit(**_jit)
def _stripe(x, cu2, out, r0, r1):
    """Rows ``r0..r1-1`` of :func:`refined_lee_filter`.

    A function of its own: numba's parfor pass took the running sums of the inlined helpers
    for reductions of the stripe loop (wrong results).
    """
    nx = x.shape[1]
    amp = np.full((5, nx), np.nan)  # ring of rows of sqrt 3x3 means, row r at r % 5
    cn, cs = np.empty(nx), np.empty(nx)
    for ra in range(r0 - 2, r0 + 2):
        _amp_row(x, ra, cn, cs, amp[ra % 5])
    width = _LANES + 6
    # column runs of the tile (see _runs): sums, sums of squares, counts
    ts, bs = _rows7(width), _rows6(width)
    tq, bq = _rows7(width), _rows6(width)
    tn, bn = _rows7(width), _rows6(width)
    win = np.empty(_LANES)
    nans = np.empty((7, (nx - 6 + _LANES - 1) // _LANES), np.int64)  # per row and tile
    for rb in range(r0 - 3, r0 + 3):
        _row_nans(x[rb], nans[rb % 7])
    for i in range(r0, r1):
        _amp_row(x, i + 2, cn, cs, amp[(i + 2) % 5])
        ru, rc, rd = amp[(i - 2) % 5], amp[i % 5], amp[(i + 2) % 5]
        _row_nans(x[i + 3], nans[(i + 3) % 7])
        for tile in range(nans.shape[1]):
            j0 = 3 + tile * _LANES
            nl = min(_LANES, nx - 3 - j0)
            # rows of sub-window values from column j0 - 2: indices from 0 (a negative
            # index is checked for wraparound, which keeps the loops from vectorising)
            u, m, d = ru[j0 - 2 : j0 + nl + 2], rc[j0 - 2 : j0 + nl + 2], rd[j0 - 2 : j0 + nl + 2]
            for q in range(nl):
                # nine 3x3 sub-window values (centres 2 px apart); an empty one takes the
                # centre's value so that it adds no edge
                c = m[q + 2]
                a0, a1, a2 = u[q], u[q + 2], u[q + 4]
                b0, b2 = m[q], m[q + 4]
                c0, c1, c2 = d[q], d[q + 2], d[q + 4]
                win[q] = _window_index(
                    c,
                    a0 if a0 == a0 else c,
                    a1 if a1 == a1 else c,
                    a2 if a2 == a2 else c,
                    b0 if b0 == b0 else c,
                    b2 if b2 == b2 else c,
                    c0 if c0 == c0 else c,
                    c1 if c1 == c1 else c,
                    c2 if c2 == c2 else c,
                )
            lo, hi = j0 - 3, j0 + nl + 3
            xs = (x[i - 3, lo:hi], x[i - 2, lo:hi], x[i - 1, lo:hi], x[i, lo:hi],
                  x[i + 1, lo:hi], x[i + 2, lo:hi], x[i + 3, lo:hi])  # fmt: skip
            dirty = False
            for rr in range(7):
                dirty |= nans[rr, tile] > 0
            _runs(xs, False, ts, bs, tq, bq)
            if dirty:
                _runs(xs, True, tn, bn, tq, bq)
            zrow, orow = x[i, j0 : j0 + nl], out[i, j0 : j0 + nl]
            s1, s2, s3, s4, s5, s6, s7 = ts
            p1, p2, p3, p4, p5, p6 = bs
            q1, q2, q3, q4, q5, q6, q7 = tq
            r1_, r2, r3, r4, r5, r6 = bq
            if dirty:
                n1, n2, n3, n4, n5, n6, n7 = tn
                m1, m2, m3, m4, m5, m6 = bn
                for q in range(nl):
                    w, z = win[q], np.float64(zrow[q])
                    n = _pick(w, q, n1, n2, n3, n4, n5, n6, n7, m1, m2, m3, m4, m5, m6)
                    s = _pick(w, q, s1, s2, s3, s4, s5, s6, s7, p1, p2, p3, p4, p5, p6)
                    sq = _pick(w, q, q1, q2, q3, q4, q5, q6, q7, r1_, r2, r3, r4, r5, r6)
                    orow[q] = mmse(z, n, s, sq, cu2) if z == z else np.nan
            else:
                for q in range(nl):
                    w, z = win[q], np.float64(zrow[q])
                    s = _pick(w, q, s1, s2, s3, s4, s5, s6, s7, p1, p2, p3, p4, p5, p6)
                    sq = _pick(w, q, q1, q2, q3, q4, q5, q6, q7, r1_, r2, r3, r4, r5, r6)
                    orow[q] = mmse(z, 28.0, s, sq, cu2)


@numba.njit(parallel=True, **_jit)
def refined_lee_filter(x, cu2, thr, min_count, out, n_stripes=8):
    """Lee 1981 refined filter on a block padded by 3 (window 7x7, 28-pixel half windows).

    The window (edge direction and side, :func:`_window_index`) is chosen on the square roots
    of the nine 3x3 intensity means, i.e. on an amplitude scale, rather than on the intensity
    means themselves. Under multiplicative speckle the spread of a sub-window mean grows with
    its level, so the rule "the side whose mean is nearer to the centre's" taken on intensities
    sends a noisy centre to the darker side far more often than to the brighter one, and a
    bright pixel's neighbours choose the half windows away from it: the scene loses power
    (2.1 % on the real Camargue sample, 5 % on spatially correlated single-look speckle). On
    amplitudes the spread depends far less on the level (0.995-1.001 of the mean kept on
    Camargue and its quadrants, 0.979 on that speckle) and true edges are still followed; the
    MMSE step itself uses the intensities of the chosen window. Refined Lee implementations that
    run on amplitude data (e.g. SNAP given an amplitude band) make the same choice on amplitudes.

    Hand-written (no library has masked half-window sums): every half window is, column by
    column, one vertical run of rows that starts at the window's top row or ends at its bottom
    row (:func:`_pick`). Per output row and tile of 64 pixels the 13 running sums of each
    column (``t1..t7`` from the top, ``b1..b6`` from the bottom) are formed once, then each
    pixel's 8 half-window sums take 6 additions each from them instead of 27 masked ones.
    Precision: count, sum and sum of squares are float64 sums of the same 28 samples as the
    masked sums of :func:`refined_lee_masks`, in a fixed order per pixel (so chunk-exact); for
    non-negative data each is within ``27 * 2**-53`` relative of the exact sum (float32 outputs
    equal those of the former masked-offset kernel bit for bit on 2048² gamma speckle). NaN
    samples add exactly 0; tiles whose 7 rows hold no NaN skip the counts (all 28).

    ``min_count`` > 0: point targets (:func:`eoxr.sar._kernels.clean_row`, threshold ``thr``)
    are left out of every window and keep their own value, found stripe by stripe
    (:func:`eoxr.sar._kernels.stripe_rows`; the same bits as dropping them from the whole block
    first and restoring them after).
    """
    bounds = stripes(x.shape[0], 3, n_stripes)
    for stripe in prange(bounds.size - 1):
        r0, r1 = bounds[stripe], bounds[stripe + 1]
        rows, points = stripe_rows(x, r0, r1, 3, thr, min_count)
        # the stripe's rows as a block of their own: ``out`` shifted alike
        _stripe(rows, cu2, out[r0 - 3 : r1 + 3], 3, 3 + r1 - r0)
        if points:
            keep_stripe_points(x, rows, out, r0, r1, 3)
    return out
