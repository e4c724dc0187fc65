"""Chunk logic: the only module of eoxr that knows about dask chunks, halos and ``map_overlap``.

Topic modules hand a numpy kernel to one of these helpers and get back a DataArray that is lazy
when the input is dask-backed and eager when it is numpy-backed, with results that do not depend
on the chunking: neighbourhood kernels see exactly the same padded data on a single numpy block
and on any dask chunk (dask's ``map_overlap`` with the kernel's halo, and the same boundary padding
done by :func:`numpy.pad` on numpy input).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Literal

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


def ensure_dask(da: xr.DataArray, chunks: Mapping[Hashable, int] | str | None = None) -> xr.DataArray:
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


__all__ = [
    "is_dask",
    "halo_for_window",
    "pad_numpy",
    "map_overlap",
    "map_blocks",
    "rechunk_whole",
    "spatial_chunks",
    "default_chunks",
    "ensure_dask",
    "check_window",
]
