"""Neighbourhoods, chunk-exactly: a halo around every block, or around sampled pixels.

:func:`map_overlap` hands a numpy kernel each block padded by its halo: real neighbours inside
the cube, boundary padding at its edges. The padding is the same on a single numpy block
(:func:`pad_numpy`, a twin of dask's, kept here so that the two cannot drift apart) and on any
dask chunk, so results do not depend on the chunking. :func:`pad_edges` pads a whole array the same
way, :func:`sample_windows` reads the windows of a few pixels in one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any, Literal

import dask
import dask.array as dsa
import numpy as np
import xarray as xr

from . import halo, stats
from .halo import fill_value

Boundary = Literal["reflect", "nearest", "periodic", "nan", "none"] | float


# dask's "reflect" repeats the edge sample, which is numpy's "symmetric".
_NP_PAD_MODE = {"reflect": "symmetric", "nearest": "edge", "periodic": "wrap"}


def pad_numpy(a: np.ndarray, depth: Mapping[int, int], boundary: Boundary) -> np.ndarray:
    """Pad ``a`` on the given axes exactly as dask's ``map_overlap`` pads image edges."""
    if boundary == "none":
        return a
    widths = [(depth.get(ax, 0), depth.get(ax, 0)) for ax in range(a.ndim)]
    if boundary in _NP_PAD_MODE:
        return np.pad(a, widths, mode=_NP_PAD_MODE[boundary])
    return np.pad(a, widths, mode="constant", constant_values=fill_value(boundary, a.dtype))


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
        Padding at the cube's edges. ``"reflect"`` repeats the edge sample (numpy "symmetric");
        ``"nan"`` is NaN for floats and complex, 0 for integers; a number must be one the
        dtype holds exactly (else ``ValueError``), the same on numpy and on any chunking.
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
    fill_value(boundary, data.dtype)  # a constant the dtype cannot hold: refused now, not in a task
    if isinstance(data, dsa.Array) and halo.applies(data, axes, boundary):
        full = tuple(axes.get(ax, 0) for ax in range(data.ndim))
        out = halo.map_padded(func, data, full, boundary, dtype, kwargs)
    elif isinstance(data, dsa.Array):
        # dask enlarges chunks smaller than the halo itself (ensure_minimum_chunksize).
        out = dsa.map_overlap(
            func,
            data,
            depth={ax: axes.get(ax, 0) for ax in range(data.ndim)},
            boundary={ax: fill_value(boundary, data.dtype) for ax in range(data.ndim)},
            trim=True,
            dtype=dtype,
            meta=np.empty((0,) * data.ndim, dtype=dtype),
            **kwargs,
        )
    else:
        padded = pad_numpy(np.asarray(data), axes, boundary)
        out = _crop(np.asarray(func(padded, **kwargs)), axes, boundary).astype(dtype, copy=False)
    return da.copy(data=out)


def pad_edges(data: Any, widths: Mapping[int, tuple[int, int]], boundary: Boundary) -> Any:
    """Pad a numpy or dask array by ``(before, after)`` per axis, as :func:`pad_numpy` would."""
    full = [tuple(widths.get(ax, (0, 0))) for ax in range(data.ndim)]
    if not any(b or a for b, a in full):
        return data
    mod = dsa if isinstance(data, dsa.Array) else np
    if boundary in _NP_PAD_MODE:
        return mod.pad(data, full, mode=_NP_PAD_MODE[boundary])
    value = fill_value(boundary, data.dtype)
    return mod.pad(data, full, mode="constant", constant_values=value)


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
    *,
    progress: bool | None = None,
) -> np.ndarray:
    """``(n, size[0] * size[1])`` float64 windows of a 2-D array at pixels ``(rows, cols)``.

    The window of ``(r, c)`` covers rows ``r - before[0] ... r - before[0] + size[0] - 1`` (and
    likewise columns), row-major; image edges are padded as :func:`pad_numpy` pads them. For a
    dask array one pass reads each block once, with its halo, and keeps only the windows of the
    sampled pixels inside it: the array is never held in memory whole (a documented global
    statistic such as a fit on a sample), with a progress bar per ``progress``. Same values on
    any chunking.
    """
    rows, cols = np.asarray(rows, np.int64), np.asarray(cols, np.int64)
    halo = tuple(max(b, s - 1 - b) for s, b in zip(size, before))
    if not isinstance(data, dsa.Array):
        padded = pad_numpy(np.asarray(data), {0: halo[0], 1: halo[1]}, boundary)
        return _take_windows(padded, rows + halo[0] - before[0], cols + halo[1] - before[1], size)
    ext = dsa.overlap.overlap(
        data,
        depth={0: halo[0], 1: halo[1]},
        boundary={ax: fill_value(boundary, data.dtype) for ax in (0, 1)},
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
    for sel, vals in zip(where, stats.compute(*tasks, progress=progress)):
        out[sel] = vals
    return out
