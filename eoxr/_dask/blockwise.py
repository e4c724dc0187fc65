"""Kernels without a halo, one task per block: some dims whole, several outputs at once.

:func:`map_blocks` runs a numpy kernel on each block (whole dims rechunked to one chunk first,
dims dropped or added by the kernel); :func:`map_slices` on whole slices (e.g. band images) for
global methods no halo makes exact; :func:`map_pixels` and :func:`map_bands` read several
arrays (or every band of one) and return several outputs from ONE task per chunk, so that each
input chunk is read once.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import dask.array as dsa
import numpy as np
import xarray as xr

from .chunking import is_dask, rechunk_whole


def map_blocks(
    func: Callable[..., np.ndarray],
    da: xr.DataArray,
    *,
    dtype: np.dtype | type | None = None,
    whole: Sequence[Hashable] = (),
    drop_dims: Sequence[Hashable] = (),
    new_dims: Mapping[Hashable, int] | None = None,
    kwargs: Mapping[str, Any] | None = None,
) -> np.ndarray | dsa.Array:
    """Apply a per-block (pixel-local) numpy kernel; return the raw numpy or dask array.

    ``whole`` dims are rechunked to a single chunk first (e.g. the band axis for a kernel that
    needs the full spectrum). ``drop_dims`` are reduced away by ``func`` and ``new_dims`` (name ->
    length) are appended by it at the end, so callers wrap the result in a new DataArray.
    """
    kwargs = dict(kwargs or {})
    dtype = np.dtype(dtype or da.dtype)
    if whole:
        da = rechunk_whole(da, whole)
    data = da.data
    if not isinstance(data, dsa.Array):
        return np.asarray(func(np.asarray(data), **kwargs)).astype(dtype, copy=False)
    drop_axes = [da.get_axis_num(d) for d in drop_dims]
    chunks = [c for i, c in enumerate(data.chunks) if i not in drop_axes]
    chunks += [(int(n),) for n in (new_dims or {}).values()]
    return dsa.map_blocks(
        func,
        data,
        dtype=dtype,
        chunks=tuple(chunks),
        drop_axis=drop_axes or None,
        new_axis=list(range(len(chunks) - len(new_dims or {}), len(chunks))) or None,
        meta=np.empty((0,) * len(chunks), dtype=dtype),
        **kwargs,
    )


def map_slices(
    func: Callable[..., np.ndarray],
    da: xr.DataArray,
    *,
    whole: Sequence[Hashable],
    split: Hashable,
    kwargs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Apply a same-shape kernel to slices that hold all of ``whole``, one ``split`` step each.

    ``func(block, start=..., **kwargs)`` receives a numpy block with every sample of the
    ``whole`` dims (e.g. the spatial dims of a band image) and one step of ``split`` (the
    whole of it for numpy input), and ``start``, the index of the block's first step along
    ``split`` (to pick per-step parameters). For a global method that no halo makes exact
    (an iterative solver over the whole image): each slice sees the same data whatever the
    input chunking, so the result is identical; each task holds one whole slice in memory.
    Returns a DataArray like ``da`` (chunks: one step of ``split``, ``whole`` dims whole).
    """
    kwargs = dict(kwargs or {})
    ax = da.get_axis_num(split)
    if not is_dask(da):
        return da.copy(data=np.asarray(func(np.asarray(da.data), start=0, **kwargs)))
    work = rechunk_whole(da, whole).chunk({split: 1})
    data = work.data

    def _one(block: np.ndarray, block_info: Mapping | None = None, **kw: Any) -> np.ndarray:
        return func(block, start=int(block_info[0]["array-location"][ax][0]), **kw)

    out = dsa.map_blocks(
        _one, data, dtype=data.dtype, meta=np.empty((0,) * data.ndim, dtype=data.dtype), **kwargs
    )
    return work.copy(data=out)


