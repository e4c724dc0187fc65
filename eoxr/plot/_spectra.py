"""Spectra against wavelength at map points, with bad bands shaded; a tap map picks the point."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import holoviews as hv
import numpy as np
import xarray as xr

from .._dims import band_dim, spatial_dims
from ..errors import DimensionError, ParameterError
from ._layers import image
from ._resources import extension
from ._style import CATEGORY_COLORS, projected, style


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
    extension()  # resources: set once, by the first view
    wl = _wavelength(cube)
    dim = band_dim(cube)
    ydim, xdim = spatial_dims(cube)
    if bad_bands is None and "bad_band" in cube.coords:
        bad_bands = cube["bad_band"]
    bad = np.zeros(wl.size, bool) if bad_bands is None else np.asarray(bad_bands, dtype=bool)
    if bad.shape != (wl.size,):
        raise ParameterError(f"bad_bands has {bad.size} flags for {wl.size} bands.")
    spans = [
        style(hv.VSpan(a, b), dict(alpha=0.5), bokeh=dict(color="gray"),
               matplotlib=dict(color=None, facecolor="gray"))
        for a, b in _bad_spans(wl.values, bad)
    ]  # fmt: skip
    units = cube.attrs.get("units", "")

    fmt = ",.0f" if projected(cube) else ".5f"

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
            items.append(style(hv.Curve(data, "wavelength", "value", label=at),
                                dict(framewise=True, color=colour)))  # fmt: skip
        over = hv.Overlay([*spans, *items])
        # One curve is named by the title, several by a legend beside the plot: never a legend
        # over the curve. framewise: each new tapped spectrum gets its own y range (a bright
        # pixel's curve would be off-screen in the range of the first one).
        one = len(items) == 1
        return style(
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
