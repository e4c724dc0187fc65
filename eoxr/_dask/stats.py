"""Global statistics in one pass: the one place that turns lazy partial results into numbers.

:func:`compute` evaluates several lazy results in one graph evaluation (with a progress bar where
one is seen); :func:`block_sum` sums fixed-shape partial results (Gram matrices, histograms) over
the blocks of a cube; :func:`histogram` (numpy bins) or :func:`block_counts` (a kernel's own
bins) and :func:`hist_quantile` give chunk-independent quantiles.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask
import dask.array as dsa
import numpy as np

from . import progress as _progress


def compute(*objs: Any, progress: bool | None = None) -> tuple[Any, ...]:
    """Evaluate dask arrays (or xarray objects) in ONE pass; anything else passes through.

    Used only for documented global statistics (fits, thresholds, estimates): all inputs share
    one graph evaluation, so common inputs are read once. Returns the computed objects in the
    order given, with a progress bar where :func:`eoxr._dask.progress.want_progress` allows
    (the distributed bar when a client is active, else dask's local one).
    """
    if not any(dask.is_dask_collection(o) for o in objs):
        return objs
    client = _progress.active_client()
    if (
        client is not None
        and _progress.want_progress(progress)
        and _progress.widgets_or_no_kernel()
    ):
        from distributed import progress as client_progress

        futures = client.compute(list(objs))
        client_progress(futures)
        return tuple(client.gather(futures))
    with _progress.progress_bar(progress):
        return dask.compute(*objs)


def block_sum(
    func: Callable[..., np.ndarray],
    data: Any,
    shape: tuple[int, ...],
    dtype: str,
    keep: Any = None,
) -> Any:
    """Sum of ``func(block, keep_block)`` over the spatial blocks of a band-whole cube.

    ``data`` is ``(band, y, x)`` with the band axis in one chunk; ``keep`` an optional ``(y, x)``
    mask passed block by block; ``func`` returns a partial result of fixed ``shape`` (e.g. a Gram
    matrix or a histogram), so global statistics take one pass over the cube.

    Lazy (a dask tree reduction of fixed-shape partial results) for dask input, eager for
    numpy. Every block is read once; nothing but the partial results is kept.
    """
    if not isinstance(data, dsa.Array):
        return func(np.asarray(data), None if keep is None else np.asarray(keep))
    blocks = data.to_delayed()[0]
    kblocks = keep.rechunk(data.chunks[1:]).to_delayed() if keep is not None else None
    parts = []
    for i in range(blocks.shape[0]):
        for j in range(blocks.shape[1]):
            kb = None if kblocks is None else kblocks[i, j]
            part = dask.delayed(func, pure=True)(blocks[i, j], kb)
            parts.append(dsa.from_delayed(part, shape, dtype=dtype))
    return dsa.stack(parts).sum(axis=0)


def histogram(data: Any, edges: np.ndarray) -> Any:
    """Counts of ``data`` in the bins ``edges``; NaN ignored; lazy for dask, eager for numpy.

    With fixed bin edges the counts (and so any quantile read from them) do not depend on the
    chunking, unlike a per-chunk quantile.
    """
    data = getattr(data, "data", data)
    if isinstance(data, dsa.Array):
        return dsa.histogram(data, bins=edges)[0]
    a = np.asarray(data)
    return np.histogram(a[np.isfinite(a)], bins=edges)[0]


def block_counts(
    counter: Callable[[np.ndarray], np.ndarray],
    data: Any,
    nbins: int,
    block_counter: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Any:
    """Sum over the blocks of ``data`` of ``counter(block)``, integer counts of length ``nbins``.

    A histogram with a kernel of its own (e.g. a numba pass that bins values by their bit
    pattern): one read of each block, the partial counts summed in a tree reduction. Integer
    counts, so the sum (and any quantile read from it) is the same on every chunking. Lazy for
    dask input, eager (one call of ``counter``) for numpy. ``block_counter``, if given, counts
    each dask block instead (e.g. a single-threaded kernel, since dask runs blocks in parallel).
    """
    data = getattr(data, "data", data)
    if not isinstance(data, dsa.Array):
        return counter(np.asarray(data))
    nd = data.ndim
    count = block_counter or counter

    def part(block: np.ndarray) -> np.ndarray:
        return count(block).reshape((1,) * nd + (nbins,))

    parts = data.map_blocks(
        part,
        new_axis=nd,
        chunks=tuple((1,) * len(c) for c in data.chunks) + ((nbins,),),
        dtype=np.int64,
        meta=np.empty((0,) * (nd + 1), np.int64),
    )
    return parts.sum(axis=tuple(range(nd)))


def hist_quantile(counts: Any, edges: np.ndarray, q: float, *, log10: bool = True) -> float:
    """The ``q``-quantile read from histogram ``counts`` over ``edges``, linear inside the bin.

    ``log10=True``: the edges are log10 values and the result is returned in linear units. NaN
    when the histogram is empty.
    """
    counts = np.asarray(counts, dtype=np.float64)
    cum = np.cumsum(counts)
    if cum.size == 0 or cum[-1] == 0:
        return float("nan")
    target = q * cum[-1]
    k = min(int(np.searchsorted(cum, target)), counts.size - 1)
    before = cum[k - 1] if k else 0.0
    frac = (target - before) / counts[k] if counts[k] else 0.5
    val = edges[k] + frac * (edges[k + 1] - edges[k])
    return float(10.0**val) if log10 else float(val)