def _split_outputs(tmp: dsa.Array, n_out: int, dtype: np.dtype) -> list[dsa.Array]:
    """Leaf arrays of a blockwise layer whose tasks return tuples (as dask's apply_gufunc)."""
    import operator

    from dask.highlevelgraph import HighLevelGraph

    keys = list(dsa.core.flatten(tmp.__dask_keys__()))
    out = []
    for k in range(n_out):
        name = f"{tmp.name}-out{k}"
        dsk = {(name, *key[1:]): (operator.getitem, key, k) for key in keys}
        graph = HighLevelGraph.from_collections(name, dsk, dependencies=[tmp])
        out.append(
            dsa.Array(graph, name, chunks=tmp.chunks, meta=np.empty((0,) * tmp.ndim, dtype=dtype))
        )
    return out


def map_pixels(
    func: Callable[..., Sequence[np.ndarray]],
    arrays: Sequence[xr.DataArray],
    *,
    n_out: int,
    dtype: np.dtype | type,
    kwargs: Mapping[str, Any] | None = None,
    token: str | None = None,
) -> list[np.ndarray | dsa.Array]:
    """Apply a pixel-local kernel reading several same-grid arrays, all outputs in one task.

    ``func(*blocks, **kwargs)`` gets the matching numpy block of every array (transposed to the
    dims of the first) and returns a tuple of ``n_out`` output blocks of the same shape. On
    dask input this is ONE task per chunk for all outputs (each input chunk is read once), and
    each output is its own array (a small per-chunk allocation that glibc can reuse, rather
    than one block of all outputs). Chunks of the inputs are unified by dask; numpy input gives
    numpy outputs. ``token`` names the dask layer (default: the function's name).
    """
    kwargs = dict(kwargs or {})
    dtype = np.dtype(dtype)
    dims = arrays[0].dims
    datas = [(a if a.dims == dims else a.transpose(*dims)).data for a in arrays]
    if not any(isinstance(d, dsa.Array) for d in datas):
        return list(func(*[np.asarray(d) for d in datas], **kwargs))
    ind = tuple(range(len(dims)))
    pairs = [x for d in datas for x in (dsa.asarray(d), ind)]
    tmp = dsa.blockwise(
        func,
        ind,
        *pairs,
        dtype=dtype,
        token=token,
        meta=np.empty((0,) * len(dims), dtype=dtype),
        **kwargs,
    )
    return _split_outputs(tmp, n_out, dtype)


def map_bands(
    func: Callable[..., Sequence[np.ndarray]],
    da: xr.DataArray,
    band_dim: Hashable,
    *,
    n_out: int,
    dtype: np.dtype | type,
    kwargs: Mapping[str, Any] | None = None,
    token: str | None = None,
) -> list[np.ndarray | dsa.Array]:
    """Like :func:`map_pixels` for the bands of one DataArray, without splitting it first.

    ``func(block, band_axis=..., **kwargs)`` receives a block holding every band (``band_dim``
    must be a single chunk: check with :func:`eoxr._dask.chunking.is_whole`) and returns a tuple
    of ``n_out`` outputs shaped like the block without its band axis. One task per chunk, and no
    selection tasks in between (a 13-band cube is read in place, not sliced band by band).
    """
    kwargs = dict(kwargs or {})
    dtype = np.dtype(dtype)
    ax = da.get_axis_num(band_dim)
    data = da.data
    if not isinstance(data, dsa.Array):
        return list(func(np.asarray(data), band_axis=ax, **kwargs))
    ind = tuple(range(da.ndim))
    out_ind = tuple(i for i in ind if i != ax)
    tmp = dsa.blockwise(
        func,
        out_ind,
        data,
        ind,
        concatenate=True,
        dtype=dtype,
        token=token,
        band_axis=ax,
        meta=np.empty((0,) * len(out_ind), dtype=dtype),
        **kwargs,
    )
    return _split_outputs(tmp, n_out, dtype)
