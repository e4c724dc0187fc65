"""Interactive views of cubes: holoviews objects for JupyterLab, HTML and PNG.

Every verb returns a holoviews object: composable with ``+`` and ``*``, savable with
``hvplot.save`` / ``holoviews.save`` and renderable without a running notebook. holoviews, hvplot
and bokeh are imported when this module is (the ``viz`` extra); ``import eoxr`` stays light.

Importing this module sets bokeh's JavaScript to be inlined into notebooks (``hv.extension.inline``)
before hvplot loads it, and Panel's stylesheets (widgets, layouts, theme) to be inlined wherever a
view is rendered (notebook or saved page), so plots and widgets render on a machine or a hub
without internet. :func:`save` writes a page that loads nothing from the internet.

Laziness: no verb computes a dask cube when called, except :func:`plot_rgb` and :func:`swipe`,
which compute their stretch or colour limits from a bounded, strided sample in one pass. Images
larger than :data:`MAX_PIXELS` are rasterized by datashader (when installed; else decimated) so
that the browser never receives the full array.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, Literal

import holoviews as hv
import numpy as np
import xarray as xr

from . import bands as _bands
from ._dask.stats import compute
from ._dims import band_dim, spatial_dims
from .errors import DimensionError, GridMismatchError, ParameterError

# Inline bokeh's JavaScript into notebooks; must precede the import of hvplot, which loads it.
hv.extension.inline = True
import hvplot.xarray  # noqa: E402, F401  (registers .hvplot, loads the notebook extension)
import panel as pn  # noqa: E402
from bokeh.models import UIElement  # noqa: E402
from panel.io.notebook import patch_inline_stylesheets  # noqa: E402


def _inline_stylesheets(viewable: Any, root: Any) -> None:
    """Panel hook: stylesheets named by a CDN URL are replaced by the installed files' CSS.

    Panel names its widget, layout, loading-spinner and theme stylesheets by CDN URLs, in the
    notebook and in saved pages alike; offline each widget change then logs a network error.
    """
    for model in root.select({"type": UIElement}):
        patch_inline_stylesheets(model)


pn.config.inline = True
if _inline_stylesheets not in pn.viewable.Viewable._preprocessing_hooks:
    pn.viewable.Viewable._preprocessing_hooks.append(_inline_stylesheets)

Stretch = Literal["percentile", "minmax", "gamma"]
STRETCHES: tuple[str, ...] = ("percentile", "minmax", "gamma")
#: Images with more pixels than this are rasterized (datashader) or decimated before display.
MAX_PIXELS = 1_000_000
#: Samples for the stretch: at most this many pixels per side and this many time steps.
SAMPLE_SIDE = 512
SAMPLE_TIMES = 8
#: Categorical colours (Tableau 10), for class and change maps.
CATEGORY_COLORS = (
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
    "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac",
)  # fmt: skip
CMAPS: tuple[str, ...] = ("viridis", "RdYlGn", "gray", "magma", "Blues", "BrBG")
_CLEAR = {"NaN": (0, 0, 0, 0)}  # NaN pixels transparent


# ------------------------------------------------------------------------------ helpers
def _style(element: Any, common: dict | None = None, **backends: dict) -> Any:
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


def _crs_label(da: xr.DataArray | xr.Dataset) -> str | None:
    try:
        crs = da.rio.crs
    except Exception:  # no rioxarray CRS information at all
        return None
    if crs is None:
        return None
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_string()[:30]


def _projected(da: xr.DataArray | xr.Dataset) -> bool:
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
    fmt = "{0,0}" if _projected(da) else "{0.00000}"
    tips = [(str(xdim), f"$x{fmt}"), (str(ydim), f"$y{fmt}")]
    return tips + ([(value, "@image{0.0000}")] if value is not None else [])


def _map_opts(
    element: Any, da: xr.DataArray | xr.Dataset, title: str, value: str | None = None, **extra: Any
) -> Any:
    """Map axes: x/y named with the CRS, plain (not scientific) tick labels, square pixels."""
    ydim, xdim = spatial_dims(da)
    crs = _crs_label(da)
    xlabel = f"{xdim} ({crs})" if crs else xdim
    ylabel = f"{ydim} ({crs})" if crs else ydim
    # Projected coordinates in scientific notation run together on the axis (5.000e+55.002e+5).
    fmt = "%.0f" if _projected(da) else "%.4g"
    return _style(
        element,
        dict(title=title, xlabel=xlabel, ylabel=ylabel, xformatter=fmt, yformatter=fmt,
             xticks=4, **extra.get("common", {})),
        bokeh=dict(data_aspect=1, frame_width=400, tools=["hover"],
                   hover_tooltips=hover_tooltips(da, value=value), **extra.get("bokeh", {})),
        matplotlib=dict(aspect="equal", fig_inches=5, **extra.get("matplotlib", {})),
    )  # fmt: skip


def _plain(da: xr.DataArray) -> xr.DataArray:
    """Drop scalar coords (``spatial_ref``, a selected ``time``): holoviews makes them the title."""
    return da.drop_vars([c for c in da.coords if da[c].ndim == 0 and c not in da.dims])


def _too_large(da: xr.DataArray | xr.Dataset) -> bool:
    ydim, xdim = spatial_dims(da)
    return da.sizes[ydim] * da.sizes[xdim] > MAX_PIXELS


def _has_datashader() -> bool:
    try:
        import datashader  # noqa: F401
    except ImportError:
        return False
    return True


def _decimate(da: xr.DataArray | xr.Dataset) -> xr.DataArray | xr.Dataset:
    """Strided subsample to at most :data:`MAX_PIXELS` (used when datashader is missing)."""
    ydim, xdim = spatial_dims(da)
    step = int(np.ceil(np.sqrt(da.sizes[ydim] * da.sizes[xdim] / MAX_PIXELS)))
    return da.isel({ydim: slice(None, None, step), xdim: slice(None, None, step)})


def _shrink(make: Callable[[Any], Any], data: xr.DataArray | xr.Dataset) -> Any:
    """Build the element with ``make(data)``; rasterize or decimate it when it is large."""
    if not _too_large(data):
        return make(data)
    if _has_datashader():
        from holoviews.operation.datashader import rasterize

        return rasterize(make(data), width=1000, height=1000)
    return make(_decimate(data))


def _with_time(da: xr.DataArray, build: Callable[[xr.DataArray], Any]) -> Any:
    """One view, or a DynamicMap with a time slider when ``da`` has a ``time`` dim."""
    if "time" not in da.dims:
        return build(da)
    times = list(da["time"].values)

    def frame(time: Any) -> Any:
        return build(da.sel(time=time))

    return hv.DynamicMap(frame, kdims=[hv.Dimension("time", values=times, default=times[0])])


# ------------------------------------------------------------------------------ RGB
def _check_stretch(stretch: str, percentiles: Sequence[float], gamma: float) -> tuple[float, float]:
    if stretch not in STRETCHES:
        raise ParameterError(f"stretch={stretch!r} is not known; use one of {list(STRETCHES)}.")
    try:
        lo, hi = (float(p) for p in percentiles)
    except (TypeError, ValueError) as err:
        raise ParameterError(
            f"percentiles={percentiles!r} must be two numbers (low, high), e.g. (2, 98)."
        ) from err
    if not 0 <= lo < hi <= 100:
        raise ParameterError(
            f"percentiles={percentiles!r} must satisfy 0 <= low < high <= 100, e.g. (2, 98)."
        )
    if not gamma > 0:
        raise ParameterError(f"gamma={gamma!r} must be a positive number, e.g. 1.8.")
    return lo, hi


def _sample(da: xr.DataArray) -> xr.DataArray:
    """A strided sample: at most SAMPLE_SIDE px per side and SAMPLE_TIMES time steps."""
    ydim, xdim = spatial_dims(da)
    steps = {d: max(1, -(-da.sizes[d] // SAMPLE_SIDE)) for d in (ydim, xdim)}
    if "time" in da.dims:
        steps["time"] = max(1, -(-da.sizes["time"] // SAMPLE_TIMES))
    return da.isel({d: slice(None, None, s) for d, s in steps.items()})


def stretch_limits(
    layers: Sequence[xr.DataArray],
    *,
    stretch: Stretch = "percentile",
    percentiles: Sequence[float] = (2, 98),
) -> list[tuple[float, float]]:
    """Per-layer display limits ``(low, high)`` from a bounded sample, in one pass.

    Parameters
    ----------
    layers : sequence of DataArray
        Layers with spatial dims (lazy or not).
    stretch : {"percentile", "minmax", "gamma"}
        ``"minmax"`` uses the sample's range; the others its ``percentiles``.
    percentiles : (float, float)
        Low and high percentiles (0-100).

    Returns
    -------
    list of (float, float)
        One pair per layer; ``(0, 1)`` for a layer without any finite value.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> cube = et.make_cube(times=None)
    >>> lo, hi = stretch_limits([cube.isel(band=0)], stretch="minmax")[0]
    >>> lo < hi
    True
    """
    lo_p, hi_p = _check_stretch(stretch, percentiles, 1.0)
    if stretch == "minmax":
        lo_p, hi_p = 0.0, 100.0
    samples = compute(*[_sample(layer).data for layer in layers])
    out = []
    for s in samples:
        v = np.asarray(s, dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size == 0:
            out.append((0.0, 1.0))
            continue
        lo, hi = np.percentile(v, [lo_p, hi_p])
        out.append((float(lo), float(hi) if hi > lo else float(lo) + 1e-12))
    return out


def _rgba(
    layers: Sequence[xr.DataArray], limits: Sequence[tuple[float, float]], gamma: float
) -> xr.Dataset:
    """Lazy R, G, B (0-1) and A (0 where any band is NaN: transparent)."""
    out = {}
    valid = None
    for name, layer, (lo, hi) in zip("RGB", layers, limits):
        v = ((layer.astype("float32") - lo) / (hi - lo)).clip(0, 1)
        if gamma != 1:
            v = v ** (1 / gamma)
        ok = layer.notnull()
        valid = ok if valid is None else valid & ok
        out[name] = v.fillna(0).astype("float32")
    out["A"] = valid.astype("float32")
    return xr.Dataset(out)


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
    rgba, labels = _stretched(cube, bands, stretch, percentiles, gamma)
    title = title or f"R={labels[0]} G={labels[1]} B={labels[2]} ({stretch})"
    return _add_tiles(_rgb_view(rgba, cube, title), cube, tiles)


def _stretched(
    cube: xr.DataArray | xr.Dataset,
    bands: Sequence[str],
    stretch: Stretch = "percentile",
    percentiles: Sequence[float] = (2, 98),
    gamma: float = 1.8,
) -> tuple[xr.Dataset, list[str]]:
    """Lazy RGBA of three bands, stretched with limits from one sampled pass; band labels."""
    if len(bands) != 3:
        raise ParameterError(f"bands={bands!r}: give exactly three bands (red, green, blue).")
    _check_stretch(stretch, percentiles, gamma)
    layers = [_plain(_bands.select_band(cube, b)) for b in bands]
    limits = stretch_limits(layers, stretch=stretch, percentiles=percentiles)
    rgba = _rgba(layers, limits, gamma if stretch == "gamma" else 1.0)
    return rgba, [str(layer.name) for layer in layers]


def _rgb_view(rgba: xr.Dataset, cube: xr.DataArray | xr.Dataset, title: str) -> Any:
    ydim, xdim = spatial_dims(rgba)

    def build(ds: xr.Dataset) -> Any:
        def make(d: xr.Dataset) -> Any:
            return hv.RGB(d, kdims=[xdim, ydim], vdims=["R", "G", "B", "A"])

        view = _shrink(make, _plain(ds).transpose(ydim, xdim))
        return _map_opts(view, cube, title)

    return _with_time(rgba, build)


def _add_tiles(view: Any, cube: xr.DataArray | xr.Dataset, tiles: str | None) -> Any:
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


# ------------------------------------------------------------------------------ layers
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
    n = len(names)
    if n > len(CATEGORY_COLORS):
        raise ParameterError(f"{n} classes: at most {len(CATEGORY_COLORS)} can be told apart.")
    ydim, xdim = spatial_dims(da)
    data = _plain(da).astype("float32").rename(str(da.name or "class"))
    colors = list(CATEGORY_COLORS[:n])
    ticks = [(i, str(name)) for i, name in enumerate(names)]

    def make(d: xr.DataArray) -> Any:
        return hv.Image(d.transpose(ydim, xdim), kdims=[xdim, ydim])

    view = _style(
        _shrink(make, data),
        # the class names are the legend: no colour-bar title beside them
        dict(cmap=colors, clim=(-0.5, n - 0.5), colorbar=True, clipping_colors=_CLEAR, clabel=""),
        bokeh=dict(cticks=ticks, color_levels=n),
        matplotlib=dict(cbar_ticks=ticks),
    )
    return _map_opts(view, da, title or str(da.name or "classes"))


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
    data = _plain(da).rename(str(da.name or "value"))

    def make(d: xr.DataArray) -> Any:
        return hv.Image(d.transpose(ydim, xdim), kdims=[xdim, ydim])

    opts = dict(cmap=cmap, colorbar=True, clipping_colors=_CLEAR)
    if clim is not None:
        opts["clim"] = tuple(clim)
    label = hv.Dimension(data.name).pprint_label
    # holoviews draws the colour bar once: its title must follow each new frame of a DynamicMap
    view = _style(_shrink(make, data), opts, bokeh=dict(hooks=[_colorbar_title]))
    return _map_opts(view, da, title or str(da.attrs.get("long_name", da.name or "")), label)


def _colorbar_title(plot: Any, element: Any) -> None:
    """Bokeh hook: the colour bar is titled with the shown element's value dimension."""
    bar = plot.handles.get("colorbar")
    if bar is not None and element.vdims:
        bar.title = element.vdims[0].pprint_label


