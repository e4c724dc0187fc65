"""Chunk logic: the only module of eoxr that knows about dask chunks, halos and ``map_overlap``.

Topic modules hand a numpy kernel to one of these helpers and get back a DataArray that is lazy
when the input is dask-backed and eager when it is numpy-backed, with results that do not depend
on the chunking: neighbourhood kernels see exactly the same padded data on a single numpy block
and on any dask chunk (dask's ``map_overlap`` with the kernel's halo, and the same boundary padding
done by :func:`numpy.pad` on numpy input).
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Literal

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from ._dims import spatial_dims
from .errors import ParameterError

Boundary = Literal["reflect", "nearest", "periodic", "nan", "none"] | float

# dask's "reflect" repeats the edge sample, which is numpy's "symmetric".
_NP_PAD_MODE = {"reflect": "symmetric", "nearest": "edge", "periodic": "wrap"}


def is_dask(obj: xr.DataArray | xr.Dataset | Any) -> bool:
    """True if ``obj`` (or any of its variables) is backed by a dask array."""
    if isinstance(obj, xr.Dataset):
        return any(is_dask(v) for v in obj.data_vars.values())
    data = getattr(obj, "data", obj)
    return isinstance(data, dsa.Array)


def halo_for_window(size: int | Sequence[int]) -> tuple[int, ...]:
    """Halo (overlap depth) needed by a centred window of odd ``size``: ``size // 2``."""
    sizes = (size,) if np.isscalar(size) else tuple(size)
    return tuple(int(s) // 2 for s in sizes)


def _dask_boundary(boundary: Boundary, dtype: np.dtype) -> Any:
    if boundary == "nan":
        return np.nan if np.issubdtype(dtype, np.floating) else 0
    return boundary


def pad_numpy(a: np.ndarray, depth: Mapping[int, int], boundary: Boundary) -> np.ndarray:
    """Pad ``a`` on the given axes exactly as dask's ``map_overlap`` pads image edges."""
    if boundary == "none":
        return a
    widths = [(depth.get(ax, 0), depth.get(ax, 0)) for ax in range(a.ndim)]
    if boundary == "nan":
        return np.pad(a, widths, mode="constant", constant_values=np.nan)
    if isinstance(boundary, int | float) and not isinstance(boundary, bool):
        return np.pad(a, widths, mode="constant", constant_values=boundary)
    return np.pad(a, widths, mode=_NP_PAD_MODE[boundary])


def _crop(a: np.ndarray, depth: Mapping[int, int], boundary: Boundary) -> np.ndarray:
    if boundary == "none":
        return a
    sl = [slice(None)] * a.ndim
    for ax, d in depth.items():
        if d:
            sl[ax] = slice(d, a.shape[ax] - d)
    return a[tuple(sl)]


def map_overlap(
    func: Callable[..., np.ndarray],
    da: xr.DataArray,
    depth: Mapping[Hashable, int],
    *,
    boundary: Boundary = "nan",
    dtype: np.dtype | type | None = None,
    kwargs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Apply a same-shape neighbourhood kernel with a halo, chunk-exactly.

    ``func(block, **kwargs)`` receives a numpy block padded by ``depth`` along the named dims
    (real neighbours inside the cube, ``boundary`` padding at its edges) and returns an array of
    the same shape; the halo is cropped afterwards. With ``boundary="none"`` the kernel sees no
    padding at image edges and must handle them itself.

    Parameters
    ----------
    func : callable
        Numpy kernel ``(ndarray, **kwargs) -> ndarray`` of the same shape.
    da : DataArray
        Input, numpy- or dask-backed; extra dims (time, band...) are passed through whole or
        chunked as they are.
    depth : mapping
        Halo per dim name, e.g. ``{"y": 3, "x": 3}`` for a 7x7 window.
    boundary : {"nan", "reflect", "nearest", "periodic", "none"} or float
        Padding at the cube's edges. ``"reflect"`` repeats the edge sample (numpy "symmetric").
    dtype : dtype, optional
        Output dtype (default: the input's).

    Returns
    -------
    DataArray
        Same dims, coords and shape as ``da``, lazy when ``da`` is dask-backed. Attributes are not
        copied: use :func:`eoxr._attrs.finalize`.
    """
    kwargs = dict(kwargs or {})
    dtype = np.dtype(dtype or da.dtype)
    axes = {da.get_axis_num(d): int(v) for d, v in depth.items() if int(v) > 0}
    data = da.data
    if isinstance(data, dsa.Array):
        # dask enlarges chunks smaller than the halo itself (ensure_minimum_chunksize).
        out = dsa.map_overlap(
            func,
            data,
            depth={ax: axes.get(ax, 0) for ax in range(data.ndim)},
            boundary={ax: _dask_boundary(boundary, data.dtype) for ax in range(data.ndim)},
            trim=True,
            dtype=dtype,
            meta=np.empty((0,) * data.ndim, dtype=dtype),
            **kwargs,
        )
    else:
        padded = pad_numpy(np.asarray(data), axes, boundary)
        out = _crop(np.asarray(func(padded, **kwargs)), axes, boundary).astype(dtype, copy=False)
    return da.copy(data=out)


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
    must be a single chunk: check with :func:`is_whole`) and returns a tuple of ``n_out``
    outputs shaped like the block without its band axis. One task per chunk, and no selection
    tasks in between (a 13-band cube is read in place, not sliced band by band).
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


def is_whole(da: xr.DataArray, dim: Hashable) -> bool:
    """True if ``dim`` is one chunk (always for numpy data)."""
    return not is_dask(da) or len(da.chunksizes[dim]) == 1


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


def rechunk_whole(da: xr.DataArray, dims: Sequence[Hashable]) -> xr.DataArray:
    """Make each of ``dims`` a single chunk (no-op on numpy data or when already whole)."""
    if not is_dask(da):
        return da
    need = {d: -1 for d in dims if d in da.dims and len(da.chunksizes[d]) > 1}
    return da.chunk(need) if need else da


def spatial_chunks(da: xr.DataArray) -> dict[str, tuple[int, ...]]:
    """Chunk sizes along the two spatial dims (one chunk each for numpy data)."""
    ydim, xdim = spatial_dims(da)
    if not is_dask(da):
        return {ydim: (da.sizes[ydim],), xdim: (da.sizes[xdim],)}
    return {ydim: da.chunksizes[ydim], xdim: da.chunksizes[xdim]}


def default_chunks(da: xr.DataArray | xr.Dataset, spatial: int = 1024) -> dict[Hashable, int]:
    """Chunking used when eoxr creates a dask cube: ``spatial`` px tiles, one step of other dims."""
    ydim, xdim = spatial_dims(da)
    out: dict[Hashable, int] = {d: 1 for d in da.dims if d not in (ydim, xdim)}
    for d in ("band", "wavelength"):
        if d in da.dims:
            out[d] = -1
    out[ydim] = spatial
    out[xdim] = spatial
    return out


def ensure_dask(
    da: xr.DataArray, chunks: Mapping[Hashable, int] | str | None = None
) -> xr.DataArray:
    """Return ``da`` dask-backed (chunked with ``chunks`` or :func:`default_chunks`)."""
    if is_dask(da) and chunks is None:
        return da
    return da.chunk(default_chunks(da) if chunks is None else chunks)


def check_window(size: int, *, name: str = "size", minimum: int = 3) -> int:
    """Validate an odd window size >= ``minimum``."""
    if not isinstance(size, int | np.integer) or size < minimum or size % 2 == 0:
        raise ParameterError(
            f"{name}={size!r} is not a valid window: expected an odd integer >= {minimum} "
            f"(e.g. {name}=7)."
        )
    return int(size)


# ------------------------------------------------------------------ patch-grid block helpers
# Patch-based kernels (eoxr.ml.apply_model) tile the *global* grid with a fixed stride. To run
# every patch exactly once and get results independent of the caller's chunking, the padded grid
# is chunked on multiples of the stride, each block sees `halo` trailing samples of its successor,
# and blocks then hand their trailing `spill` back to the successor (overlap-add).


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


def pad_edges(data: Any, widths: Mapping[int, tuple[int, int]], boundary: Boundary) -> Any:
    """Pad a numpy or dask array by ``(before, after)`` per axis, as :func:`pad_numpy` would."""
    full = [tuple(widths.get(ax, (0, 0))) for ax in range(data.ndim)]
    if not any(b or a for b, a in full):
        return data
    mod = dsa if isinstance(data, dsa.Array) else np
    if boundary == "nan":
        return mod.pad(data, full, mode="constant", constant_values=np.nan)
    if isinstance(boundary, int | float) and not isinstance(boundary, bool):
        return mod.pad(data, full, mode="constant", constant_values=boundary)
    return mod.pad(data, full, mode=_NP_PAD_MODE[boundary])


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
    return dsa.map_overlap(
        _wrapped,
        data,
        depth=depth,
        boundary="none",
        trim=False,
        allow_rechunk=False,
        chunks=tuple(out_chunks),
        dtype=dtype,
        meta=np.empty((0,) * data.ndim, dtype=dtype),
        **kwargs,
    )


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
    return dsa.map_overlap(
        _wrapped,
        data,
        depth=depth,
        boundary="none",
        trim=False,
        allow_rechunk=False,
        chunks=out_chunks,
        dtype=data.dtype,
        meta=np.empty((0,) * data.ndim, dtype=data.dtype),
    )


__all__ = [
    "block_sum",
    "is_dask",
    "halo_for_window",
    "pad_numpy",
    "map_overlap",
    "map_blocks",
    "map_pixels",
    "map_bands",
    "is_whole",
    "rechunk_whole",
    "spatial_chunks",
    "default_chunks",
    "ensure_dask",
    "check_window",
    "stride_chunks",
    "pad_edges",
    "map_halo_blocks",
    "overlap_add",
]


# --- Global statistics: the one place that turns lazy partial results into numbers -------------


def _interactive() -> bool:
    """True in a Jupyter kernel or when stdout is a terminal (where a progress bar is seen)."""
    import sys

    if _in_kernel():
        return True
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _in_kernel() -> bool:
    """True when this process runs a Jupyter kernel (not merely one that imported ipykernel)."""
    import sys

    if "IPython" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _widgets_or_no_kernel() -> bool:
    """False in a notebook kernel without ipywidgets, where distributed's progress bar fails."""
    import importlib.util

    return not _in_kernel() or importlib.util.find_spec("ipywidgets") is not None


def want_progress(progress: bool | None = None) -> bool:
    """Resolve eoxr's ``progress=`` option.

    ``None`` (the default everywhere in eoxr) shows progress only when the session is interactive
    (a terminal or a notebook) and the environment variable ``EOXR_PROGRESS`` is not ``0``;
    ``True`` forces it and ``False`` silences it.
    """
    import os

    if progress is None:
        return _interactive() and os.environ.get("EOXR_PROGRESS", "1") != "0"
    return bool(progress)


def active_client() -> Any:
    """The active ``distributed.Client``, or ``None`` (also when distributed is not installed)."""
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None


def progress_bar(progress: bool | None = None) -> Any:
    """Context manager showing dask's local progress bar for computations run inside it.

    Silent unless :func:`want_progress` says otherwise. Computations that go through a
    ``distributed`` client report through :func:`compute` instead.
    """
    if not want_progress(progress) or active_client() is not None:
        return contextlib.nullcontext()
    return _bar(minimum=1.0)


def compute(*objs: Any, progress: bool | None = None) -> tuple[Any, ...]:
    """Evaluate dask arrays (or xarray objects) in ONE pass; anything else passes through.

    Used only for documented global statistics (fits, thresholds, estimates): all inputs share
    one graph evaluation, so common inputs are read once. Returns the computed objects in the
    order given, with a progress bar where :func:`want_progress` allows (the distributed bar when
    a client is active, else dask's local one).
    """
    if not any(dask.is_dask_collection(o) for o in objs):
        return objs
    client = active_client()
    if client is not None and want_progress(progress) and _widgets_or_no_kernel():
        from distributed import progress as client_progress

        futures = client.compute(list(objs))
        client_progress(futures)
        return tuple(client.gather(futures))
    with progress_bar(progress):
        return dask.compute(*objs)


def shared(obj: Any, *, lazy: bool = True) -> Any:
    """Wrap ``obj`` (a model, an estimator) so that a dask graph ships it to workers once.

    Every task that takes the returned object refers to a single graph key instead of embedding
    a pickled copy per task. ``lazy=False`` (numpy input) returns ``obj`` itself.
    """
    return dask.delayed(obj, pure=True) if lazy else obj


def delayed(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``dask.delayed(func, pure=True)(*args, **kwargs)``: a shared lazy result (one graph key)."""
    return dask.delayed(func, pure=True)(*args, **kwargs)


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


def _take_windows(block: np.ndarray, rows: np.ndarray, cols: np.ndarray, size: tuple) -> Any:
    oy, ox = np.divmod(np.arange(size[0] * size[1]), size[1])
    return np.asarray(block)[rows[:, None] + oy, cols[:, None] + ox].astype(np.float64)


def sample_windows(
    data: Any,
    rows: np.ndarray,
    cols: np.ndarray,
    size: tuple[int, int],
    before: tuple[int, int],
    boundary: Boundary = "reflect",
) -> np.ndarray:
    """``(n, size[0] * size[1])`` float64 windows of a 2-D array at pixels ``(rows, cols)``.

    The window of ``(r, c)`` covers rows ``r - before[0] ... r - before[0] + size[0] - 1`` (and
    likewise columns), row-major; image edges are padded as :func:`pad_numpy` pads them. For a
    dask array one pass reads each block once, with its halo, and keeps only the windows of the
    sampled pixels inside it: the array is never held in memory whole (a documented global
    statistic such as a fit on a sample). Same values on any chunking.
    """
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    halo = tuple(max(b, s - 1 - b) for s, b in zip(size, before))
    if not isinstance(data, dsa.Array):
        padded = pad_numpy(np.asarray(data), {0: halo[0], 1: halo[1]}, boundary)
        return _take_windows(padded, rows + halo[0] - before[0], cols + halo[1] - before[1], size)
    ext = dsa.overlap.overlap(
        data,
        depth={0: halo[0], 1: halo[1]},
        boundary={ax: _dask_boundary(boundary, data.dtype) for ax in (0, 1)},
    )
    # overlap() may merge chunks smaller than the halo: locate blocks on its own grid
    inner = [tuple(c - 2 * h for c in cs) for cs, h in zip(ext.chunks, halo)]
    starts = [np.concatenate([[0], np.cumsum(c)]) for c in inner]
    by = np.searchsorted(starts[0], rows, side="right") - 1
    bx = np.searchsorted(starts[1], cols, side="right") - 1
    blocks = ext.to_delayed()
    tasks, where = [], []
    for i, j in sorted(set(zip(by.tolist(), bx.tolist()))):
        sel = np.flatnonzero((by == i) & (bx == j))
        r = rows[sel] - starts[0][i] + halo[0] - before[0]
        c = cols[sel] - starts[1][j] + halo[1] - before[1]
        tasks.append(dask.delayed(_take_windows, pure=True)(blocks[i, j], r, c, size))
        where.append(sel)
    out = np.empty((rows.size, size[0] * size[1]), np.float64)
    for sel, vals in zip(where, compute(*tasks)):
        out[sel] = vals
    return out


# --- hsi helpers


def index_range(n: int, *, chunks: tuple[int, ...] | None = None, dtype: str = "int64") -> Any:
    """``arange(n)`` as numpy, or as a dask array with ``chunks`` (to align with a cube's axis)."""
    if chunks is None:
        return np.arange(n, dtype=dtype)
    return dsa.arange(n, chunks=(tuple(chunks),), dtype=dtype)


def match_chunks(out: xr.DataArray, like: xr.DataArray) -> xr.DataArray:
    """Rechunk ``out`` to the chunks of ``like`` along their shared dims (no-op for numpy).

    ``dask.array.map_overlap`` enlarges chunks smaller than its halo; a result whose chunks then
    differ from the input's cannot take the input's chunked (e.g. 2-D ``xc``/``yc``) coords.
    """
    if not (is_dask(out) and is_dask(like)):
        return out
    want = {d: like.chunksizes[d] for d in out.dims if d in like.dims}
    if all(out.chunksizes[d] == c for d, c in want.items()):
        return out
    return out.chunk(want)


def load_metadata(a: Any) -> np.ndarray:
    """A small coordinate (band wavelengths, a ``bbl`` list) as numpy, loaded synchronously.

    ``.chunk()`` also chunks non-index coordinates; reading one back is not a pass over the
    data, so it goes through the synchronous scheduler, outside progress bars and compute counts.
    """
    a = getattr(a, "data", a)
    if isinstance(a, dsa.Array):
        return np.asarray(a.compute(scheduler="sync"))
    return np.asarray(a)


# --- sar helpers


def lazy_call(
    func: Callable[..., Any], *args: Any, shape: tuple[int, ...] = (), dtype: Any = np.float64
) -> Any:
    """``func(*args)`` as a lazy array of ``shape`` when an argument holds dask arrays.

    Dask arrays among ``args`` (also inside lists/tuples) reach ``func`` whole, as numpy arrays,
    so a global statistic read from lazy partial results (e.g. histogram counts) stays in the
    graph and can feed a kernel (as a ``kwargs`` value of :func:`map_overlap`) without computing
    at call time. Without dask arrays ``func`` runs now and its result is returned as numpy.

    Each dask argument joins the task on its own keys, unoptimised: ``dask.delayed`` would
    optimise (and so rename) every argument's graph on its own, and two consumers of one lazy
    statistic would each recompute it. The graph is optimised once, when the result is computed.
    """
    if not any(dask.is_dask_collection(a) for a in _flat(args)):
        return np.asarray(func(*args), dtype=dtype)
    value = dask.delayed(func, pure=True)(*(_as_delayed(a) for a in args))
    return dsa.from_delayed(value, shape=shape, dtype=dtype)


def _flat(args: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for a in args:
        out.extend(_flat(a) if isinstance(a, list | tuple) else [a])
    return out


# --- batch helpers


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


def _none(*_: Any) -> None:
    """The last task of :func:`store_blocks` (one key to compute, depending on every write)."""


# --- views helpers


def client_progress_scheduler(client: Any) -> Callable[..., Any]:
    """A dask scheduler function: run graphs on ``client`` behind distributed's progress bar."""
    from distributed import progress as client_progress

    try:  # distributed draws a widget in a notebook, which needs ipywidgets; else a text bar
        import ipywidgets  # noqa: F401

        notebook = None
    except ImportError:
        notebook = False

    def get(dsk: Any, keys: Any, **kwargs: Any) -> Any:
        futures = client.get(dsk, keys, sync=False, **kwargs)
        client_progress(futures, notebook=notebook)
        return client.gather(futures)

    return get


def progress_context(progress: bool | None = None) -> Any:
    """Context manager showing progress for EVERY dask computation run inside it.

    Distributed's bar when a client is active (graphs are sent through it as futures), else
    dask's local ``ProgressBar``; a null context unless :func:`want_progress` allows.
    """
    if not want_progress(progress):
        return contextlib.nullcontext()
    client = active_client()
    if client is None:
        return _bar()
    return dask.config.set(scheduler=client_progress_scheduler(client))


def _bar(minimum: float = 0.0) -> Any:
    """Dask's local bar, drawn once however many eoxr bars are nested, its line redrawn clean.

    A bar inside a block that already shows one is a null context (two bars registered at once
    draw over each other on one line). Each redraw is padded to the longest line drawn, so a
    shorter elapsed time (``9.99 s`` after ``999.99 ms``) leaves no stray characters. In a
    Jupyter kernel the bar is redrawn from the thread that computes (after each task, at most
    every 0.1 s), not from dask's timer thread: a thread's output reaches the cell only when the
    computation ends, so the bar would show up finished.
    """
    import threading
    import time

    from dask.diagnostics import ProgressBar

    kernel = _in_kernel()

    class Bar(ProgressBar):
        def _start(self, dsk: Any) -> None:
            if not kernel:
                return super()._start(dsk)
            self._state, self._start_time, self._last = None, time.perf_counter(), 0.0
            self._running = False
            self._timer = threading.Thread(target=lambda: None)  # joined by _finish
            self._timer.start()

        def _posttask(self, key: Any, result: Any, dsk: Any, state: Any, id: Any) -> None:
            self._state = state
            now = time.perf_counter()
            if kernel and now - self._last >= self._dt and now - self._start_time > self._minimum:
                self._last = now
                self._update_bar(now - self._start_time)

        def __enter__(self) -> Any:
            self._outer = _Bar.active == 0
            _Bar.active += self._outer
            return super().__enter__() if self._outer else self

        def __exit__(self, *args: Any) -> None:
            if self._outer:
                _Bar.active -= 1
                super().__exit__(*args)

        def _draw_bar(self, frac: float, elapsed: float) -> None:
            from dask.utils import format_time

            bar = "#" * int(self._width * frac)
            line = f"[{bar:<{self._width}}] | {int(100 * frac)}% Completed | {format_time(elapsed)}"
            self._longest = max(getattr(self, "_longest", 0), len(line))
            with contextlib.suppress(ValueError):
                if self._file is not None:
                    self._file.write("\r" + line.ljust(self._longest))
                    self._file.flush()

    return Bar(minimum=minimum)


class _Bar:
    """Counts the outermost eoxr progress bars now shown (0 or 1)."""

    active = 0


# --- lazy helpers


def _as_delayed(a: Any) -> Any:
    if isinstance(a, list | tuple):
        return type(a)(_as_delayed(v) for v in a)
    if isinstance(a, dsa.Array):
        return a.rechunk(a.shape).to_delayed(optimize_graph=False).reshape(-1)[0]
    return a
