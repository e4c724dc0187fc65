"""How a cube is chunked: dask or not, whole dims, default tiles, chunks matched to an input.

The small questions and moves every topic asks of its input's chunks before handing a numpy kernel
to :mod:`eoxr._dask.overlap` or :mod:`eoxr._dask.blockwise`. Numpy-backed data count as one chunk
per dim.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import dask.array as dsa
import numpy as np
import xarray as xr

from .._dims import spatial_dims


def is_dask(obj: xr.DataArray | xr.Dataset | Any) -> bool:
    """True if ``obj`` (or any of its variables) is backed by a dask array."""
    if isinstance(obj, xr.Dataset):
        return any(is_dask(v) for v in obj.data_vars.values())
    data = getattr(obj, "data", obj)
    return isinstance(data, dsa.Array)


def is_whole(da: xr.DataArray, dim: Hashable) -> bool:
    """True if ``dim`` is one chunk (always for numpy data)."""
    return not is_dask(da) or len(da.chunksizes[dim]) == 1


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


def index_range(n: int, *, chunks: tuple[int, ...] | None = None, dtype: str = "int64") -> Any:
    """``arange(n)`` as numpy, or as a dask array with ``chunks`` (to align with a cube's axis)."""
    if chunks is None:
        return np.arange(n, dtype=dtype)
    return dsa.arange(n, chunks=(tuple(chunks),), dtype=dtype)
