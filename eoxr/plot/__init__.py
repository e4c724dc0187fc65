"""Interactive views of cubes: holoviews objects for JupyterLab, HTML and PNG.

Every verb returns a holoviews object: composable with ``+`` and ``*``, savable with
:func:`save` (or ``hvplot.save`` / ``holoviews.save``) and renderable without a running notebook.
holoviews is imported when this package is (the ``viz`` extra); ``import eoxr`` stays light.

Importing this package changes no global state of holoviews, bokeh, Panel or xarray. The first
view made (or :func:`extension`, which a notebook may call at its top) loads holoviews' bokeh
backend with bokeh's JavaScript inlined into the notebook, registers ``.hvplot``, and inlines
Panel's stylesheets (widgets, layouts, theme) wherever a view is rendered, so plots and widgets
render on a machine or a hub without internet. :func:`save` writes a page that loads nothing
from the internet.

Laziness: no verb computes a dask cube when called, except :func:`plot_rgb` and :func:`swipe`,
which compute their stretch or colour limits from a bounded, strided sample in one pass. Images
larger than ``MAX_PIXELS`` (a million) are rasterized by datashader (when installed; else
decimated) so that the browser never receives the full array.

One idea per module: ``_resources`` (what the first view sets up), ``_style`` (map axes,
tooltips, options per backend), ``_raster`` (large images, time sliders), ``_stretch`` (display
limits from a sample), ``_rgb`` (:func:`plot_rgb`), ``_layers`` (:func:`image`,
:func:`categorical`), ``_explore``, ``_spectra``, ``_compare`` (:func:`swipe`, :func:`compare`)
and ``_save``.
"""

from __future__ import annotations

from ._compare import compare, swipe
from ._explore import CMAPS, explore
from ._layers import categorical, class_names, image
from ._raster import MAX_PIXELS
from ._resources import extension
from ._rgb import plot_rgb
from ._save import save
from ._spectra import plot_spectra
from ._stretch import SAMPLE_SIDE, SAMPLE_TIMES, STRETCHES, Stretch, stretch_limits
from ._style import CATEGORY_COLORS, hover_tooltips

__all__ = [
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
    "extension",
    "CATEGORY_COLORS",
    "CMAPS",
    "MAX_PIXELS",
    "SAMPLE_SIDE",
    "SAMPLE_TIMES",
    "STRETCHES",
    "Stretch",
]
