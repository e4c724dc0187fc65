"""Numba kernel of the Frost et al. (1982) speckle filter (2-D, NaN-padded blocks).

Same block convention as :mod:`eoxr.sar._kernels`: a 2-D block padded by its halo (NaN outside
the image), the interior of ``out`` written. The window statistics (float64) are recomputed for
every row, so that results do not depend on where a chunk or stripe starts.

The weight of a window sample is ``exp(-K Ci^2 |t|)``, ``|t|`` its Euclidean distance to the
centre. Weights depend only on ``(|di|, |dj|)``: the samples at ``(+-di, +-dj)`` are added
first (columns pairwise, then the pair rows), so a 7x7 window costs 16 products, not 49.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from ._kernels import column_sums, keep_stripe_points, stripe_rows, stripes, window_sums

_jit = {"cache": True, "nogil": True, "error_model": "numpy"}
# fused multiply-add allowed (one rounding instead of two; the same code for every pixel, so
# results stay chunk-exact), nothing else of fastmath: NaN and signed zeros keep their meaning
_fast = dict(_jit, fastmath={"contract"})

_LOG2E = 1.4426950408889634
LANES = 128  # pixels per tile: weights, pair sums and accumulators stay in L1 cache


def frost_tables(hy: int, hx: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exponent tables of the Frost kernel on a ``(2 hy + 1) x (2 hx + 1)`` window.

    A centre distance is ``s * sqrt(q)`` with ``q`` square-free, so ``exp(-a d) = exp(-a
    sqrt(q)) ** s``: one ``exp`` per distinct ``q`` (5 for 7x7) instead of one per distinct
    distance (10) or per offset (49). Returns the base distances ``sqrt(q)``, for each distinct
    distance its base index and integer power, and for each quadrant offset ``(|di|, |dj|)``,
    an ``(hy + 1, hx + 1)`` table, the index of its distance.
    """
    dy, dx = np.mgrid[0 : hy + 1, 0 : hx + 1]
    d2, quad_dist = np.unique((dy * dy + dx * dx).ravel(), return_inverse=True)
    free, power = d2.copy(), np.ones(d2.size, np.int64)
    for i, v in enumerate(d2):
        for f in range(2, max(hy, hx) + 1):
            while v and v % (f * f) == 0:
                v //= f * f
                power[i] *= f
        free[i] = v
    power[d2 == 0] = 0
    bases, dist_base = np.unique(free, return_inverse=True)
    return (
        np.sqrt(bases.astype(np.float64)),
        dist_base.astype(np.int64),
        power,
        quad_dist.astype(np.int64).reshape(hy + 1, hx + 1),
    )


_C = np.float32(1.5 * 2.0**23 + 127.0)  # C - z rounds z to an integer k; the low bits: 127 - k
# 2**-f by its Taylor series to degree 7 in float32 (truncation < 2e-8 relative on |f| <= 0.57)
_Q = [np.float32((-math.log(2.0)) ** i / math.factorial(i)) for i in range(8)]
_Q0, _Q1, _Q2, _Q3, _Q4, _Q5, _Q6, _Q7 = _Q


def split_bases(bases: np.ndarray) -> np.ndarray:
    """``log2(e) * bases`` as float32 rows ``(hi, lo, hi + lo)``, ``hi`` of 12 significant bits.

    The base distances of :func:`frost_tables` in the form :func:`_weights` takes them.
    """
    c = np.asarray(bases, np.float64) * _LOG2E
    hi = (np.asarray(c, np.float32).view(np.int32) & np.int32(-4096)).view(np.float32)
    lo = (c - hi.astype(np.float64)).astype(np.float32)
    return np.stack([hi, lo, c.astype(np.float32)])


