"""Numba kernel of the range-aware improved Lee sigma filter (2009).

Same block convention as :mod:`eoxr.sar._kernels` (NaN-padded 2-D block, interior of ``out``
written, float64 window statistics recomputed for every pixel so results do not depend on
where a chunk starts).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

from ._kernels import stripes
from ._kernels_refined import mmse as _mmse

_jit = {"cache": True, "nogil": True, "error_model": "numpy"}


@numba.njit(parallel=True, **_jit)
def lee_sigma_filter(x, hy, hx, cu2, eta1, eta2, sv2, out, n_stripes=8):
    """Improved Lee sigma filter (Lee, Wen, Ainsworth et al. 2009, IEEE TGRS 47(1)).

    1. a priori mean: 3x3 Lee MMSE estimate ``xh`` (speckle variance ``cu2``);
    2. sigma range ``[eta1 xh, eta2 xh]`` (unbiased range of the gamma speckle pdf);
    3. MMSE over the window pixels inside the range, with the range's speckle variance ``sv2``.

    Point targets (the paper's first step) are handled by the caller for every adaptive filter
    (:func:`eoxr.sar._kernels.drop_points`). The loops run along rows over whole pixel
    vectors (ranges, counts, sums) so they vectorise.
    """
    ny, nx = x.shape
    lanes = 64  # pixels per tile: the per-pixel accumulators stay in L1 cache
    bounds = stripes(ny, hy, n_stripes)
    for t in prange(bounds.size - 1):
        n, s, s2 = np.empty(lanes), np.empty(lanes), np.empty(lanes)
        lo, hi = np.empty(lanes), np.empty(lanes)
        for i in range(bounds[t], bounds[t + 1]):
            for j0 in range(hx, nx - hx, lanes):
                nl = min(lanes, nx - hx - j0)
                n[:] = 0.0
                s[:] = 0.0
                s2[:] = 0.0
                zrow, orow = x[i, j0 : j0 + nl], out[i, j0 : j0 + nl]
                for di in range(-1, 2):
                    row = x[i + di]
                    for dj in range(-1, 2):
                        src = row[j0 + dj : j0 + dj + nl]  # indices from 0, see refined Lee
                        for q in range(nl):
                            v = np.float64(src[q])
                            ok = v == v
                            v = v if ok else 0.0
                            n[q] += 1.0 if ok else 0.0
                            s[q] += v
                            s2[q] += v * v
                for q in range(nl):
                    xh = _mmse(np.float64(zrow[q]), n[q], s[q], s2[q], cu2)
                    lo[q] = eta1 * xh
                    hi[q] = eta2 * xh
                n[:] = 0.0
                s[:] = 0.0
                s2[:] = 0.0
                for di in range(-hy, hy + 1):
                    row = x[i + di]
                    for dj in range(-hx, hx + 1):
                        src = row[j0 + dj : j0 + dj + nl]
                        for q in range(nl):
                            v = np.float64(src[q])
                            ok = (v >= lo[q]) & (v <= hi[q])  # False for NaN
                            v = v if ok else 0.0
                            n[q] += 1.0 if ok else 0.0
                            s[q] += v
                            s2[q] += v * v
                for q in range(nl):
                    z = np.float64(zrow[q])
                    xh = lo[q] / eta1
                    res = _mmse(z, n[q], s[q], s2[q], sv2) if n[q] > 0.0 else xh
                    orow[q] = z if z != z else res
    return out
