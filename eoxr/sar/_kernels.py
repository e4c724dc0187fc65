"""Numba kernels of the local-statistics speckle filters (2-D, NaN-padded blocks).

Every kernel takes a 2-D block already padded by its halo (NaN outside the image, real
neighbours across chunk borders) and writes the interior of ``out``; the halo rows/columns of
``out`` are left unset and cropped by :func:`eoxr._dask.overlap.map_overlap`.

Why hand-written rather than ``scipy.ndimage.uniform_filter`` / ``cv2.blur`` and numpy:

* speed: one fused pass per block, parallel over row stripes, with no temporary the size of
  the image (page faults and memory traffic dominate on this class of machine); the point-target
  mask is found on the fly. Loops index slices from 0 so that LLVM vectorises them (numba checks
  a possibly negative index for wraparound, which blocks vectorisation), and ``exp`` has a
  vectorising implementation (:func:`exp_row`);
* float64 sums: ``cv2.blur`` box sums are float32 and drift by up to 0.2 relative on
  high-dynamic-range speckle. The moment filter keeps running column sums (one row in, one out,
  whatever the window) compensated with TwoSum, so that a bright scatterer that has left the
  window leaves no residue and results do not depend on where a chunk or stripe starts (to
  ~1e-15); row sums are formed afresh for every pixel, in the same order everywhere
  (:func:`_box_pair`, :func:`_box_row`). The other kernels recompute their float64 window sums
  per pixel;
* NaN (nodata and the image-edge padding) is skipped by counting valid samples, so edges use the
  part of the window that lies inside the image.

The row helpers of the moment filter (:func:`clean_row`, :func:`_box_row`, :func:`_box_pair`,
:func:`_box_one`, :func:`_formula_row`) are compiled as functions of their own, not inlined
into :func:`moment_filter`: one call per row costs nothing measurable (within 3 % either way,
2048^2, 7x7 and 11x11), while inlining them made one function so large that compiling it took
80-90 s per input dtype against 22-33 s now (the first call after install, and every fresh
test run, pays it once; later processes load numba's cache).
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np
from numba import prange

BOXCAR, LEE, KUAN, ENHANCED_LEE, GAMMA_MAP, LOCAL_ENL = 0, 1, 2, 3, 4, 5

_jit = {"cache": True, "nogil": True, "error_model": "numpy"}


@numba.njit(**_jit)
def stripes(ny, h, n_stripes):
    """Row ranges ``[start, stop)`` of the interior split into ``n_stripes`` parts."""
    rows = ny - 2 * h
    n = max(min(n_stripes, rows), 1)
    bounds = np.empty(n + 1, np.int64)
    for t in range(n + 1):
        bounds[t] = h + (rows * t) // n
    return bounds


@numba.njit(inline="always", **_jit)
def column_sums(x, i, h, cn, cs, cs2):
    """Count, sum and sum of squares of the valid samples of rows ``i-h..i+h``, per column."""
    nx = x.shape[1]
    cn[:] = 0.0
    cs[:] = 0.0
    cs2[:] = 0.0
    for di in range(-h, h + 1):
        row = x[i + di]
        for j in range(nx):
            v = np.float64(row[j])
            ok = v == v
            v = v if ok else 0.0
            cn[j] += 1.0 if ok else 0.0
            cs[j] += v
            cs2[j] += v * v


@numba.njit(inline="always", **_jit)
def window_sums(h, cn, cs, cs2, wn, ws, ws2):
    """Row pass: window sums for columns ``h..nx-h-1`` (same addition order for every pixel).

    Loops index slices from 0: numba checks every signed index for wraparound (``a[j - h]``)
    and that check keeps LLVM from vectorising (4x slower).
    """
    n = cn.size - 2 * h
    a, b, c = wn[h : h + n], ws[h : h + n], ws2[h : h + n]
    a[:] = 0.0
    b[:] = 0.0
    c[:] = 0.0
    for dj in range(2 * h + 1):
        x, y, z = cn[dj : dj + n], cs[dj : dj + n], cs2[dj : dj + n]
        for j in range(n):
            a[j] += x[j]
            b[j] += y[j]
            c[j] += z[j]


@numba.njit(**_jit)
def box_terms(h):
    """``(level, offset)`` of each set bit of ``2h + 1``, highest first (see :func:`_box_row`)."""
    width = 2 * h + 1
    top = int(math.log2(width))
    terms = np.empty((bin_count(width), 2), np.int64)
    nt = 0
    off = 0
    for bit in range(top, -1, -1):
        if width & (1 << bit):
            terms[nt, 0] = bit
            terms[nt, 1] = off
            nt += 1
            off += 1 << bit
    return terms


@numba.njit(**_jit)
def bin_count(v):
    """Number of set bits of ``v`` >= 0."""
    n = 0
    while v:
        n += v & 1
        v >>= 1
    return n


@numba.njit(**_jit)
def _box_row(h, c, w, lev, terms):
    """``w[h + j] = c[j] + ... + c[j + 2h]`` by doubling, for the moment filter's row pass.

    Level ``l`` of ``lev`` holds sums of ``2**(l+1)`` neighbours; the window is the sum of the
    levels of the set bits of ``2h + 1`` (``terms``, :func:`box_terms`), added in one pass
    (7 = 4 + 2 + 1: three passes over the row instead of eight, 11 = 8 + 2 + 1: four instead
    of twelve; each pass is bound by loads and stores). The order of the additions is the
    same for every pixel, so the sums do
    not depend on where a block starts.
    """
    nx = c.size
    n = nx - 2 * h
    width = 2 * h + 1
    top = 0
    k = 1
    while 2 * k <= width:
        src = c if top == 0 else lev[top - 1]
        a, b, dst = src[: nx - k], src[k:], lev[top]
        for j in range(nx - k):
            dst[j] = a[j] + b[j]
        k *= 2
        top += 1
    nt = terms.shape[0]
    dst = w[h : h + n]
    a = _level(c, lev, terms[0, 0])[terms[0, 1] : terms[0, 1] + n]
    if nt == 1:
        for j in range(n):
            dst[j] = a[j]
        return
    b = _level(c, lev, terms[1, 0])[terms[1, 1] : terms[1, 1] + n]
    if nt == 2:
        for j in range(n):
            dst[j] = a[j] + b[j]
        return
    d = _level(c, lev, terms[2, 0])[terms[2, 1] : terms[2, 1] + n]
    for j in range(n):
        dst[j] = a[j] + b[j] + d[j]
    for t in range(3, nt):  # windows of 15 and more
        e = _level(c, lev, terms[t, 0])[terms[t, 1] : terms[t, 1] + n]
        for j in range(n):
            dst[j] += e[j]


@numba.njit(**_jit)
def _box_pair(h, a, b, wa, wb, lev_a, lev_b, terms):
    """:func:`_box_row` of two rows at once; 3-, 5- and 7-wide windows summed directly.

    One pass with a fixed association (pairs first) per width, for every pixel the same, so
    that the sums do not depend on where a block starts; 14 % faster than doubling for 7x7
    (no intermediate rows to store and load again).
    """
    n = a.size - 2 * h
    da, db = wa[h : h + n], wb[h : h + n]
    if h == 3:
        a0, a1, a2, a3 = a[:n], a[1 : n + 1], a[2 : n + 2], a[3 : n + 3]
        a4, a5, a6 = a[4 : n + 4], a[5 : n + 5], a[6 : n + 6]
        b0, b1, b2, b3 = b[:n], b[1 : n + 1], b[2 : n + 2], b[3 : n + 3]
        b4, b5, b6 = b[4 : n + 4], b[5 : n + 5], b[6 : n + 6]
        for j in range(n):
            da[j] = ((a0[j] + a1[j]) + (a2[j] + a3[j])) + ((a4[j] + a5[j]) + a6[j])
            db[j] = ((b0[j] + b1[j]) + (b2[j] + b3[j])) + ((b4[j] + b5[j]) + b6[j])
    elif h == 2:
        a0, a1, a2, a3, a4 = a[:n], a[1 : n + 1], a[2 : n + 2], a[3 : n + 3], a[4 : n + 4]
        b0, b1, b2, b3, b4 = b[:n], b[1 : n + 1], b[2 : n + 2], b[3 : n + 3], b[4 : n + 4]
        for j in range(n):
            da[j] = ((a0[j] + a1[j]) + (a2[j] + a3[j])) + a4[j]
            db[j] = ((b0[j] + b1[j]) + (b2[j] + b3[j])) + b4[j]
    elif h == 1:
        a0, a1, a2 = a[:n], a[1 : n + 1], a[2 : n + 2]
        b0, b1, b2 = b[:n], b[1 : n + 1], b[2 : n + 2]
        for j in range(n):
            da[j] = (a0[j] + a1[j]) + a2[j]
            db[j] = (b0[j] + b1[j]) + b2[j]
    else:
        _box_row(h, a, wa, lev_a, terms)
        _box_row(h, b, wb, lev_b, terms)


@numba.njit(**_jit)
def _box_one(h, a, wa, lev_a, terms):
    """:func:`_box_row` of one row; 3-, 5- and 7-wide windows summed directly.

    As :func:`_box_pair`, for the window counts of the moment filter.
    """
    n = a.size - 2 * h
    da = wa[h : h + n]
    if h == 3:
        a0, a1, a2, a3 = a[:n], a[1 : n + 1], a[2 : n + 2], a[3 : n + 3]
        a4, a5, a6 = a[4 : n + 4], a[5 : n + 5], a[6 : n + 6]
        for j in range(n):
            da[j] = ((a0[j] + a1[j]) + (a2[j] + a3[j])) + ((a4[j] + a5[j]) + a6[j])
    elif h == 2:
        a0, a1, a2, a3, a4 = a[:n], a[1 : n + 1], a[2 : n + 2], a[3 : n + 3], a[4 : n + 4]
        for j in range(n):
            da[j] = ((a0[j] + a1[j]) + (a2[j] + a3[j])) + a4[j]
    elif h == 1:
        a0, a1, a2 = a[:n], a[1 : n + 1], a[2 : n + 2]
        for j in range(n):
            da[j] = (a0[j] + a1[j]) + a2[j]
    else:
        _box_row(h, a, wa, lev_a, terms)


@numba.njit(inline="always", **_jit)
def _level(c, lev, bit):
    """Sums of ``2**bit`` neighbours: ``c`` itself for bit 0, else a row of ``lev``."""
    return c if bit == 0 else lev[bit - 1]


@numba.njit(**_jit)
def _formula_row(method, z, out, wn, ws, ws2, hx, cu2, p1, p2, reg, ex):
    """Apply the filter formula along one row; one branch-free loop per method.

    Slices start at column ``hx`` so that indices are >= 0 (see :func:`window_sums`).
    """
    n = wn.size - 2 * hx
    z, out, reg = z[hx : hx + n], out[hx : hx + n], reg[hx : hx + n]
    wn, ws, ws2 = wn[hx : hx + n], ws[hx : hx + n], ws2[hx : hx + n]
    if method == BOXCAR:
        for j in range(n):
            m = ws[j] / wn[j]
            out[j] = m if z[j] == z[j] else np.nan
    elif method == LOCAL_ENL:
        for j in range(n):
            m = ws[j] / wn[j]
            var = ws2[j] / wn[j] - m * m
            out[j] = m * m / var if var > 0.0 else np.inf
    elif method == LEE:
        # Lee 1980, multiplicative model (E[v]=1, var v = Cu^2): k = Q / (m^2 Cu^2 + Q) with
        # Q = (var - m^2 Cu^2) / (1 + Cu^2), i.e. k = (Ci^2 - Cu^2) / (Ci^2 + Cu^4) in [0, 1].
        # Two divisions per pixel, not four: k = (var - Cu^2 m^2) / (var + Cu^4 m^2).
        cu4 = cu2 * cu2
        for j in range(n):
            zz = np.float64(z[j])
            inv = 1.0 / wn[j]
            m = ws[j] * inv
            m2 = m * m
            var = max(ws2[j] * inv - m2, 0.0)
            k = min(max((var - cu2 * m2) / (var + cu4 * m2), 0.0), 1.0)
            k = k if m2 != 0.0 else 0.0
            out[j] = m + k * (zz - m)
    elif method == KUAN:
        # Kuan et al. 1985: W = (1 - Cu^2 / Ci^2) / (1 + Cu^2) in [0, 1].
        inv = 1.0 / (1.0 + cu2)
        for j in range(n):
            zz = np.float64(z[j])
            m = ws[j] / wn[j]
            var = max(ws2[j] / wn[j] - m * m, 0.0)
            w = min(max((var - cu2 * m * m) / var * inv, 0.0), 1.0) if var > 0.0 else 0.0
            out[j] = m + w * (zz - m)
    elif method == GAMMA_MAP:
        # Lopes et al. 1990, three regimes split by Cu and Cmax (p1): the mean where Ci <= Cu
        # (or m <= 0), the pixel itself where Ci >= Cmax (point target or strong edge), else
        # the MAP estimate with alpha = (1 + Cu^2) / (Ci^2 - Cu^2), L = p2 looks,
        # x = ((alpha - L - 1) m + sqrt(m^2 (alpha - L - 1)^2 + 4 alpha L z m)) / (2 alpha).
        # Selects, not branches, so that the loop vectorises. Two divisions and one sqrt per
        # pixel: 1 / (2 alpha) = (Ci^2 - Cu^2) h with h = 1 / (2 (1 + Cu^2)), and the regimes
        # tested on Ci^2 against Cu^2 and Cmax^2 (the same as on Ci but within an ulp of them).
        cmax2 = p1 * p1
        h = 0.5 / (1.0 + cu2)
        for j in range(n):
            zz = np.float64(z[j])
            inv = 1.0 / wn[j]
            m = ws[j] * inv
            m2 = m * m
            var = max(ws2[j] * inv - m2, 0.0)
            ci2 = var / m2
            t = ci2 - cu2
            alpha = (1.0 + cu2) / t
            b = alpha - p2 - 1.0
            d = m2 * b * b + 4.0 * alpha * p2 * m * zz
            res = (b * m + math.sqrt(max(d, 0.0))) * (t * h)
            res = zz if ci2 >= cmax2 else res
            res = m if (ci2 <= cu2) | (m <= 0.0) else res
            out[j] = res if zz == zz else np.nan
    else:
        # ENHANCED_LEE (Lopes, Touzi & Nezry 1990), the same regimes as Gamma-MAP, in between
        # W = exp(-D (Ci - Cu) / (Cmax - Ci)), D = damping (p2), x = m W + z (1 - W). Loops
        # that vectorise, exp included (exp_row, scratch ``ex``); ``reg`` gets the regime, ws
        # and ws2 are overwritten with the mean and the weight (wn is kept: the caller reuses
        # the counts of the previous row).
        cu = math.sqrt(cu2)
        for j in range(n):
            inv = 1.0 / wn[j]
            m = ws[j] * inv
            m2 = m * m
            var = max(ws2[j] * inv - m2, 0.0)
            ci = math.sqrt(var / m2)
            mid = (ci > cu) & (ci < p1) & (m > 0.0)
            ws2[j] = -p2 * (ci - cu) / (p1 - ci) if mid else 0.0
            reg[j] = 2.0 if mid else (1.0 if (ci >= p1) & (m > 0.0) else 0.0)
            ws[j] = m
        exp_row(ws2, ex[0], ex[1])
        for j in range(n):
            zz = np.float64(z[j])
            m = ws[j]
            w = ws2[j]
            res = m * w + zz * (1.0 - w) if reg[j] == 2.0 else (zz if reg[j] == 1.0 else m)
            out[j] = res if zz == zz else np.nan


_LOG2E = 1.4426950408889634
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10  # Cody-Waite
_SHIFT = 6755399441055744.0  # 1.5 * 2**52: x + _SHIFT rounds x to an integer in the low bits
_SHIFT_BITS = 0x4338000000000000  # the bits of _SHIFT
_F = [1.0 / math.factorial(i) for i in range(14)]
(_F2, _F3, _F4, _F5, _F6, _F7, _F8, _F9, _F10, _F11, _F12, _F13) = _F[2:]


@numba.njit(fastmath={"contract"}, **_jit)
def exp_row(a, t, s):
    """``a[j] = exp(a[j])`` for ``a <= 0``, in loops that vectorise (no SVML, no libm call).

    Why not ``math.exp``: without Intel SVML, numba calls libm once per element and the loop
    stays scalar; enhanced Lee needs one exp per pixel. ``exp(x) = 2**k exp(r)``, ``k`` the
    nearest integer to ``x / ln 2`` (found with the ``1.5 * 2**52`` shift, so that its bits
    become ``2**k`` with integer ops only), ``r = x - k ln 2`` (two-part ``ln 2``, exact),
    ``|r| <= 0.35``, and ``exp(r)`` by its Taylor series to degree 13 (truncation 4e-18
    relative): within 1 ulp of libm. ``2**k`` is applied as two factors so that results down
    to the subnormal range (``x >= -745``) are right; below they are 0. ``t`` and ``s``:
    contiguous scratch rows at least as long as ``a``.

    Compiled on its own with ``fastmath={"contract"}`` (only: no reassociation, NaN and inf
    kept): the Horner steps and the reduction become fused multiply-adds, one rounding each
    instead of two, which makes the row 1.2x faster for enhanced Lee and the result closer to
    libm (1 ulp, was 2); the same code runs for every pixel, so results stay chunk-exact.
    """
    n = a.size
    for j in range(n):
        x = max(a[j], -1000.0)
        q = x * _LOG2E + _SHIFT
        t[j] = q
        k = q - _SHIFT
        r = (x - k * _LN2_HI) - k * _LN2_LO
        p = _F13
        p = p * r + _F12
        p = p * r + _F11
        p = p * r + _F10
        p = p * r + _F9
        p = p * r + _F8
        p = p * r + _F7
        p = p * r + _F6
        p = p * r + _F5
        p = p * r + _F4
        p = p * r + _F3
        p = p * r + _F2
        p = p * r + 1.0
        a[j] = p * r + 1.0
    ti, si = t.view(np.int64), s.view(np.int64)
    for j in range(n):
        k = ti[j] - _SHIFT_BITS
        k1 = k >> 1
        ti[j] = (k1 + 1023) << 52
        si[j] = (k - k1 + 1023) << 52
    for j in range(n):
        a[j] = a[j] * t[j] * s[j]


@numba.njit(inline="always", **_jit)
def _two_sum(s, c, v):
    """``s + v`` with its rounding error added to the compensation ``c`` (Knuth's TwoSum)."""
    t = s + v
    z = t - s
    return t, c + ((s - (t - z)) + (v - z))


@numba.njit(**_jit)
def clean_row(x, r, thr, min_count, row, cnt):
    """Row ``r`` of ``x`` into ``row`` with NaN in place of point targets (``min_count`` 0: none).

    ``row``: float64, or ``x``'s own dtype. A point target is a pixel ``>= thr`` with at least
    ``min_count`` such pixels in its 3x3 neighbourhood; pixels on the block's outer ring never
    are (their neighbourhood lies outside it, in the halo). Lee et al. 2009. Returns the number
    of point targets of the row.
    """
    ny, nx = x.shape
    src = x[r]
    bright = 0
    for j in range(nx):
        v = src[j]
        row[j] = np.float64(v)
        bright += 1 if v >= thr else 0
    if min_count == 0 or r == 0 or r == ny - 1 or bright == 0:
        return 0
    up, dn = x[r - 1], x[r + 1]
    # column counts of bright pixels (into ``cnt``) first, so that both passes vectorise
    for j in range(nx):
        cnt[j] = (
            (1 if up[j] >= thr else 0) + (1 if src[j] >= thr else 0) + (1 if dn[j] >= thr else 0)
        )
    m = nx - 2  # slices from 0, see window_sums
    left, mid, right, v, dst = cnt[:m], cnt[1 : m + 1], cnt[2:], src[1 : m + 1], row[1 : m + 1]
    points = 0
    for j in range(m):
        hit = (v[j] >= thr) & (left[j] + mid[j] + right[j] >= min_count)
        dst[j] = np.nan if hit else dst[j]
        points += 1 if hit else 0
    return points


@numba.njit(**_jit)
def stripe_rows(x, r0, r1, h, thr, min_count):
    """Rows ``r0 - h .. r1 + h - 1`` of ``x``, with NaN in place of point targets if ``min_count``.

    For the kernels that read their window samples straight from the block (Frost, refined
    Lee): each row stripe cleans its own rows (:func:`clean_row`, the points of the whole
    block, whatever the stripe) into a stripe-sized buffer, instead of one block-sized copy
    made before the kernel and a restoring pass after it (two more passes over memory and fresh
    pages for the copy, 1.25x the time of Frost's whole kernel call at 1 thread). ``min_count``
    0: a view of ``x`` itself. Returns the rows (a 2-D slice, the same array type either way)
    and the number of point targets.
    """
    if min_count == 0:
        return x[r0 - h : r1 + h], 0
    nx = x.shape[1]
    rows = np.empty((r1 - r0 + 2 * h, nx), x.dtype)
    cnt = np.empty(nx, np.int64)
    points = 0
    for k in range(rows.shape[0]):  # in the block's dtype: the values themselves, no rounding
        points += clean_row(x, r0 - h + k, thr, min_count, rows[k], cnt)
    return rows[0 : rows.shape[0]], points


@numba.njit(**_jit)
def keep_stripe_points(x, rows, out, r0, r1, h):
    """Point targets keep their own value in ``out``, rows ``r0..r1-1``.

    ``rows`` from :func:`stripe_rows`: a point is NaN there and valid in ``x``.
    """
    for i in range(r0, r1):
        z, c, o = x[i], rows[i - r0 + h], out[i]
        for j in range(z.size):
            o[j] = z[j] if (c[j] != c[j]) & (z[j] == z[j]) else o[j]


@numba.njit(parallel=True, **_jit)
def moment_filter(x, hy, hx, method, cu2, p1, p2, thr, min_count, out, n_stripes=8):
    """Local mean/variance filters (boxcar, Lee, Kuan, enhanced Lee, Gamma-MAP, local ENL).

    The window is ``(2 hy + 1) x (2 hx + 1)``. ``min_count`` > 0: point targets (see
    :func:`clean_row`, threshold ``thr``) are left out of every window and keep their value.

    Why hand-written rather than two ``uniform_filter`` / ``cv2.blur`` calls and numpy: one pass
    over the block with no image-sized temporary, the point-target mask computed on the fly,
    NaN counted per window, and float64 sums. The column sums run down each row stripe (one
    row in, one out: 4 additions per statistic and pixel, whatever the window) and are
    compensated (TwoSum), so that a bright scatterer leaving the window leaves no residue in
    the sums of the dark pixels after it: ``float32`` box sums (``cv2.blur``) drift by up to 0.2
    relative on such scenes, plain float64 running sums by ~1e-16 of the largest value seen,
    and the compensated ones stay within ~1e-16 of the window's own sum, so that the result does
    not depend on where a chunk or stripe starts (chunk-exact to ~1e-15). The row pass sums the
    ``2 hx + 1`` column sums afresh (directly up to 7 wide, :func:`_box_pair`, else by
    doubling, :func:`_box_row`; no drift); the window counts are reused from the previous row
    when no valid sample entered or left a column.

    NaN centre -> NaN (through ``z - m`` or an explicit test); a window without valid sample
    gives ``0 / 0`` = NaN.
    """
    ny, nx = x.shape
    bounds = stripes(ny, hy, n_stripes)
    nring = 2 * hy + 2  # the window's rows and the one leaving it
    nlev = max(int(math.log2(2 * hx + 1)), 1)  # doubling levels of the row pass (_box_row)
    terms = box_terms(hx)
    for t in prange(bounds.size - 1):
        r0, r1 = bounds[t], bounds[t + 1]
        ring = np.empty((nring, nx))
        cn, cs, cc, cs2, cc2 = np.zeros(nx), np.zeros(nx), np.zeros(nx), np.zeros(nx), np.zeros(nx)
        vs, vs2 = np.empty(nx), np.empty(nx)
        cnt = np.empty(nx, np.int64)
        npoints = np.zeros(nring, np.int64)  # point targets per ring row
        lev = np.empty((3, nlev, nx))
        wn, ws, ws2, reg = np.empty(nx), np.empty(nx), np.empty(nx), np.empty(nx)
        ex = np.empty((2, nx))
        for r in range(r0 - hy, r0 + hy):  # the first window but its last row
            row = ring[r % nring]
            npoints[r % nring] = clean_row(x, r, thr, min_count, row, cnt)
            for j in range(nx):
                v = row[j]
                ok = v == v
                v = v if ok else 0.0
                cn[j] += 1.0 if ok else 0.0
                cs[j], cc[j] = _two_sum(cs[j], cc[j], v)
                cs2[j], cc2[j] = _two_sum(cs2[j], cc2[j], v * v)
        for i in range(r0, r1):
            new = ring[(i + hy) % nring]
            npoints[(i + hy) % nring] = clean_row(x, i + hy, thr, min_count, new, cnt)
            old = ring[(i - hy - 1) % nring]
            first = i == r0
            changed = 0  # columns whose count of valid samples changes
            for j in range(nx):
                a = new[j]
                b = old[j]
                a_ok = a == a
                b_ok = (b == b) & (not first)  # at the stripe start nothing leaves
                a = a if a_ok else 0.0
                b = b if b_ok else 0.0
                cn[j] += (1.0 if a_ok else 0.0) - (1.0 if b_ok else 0.0)
                changed += 1 if a_ok != b_ok else 0
                s, c = _two_sum(cs[j], cc[j], a)
                cs[j], cc[j] = _two_sum(s, c, -b)
                s, c = _two_sum(cs2[j], cc2[j], a * a)
                cs2[j], cc2[j] = _two_sum(s, c, -(b * b))
                vs[j] = cs[j] + cc[j]
                vs2[j] = cs2[j] + cc2[j]
            if first or changed > 0:  # else the window counts are the previous row's
                _box_one(hx, cn, wn, lev[0], terms)
            _box_pair(hx, vs, vs2, ws, ws2, lev[1], lev[2], terms)
            _formula_row(method, x[i], out[i], wn, ws, ws2, hx, cu2, p1, p2, reg, ex)
            if npoints[i % nring] > 0:
                z = x[i]
                zc = ring[i % nring]
                o = out[i]
                for j in range(nx):  # a point target keeps its value
                    o[j] = z[j] if (zc[j] != zc[j]) & (z[j] == z[j]) else o[j]
    return out


def _batcher(n: int) -> list[tuple[int, int]]:
    """Comparators of Batcher's odd-even merge sort of ``n`` (a power of two) wires."""
    comps = []
    p = 1
    while p < n:
        k = p
        while k >= 1:
            for j in range(k % p, n - k, 2 * k):
                for i in range(min(k, n - j - k)):
                    if (i + j) // (2 * p) == (i + j + k) // (2 * p):
                        comps.append((i + j, i + j + k))
            k //= 2
        p *= 2
    return comps


@functools.lru_cache(maxsize=8)
def median_network(m: int) -> tuple[np.ndarray, int]:
    """Compare-exchange pairs ``(lo, hi)`` that put the median of ``m`` (odd) values in a row.

    Batcher's network for the next power of two, with the padding wires (+inf) propagated
    away and every comparator that cannot reach the median output pruned (49 values: 319
    comparators). Returns the pairs and the output row.
    """
    n = 1 << (m - 1).bit_length()
    phys, const = list(range(n)), [w >= m for w in range(n)]
    kept = []
    for a, b in _batcher(n):
        if const[b]:  # max goes to a +inf wire: nothing moves
            continue
        if const[a]:  # +inf on the low wire: the comparator only relabels
            phys[a], phys[b], const[a], const[b] = phys[b], phys[a], False, True
            continue
        kept.append((phys[a], phys[b]))
    out = phys[m // 2]
    need, pruned = {out}, []
    for a, b in reversed(kept):
        if a in need or b in need:
            pruned.append((a, b))
            need |= {a, b}
    return np.array(pruned[::-1], dtype=np.int64).reshape(-1, 2), out


@numba.njit(inline="always", **_jit)
def _median_scalar(x, i, j, hy, hx, buf):
    """Median of the valid samples of one window (sorting; even count: mean of the middle two)."""
    n = 0
    for di in range(-hy, hy + 1):
        for dj in range(-hx, hx + 1):
            v = np.float64(x[i + di, j + dj])
            if v == v:
                buf[n] = v
                n += 1
    srt = np.sort(buf[:n])
    return srt[n // 2] if n % 2 else 0.5 * (srt[n // 2 - 1] + srt[n // 2])


@numba.njit(parallel=True, **_jit)
def median_filter(x, hy, hx, net, row_out, out, n_stripes=8):
    """NaN-aware window median.

    Windows without NaN (nearly all) go through the selection network ``net``
    (:func:`median_network`), applied to 128 pixels at a time so that every compare-exchange
    is a vector min/max; windows with NaN fall back to sorting their valid samples.
    """
    ny, nx = x.shape
    k = (2 * hy + 1) * (2 * hx + 1)
    lanes = 128
    bounds = stripes(ny, hy, n_stripes)
    for t in prange(bounds.size - 1):
        buf = np.empty((k, lanes), x.dtype)
        bad = np.empty(lanes, np.int64)
        sbuf = np.empty(k)
        for i in range(bounds[t], bounds[t + 1]):
            for j0 in range(hx, nx - hx, lanes):
                nl = min(lanes, nx - hx - j0)
                bad[:nl] = 0
                q = 0
                for di in range(-hy, hy + 1):
                    row = x[i + di]
                    for dj in range(-hx, hx + 1):
                        for lane in range(nl):
                            v = row[j0 + lane + dj]
                            buf[q, lane] = v
                            bad[lane] += 0 if v == v else 1
                        q += 1
                for c in range(net.shape[0]):
                    lo = buf[net[c, 0]]
                    hi = buf[net[c, 1]]
                    for lane in range(nl):
                        a = lo[lane]
                        b = hi[lane]
                        lo[lane] = a if a < b else b
                        hi[lane] = b if a < b else a
                for lane in range(nl):
                    j = j0 + lane
                    if bad[lane] == 0:
                        out[i, j] = buf[row_out, lane]
                    elif x[i, j] != x[i, j]:
                        out[i, j] = np.nan
                    else:
                        out[i, j] = _median_scalar(x, i, j, hy, hx, sbuf)
    return out
