"""What the browser receives: large images rasterized or decimated, time as a slider."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import holoviews as hv
import numpy as np
import xarray as xr

from .._dims import spatial_dims

#: Images with more pixels than this are rasterized (datashader) or decimated before display.
MAX_PIXELS = 1_000_000


def too_large(da: xr.DataArray | xr.Dataset) -> bool:
    """More than :data:`MAX_PIXELS` pixels in one (y, x) frame."""
    ydim, xdim = spatial_dims(da)
    return da.sizes[ydim] * da.sizes[xdim] > MAX_PIXELS


def has_datashader() -> bool:
    """Whether datashader (the ``viz`` extra) is installed."""
    try:
        import datashader  # noqa: F401
    except ImportError:
        return False
    return True


def decimate(da: xr.DataArray | xr.Dataset) -> xr.DataArray | xr.Dataset:
    """Strided subsample to at most :data:`MAX_PIXELS` (used when datashader is missing)."""
    ydim, xdim = spatial_dims(da)
    step = int(np.ceil(np.sqrt(da.sizes[ydim] * da.sizes[xdim] / MAX_PIXELS)))
    return da.isel({ydim: slice(None, None, step), xdim: slice(None, None, step)})


def shrink(make: Callable[[Any], Any], data: xr.DataArray | xr.Dataset) -> Any:
    """Build the element with ``make(data)``; rasterize or decimate it when it is large."""
    if not too_large(data):
        return make(data)
    if has_datashader():
        from holoviews.operation.datashader import rasterize

        return rasterize(make(data), width=1000, height=1000)
    return make(decimate(data))


def with_time(da: xr.DataArray | xr.Dataset, build: Callable[[Any], Any]) -> Any:
    """One view, or a DynamicMap with a time slider when ``da`` has a ``time`` dim."""
    if "time" not in da.dims:
        return build(da)
    times = list(da["time"].values)

    def frame(time: Any) -> Any:
        return build(da.sel(time=time))

    return hv.DynamicMap(frame, kdims=[hv.Dimension("time", values=times, default=times[0])])
