"""The resources views need, set once when the first view is made (never at import).

Importing :mod:`eoxr.plot` leaves holoviews, bokeh, Panel and xarray as they were. The first view
(or a call of :func:`extension`) loads holoviews' bokeh backend with bokeh's JavaScript inlined
into the notebook, registers hvplot's ``.hvplot`` on xarray objects, and inlines Panel's
stylesheets wherever a view is rendered: plots and widgets then render without internet.
"""

from __future__ import annotations

from typing import Any

import holoviews as hv

_done = False


def inline_stylesheets(viewable: Any, root: Any) -> None:
    """Panel hook: stylesheets named by a CDN URL are replaced by the installed files' CSS.

    Panel names its widget, layout, loading-spinner and theme stylesheets by CDN URLs, in the
    notebook and in saved pages alike; offline each widget change then logs a network error.
    """
    from bokeh.models import UIElement
    from panel.io.notebook import patch_inline_stylesheets

    for model in root.select({"type": UIElement}):
        patch_inline_stylesheets(model)


def extension() -> None:
    """Set up the resources of eoxr's views: offline bokeh JavaScript, Panel CSS, ``.hvplot``.

    Every view verb calls it first, so a notebook needs no call. Call it at the top of a notebook
    (``import eoxr.plot; eoxr.plot.extension()``) to load the JavaScript there rather than in
    the output of the first view, or to use ``.hvplot`` before any view is made. Calling it again
    does nothing.

    It sets, once:

    - ``hv.extension.inline = True``, then loads holoviews' bokeh backend (current backend:
      bokeh) unless it is loaded: in a notebook, bokeh's JavaScript is written into the page;
    - imports ``hvplot.xarray``, which registers ``.hvplot`` on DataArray and Dataset;
    - ``panel.config.inline = True`` and a Panel preprocessing hook that inlines the stylesheets
      Panel names by CDN URLs (widgets, layouts, theme).

    Importing :mod:`eoxr.plot` changes none of these.

    Examples
    --------
    >>> import holoviews as hv
    >>> extension()
    >>> "bokeh" in hv.Store.loaded_backends()
    True
    """
    global _done
    if _done:
        return
    # bokeh's JavaScript inlined into notebooks: set before hvplot's first import loads it
    hv.extension.inline = True
    import hvplot.xarray  # noqa: F401  (registers .hvplot; its first import loads bokeh)
    import panel as pn

    if "bokeh" not in hv.Store.loaded_backends():
        hv.extension("bokeh", logo=False)
    pn.config.inline = True
    hooks = pn.viewable.Viewable._preprocessing_hooks
    if inline_stylesheets not in hooks:
        hooks.append(inline_stylesheets)
    _done = True
