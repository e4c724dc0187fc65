"""How every view looks: options for each loaded backend, map axes, hover tooltips."""

from __future__ import annotations

from typing import Any

import holoviews as hv
import xarray as xr

from .._dims import spatial_dims

#: Categorical colours (Tableau 10), for class and change maps.
CATEGORY_COLORS = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
#: Clipping colours: NaN pixels transparent.
CLEAR = {"NaN": (0, 0, 0, 0)}


def style(element: Any, common: dict | None = None, **backends: dict) -> Any:
    """Apply ``common`` options plus backend-specific ones for every loaded backend.

    Options given without a backend reach only the current one; a plot built while bokeh is
    current would lose them when rendered by matplotlib (PNG quick looks).
    """
    for backend in hv.Store.loaded_backends():
        if backend in ("bokeh", "matplotlib"):
            kw = {**(common or {}), **backends.get(backend, {})}
            if kw:
                element = element.opts(backend=backend, **kw)
    return element


def crs_label(da: xr.DataArray | xr.Dataset) -> str | None:
    """``EPSG:<code>`` (or the start of the WKT) of the cube's CRS; ``None`` without one."""
    try:
        crs = da.rio.crs
    except Exception:  # no rioxarray CRS information at all
        return None
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_string()[:30]


def projected(da: xr.DataArray | xr.Dataset) -> bool:
    """True for metre-like coordinates (shown as integers), False for degrees."""
    xdim = spatial_dims(da)[1]
    return float(abs(da[xdim]).max() if da[xdim].size else 0) > 1000


def hover_tooltips(
    da: xr.DataArray | xr.Dataset, *, value: str | None = None
) -> list[tuple[str, str]]:
    """Hover tooltips formatted like the map's axes (``500,005`` rather than ``5.000e+5``).

    Parameters
    ----------
    da : DataArray or Dataset
        The layer shown (its spatial dims name the coordinates).
    value : str, optional
        Label of the pixel value (an image's colour-bar title); ``None`` for RGB views.

    Returns
    -------
    list of (str, str)
        Bokeh tooltips: map x, map y (numeral.js formats) and the value.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> hover_tooltips(et.make_cube(times=None), value="red")
    [('x', '$x{0,0}'), ('y', '$y{0,0}'), ('red', '@image{0.0000}')]
    """
    ydim, xdim = spatial_dims(da)
    fmt = "{0,0}" if projected(da) else "{0.00000}"
    tips = [(str(xdim), f"$x{fmt}"), (str(ydim), f"$y{fmt}")]
    return tips + ([(value, "@image{0.0000}")] if value is not None else [])


def map_opts(
    element: Any, da: xr.DataArray | xr.Dataset, title: str, value: str | None = None, **extra: Any
) -> Any:
    """Map axes: x/y named with the CRS, plain (not scientific) tick labels, square pixels."""
    ydim, xdim = spatial_dims(da)
    crs = crs_label(da)
    xlabel = f"{xdim} ({crs})" if crs else xdim
    ylabel = f"{ydim} ({crs})" if crs else ydim
    # Projected coordinates in scientific notation run together on the axis (5.000e+55.002e+5).
    fmt = "%.0f" if projected(da) else "%.4g"
    return style(
        element,
        dict(title=title, xlabel=xlabel, ylabel=ylabel, xformatter=fmt, yformatter=fmt,
             xticks=4, **extra.get("common", {})),
        bokeh=dict(data_aspect=1, frame_width=400, tools=["hover"],
                   hover_tooltips=hover_tooltips(da, value=value), **extra.get("bokeh", {})),
        matplotlib=dict(aspect="equal", fig_inches=5, **extra.get("matplotlib", {})),
    )  # fmt: skip


def plain(da: xr.DataArray) -> xr.DataArray:
    """Drop scalar coords (``spatial_ref``, a selected ``time``): holoviews makes them the title."""
    return da.drop_vars([c for c in da.coords if da[c].ndim == 0 and c not in da.dims])
