"""Value histogram of a 2-D array from float32 bit patterns: the point-target percentile.

One read of the array, no logarithm: a value's bin is the exponent and top mantissa bits of
its float32 pattern. Integer counts, so sums over the blocks of any chunking are the same
(:func:`eoxr.sar.looks.slice_quantile` reads the quantile from them).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import prange

_jit = {"cache": True, "nogil": True, "error_model": "numpy"}

#: value histogram (:func:`value_histogram`): bins are the top bits of the float32 pattern, 2**8
#: per octave (relative width <= 2**-8) from 2**-48 to 2**40, plus one bin below (zeros,
#: negatives, subnormals), one above (inf included) and one for NaN (not counted as data)
HIST_MANTISSA = 8
_HIST_SHIFT = 23 - HIST_MANTISSA
_HIST_LO, _HIST_HI = (127 - 48) << HIST_MANTISSA, (127 + 40) << HIST_MANTISSA
HIST_BINS = _HIST_HI - _HIST_LO + 3  # under, the octave bins, over, NaN


def hist_edges() -> np.ndarray:
    """Value edges of the bins of :func:`value_histogram` but the NaN bin (float64, linear).

    The under bin is ``[0, 2**-48)``, the over bin is given zero width at ``2**40``.
    """
    bits = (np.arange(_HIST_LO, _HIST_HI + 1, dtype=np.int64) << _HIST_SHIFT).astype(np.int32)
    inner = bits.view(np.float32).astype(np.float64)
    return np.concatenate([[0.0], inner, inner[-1:]])


@numba.njit(**_jit)
def _count_rows(x, r0, r1, c):
    """Adds the bins of rows ``r0..r1-1`` of ``x`` to the counts ``c`` (:func:`value_histogram`)."""
    nx = x.shape[1]
    nan_bin, top = HIST_BINS - 1, HIST_BINS - 2
    buf = np.empty(nx, np.float32)
    idx = np.empty(nx, np.int64)
    bits = buf.view(np.int32)
    for r in range(r0, r1):
        row = x[r]
        for j in range(nx):
            buf[j] = np.float32(row[j])
        for j in range(nx):
            b = (bits[j] >> _HIST_SHIFT) - (_HIST_LO - 1)
            k = min(max(b, 0), top)
            idx[j] = nan_bin if buf[j] != buf[j] else k
        for j in range(nx):
            c[idx[j]] += 1


@numba.njit(parallel=True, **_jit)
def value_histogram(x, parts):
    """Counts of the values of the 2-D array ``x`` in the bins of :data:`HIST_BINS` (one read).

    The bin of a value is read from its float32 bit pattern (exponent and top
    :data:`HIST_MANTISSA` mantissa bits): no logarithm, one shift per value, so the pass runs
    at about the speed of reading the array. ``parts`` row ranges (one per thread) count into
    their own histograms. Integer counts: the sum over blocks of any chunking is the same.
    """
    ny = x.shape[0]
    parts = max(min(parts, ny), 1)
    counts = np.zeros((parts, HIST_BINS), np.int64)
    for t in prange(parts):
        _count_rows(x, t * ny // parts, (t + 1) * ny // parts, counts[t])
    out = np.zeros(HIST_BINS, np.int64)
    for t in range(parts):
        out += counts[t]
    return out


@numba.njit(**_jit)
def value_histogram_serial(x):
    """:func:`value_histogram` on the calling thread alone, for blocks that dask runs in parallel.

    No parallel region: several dask threads can count their blocks at once, with no lock and
    no numba thread pool started from each of them.
    """
    out = np.zeros(HIST_BINS, np.int64)
    _count_rows(x, 0, x.shape[0], out)
    return out
