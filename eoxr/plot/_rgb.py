"""True- and false-colour views of three bands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import holoviews as hv
import xarray as xr

from .._dims import spatial_dims
from ..errors import ParameterError
from ._raster import shrink, with_time
from ._resources import extension
from ._stretch import Stretch, stretched
from ._style import map_opts, plain


def plot_rgb(
    cube: xr.DataArray | xr.Dataset,
    *,
    bands: Sequence[str] = ("red", "green", "blue"),
    stretch: Stretch = "percentile",
    percentiles: Sequence[float] = (2, 98),
    gamma: float = 1.8,
    title: str | None = None,
    tiles: str | None = None,
) -> Any:
    """True- or false-colour view of three bands, stretched per band.

    Parameters
    ----------
    cube : DataArray or Dataset
        Reflectance cube with a band dim (or one variable per band), lazy or not. A ``time`` dim
        becomes a slider.
    bands : (str, str, str)
        Bands shown as red, green, blue: labels, common names or aliases (``("swir16", "nir",
        "red")`` for false colour).
    stretch : {"percentile", "minmax", "gamma"}
        ``"percentile"`` maps the band's ``percentiles`` to 0 and 1 (clipping outside);
        ``"minmax"`` its minimum and maximum; ``"gamma"`` is the percentile stretch followed by
        ``v ** (1 / gamma)`` (brightens dark scenes). Limits are computed per band, in one pass,
        on a strided sample of at most 512 x 512 pixels and 8 time steps: the full cube is not
        computed.
    percentiles : (float, float)
        Low and high percentiles, ``0 <= low < high <= 100``.
    gamma : float
        Exponent of the ``"gamma"`` stretch.
    title : str, optional
        Plot title (default: the band labels).
    tiles : str, optional
        A web tile source under the image (e.g. ``"OSM"``); needs geoviews and internet.

    Returns
    -------
    holoviews.RGB or DynamicMap
        NaN pixels are transparent; axes are map coordinates labelled with the CRS.

    Raises
    ------
    BandNotFoundError
        A band is not in the cube.
    ParameterError
        Unknown ``stretch``, bad ``percentiles``/``gamma``, or ``tiles`` without geoviews.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> cube = et.make_cube(bands=["B02", "B03", "B04"], times=None)
    >>> view = cube.eo.plot_rgb(stretch="minmax")
    >>> type(view).__name__
    'RGB'
    """
    extension()  # resources: set once, by the first view
    rgba, labels = stretched(cube, bands, stretch, percentiles, gamma)
    title = title or f"R={labels[0]} G={labels[1]} B={labels[2]} ({stretch})"
    return add_tiles(rgb_view(rgba, cube, title), cube, tiles)


def rgb_view(rgba: xr.Dataset, cube: xr.DataArray | xr.Dataset, title: str) -> Any:
    ydim, xdim = spatial_dims(rgba)

    def build(ds: xr.Dataset) -> Any:
        def make(d: xr.Dataset) -> Any:
            return hv.RGB(d, kdims=[xdim, ydim], vdims=["R", "G", "B", "A"])

        view = shrink(make, plain(ds).transpose(ydim, xdim))
        return map_opts(view, cube, title)

    return with_time(rgba, build)


def add_tiles(view: Any, cube: xr.DataArray | xr.Dataset, tiles: str | None) -> Any:
    if tiles is None:
        return view
    try:
        import geoviews as gv
    except ImportError as err:
        raise ParameterError(
            "tiles= needs geoviews (`pip install geoviews`) and internet access; "
            "leave tiles=None for a plain map."
        ) from err
    crs = cube.rio.crs
    if crs is None:
        raise ParameterError("tiles= needs a cube with a CRS (`cube.rio.write_crs(...)`).")
    return gv.tile_sources.tile_sources[tiles]() * gv.project(view, projection=crs)