def _view(da: xr.DataArray, title: str | None, **kwargs: Any) -> Any:
    """RGB for a 3-band layer, else :func:`image` (time becomes a slider)."""
    dim = band_dim(da)
    if dim is not None and da.sizes[dim] == 3:
        return plot_rgb(da, bands=[str(b) for b in da[dim].values], title=title)
    if dim is not None:
        raise DimensionError(
            f"{da.name or 'layer'} has {da.sizes[dim]} bands: select one, or three for RGB."
        )
    return _with_time(da, lambda d: image(d, title=title, **kwargs))


# ------------------------------------------------------------------------------ explore
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
    from .indices import catalog, index

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


# ------------------------------------------------------------------------------ spectra
def _wavelength(cube: xr.DataArray) -> xr.DataArray:
    dim = band_dim(cube)
    if dim == "wavelength":
        return cube["wavelength"]
    if dim is not None and "wavelength" in cube.coords and cube["wavelength"].dims == (dim,):
        return cube["wavelength"]
    raise DimensionError(
        f"plot_spectra needs a wavelength for each band: the cube has dims {tuple(cube.dims)} and "
        f"coords {list(cube.coords)}. Add one, e.g. `cube.assign_coords(wavelength=('band', wl))`."
    )


def _bad_spans(wl: np.ndarray, bad: np.ndarray) -> list[tuple[float, float]]:
    """Contiguous runs of bad bands as (start, end) wavelength spans, half a step wide."""
    spans = []
    half = np.gradient(wl) / 2 if wl.size > 1 else np.ones_like(wl)
    i = 0
    while i < bad.size:
        if bad[i]:
            j = i
            while j + 1 < bad.size and bad[j + 1]:
                j += 1
            spans.append((float(wl[i] - half[i]), float(wl[j] + half[j])))
            i = j + 1
        else:
            i += 1
    return spans