@numba.njit(**_jit)
def _split_row(av, ah, al, n):
    """``min(av, 128)`` (float64) as ``ah + al`` in float32, ``ah`` of 12 significant bits.

    Veltkamp's split in float64 (``2**41 + 1``: 53 - 41 = 12 bits), compiled without
    contraction (a fused multiply-add would break it); ``al`` is ``a - ah`` rounded once.
    128 is past every weight's range (``exp(-128) < 2**-126``).
    """
    for q in range(n):
        a = min(av[q], 128.0)
        t = a * 2199023255553.0  # 2**41 + 1
        h = t - (t - a)
        ah[q] = np.float32(h)
        al[q] = np.float32(a - h)


@numba.njit(inline="always", **_fast)
def _weights(ah, al, nl, chl, dist_base, power, sb, eb, wd):
    """``wd[d, q] = exp(-a[q] * dist_d)`` in float32 for every distinct distance ``d``.

    Why not ``math.exp``: numba calls libm once per element (no SVML) and the loop stays
    scalar. ``exp(-a b) = 2**-z``, ``z = a b log2(e)``, all in float32 (8 pixels per AVX2
    instruction) without losing the argument's precision: ``a = ah + al`` (:func:`_split_row`)
    and ``b log2(e) = ch + cl`` (:func:`split_bases`) with ``ah`` and ``ch`` of 12 significant
    bits, so ``ah ch`` is exact; ``k``, the integer nearest to it, comes from the rounding of
    ``C - ah ch`` (whose low bits are then ``127 - k``, the exponent field of ``2**-k`` once
    shifted), ``ah ch - k`` is exact and the small part ``ah cl + al (ch + cl)`` (below
    ``2**-11 z``) is added to it, so the reduced argument ``f`` (``|f| < 0.57``) is within
    about one rounding of ``f`` itself, whatever ``z``. Only ``2**-f`` is a polynomial. A base
    weight is within 2 float32 ulp (1.5 measured over 1.5 million arguments), a power ``p`` of
    it within ``3 p - 1``. ``z`` is clamped at 126 (``a`` at 128 first): weights below
    ``2**-126`` are wrong by less than ``2**-125``. ``sb`` and ``eb`` float32 scratch,
    ``(len(bases), nl)`` at least.
    """
    for u in range(chl.shape[1]):
        ch, cl, cf = chl[0, u], chl[1, u], chl[2, u]
        if ch == 0.0:
            continue
        e, s = eb[u], sb[u]
        for q in range(nl):
            hi = ah[q] * ch  # exact: 12 x 12 bits
            big = hi >= np.float32(126.0)
            h = np.float32(126.0) if big else hi
            lo = np.float32(0.0) if big else ah[q] * cl + al[q] * cf
            r = _C - h  # 127 - k in the low bits
            f = (h + (r - _C)) + lo  # z - k, h - k exact
            p = _Q7 * f + _Q6
            p = p * f + _Q5
            p = p * f + _Q4
            p = p * f + _Q3
            p = p * f + _Q2
            p = p * f + _Q1
            e[q] = p * f + _Q0
            s[q] = r
        si = s.view(np.int32)
        for q in range(nl):
            si[q] = si[q] << 23  # 2**-k
        for q in range(nl):
            e[q] *= s[q]
    for d in range(dist_base.size):
        u, pw = dist_base[d], power[d]
        if pw == 0:
            for q in range(nl):
                wd[d, q] = 1.0
        elif pw == 1:
            for q in range(nl):
                wd[d, q] = eb[u, q]
        elif pw == 2:
            for q in range(nl):
                wd[d, q] = eb[u, q] * eb[u, q]
        elif pw == 3:
            for q in range(nl):
                wd[d, q] = eb[u, q] * eb[u, q] * eb[u, q]
        else:
            for q in range(nl):
                wd[d, q] = eb[u, q]
            for _ in range(pw - 1):
                for q in range(nl):
                    wd[d, q] *= eb[u, q]


