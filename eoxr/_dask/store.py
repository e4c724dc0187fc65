"""Writing dask arrays block by block, in bounded memory: statistics first, then stripes.

:func:`store_blocks` hands each computed block to a writer in the task that computed it. The
global statistics in the graph are computed first (:func:`precompute_statistics`), then the
blocks region by region, row by row (:func:`_row_priorities` for ``distributed``), in stripes of
:func:`stripe_columns` chunk columns, so that the memory held does not grow with the cube.
:func:`client_stripes` is for writers that must run in the caller's process (a local file the
workers cannot see): the cluster computes row stripes, the caller receives and writes them.
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections import deque
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any

import dask
import dask.array as dsa
import numpy as np

from .progress import active_client, progress_context
from .stats import compute


def block_regions(data: Any) -> list[tuple[tuple[int, ...], tuple[slice, ...]]]:
    """Index and global slices of every block of a dask array (one block for numpy data)."""
    chunks = data.chunks if isinstance(data, dsa.Array) else tuple((n,) for n in data.shape)
    return _chunk_slices(chunks)


# An array layer at most this large is statistic-sized (a threshold, a histogram, a per-band
# mean); see precompute_statistics.
_STATISTIC_BYTES = 1 << 20


def _layer_bytes(layer: Any) -> int | None:
    """Size of the array a graph layer makes, or None when the layer is not a known array."""
    ann = layer.collection_annotations or {}
    shape, dtype = ann.get("shape"), ann.get("dtype")
    if shape is None or dtype is None or any(not np.isfinite(n) for n in shape):
        return None
    try:
        return int(np.prod(shape, dtype=np.float64) * np.dtype(dtype).itemsize)
    except TypeError:
        return None


def precompute_statistics(
    arrays: Mapping[Hashable, Any], *, progress: bool | None = None
) -> dict[Hashable, Any]:
    """The same ``arrays`` with the global statistics in their graph computed first, in one pass.

    A global statistic (a percentile threshold, an estimated number of looks, a scene mean) is
    a small array computed from the whole cube and read by every output block. Left in the
    graph, nothing can be written until it is known, so dask holds every input block it has
    read meanwhile: memory grows with the cube (the whole cube, for a filter whose threshold is
    a percentile of its input). Computed first, in one pass over the data, and put into the
    graph as numbers, the blocks stream through in bounded memory, for the price of reading the
    input twice. Found from the graph alone: an array layer of at most 1 MiB that is read by a
    larger array and whose keys read more than 9 blocks of larger arrays (more than any halo or
    edge strip can). Arrays without such a statistic, and non-dask values, are returned as they
    are.
    """
    from dask.highlevelgraph import HighLevelGraph, MaterializedLayer

    lazy = {k: a for k, a in arrays.items() if isinstance(a, dsa.Array)}
    if not lazy:
        return dict(arrays)
    graph = HighLevelGraph.merge(*(a.__dask_graph__() for a in lazy.values()))
    size = {name: _layer_bytes(layer) for name, layer in graph.layers.items()}
    dependents: dict[Hashable, set] = {name: set() for name in graph.layers}
    for name, deps in graph.dependencies.items():
        for d in deps:
            dependents.setdefault(d, set()).add(name)

    def big(name: Hashable) -> bool:
        return (size.get(name) or 0) > _STATISTIC_BYTES

    candidates = [
        name
        for name, nbytes in size.items()
        if nbytes is not None and not big(name) and any(big(d) for d in dependents[name])
    ]
    stats = []
    if candidates:
        # Key by key: a statistic reads more blocks of large arrays than a halo strip or the
        # edge of a neighbourhood can (at most 3x3). Layers do not tell: a lazy statistic's
        # reduction may sit in a layer that records no dependencies (a dask.delayed call).
        key_deps = graph.get_all_dependencies()
        stats = [n for n in candidates if _large_inputs(n, key_deps, big) > 9]
    if not stats:
        return dict(arrays)
    meta = [graph.layers[n].collection_annotations for n in stats]
    values = compute(
        *(dsa.Array(graph, n, chunks=m["chunks"], dtype=m["dtype"]) for n, m in zip(stats, meta)),
        progress=progress,
    )
    layers, deps = dict(graph.layers), {k: set(v) for k, v in graph.dependencies.items()}
    for name, m, value in zip(stats, meta, values):
        value = np.asarray(value)
        layers[name] = MaterializedLayer(
            {(name, *idx): value[where] for idx, where in _chunk_slices(m["chunks"])}
        )
        deps[name] = set()
    # Not culled here: the statistics' inputs, now unused, are dropped when the graph is
    # optimised for computing (HighLevelGraph.cull renames layers and breaks this graph).
    new = HighLevelGraph(layers, deps)
    out = dict(arrays)
    for k, a in lazy.items():
        out[k] = dsa.Array(new, a.name, a.chunks, meta=a._meta)
    return out


def _large_inputs(layer: str, key_deps: Mapping, big: Callable[[Hashable], bool]) -> int:
    """How many blocks of large arrays the keys of ``layer`` read (the nearest on each path)."""
    stack = [k for k in key_deps if (k[0] if isinstance(k, tuple) else k) == layer]
    seen, found = set(stack), set()
    while stack:
        for d in key_deps.get(stack.pop(), ()):
            if d not in seen:
                seen.add(d)
                if big(d[0] if isinstance(d, tuple) else d):
                    found.add(d)
                else:
                    stack.append(d)
    return len(found)


def _chunk_slices(chunks: Sequence[Sequence[int]]) -> list[tuple[tuple[int, ...], tuple]]:
    """Index and slices of every block of an array of ``chunks``."""
    starts = [np.cumsum((0, *c)) for c in chunks]
    return [
        (idx, tuple(slice(int(s[i]), int(s[i + 1])) for s, i in zip(starts, idx)))
        for idx in np.ndindex(*(len(c) for c in chunks))
    ]


def store_blocks(
    arrays: Mapping[Hashable, Any],
    write: Callable[[Hashable, tuple[int, ...], tuple[slice, ...], np.ndarray], Any],
    *,
    skip: Callable[[Hashable, tuple[int, ...]], bool] = lambda name, idx: False,
    progress: bool | None = None,
    stripe_axes: Mapping[Hashable, int | None] | None = None,
) -> int:
    """Compute the blocks of dask ``arrays`` and hand each to ``write``, in bounded memory.

    ``write(name, index, region, block)`` runs in the task that computed the block (on a worker
    when a ``distributed`` client is active), so no block travels back to the caller; blocks
    for which ``skip(name, index)`` is true are left out of the graph (nor are they computed).
    Global statistics in the graph are computed first (:func:`precompute_statistics`); then the
    blocks are computed region by region, row by row (:func:`_row_priorities`), in stripes of
    :func:`stripe_columns` chunk columns along each array's ``stripe_axes`` axis (default: its
    last; ``None``: not striped, written with the first stripe). Returns the number of blocks
    written.
    """
    # Optimised once as ONE graph (as dask.array.store does), then split per block: inputs common
    # to several arrays (a cube read by two indices, one model) are computed once. Not with
    # ``dask.optimize``, which optimises each array on its own: blockwise fusion then copies a
    # shared input block into one array's fused tasks and it is computed twice (measured: every
    # generated cube block twice in the scale benchmark's pipeline).
    from dask.core import flatten
    from dask.delayed import Delayed
    from dask.highlevelgraph import HighLevelGraph

    arrays = precompute_statistics(arrays, progress=progress)
    sources = list(arrays.values())
    graph = dict(
        dsa.Array.__dask_optimize__(
            HighLevelGraph.merge(*(a.__dask_graph__() for a in sources)),
            list(flatten([a.__dask_keys__() for a in sources])),
        )
    )
    blocks = [
        (tuple((s.start, s.stop) for s in region), name, idx, region, (arr.name, *idx))
        for name, arr in arrays.items()
        for idx, region in block_regions(arr)
        if not skip(name, idx)
    ]
    # Region by region, row by row over the last two dims (y, x): the order the priorities
    # below impose. Left to dask's own order, one array may run over the whole cube first while
    # the others' input blocks wait in memory (measured: a third of the peak managed memory of
    # an 8192^2 pipeline).
    regions = sorted({b[0] for b in blocks}, key=lambda w: (w[-2:], w))
    rank = {where: i for i, where in enumerate(regions)}
    token = uuid.uuid4().hex
    writes = []
    for i, (where, name, idx, region, key) in enumerate(blocks):
        # Name, index and region ride in a partial: inside a task tuple dask would read them as
        # graph keys.
        graph[f"eoxr-write-{token}-{i}"] = (functools.partial(write, name, idx, region), key)
        writes.append((f"eoxr-write-{token}-{i}", rank[where]))
    if not writes:
        return 0
    # Only distributed reads priorities: the ranks are not worked out for the local schedulers.
    ranked = (
        dask.annotate(priority=_row_priorities(graph, writes))
        if active_client() is not None
        else contextlib.nullcontext()
    )
    # Stripe by stripe along the x axis, a few columns of chunks at a time, each stripe its own
    # computation. Run row by row, a neighbourhood pipeline holds about a row of input blocks
    # (see _row_priorities), which grows with the width of the cube; in stripes it holds a row
    # of the stripe, whatever the cube's size, for the price of computing again the input blocks
    # a halo reads across a stripe's border. Global statistics were computed first, so a
    # stripe's graph reaches no further than its halos.
    axes = {name: (stripe_axes or {}).get(name, arr.ndim - 1) for name, arr in arrays.items()}
    columns = {
        name: stripe_columns(arrays[name].chunks[ax]) for name, ax in axes.items() if ax is not None
    }
    stripes: dict[int, list] = {}
    for (key, _), (_, name, idx, _, _) in zip(writes, blocks):
        n = 0 if axes[name] is None else idx[axes[name]] // columns[name]
        stripes.setdefault(n, []).append(key)
    with progress_context(progress), ranked:
        for n, keys in sorted(stripes.items()):
            done = f"eoxr-write-{token}-stripe{n}"
            graph[done] = (_none, keys)
            dask.compute(Delayed(done, graph))
    return len(writes)


# Stripes of store_blocks are at least this many samples wide: the halo columns computed again
# at their borders are then a small part of the work (1024 px chunks: 4 columns, 1.25x the
# input at most for a one-chunk halo), and the row of blocks held stays about 4096 px wide.
_STRIPE_SAMPLES = 4096


def stripe_columns(chunks: Sequence[int]) -> int:
    """Chunk columns per stripe of :func:`store_blocks` along an axis of ``chunks``.

    At least 4096 samples wide, and at least as many columns as there are threads to keep busy
    (the active ``distributed`` client's workers, else this machine's cores).
    """
    import os

    client = active_client()
    threads = sum(client.nthreads().values()) if client is not None else os.cpu_count() or 1
    return max(threads, -(-_STRIPE_SAMPLES // max(chunks)))


def _row_priorities(
    graph: Mapping, writes: Sequence[tuple[Hashable, int]]
) -> Callable[[Hashable], int]:
    """Priority of each task for ``distributed``: minus the rank of the first write needing it.

    ``writes``: write keys and the rank of their region (row by row). dask's own order
    (``dask.order``) walks a 2-D grid of neighbourhood tasks region by region and holds every
    block on the regions' borders until the neighbouring region is reached: measured, the
    workers held 50 of the 64 input blocks of an 8192^2 cube at the peak. Ranked by the first
    write that needs them, tasks run row by row and the blocks held are about one row of chunks
    (a neighbourhood needs the next row before it can finish a row; no order of a grid holds
    less without computing blocks twice). The local schedulers ignore priorities.

    Returned as the bound ``__getitem__`` of a ``defaultdict``: the scheduler calls it on every
    key, and unpickles it without importing eoxr (its environment may not have it).
    """
    from collections import defaultdict

    from dask.core import get_dependencies

    rank: defaultdict[Hashable, int] = defaultdict(int)
    for key, r in sorted(writes, key=lambda w: w[1]):
        stack = [key]
        while stack:
            k = stack.pop()
            if k in rank:
                continue
            rank[k] = -r  # distributed runs higher priorities first
            stack.extend(d for d in get_dependencies(graph, k) if d not in rank)
    return rank.__getitem__


def on_cluster(data: Any) -> bool:
    """Whether ``data`` is a dask array that an active ``distributed`` client would compute."""
    return isinstance(data, dsa.Array) and active_client() is not None


# Rows per stripe of client_stripes: whole chunk rows, grouped up to about this many bytes.
_CLIENT_STRIPE_BYTES = 1 << 25


def client_stripes(
    da: Any, dim: Hashable, *, in_flight: int = 2, progress: bool | None = None
) -> Iterator[tuple[slice, Any]]:
    """Computed stripes ``(rows, part)`` of the dask-backed DataArray ``da`` along ``dim``.

    For a writer that must run in this process (a local file that the workers of a cluster do not
    share): each stripe, whole chunk rows grouped up to about 32 MiB, is computed on the active
    ``distributed`` client (at most ``in_flight`` at once, so memory stays bounded) and returned
    here as a numpy-backed DataArray, ``da.isel({dim: rows})``; no task touches the writer. The
    global statistics in the graph are computed once first (:func:`precompute_statistics`),
    not once per stripe.
    """
    client = active_client()
    data = precompute_statistics({0: da.data}, progress=progress)[0]
    da = da.copy(data=data)
    axis = da.get_axis_num(dim)
    row_bytes = da.dtype.itemsize * int(np.prod(da.shape)) // max(da.shape[axis], 1)
    bounds, start, stop = [], 0, 0
    for n in da.chunks[axis]:
        if stop > start and (stop + n - start) * row_bytes > _CLIENT_STRIPE_BYTES:
            bounds.append(slice(start, stop))
            start = stop
        stop += n
    if stop > start:
        bounds.append(slice(start, stop))
    pending: deque = deque()
    try:
        for rows in bounds:
            pending.append((rows, client.compute(da.isel({dim: rows}))))
            if len(pending) >= in_flight:
                done, future = pending.popleft()
                yield done, future.result()
        while pending:
            done, future = pending.popleft()
            yield done, future.result()
    finally:
        for _, future in pending:
            future.cancel()


def _none(*_: Any) -> None:
    """The last task of :func:`store_blocks` (one key to compute, depending on every write)."""
