"""Patch grids: blocks on multiples of a stride, a trailing halo, and overlap-add.

Patch-based kernels (:func:`eoxr.ml.apply_model`) tile the *global* grid with a fixed stride. To
run every patch exactly once and get results independent of the caller's chunking, the padded
grid is chunked on multiples of the stride (:func:`stride_chunks`, dask-free, kept beside the two
helpers it feeds), each block sees ``halo`` trailing samples of its successor
(:func:`map_halo_blocks`), and blocks then hand their trailing ``spill`` back to the successor
(:func:`overlap_add`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import dask.array as dsa
import numpy as np

from ..errors import ParameterError


def stride_chunks(n: int, step: int, target: int, *, minimum: int = 1) -> tuple[int, ...]:
    """Chunk sizes adding up to ``n`` whose boundaries all fall on multiples of ``step``.

    Each chunk is a multiple of ``step`` near ``target`` and at least ``minimum`` long; the last
    chunk takes the remainder (merged into its predecessor when shorter than ``minimum``).

    Examples
    --------
    >>> stride_chunks(100, 12, 40, minimum=8)
    (36, 36, 28)
    """
    size = max(step, int(round(target / step)) * step, -(-minimum // step) * step)
    chunks = [size] * (n // size)
    rest = n - sum(chunks)
    if rest:
        if chunks and rest < minimum:
            chunks[-1] += rest
        else:
            chunks.append(rest)
    return tuple(chunks) or (n,)


def _block_frame(block_info: Mapping, chunks: Sequence[tuple[int, ...]]) -> tuple[tuple, tuple]:
    """Global start and own (halo-free) shape of the block dask is computing."""
    loc = block_info[0]["chunk-location"]
    starts = [np.concatenate([[0], np.cumsum(c)[:-1]]) for c in chunks]
    origin = tuple(int(s[i]) for s, i in zip(starts, loc))
    core = tuple(int(c[i]) for c, i in zip(chunks, loc))
    return origin, core


def map_halo_blocks(
    func: Callable[..., np.ndarray],
    data: Any,
    *,
    halo: Mapping[int, int],
    out_chunks: Sequence[tuple[int, ...]],
    dtype: np.dtype | type,
    kwargs: Mapping[str, Any] | None = None,
) -> Any:
    """Run ``func`` per block with a trailing halo and known global block position.

    ``func(block, origin=..., core=..., **kwargs)`` receives the block extended by ``halo[axis]``
    samples of the *next* block along each listed axis (none after the last block), the global
    index of the block's first sample per axis (``origin``) and the block's own shape without the
    halo (``core``). It returns a block of the shape given by ``out_chunks`` (one tuple of chunk
    sizes per output axis, block for block). Values in ``kwargs`` may be dask ``Delayed`` objects:
    they become one graph key that every task references (e.g. a model sent once per worker).
    Numpy input is one block (origin 0, no halo) and returns numpy.
    """
    kwargs = dict(kwargs or {})
    if not isinstance(data, dsa.Array):
        kwargs = {k: (v.compute() if hasattr(v, "dask") else v) for k, v in kwargs.items()}
        return func(data, origin=(0,) * data.ndim, core=data.shape, **kwargs)
    in_chunks = data.chunks

    def _wrapped(block: np.ndarray, block_info: Mapping | None = None, **kw: Any) -> np.ndarray:
        origin, core = _block_frame(block_info, in_chunks)
        return func(block, origin=origin, core=core, **kw)

    depth = {ax: (0, int(halo.get(ax, 0))) for ax in range(data.ndim)}
    return _untrimmed(_wrapped, data, depth, tuple(out_chunks), dtype, **kwargs)


def overlap_add(
    data: Any,
    spill: Mapping[int, int],
    *,
    post: Callable[..., np.ndarray] | None = None,
    kwargs: Mapping[str, Any] | None = None,
    inplace: bool = False,
) -> Any:
    """Add each block's trailing ``spill[axis]`` samples onto the head of the next block.

    The inverse of a halo: blocks of ``data`` are ``core + spill`` long along each listed axis;
    the result has blocks of ``core`` (the spill of the last block is dropped). The optional
    ``post(block, origin=..., **kwargs)`` is applied to each summed block (``origin`` is its
    global start). Numpy input is one block. At most two axes may spill (corners of two axes
    are handled; a third would need the cube corners too). Every block must be at least as long
    as its spill. ``inplace=True`` lets ``post`` work on a numpy ``data`` in place and returns a
    view of it (for a temporary the caller owns: saves a copy of the whole array); dask blocks
    are always copied, as neighbouring tasks read them too.
    """
    kwargs = dict(kwargs or {})
    spill = {ax: int(s) for ax, s in spill.items() if int(s) > 0}
    if len(spill) > 2:
        raise ParameterError(f"overlap_add handles at most two spilling axes, got {sorted(spill)}")

    def _sum(
        ext: np.ndarray, origin: tuple, out_shape: tuple, lead: Mapping[int, int], copy: bool = True
    ) -> Any:
        sl = tuple(slice(lead.get(ax, 0), lead.get(ax, 0) + n) for ax, n in enumerate(out_shape))
        out = np.array(ext[sl], copy=True) if copy else ext[sl]
        for ax, h in lead.items():  # fold the previous block's spill into our head
            if not h:
                continue
            src = [slice(None)] * ext.ndim
            dst = [slice(None)] * ext.ndim
            src[ax], dst[ax] = slice(0, h), slice(0, h)
            for other, n in enumerate(out_shape):  # corners: keep the other axes aligned
                if other != ax:
                    lo = lead.get(other, 0)
                    src[other] = slice(lo, lo + n)
            out[tuple(dst)] += ext[tuple(src)]
        # Diagonal contributions (spill of the block before in two axes at once) are in the
        # halo corner; add them once per pair of axes.
        axes = [ax for ax, h in lead.items() if h]
        for i, a in enumerate(axes):
            for b in axes[i + 1 :]:
                src = [slice(lead.get(o, 0), lead.get(o, 0) + n) for o, n in enumerate(out_shape)]
                dst = [slice(None)] * ext.ndim
                src[a], src[b] = slice(0, lead[a]), slice(0, lead[b])
                dst[a], dst[b] = slice(0, lead[a]), slice(0, lead[b])
                out[tuple(dst)] += ext[tuple(src)]
        return post(out, origin=origin, **kwargs) if post is not None else out

    if not isinstance(data, dsa.Array):
        shape = tuple(n - spill.get(ax, 0) for ax, n in enumerate(data.shape))
        return _sum(data, (0,) * data.ndim, shape, {}, copy=not inplace)
    out_chunks = tuple(tuple(c - spill.get(ax, 0) for c in ch) for ax, ch in enumerate(data.chunks))
    starts = [np.concatenate([[0], np.cumsum(c)[:-1]]) for c in out_chunks]

    def _wrapped(ext: np.ndarray, block_info: Mapping | None = None) -> np.ndarray:
        loc = block_info[0]["chunk-location"]
        shape = tuple(out_chunks[ax][i] for ax, i in enumerate(loc))
        lead = {ax: (s if loc[ax] > 0 else 0) for ax, s in spill.items()}
        origin = tuple(int(st[i]) for st, i in zip(starts, loc))
        return _sum(ext, origin, shape, lead)

    depth = {ax: (spill.get(ax, 0), 0) for ax in range(data.ndim)}
    return _untrimmed(_wrapped, data, depth, out_chunks, data.dtype)


def _untrimmed(
    func: Callable[..., np.ndarray],
    data: dsa.Array,
    depth: Mapping[int, tuple[int, int]],
    chunks: tuple[tuple[int, ...], ...],
    dtype: Any,
    **kwargs: Any,
) -> dsa.Array:
    """``map_overlap`` with one-sided halos, no padding and no trim: ``func`` sizes its output."""
    return dsa.map_overlap(
        func,
        data,
        depth=depth,
        boundary="none",
        trim=False,
        allow_rechunk=False,
        chunks=chunks,
        dtype=dtype,
        meta=np.empty((0,) * data.ndim, dtype=dtype),
        **kwargs,
    )