@numba.njit(inline="always", **_fast)
def _pair_rows(x, i, a, c0, n, v, mode):
    """``v[k] = x[i - a, c0 + k] + x[i + a, c0 + k]`` (``a`` = 0: the row itself) in float32.

    ``mode`` 1: NaN counts as 0; 0: the caller knows the rows hold no NaN; 2: the validity
    masks (1 or 0) instead of the values, for the weight sums.
    """
    up, dn, dst = x[i - a, c0 : c0 + n], x[i + a, c0 : c0 + n], v[:n]
    if mode == 2:
        for k in range(n):
            s = (1.0 if up[k] == up[k] else 0.0) + (1.0 if dn[k] == dn[k] else 0.0)
            dst[k] = np.float32(s if a else 0.5 * s)
    elif mode == 1:
        for k in range(n):
            u, d = np.float32(up[k]), np.float32(dn[k])
            u = u if u == u else np.float32(0.0)
            d = d if d == d else np.float32(0.0)
            dst[k] = u + d if a else u
    else:
        for k in range(n):
            u, d = np.float32(up[k]), np.float32(dn[k])
            dst[k] = u + d if a else u


@numba.njit(inline="always", **_fast)
def _row_sum(v, wd, qd, hx, nl, acc, tmp):
    """``acc[q] += sum_b w_b[q] (v[q + hx + b] + v[q + hx - b])`` (``b`` = 0: the centre once).

    The terms of one window row are added in order of ``b`` (a fixed order for every pixel,
    whatever the tile). ``hx`` = 3 has the offsets unrolled so the row's sum stays in registers.
    """
    if hx == 3:
        # one array per operand, positive offsets only: with a slice per offset LLVM needs more
        # runtime alias checks than it allows and leaves the loop scalar (3x slower)
        d0, d1, d2, d3 = qd[0], qd[1], qd[2], qd[3]
        for q in range(nl):
            t = wd[d0, q] * v[q + 3] + wd[d1, q] * (v[q + 2] + v[q + 4])
            t = t + wd[d2, q] * (v[q + 1] + v[q + 5])
            acc[q] += t + wd[d3, q] * (v[q] + v[q + 6])
        return
    # slices here: ``v[q + hx - b]`` with a run-time offset keeps numba's wraparound test
    t, c, w = tmp[:nl], v[hx : hx + nl], wd[qd[0]]
    for q in range(nl):
        t[q] = w[q] * c[q]
    for b in range(1, hx + 1):
        w, lb, rb = wd[qd[b]], v[hx - b : hx - b + nl], v[hx + b : hx + b + nl]
        for q in range(nl):
            t[q] = t[q] + w[q] * (lb[q] + rb[q])
    for q in range(nl):
        acc[q] += t[q]


@numba.njit(inline="always", **_fast)
def _row_const(wd, qd, hx, nl, acc, c, tmp):
    """:func:`_row_sum` of a row of constant ``c``, in the same order (the same bits)."""
    if hx == 3:
        d0, d1, d2, d3 = qd[0], qd[1], qd[2], qd[3]
        for q in range(nl):
            t = wd[d0, q] * c + wd[d1, q] * (c + c)
            t = t + wd[d2, q] * (c + c)
            acc[q] += t + wd[d3, q] * (c + c)
        return
    t, w = tmp[:nl], wd[qd[0]]
    for q in range(nl):
        t[q] = w[q] * c
    for b in range(1, hx + 1):
        w = wd[qd[b]]
        for q in range(nl):
            t[q] = t[q] + w[q] * (c + c)
    for q in range(nl):
        acc[q] += t[q]


@numba.njit(inline="always", **_jit)
def _v(x, r, j):
    """``(1, x[r, j])`` in float64, ``(0, 0)`` where NaN."""
    v = np.float64(x[r, j])
    ok = v == v
    return (1.0 if ok else 0.0), (v if ok else 0.0)


