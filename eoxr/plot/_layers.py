"""Single layers as maps: continuous colour maps, or class and change maps with a legend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import holoviews as hv
import xarray as xr

from .._dims import band_dim, spatial_dims
from ..errors import DimensionError, ParameterError
from ._raster import shrink, with_time
from ._resources import extension
from ._rgb import plot_rgb
from ._style import CATEGORY_COLORS, CLEAR, map_opts, plain, style


def class_names(da: xr.DataArray) -> list[str] | None:
    """Names of the classes of a class or change map, or ``None`` if ``da`` is not categorical.

    Read from ``attrs["classes"]`` or ``attrs["class_names"]`` (a list; value ``i`` is the
    ``i``-th name) or from CF ``flag_meanings`` (with ``flag_values`` 0..n-1); a boolean map has
    two classes (``"no change"``/``"change"`` when its name says change).

    Examples
    --------
    >>> import xarray as xr
    >>> class_names(xr.DataArray([[0, 1]], dims=("y", "x"), attrs={"classes": ["water", "land"]}))
    ['water', 'land']
    """
    attrs = da.attrs
    for key in ("classes", "class_names"):
        if key in attrs:
            return [str(c) for c in attrs[key]]
    if "flag_meanings" in attrs:
        return str(attrs["flag_meanings"]).split()
    if da.dtype == bool:
        text = f"{da.name} {attrs.get('long_name', '')}".lower()
        return ["no change", "change"] if "change" in text else ["False", "True"]
    return None


def categorical(da: xr.DataArray, names: Sequence[str], *, title: str | None = None) -> Any:
    """A class or change map with one colour per class and a legend of class names.

    Examples
    --------
    >>> import xarray as xr
    >>> m = xr.DataArray([[0, 1], [1, 2]], dims=("y", "x"), coords={"y": [1, 0], "x": [0, 1]})
    >>> categorical(m, ["water", "forest", "urban"]).opts.get().kwargs["clim"]
    (-0.5, 2.5)
    """
    extension()  # resources: set once, by the first view
    n = len(names)
    if n > len(CATEGORY_COLORS):
        raise ParameterError(f"{n} classes: at most {len(CATEGORY_COLORS)} can be told apart.")
    ydim, xdim = spatial_dims(da)
    data = plain(da).astype("float32").rename(str(da.name or "class"))
    colors = list(CATEGORY_COLORS[:n])
    ticks = [(i, str(name)) for i, name in enumerate(names)]

    def make(d: xr.DataArray) -> Any:
        return hv.Image(d.transpose(ydim, xdim), kdims=[xdim, ydim])

    view = style(
        shrink(make, data),
        # the class names are the legend: no colour-bar title beside them
        dict(cmap=colors, clim=(-0.5, n - 0.5), colorbar=True, clipping_colors=CLEAR, clabel=""),
        bokeh=dict(cticks=ticks, color_levels=n),
        matplotlib=dict(cbar_ticks=ticks),
    )
    return map_opts(view, da, title or str(da.name or "classes"))


def image(
    da: xr.DataArray,
    *,
    cmap: str = "viridis",
    clim: tuple[float, float] | None = None,
    title: str | None = None,
) -> Any:
    """A single layer as a map (class and change maps get categorical colours).

    Parameters
    ----------
    da : DataArray
        A ``(y, x)`` layer. If :func:`class_names` finds names (``attrs["classes"]``, CF flags,
        a boolean change map), it is drawn by :func:`categorical` with a legend, e.g.
        ``labels.assign_attrs(classes=["water", "forest"])``.
    cmap : str
        Colour map of a continuous layer.
    clim : (float, float), optional
        Colour range (default: the data's range, computed when displayed).
    title : str, optional
        Plot title (default: the layer's ``long_name`` or name).

    Returns
    -------
    holoviews.Image (or a datashader DynamicMap for a large layer)
        NaN pixels are transparent; axes are map coordinates labelled with the CRS.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> type(image(et.make_cube(times=None).isel(band=0))).__name__
    'Image'
    """
    extension()  # resources: set once, by the first view
    names = class_names(da)
    if names is not None:
        return categorical(da, names, title=title)
    ydim, xdim = spatial_dims(da)
    extra = [d for d in da.dims if d not in (ydim, xdim)]
    if extra:
        raise DimensionError(
            f"a map needs (y, x) data; this layer also has {extra}: select one step first "
            f"(e.g. `.isel({extra[0]}=0)`)."
        )
    data = plain(da).rename(str(da.name or "value"))

    def make(d: xr.DataArray) -> Any:
        return hv.Image(d.transpose(ydim, xdim), kdims=[xdim, ydim])

    opts = dict(cmap=cmap, colorbar=True, clipping_colors=CLEAR)
    if clim is not None:
        opts["clim"] = tuple(clim)
    label = hv.Dimension(data.name).pprint_label
    # holoviews draws the colour bar once: its title must follow each new frame of a DynamicMap
    view = style(shrink(make, data), opts, bokeh=dict(hooks=[_colorbar_title]))
    return map_opts(view, da, title or str(da.attrs.get("long_name", da.name or "")), label)


def _colorbar_title(plot: Any, element: Any) -> None:
    """Bokeh hook: the colour bar is titled with the shown element's value dimension."""
    bar = plot.handles.get("colorbar")
    if bar is not None and element.vdims:
        bar.title = element.vdims[0].pprint_label


def layer_view(da: xr.DataArray, title: str | None, **kwargs: Any) -> Any:
    """RGB for a 3-band layer, else :func:`image` (time becomes a slider)."""
    dim = band_dim(da)
    if dim is not None and da.sizes[dim] == 3:
        return plot_rgb(da, bands=[str(b) for b in da[dim].values], title=title)
    if dim is not None:
        raise DimensionError(
            f"{da.name or 'layer'} has {da.sizes[dim]} bands: select one, or three for RGB."
        )
    return with_time(da, lambda d: image(d, title=title, **kwargs))
