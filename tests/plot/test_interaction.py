"""eoxr.plot under interaction and offline, checked without a browser (bokeh models).

What a reader sees after a widget change or a tap is a bokeh plot updated in place: these tests
render the views with holoviews' bokeh renderer, drive the widgets' keys or the tap stream, and
read the updated models. tests/browser drives the same views in JupyterLab.
"""

import re

import numpy as np
import pytest

from tests.conftest import require

hv = require("holoviews", extra="viz")
require("hvplot", extra="viz")

import eoxr.plot as ep  # noqa: E402
import eoxr.testing as et  # noqa: E402
from eoxr.datasets import synthetic_hsi  # noqa: E402

# what a page loads: <script src>, <link href>, and stylesheets Panel names by URL in the document
RESOURCE = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=[\"'](https?://[^\"']+)")
STYLESHEET_URL = re.compile(r"\"url\":\s*\"(https?://[^\"]+)\"")


@pytest.fixture(scope="module", autouse=True)
def backends():
    hv.extension("bokeh")
    yield


def _resources(html: str) -> list[str]:
    return RESOURCE.findall(html) + STYLESHEET_URL.findall(html)


@pytest.fixture(scope="module")
def cube():
    return et.make_cube(bands=["B02", "B03", "B04", "B08"], ny=24, nx=24, times=3)


def test_saved_pages_name_no_https_resource(tmp_path, cube):
    rgb = ep.save(cube.eo.plot_rgb(bands=("B04", "B03", "B02")), tmp_path / "rgb.html")
    explore = ep.save(cube.eo.explore(indices=["NDVI"]), tmp_path / "explore.html")
    for path in (rgb, explore):
        html = path.read_text()
        assert "bk-root" in html or "docs_json" in html  # a bokeh page
        assert _resources(html) == [], path.name
        # Panel's widget, layout and theme CSS are in the page itself
        assert "InlineStyleSheet" in html and ".bk-input" in html


def test_hvplot_save_inlines_panel_stylesheets(tmp_path, cube):
    import hvplot
    from bokeh.resources import INLINE

    hvplot.save(cube.eo.explore(indices=["NDVI"]), tmp_path / "hv.html", resources=INLINE)
    html = (tmp_path / "hv.html").read_text()
    # its template still names Panel's favicon (eoxr.plot.save does not); no stylesheet URL
    assert STYLESHEET_URL.findall(html) == []


def test_save_keeps_the_current_state_unless_asked(tmp_path, cube):
    view = cube.eo.explore(indices=["NDVI"])
    one = ep.save(view, tmp_path / "one.html").stat().st_size
    frame = ep.save(view[("NDVI", cube.time.values[2], "RdYlGn")], tmp_path / "frame.html")
    assert one < 4_000_000 and frame.stat().st_size < 4_000_000  # ~3 MB of bokeh JS + 1 map
    assert "NDVI" in frame.read_text()
    small = et.make_cube(bands=["B04", "B08"], ny=8, nx=8, times=2)
    all_states = ep.save(small.eo.explore(indices=["NDVI"], cmaps=["gray", "magma"]),
                         tmp_path / "all.html", embed=True)  # fmt: skip
    assert all_states.stat().st_size > one  # 3 layers x 2 dates x 2 colour maps embedded


def test_spectra_frame_range_includes_tapped_spectrum():
    cube = synthetic_hsi(seed=0, shape=(16, 16)).cube
    data = cube.values.copy()
    data[:, 3, 4] *= 50  # a very bright pixel
    cube = cube.copy(data=data)
    view = cube.eo.plot_spectra()
    plot = hv.renderer("bokeh").get_plot(view)
    spectrum = plot.subplots[(0, 1)].subplots["main"]
    y = spectrum.handles["y_range"]
    first = cube[:, 8, 8].values
    assert y.start <= np.nanmin(first) and np.nanmax(first) <= y.end
    view[1].streams[0].event(x=float(cube.x[4]), y=float(cube.y[3]))  # a tap on it
    bright = cube[:, 3, 4].values
    assert y.start <= np.nanmin(bright) and np.nanmax(bright) <= y.end  # not off-screen
    view[1].streams[0].event(x=float(cube.x[8]), y=float(cube.y[8]))
    assert y.end < np.nanmax(bright) / 5  # and back to the normal pixel's range