@numba.njit(inline="always", **_jit)
def _column_sums(x, i, hy, cn, cs, cs2):
    """:func:`eoxr.sar._kernels.column_sums` with the 7 rows of ``hy`` = 3 in one pass.

    The sums stay in registers (one store per column and statistic instead of seven), rows
    added top to bottom: the same order for every column, whatever the block.
    """
    if hy != 3:
        column_sums(x, i, hy, cn, cs, cs2)
        return
    r = i - 3
    for j in range(x.shape[1]):
        n0, v0 = _v(x, r, j)
        n1, v1 = _v(x, r + 1, j)
        n2, v2 = _v(x, r + 2, j)
        n3, v3 = _v(x, r + 3, j)
        n4, v4 = _v(x, r + 4, j)
        n5, v5 = _v(x, r + 5, j)
        n6, v6 = _v(x, r + 6, j)
        cn[j] = 0.0 + n0 + n1 + n2 + n3 + n4 + n5 + n6
        cs[j] = 0.0 + v0 + v1 + v2 + v3 + v4 + v5 + v6
        cs2[j] = 0.0 + v0 * v0 + v1 * v1 + v2 * v2 + v3 * v3 + v4 * v4 + v5 * v5 + v6 * v6


@numba.njit(inline="always", **_jit)
def _window_sums(hx, c, w):
    """Row pass of the three statistics ``c`` (rows of ``(3, nx)``) into ``w``, columns ``hx..``.

    ``hx`` = 3 summed directly in one pass (pairs first, the same order for every pixel); one
    2-D array each for ``c`` and ``w`` keeps LLVM's alias checks few enough to vectorise.
    Other widths: :func:`eoxr.sar._kernels.window_sums`.
    """
    if hx != 3:
        window_sums(hx, c[0], c[1], c[2], w[0], w[1], w[2])
        return
    n = c.shape[1] - 6
    for k in range(3):
        for j in range(n):
            a = (c[k, j] + c[k, j + 1]) + (c[k, j + 2] + c[k, j + 3])
            w[k, j + 3] = a + ((c[k, j + 4] + c[k, j + 5]) + c[k, j + 6])


@numba.njit(**_fast)
def _stripe(x, hy, hx, damping, chl, dist_base, power, quad_dist, out, r0, r1, path):
    """Rows ``r0..r1-1`` of :func:`frost_filter`.

    A function of its own, called once per stripe from the parallel loop: with the helpers
    inlined into the parallel function itself, numba's parallel passes made compiling it take
    over a minute per input dtype.
    """
    nx = x.shape[1]
    full = float((2 * hy + 1) * (2 * hx + 1))
    nb, nd = chl.shape[1], dist_base.size
    cols, wins = np.empty((3, nx)), np.zeros((3, nx))  # count, sum, sum of squares
    wn, ws, ws2 = wins[0], wins[1], wins[2]
    av = np.empty(nx)
    ah, al = np.empty(nx, np.float32), np.empty(nx, np.float32)
    sb, eb = np.empty((nb, LANES), np.float32), np.empty((nb, LANES), np.float32)
    wd = np.empty((nd, LANES), np.float32)
    v = np.empty((hy + 1, LANES + 2 * hx), np.float32)
    mask = np.empty((hy + 1, LANES + 2 * hx), np.float32)
    num, den = np.empty(LANES, np.float32), np.empty(LANES, np.float32)
    tmp32 = np.empty(LANES, np.float32)
    for i in range(r0, r1):
        _column_sums(x, i, hy, cols[0], cols[1], cols[2])
        _window_sums(hx, cols, wins)
        n = nx - 2 * hx
        tn, ts, ts2, ta = wn[hx : hx + n], ws[hx : hx + n], ws2[hx : hx + n], av[hx : hx + n]
        for j in range(n):
            inv = 1.0 / tn[j]
            m = ts[j] * inv
            m2 = m * m
            ci2 = max(ts2[j] * inv - m2, 0.0) / m2 if m2 != 0.0 else 0.0
            ta[j] = damping * ci2
        _split_row(av[hx:], ah[hx:], al[hx:], n)
        for j0 in range(hx, nx - hx, LANES):
            nl = min(LANES, nx - hx - j0)
            tile_n = wn[j0 : j0 + nl]
            short = 0  # windows with a NaN (an integer count vectorises, a float min not)
            for q in range(nl):
                short += 1 if tile_n[q] < full else 0
            clean = 1 if (short > 0) | (path == 1) else 0
            _weights(ah[j0 : j0 + nl], al[j0 : j0 + nl], nl, chl, dist_base, power, sb, eb, wd)
            num[:nl] = 0.0
            den[:nl] = 0.0
            for a in range(hy + 1):
                _pair_rows(x, i, a, j0 - hx, nl + 2 * hx, v[a], clean)
                _row_sum(v[a], wd, quad_dist[a], hx, nl, num, tmp32)
                if clean:
                    _pair_rows(x, i, a, j0 - hx, nl + 2 * hx, mask[a], 2)
                    _row_sum(mask[a], wd, quad_dist[a], hx, nl, den, tmp32)
                else:
                    c = np.float32(1.0 if a == 0 else 2.0)
                    _row_const(wd, quad_dist[a], hx, nl, den, c, tmp32)
            z, o = x[i, j0 : j0 + nl], out[i, j0 : j0 + nl]
            for q in range(nl):
                o[q] = num[q] / den[q] if z[q] == z[q] else np.nan


