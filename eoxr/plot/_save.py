"""Views saved as one HTML page that renders offline."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ._resources import extension


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
    extension()  # resources: set once, by the first view
    import panel as pn
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