def test_spectra_named_by_the_pixel_used_and_no_legend_over_the_curve():
    cube = synthetic_hsi(seed=0, shape=(16, 16)).cube
    x, y = float(cube.x[4]), float(cube.y[3])
    step = float(cube.x[1] - cube.x[0])
    off = (x + 0.3 * step, y)  # a point off the pixel centre, as a tap is
    fig = hv.render(cube.eo.plot_spectra(points=[off]), backend="bokeh")
    assert fig.title.text == f"pixel ({x:,.0f}, {y:,.0f})"  # the centre of the pixel used
    assert not any(leg.items for leg in fig.legend)  # one curve: the title names it
    two = hv.render(cube.eo.plot_spectra(points=[off, (x, float(cube.y[9]))]), backend="bokeh")
    legend = two.legend[0]
    assert legend in two.right  # beside the plot area, not over the curves
    assert legend.items[0].label.value == f"pixel ({x:,.0f}, {y:,.0f})"


def test_explore_colorbar_title_and_hover_follow_the_layer(cube):
    view = cube.eo.explore(indices=["NDVI"])
    plot = hv.renderer("bokeh").get_plot(view)
    times = cube.time.values
    assert plot.handles["colorbar"].title == "B02 (1)"  # band label and units
    plot.update(("NDVI", times[1], "RdYlGn"))
    assert plot.handles["colorbar"].title.startswith("NDVI")
    assert plot.handles["hover"].tooltips[-1] == ("NDVI", "@image{0.0000}")
    plot.update(("B08", times[2], "gray"))
    assert plot.handles["colorbar"].title == "B08 (1)"


def test_hover_coordinates_formatted_like_the_axes(cube):
    from bokeh.models import HoverTool

    tips = hv.render(cube.isel(time=0).eo.plot_rgb(bands=("B04", "B03", "B02"))).select_one(
        {"type": HoverTool}
    )
    assert tips.tooltips == [("x", "$x{0,0}"), ("y", "$y{0,0}")]  # 500,005 not 5.000e+5
    geo = et.make_cube(bands=["B04"], ny=4, nx=4, times=None, crs="EPSG:4326")
    geo = geo.assign_coords(x=np.linspace(10, 10.3, 4), y=np.linspace(45.3, 45, 4))
    tips = hv.render(ep.image(geo.isel(band=0))).select_one({"type": HoverTool}).tooltips
    assert tips[:2] == [("x", "$x{0.00000}"), ("y", "$y{0.00000}")]


def test_swipe_one_colour_range_for_both_sides_and_every_split():
    cube = et.make_cube(bands=["B04"], ny=10, nx=20, times=None)
    before = cube.isel(band=0).rename("red")
    after = before * 3
    view = ep.swipe(before, after)
    ranges = set()
    for split in (0.1, 0.5, 0.9):
        img = view[split].traverse(lambda e: e, [hv.Image])[0]
        ranges.add(img.opts.get(backend="bokeh").kwargs["clim"])
    assert len(ranges) == 1
    (lo, hi) = ranges.pop()
    assert lo <= float(np.percentile(before, 2)) + 1e-6 and hi >= float(np.percentile(after, 98))
    # a slider of discrete steps (no number box that waits for focus to leave)
    assert view.kdims[0].values[:3] == [0.0, 0.02, 0.04] and view.kdims[0].default == 0.5
    assert "drag" in ep.swipe.__doc__ and "slider" in ep.swipe.__doc__