@numba.njit(parallel=True, **_fast)
def frost_filter(
    x, hy, hx, damping, chl, dist_base, power, quad_dist, thr, min_count, out, n_stripes=8, path=0
):
    """Frost et al. 1982: ``sum w v / sum w``, ``w = exp(-K Ci^2 |t|)``, ``K`` = ``damping``.

    ``Ci^2 = var / mean^2`` of the window's valid samples (float64 sums, recomputed per row),
    ``|t|`` the Euclidean distance to the centre; NaN samples have weight 0, a NaN centre gives
    NaN. ``min_count`` > 0: point targets (:func:`eoxr.sar._kernels.clean_row`, threshold
    ``thr``) are left out of every window and keep their own value, found stripe by stripe
    (:func:`eoxr.sar._kernels.stripe_rows`): the same bits as taking them out of the whole
    block first and restoring them after.

    Why hand-written: per tile of :data:`LANES` pixels, the weights of the distinct distances
    are tabulated (:func:`_weights`, vectorised ``exp``), the samples at ``(+-di, +-dj)`` are
    added first (:func:`_pair_rows`, :func:`_row_sum`), and the weighted sums run in float32
    over the tile, 8 pixels per AVX2 instruction. Tiles whose windows hold no NaN skip the NaN
    tests, and their weight sums use constant masks in the same order as the masked sums, so
    that both paths give the same bits (``path`` 1 forces the NaN path, for the tests).

    Precision (``u`` = 2**-24, ``p`` the highest power in :func:`frost_tables`: ``max(hy, hx)``
    up to 11x11 windows, more in some wider ones, e.g. 10 for the offset (6, 8) of 13x17): a
    weight is within ``(3 p - 1) u`` of ``exp(-K Ci^2 |t|)`` (:func:`_weights`: the argument
    is split so that its reduction is exact); a value term passes
    through at most ``hx + hy + 5`` float32 roundings (input, the two pair sums, the product,
    the row's and the rows' sums), a weight term through ``hx + hy + 2``, and the division
    adds one. For non-negative data (linear power) every rounding is relative to a sum of
    non-negative terms, so the result is within ``(2 (hx + hy) + 6 p + 6) u`` relative of the
    float64 formula (7x7: ``36 u`` = 2.1e-6, 11x11: ``56 u`` = 3.3e-6), plus ``2**-125``
    times the largest sample for weights below float32's normal range (``K Ci^2 |t| > 87``);
    for signed data the bound holds relative to ``sum w |v| / sum w``. Tested against the
    float64 reference in ``tests/sar/test_sar_frost.py``.
    """
    bounds = stripes(x.shape[0], hy, n_stripes)
    for t in prange(bounds.size - 1):
        r0, r1 = bounds[t], bounds[t + 1]
        rows, points = stripe_rows(x, r0, r1, hy, thr, min_count)
        # the stripe's rows as a block of their own: ``out`` shifted alike
        part, n = out[r0 - hy : r1 + hy], r1 - r0
        _stripe(rows, hy, hx, damping, chl, dist_base, power, quad_dist, part, hy, hy + n, path)
        if points:
            keep_stripe_points(x, rows, out, r0, r1, hy)
    return out
