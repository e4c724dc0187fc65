"""Layers on one grid side by side: a before/after swipe and linked views."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import holoviews as hv
import numpy as np
import xarray as xr

from .._dims import band_dim, spatial_dims
from ..errors import GridMismatchError, ParameterError
from ._layers import class_names, layer_view
from ._resources import extension
from ._rgb import rgb_view
from ._stretch import stretch_limits, stretched
from ._style import crs_label, style


def _check_grids(cubes: Sequence[xr.DataArray]) -> None:
    ydim, xdim = spatial_dims(cubes[0])
    ref = cubes[0]
    for i, c in enumerate(cubes[1:], start=1):
        same = all(
            d in c.dims and c.sizes[d] == ref.sizes[d] and np.allclose(c[d].values, ref[d].values)
            for d in (ydim, xdim)
        )
        if not same or crs_label(c) != crs_label(ref):
            raise GridMismatchError(
                f"layer {i} is not on the grid of layer 0 (sizes {dict(c.sizes)} vs "
                f"{dict(ref.sizes)}, CRS {crs_label(c)} vs {crs_label(ref)}): reproject one "
                "onto the other first, e.g. `b.rio.reproject_match(a)`."
            )


def swipe(
    before: xr.DataArray,
    after: xr.DataArray,
    *,
    title: str = "before | after",
    clim: tuple[float, float] | None = None,
) -> Any:
    """Before/after swipe: the ``split`` slider under the map moves the divide between the two.

    Left of the white line is ``before``, right of it ``after``. Move the line by dragging the
    ``split`` slider below the map (or clicking it and using the arrow keys); dragging the map
    itself pans it, as on every map. The slider steps by 0.02 of the width.

    Parameters
    ----------
    before, after : DataArray
        Layers on the same grid: single bands, class/change maps or 3-band RGB stacks (each
        stretched on its own, from a sample computed once when called).
    title : str
        Plot title.
    clim : (float, float), optional
        Colour range of single-band layers, the same on both sides and for every split.
        Default: the 2nd-98th percentiles of both layers together, from one strided sample
        computed when called (as :func:`plot_rgb`'s stretch).

    Returns
    -------
    holoviews.DynamicMap
        Key dimension ``split`` (0-1, fraction of the width shown from ``before``).

    Raises
    ------
    GridMismatchError
        The two inputs are not on the same grid.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> a = et.make_cube(times=None).isel(band=0)
    >>> swipe(a, a * 2).kdims[0].name
    'split'
    """
    extension()  # resources: set once, by the first view
    _check_grids([before, after])
    ydim, xdim = spatial_dims(before)
    x = before[xdim]
    lo, hi = float(x.min()), float(x.max())
    dim = band_dim(before)
    rgb = dim is not None and before.sizes[dim] == 3 and band_dim(after) == dim
    if rgb:  # each side keeps its own stretch: a cloudy date must not darken a clear one
        pair = [stretched(c, [str(b) for b in c[dim].values])[0] for c in (before, after)]
    elif clim is None and class_names(after) is None and dim is None:
        # one colour range for both sides and every split: the colour bar must not change
        # when the line moves
        (a0, a1), (b0, b1) = stretch_limits([before, after])
        clim = (min(a0, b0), max(a1, b1))

    def frame(split: float) -> Any:
        at = lo + split * (hi - lo)
        left = x <= at  # the screen's left is the smallest x, whatever the order of the coord
        line = style(
            hv.VLine(at), dict(color="white"), bokeh=dict(line_width=2),
            matplotlib=dict(linewidth=2),
        )  # fmt: skip
        if rgb:
            return rgb_view(pair[1].where(~left, pair[0]), after, title) * line
        mixed = after.where(~left, before).rename(after.name)
        mixed.attrs = dict(after.attrs)
        return layer_view(mixed, title, **({} if clim is None else {"clim": clim})) * line

    # discrete values: a plain slider (a continuous one gets a number box that takes a typed
    # value only once focus leaves it, not on Enter)
    steps = [round(v, 2) for v in np.linspace(0.0, 1.0, 51)]
    split = hv.Dimension("split", values=steps, default=0.5)
    return hv.DynamicMap(frame, kdims=[split])


def compare(
    *cubes: xr.DataArray,
    titles: Sequence[str] | None = None,
    cols: int = 3,
    cmap: str = "viridis",
    clim: tuple[float, float] | None = None,
) -> Any:
    """Linked views of several layers on one grid (shared zoom and pan).

    Parameters
    ----------
    *cubes : DataArray
        Layers on the same grid: single bands, class or change maps
        (categorical colours and a legend) or 3-band RGB stacks.
    titles : sequence of str, optional
        One per layer (default: their names).
    cols : int
        Views per row.
    cmap, clim : optional
        Colour map and range of the single-band layers (default: each its own range).

    Returns
    -------
    holoviews.Layout

    Raises
    ------
    GridMismatchError
        The layers are not on the same grid.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> a = et.make_cube(times=None).isel(band=0)
    >>> len(compare(a, a + 1, titles=["a", "a + 1"]))
    2
    """
    extension()  # resources: set once, by the first view
    if not cubes:
        raise ParameterError("compare needs at least one layer.")
    if titles is not None and len(titles) != len(cubes):
        raise ParameterError(f"{len(titles)} titles for {len(cubes)} layers.")
    _check_grids(list(cubes))
    titles = titles or [str(c.name or f"layer {i}") for i, c in enumerate(cubes)]
    # narrower maps side by side: a row must fit a notebook (~1150 px with colour bars)
    width = {1: 400, 2: 340}.get(min(len(cubes), cols), 210)
    views = [
        style(layer_view(c, t, cmap=cmap, clim=clim), bokeh=dict(frame_width=width))
        for c, t in zip(cubes, titles)
    ]
    return hv.Layout(views).cols(cols)