def plot_spectra(
    cube: xr.DataArray,
    *,
    points: Sequence[tuple[float, float]] | None = None,
    bad_bands: xr.DataArray | Sequence[bool] | None = None,
) -> Any:
    """Spectra at map points against wavelength, with bad bands shaded.

    Parameters
    ----------
    cube : DataArray
        ``(band|wavelength, y, x)`` cube with a ``wavelength`` coordinate (nm).
    points : sequence of (x, y), optional
        Map coordinates; the nearest pixel is used. ``None``: a band image (the median band)
        with a tap stream, and beside it the spectrum at the last tapped point.
    bad_bands : DataArray or sequence of bool, optional
        Flags per band (e.g. from ``cube.eo.find_bad_bands()``); default: a boolean
        ``bad_band`` coordinate of the cube, if any.

    Returns
    -------
    holoviews.Overlay or Layout
        Curves (one per point) over shaded bad-band spans; with ``points=None`` the tap map and
        its spectrum.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_hsi
    >>> cube = synthetic_hsi(seed=0, shape=(16, 16)).cube
    >>> view = cube.eo.plot_spectra(points=[(float(cube.x[3]), float(cube.y[5]))])
    >>> type(view).__name__
    'Overlay'
    """
    wl = _wavelength(cube)
    dim = band_dim(cube)
    ydim, xdim = spatial_dims(cube)
    if bad_bands is None and "bad_band" in cube.coords:
        bad_bands = cube["bad_band"]
    bad = np.zeros(wl.size, bool) if bad_bands is None else np.asarray(bad_bands, dtype=bool)
    if bad.shape != (wl.size,):
        raise ParameterError(f"bad_bands has {bad.size} flags for {wl.size} bands.")
    spans = [
        _style(hv.VSpan(a, b), dict(alpha=0.5), bokeh=dict(color="gray"),
               matplotlib=dict(color=None, facecolor="gray"))
        for a, b in _bad_spans(wl.values, bad)
    ]  # fmt: skip
    units = cube.attrs.get("units", "")

    fmt = ",.0f" if _projected(cube) else ".5f"

    def curves(pts: Sequence[tuple[float, float]]) -> Any:
        items = []
        for i, (px, py) in enumerate(pts):
            spec = cube.sel({xdim: px, ydim: py}, method="nearest")
            data = xr.DataArray(
                spec.data, dims="wavelength", coords={"wavelength": wl.values}, name="value"
            )
            # named by the pixel used (its centre), not by the point asked for or tapped
            at = f"pixel ({float(spec[xdim]):{fmt}}, {float(spec[ydim]):{fmt}})"
            # fixed colours: a DynamicMap would cycle them, a new colour at each tap
            colour = CATEGORY_COLORS[i % len(CATEGORY_COLORS)]
            items.append(_style(hv.Curve(data, "wavelength", "value", label=at),
                                dict(framewise=True, color=colour)))  # fmt: skip
        over = hv.Overlay([*spans, *items])
        # One curve is named by the title, several by a legend beside the plot: never a legend
        # over the curve. framewise: each new tapped spectrum gets its own y range (a bright
        # pixel's curve would be off-screen in the range of the first one).
        one = len(items) == 1
        return _style(
            over,
            dict(xlabel="wavelength (nm)", ylabel=f"value ({units})" if units else "value",
                 framewise=True, show_legend=not one, title=str(items[0].label) if one else ""),
            bokeh=dict(width=500 if one else 640, height=300, legend_position="right"),
            matplotlib=dict(legend_position="right"),
        )  # fmt: skip

    if points is not None:
        pts = [(float(p[0]), float(p[1])) for p in points]
        if not pts:
            raise ParameterError("points is empty: give at least one (x, y) map coordinate.")
        return curves(pts)
    mid = cube.isel({dim: cube.sizes[dim] // 2})
    img = image(mid, cmap="gray", title=f"tap a pixel ({float(wl[cube.sizes[dim] // 2]):.0f} nm)")
    x0, y0 = float(cube[xdim][cube.sizes[xdim] // 2]), float(cube[ydim][cube.sizes[ydim] // 2])
    tap = hv.streams.Tap(source=img, x=x0, y=y0)
    return img + hv.DynamicMap(lambda x, y: curves([(x, y)]), streams=[tap])


# ------------------------------------------------------------------------------ save
def save(
    view: Any,
    filename: str | os.PathLike,
    *,
    title: str | None = None,
    embed: bool = False,
    max_states: int = 1000,
) -> Path:
    """Save a view as one HTML page that renders offline (no ``https://`` resource).

    Bokeh's JavaScript and Panel's stylesheets are written into the page. ``hvplot.save`` and
    ``holoviews.save`` instead embed EVERY state of every widget (for :func:`explore`: each
    layer x date x colour map, 25 MB for a small 4-date cube) and name Panel's icons on its CDN.

    Parameters
    ----------
    view : holoviews object
        What a verb returned, e.g. ``cube.eo.explore()``.
    filename : str or path
        The ``.html`` file written.
    title : str, optional
        The page's title (default: the file name).
    embed : bool
        ``False`` (default): the page shows the view's current state (its widgets' defaults,
        or the frame selected with ``view[...]``) and its widgets do not change it without a
        kernel. ``True``: every widget state is computed and embedded (what ``hvplot.save``
        does), at most ``max_states`` of them.
    max_states : int
        Limit of embedded states when ``embed=True``.

    Returns
    -------
    Path
        The file written.

    Examples
    --------
    >>> import tempfile, eoxr.testing as et
    >>> cube = et.make_cube(bands=["B02", "B03", "B04"], times=None)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = save(cube.eo.plot_rgb(stretch="minmax"), f"{tmp}/rgb.html")
    ...     "cdn.holoviz.org" in path.read_text()  # Panel's CSS is in the page
    False
    """
    from bokeh.resources import INLINE

    path = Path(filename)
    pn.panel(view).save(
        path,
        title=title or path.name,
        resources=INLINE,
        embed=embed,
        max_states=max_states,
        progress=False,
        # defined (empty): the page template then names no favicon on Panel's CDN
        template_variables={"app_favicon": "", "apple_icon": ""},
    )
    return path


# ------------------------------------------------------------------------------ compare
def _check_grids(cubes: Sequence[xr.DataArray]) -> None:
    ydim, xdim = spatial_dims(cubes[0])
    ref = cubes[0]
    for i, c in enumerate(cubes[1:], start=1):
        same = all(
            d in c.dims and c.sizes[d] == ref.sizes[d] and np.allclose(c[d].values, ref[d].values)
            for d in (ydim, xdim)
        )
        if not same or _crs_label(c) != _crs_label(ref):
            raise GridMismatchError(
                f"layer {i} is not on the grid of layer 0 (sizes {dict(c.sizes)} vs "
                f"{dict(ref.sizes)}, CRS {_crs_label(c)} vs {_crs_label(ref)}): reproject one "
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
    _check_grids([before, after])
    ydim, xdim = spatial_dims(before)
    x = before[xdim]
    lo, hi = float(x.min()), float(x.max())
    dim = band_dim(before)
    rgb = dim is not None and before.sizes[dim] == 3 and band_dim(after) == dim
    if rgb:  # each side keeps its own stretch: a cloudy date must not darken a clear one
        pair = [_stretched(c, [str(b) for b in c[dim].values])[0] for c in (before, after)]
    elif clim is None and class_names(after) is None and dim is None:
        # one colour range for both sides and every split: the colour bar must not change
        # when the line moves
        (a0, a1), (b0, b1) = stretch_limits([before, after])
        clim = (min(a0, b0), max(a1, b1))

    def frame(split: float) -> Any:
        at = lo + split * (hi - lo)
        left = x <= at  # the screen's left is the smallest x, whatever the order of the coord
        line = _style(
            hv.VLine(at), dict(color="white"), bokeh=dict(line_width=2),
            matplotlib=dict(linewidth=2),
        )  # fmt: skip
        if rgb:
            return _rgb_view(pair[1].where(~left, pair[0]), after, title) * line
        mixed = after.where(~left, before).rename(after.name)
        mixed.attrs = dict(after.attrs)
        return _view(mixed, title, **({} if clim is None else {"clim": clim})) * line

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
    if not cubes:
        raise ParameterError("compare needs at least one layer.")
    if titles is not None and len(titles) != len(cubes):
        raise ParameterError(f"{len(titles)} titles for {len(cubes)} layers.")
    _check_grids(list(cubes))
    titles = titles or [str(c.name or f"layer {i}") for i, c in enumerate(cubes)]
    # narrower maps side by side: a row must fit a notebook (~1150 px with colour bars)
    width = {1: 400, 2: 340}.get(min(len(cubes), cols), 210)
    views = [
        _style(_view(c, t, cmap=cmap, clim=clim), bokeh=dict(frame_width=width))
        for c, t in zip(cubes, titles)
    ]
    return hv.Layout(views).cols(cols)


__all__: list[Hashable] = [
    "plot_rgb",
    "explore",
    "plot_spectra",
    "swipe",
    "compare",
    "image",
    "categorical",
    "class_names",
    "stretch_limits",
    "hover_tooltips",
    "save",
]
