"""explore: one view whose widgets choose a band or spectral index, a date and a colour map."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import holoviews as hv
import xarray as xr

from .. import bands as _bands
from ._layers import image
from ._resources import extension

#: Colour maps :func:`explore` offers by default (the first is the default one).
CMAPS: tuple[str, ...] = ("viridis", "RdYlGn", "gray", "magma", "Blues", "BrBG")


def explore(
    cube: xr.DataArray | xr.Dataset,
    *,
    indices: Sequence[str] | None = None,
    cmaps: Sequence[str] = CMAPS,
) -> Any:
    """Explore a cube: widgets choose a band or spectral index, a date and a colour map.

    Parameters
    ----------
    cube : DataArray or Dataset
        Reflectance cube (a ``time`` dim gets a slider). Large images are rasterized by
        datashader, so the browser receives a screen-sized image, never the full array.
    indices : sequence of str, optional
        Spectral indices offered besides the bands: any name :mod:`eoxr.indices` knows. By
        default every catalog index the cube's bands can compute.
    cmaps : sequence of str
        Colour maps offered (the first is the default).

    Returns
    -------
    holoviews.DynamicMap
        With key dimensions ``layer``, ``cmap`` and (if present) ``time``; nothing is computed
        until a frame is displayed. The ``layer`` menu picks a band or index (the colour bar is
        titled with it), the ``time`` slider a date, the ``cmap`` menu a colour map; each frame
        gets its own colour range. Save it with :func:`save`, which writes the current frame
        (``eoxr.plot.save(view[("NDVI", t, "RdYlGn")], "ndvi.html")`` for another one);
        ``hvplot.save`` would compute and embed every layer x date x colour map.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> view = et.make_cube(bands=["B04", "B08"]).eo.explore(indices=["NDVI"])
    >>> [d.name for d in view.kdims]
    ['layer', 'time', 'cmap']
    """
    extension()  # resources: set once, by the first view
    from ..indices import catalog, index

    labels = _bands.band_labels(cube)
    if indices is None:
        indices = list(catalog(bands_available=cube).index)
    else:
        indices = list(indices)
        for name in indices:
            index(cube, name)  # builds the lazy graph only: unknown names fail here
    layers = labels + [n for n in indices if n not in labels]
    kdims = [hv.Dimension("layer", values=layers, default=layers[0])]
    if "time" in cube.dims:
        times = list(cube["time"].values)
        kdims.append(hv.Dimension("time", values=times, default=times[0]))
    kdims.append(hv.Dimension("cmap", values=list(cmaps), default=cmaps[0]))

    def frame(layer: str, *rest: Any) -> Any:
        *time, cmap = rest
        da = _bands.select_band(cube, layer) if layer in labels else index(cube, layer)
        if time:
            da = da.sel(time=time[0])
        # the colour bar is titled with the layer chosen (and its units), whatever its long_name
        da = da.rename(layer).assign_attrs(long_name=layer)
        return image(da, cmap=cmap, title=layer)

    return hv.DynamicMap(frame, kdims=kdims)
