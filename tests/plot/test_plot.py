"""eoxr.plot: every verb returns a holoviews object, stays lazy, and renders to PNG."""

import io

import numpy as np
import pytest
import xarray as xr

from tests.conftest import require

hv = require("holoviews", extra="viz")
require("hvplot", extra="viz")

import eoxr.plot as ep  # noqa: E402
import eoxr.testing as et  # noqa: E402
from eoxr._dask.chunking import is_dask  # noqa: E402
from eoxr.datasets import synthetic_hsi, synthetic_s2  # noqa: E402
from eoxr.plot import _raster as raster  # noqa: E402
from eoxr.plot import _stretch as stretch  # noqa: E402
from eoxr.testing import raise_if_dask_computes  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def backends():
    hv.extension("bokeh", "matplotlib")  # bokeh current: as in a notebook
    yield


def _png(view, tmp_path, name="v.png"):
    """Render with the matplotlib backend (no browser) and return the distinct-colour count."""
    from PIL import Image

    path = tmp_path / name
    hv.save(view, path, backend="matplotlib")
    img = Image.open(path).convert("RGB")
    return len(img.getcolors(maxcolors=1 << 20) or [])


def _ramp(ny=20, nx=30, nan_at=None):
    """Three bands: 0..599 ramp, its double, and a constant 5 (known stretch limits)."""
    base = np.arange(ny * nx, dtype="float32").reshape(ny, nx)
    data = np.stack([base, 2 * base, np.full_like(base, 5)])
    if nan_at is not None:
        data[(slice(None), *nan_at)] = np.nan
    cube = et.make_cube(bands=["B04", "B03", "B02"], ny=ny, nx=nx, times=None)
    return cube.copy(data=data)


def test_plot_rgb_is_lazy_except_one_sampled_pass():
    cube = et.make_cube(bands=["B02", "B03", "B04"], ny=64, nx=64, times=None, chunks={"x": 16})
    with raise_if_dask_computes(max_computes=1) as sched:
        view = cube.eo.plot_rgb(stretch="percentile")
    assert sched.total == 1  # the stretch sample, computed once for the three bands
    assert isinstance(view, hv.RGB)
    assert is_dask(view.data["R"])  # the image itself is still lazy


def test_stretch_sample_is_bounded_on_a_large_cube():
    cube = et.make_cube(bands=["B02", "B03", "B04"], ny=2048, nx=1536, times=None)
    cube = cube.chunk({"y": 512, "x": 512})
    layer = cube.isel(band=0)
    assert dict(stretch.sample(layer).sizes) == {"y": 512, "x": 512}  # steps 4 and 3
    (lo, hi), *_ = ep.stretch_limits([layer], stretch="minmax")
    # the sample's range, inside the full range (the generator is uniform in [0.01, 0.6))
    assert 0.01 <= lo < 0.011 and 0.599 < hi < 0.6


def test_stretch_limits_known_values():
    cube = _ramp()
    layers = [cube.isel(band=i) for i in range(3)]
    pct = ep.stretch_limits(layers, stretch="percentile", percentiles=(2, 98))
    np.testing.assert_allclose(pct[0], np.percentile(np.arange(600), [2, 98]))
    np.testing.assert_allclose(pct[1], 2 * np.percentile(np.arange(600), [2, 98]))
    assert ep.stretch_limits(layers, stretch="minmax")[0] == (0.0, 599.0)
    lo, hi = ep.stretch_limits(layers, stretch="minmax")[2]  # constant band: no division by zero
    assert lo == 5.0 and hi > lo


def test_plot_rgb_values_and_gamma():
    cube = _ramp()
    view = cube.eo.plot_rgb(bands=("red", "green", "blue"), stretch="minmax")
    r = view.data["R"].values
    np.testing.assert_allclose(r, np.arange(600).reshape(20, 30) / 599, atol=1e-6)
    gam = cube.eo.plot_rgb(stretch="gamma", percentiles=(0, 100), gamma=2.0)
    np.testing.assert_allclose(gam.data["R"].values, np.sqrt(r), atol=1e-6)


def test_nan_pixels_are_transparent(tmp_path):
    cube = _ramp(nan_at=(slice(0, 5), slice(0, 5)))
    view = cube.eo.plot_rgb()
    alpha = view.data["A"].values
    assert (alpha[:5, :5] == 0).all() and (alpha[5:, :] == 1).all()
    assert np.isfinite(view.data["R"].values).all()  # NaN never reaches the renderer
    assert _png(view, tmp_path) > 20


def test_plot_rgb_map_axes_and_time_slider(tmp_path):
    scene = synthetic_s2(seed=0, shape=(48, 48), times=3, chunks={"y": 24, "x": 24})
    view = scene.cube.eo.plot_rgb()
    assert isinstance(view, hv.DynamicMap) and view.kdims[0].name == "time"
    assert len(view.kdims[0].values) == 3
    frame = view[view.kdims[0].values[1]]
    opts = frame.opts.get(backend="bokeh").kwargs
    assert opts["xlabel"] == "x (EPSG:32633)" and opts["ylabel"] == "y (EPSG:32633)"
    assert opts["xformatter"] == "%.0f"  # no run-together scientific tick labels
    assert _png(frame, tmp_path) > 50


def test_explore_offers_bands_indices_time_and_cmaps():
    cube = et.make_cube(bands=["B04", "B08"], ny=16, nx=16, times=2, chunks={"x": 8})
    with raise_if_dask_computes():
        view = cube.eo.explore(indices=["NDVI"])
        frame = view["NDVI", cube.time.values[1], "RdYlGn"]
    assert [d.name for d in view.kdims] == ["layer", "time", "cmap"]
    assert view.kdims[0].values == ["B04", "B08", "NDVI"]
    expected = cube.eo.index("NDVI").isel(time=1).values
    np.testing.assert_allclose(frame.dimension_values(2, flat=False)[::-1], expected, rtol=1e-6)
    assert frame.opts.get().kwargs["cmap"] == "RdYlGn"


def test_explore_default_indices_are_those_the_cube_can_compute():
    cube = et.make_cube(bands=["B02", "B04", "B08"], ny=8, nx=8, times=None)
    layers = cube.eo.explore().kdims[0].values
    assert {"B02", "NDVI", "EVI"} <= set(layers) and "NBR" not in layers  # NBR needs SWIR


def test_large_images_are_rasterized_or_decimated(monkeypatch):
    cube = et.make_cube(bands=["B04"], ny=64, nx=64, times=None, chunks={"x": 32})
    monkeypatch.setattr(raster, "MAX_PIXELS", 256)
    view = ep.image(cube.isel(band=0))
    assert isinstance(view, hv.DynamicMap)  # datashader's rasterize: sized to the screen
    monkeypatch.setattr(raster, "has_datashader", lambda: False)
    small = ep.image(cube.isel(band=0))
    assert isinstance(small, hv.Image) and small.data.sizes["y"] * small.data.sizes["x"] <= 256


def test_plot_spectra_points_and_bad_bands(tmp_path):
    scene = synthetic_hsi(seed=0, shape=(16, 16))
    cube = scene.cube
    bad = cube.eo.find_bad_bands(noise="diff")
    pts = [(float(cube.x[3]), float(cube.y[5])), (float(cube.x[10]), float(cube.y[2]))]
    view = cube.eo.plot_spectra(points=pts, bad_bands=bad)
    curves = view.traverse(lambda e: e, [hv.Curve])
    spans = view.traverse(lambda e: e, [hv.VSpan])
    assert len(curves) == 2
    np.testing.assert_allclose(curves[0].dimension_values("value"), cube[:, 5, 3].values)
    np.testing.assert_allclose(curves[0].dimension_values("wavelength"), cube.wavelength.values)
    runs = int((np.diff(np.r_[0, bad.values.astype(int)]) == 1).sum())
    assert len(spans) == runs > 0
    lo, hi = spans[0].data
    assert lo < float(cube.wavelength[bad.values][0]) < hi
    assert _png(view, tmp_path) > 10


def test_plot_spectra_tap_stream():
    cube = synthetic_hsi(seed=0, shape=(16, 16)).cube
    view = cube.eo.plot_spectra()
    assert isinstance(view, hv.Layout) and len(view) == 2
    dmap = view[1] if isinstance(view[1], hv.DynamicMap) else view.DynamicMap.I
    tap = dmap.streams[0]
    assert isinstance(tap, hv.streams.Tap)
    tap.event(x=float(cube.x[7]), y=float(cube.y[4]))
    curve = dmap[()].traverse(lambda e: e, [hv.Curve])[0]
    np.testing.assert_allclose(curve.dimension_values("value"), cube[:, 4, 7].values)


def test_categorical_maps_have_class_colours_and_a_legend(tmp_path):
    from bokeh.models import ColorBar

    scene = synthetic_s2(seed=0, shape=(32, 32), times=2)
    lc, change = scene.extras["landcover"], scene.change
    assert ep.class_names(lc) == ["water", "forest", "cropland", "grassland", "urban"]
    assert ep.class_names(change) == ["no change", "change"]
    view = ep.compare(lc, change)
    assert isinstance(view, hv.Layout) and len(view) == 2
    img = view[0]
    opts = img.opts.get(backend="bokeh").kwargs
    assert opts["clim"] == (-0.5, 4.5) and len(opts["cmap"]) == 5
    fig = hv.render(view, backend="bokeh")
    bars = list(fig.select({"type": ColorBar}))
    labels = [set(b.major_label_overrides.values()) for b in bars]
    assert len(labels) == 2  # one legend per map (select() does not keep the layout order)
    assert any({"water", "urban"} <= lab for lab in labels)
    assert any({"no change", "change"} <= lab for lab in labels)
    assert _png(view, tmp_path) > 5


def test_class_names_from_attrs_and_cf_flags():
    flags = xr.DataArray(
        [[0, 1]], dims=("y", "x"), attrs={"flag_values": [0, 1], "flag_meanings": "land sea"}
    )
    assert ep.class_names(flags) == ["land", "sea"]
    named = xr.DataArray([[0, 2]], dims=("y", "x"), attrs={"class_names": ["a", "b", "c"]})
    assert ep.class_names(named) == ["a", "b", "c"]
    assert ep.class_names(xr.DataArray([[0.5]], dims=("y", "x"))) is None


def test_swipe_splits_before_and_after():
    cube = et.make_cube(bands=["B04"], ny=10, nx=20, times=None)
    before = cube.isel(band=0).rename("red")
    after = before * 0 + 1
    view = ep.swipe(before, after)
    assert isinstance(view, hv.DynamicMap) and view.kdims[0].name == "split"
    img = view[0.5].traverse(lambda e: e, [hv.Image])[0]
    vals = img.dimension_values(2, flat=False)[::-1]
    x = cube.x.values
    left = x <= x.min() + 0.5 * (x.max() - x.min())
    np.testing.assert_allclose(vals[:, left], before.values[:, left])
    assert (vals[:, ~left] == 1).all() and left.sum() == 10


def test_compare_shares_axes_and_accepts_rgb(tmp_path):
    cube = et.make_cube(bands=["B02", "B03", "B04"], ny=16, nx=16, times=None)
    view = ep.compare(cube, cube.isel(band=0), titles=["rgb", "blue"])
    assert isinstance(view[0], hv.RGB) and isinstance(view[1], hv.Image)
    assert view[0].kdims == view[1].kdims  # same dims: linked zoom and pan in the layout
    assert _png(view, tmp_path) > 20


def test_html_is_self_contained(tmp_path):
    import hvplot
    from bokeh.resources import INLINE

    assert hv.extension.inline is True  # set by importing eoxr.plot
    view = ep.image(et.make_cube(times=None).isel(band=0))
    hvplot.save(view, tmp_path / "v.html", resources=INLINE)
    html = (tmp_path / "v.html").read_text()
    assert "cdn.bokeh.org" not in html and len(html) > 1_000_000


def test_bokeh_render_has_map_labels():
    fig = hv.render(_ramp().eo.plot_rgb(), backend="bokeh")
    assert fig.xaxis[0].axis_label == "x (EPSG:32633)"


def test_quicklook_png_through_the_verbs(tmp_path):
    from eoxr.demo import quicklook

    cube = et.make_cube(bands=["B04", "B03", "B02"], ny=24, nx=24, times=None)
    path = quicklook(cube, tmp_path / "q.png", "test")
    assert path.stat().st_size > 1000
    buf = io.BytesIO(path.read_bytes())
    assert buf.read(8) == b"\x89PNG\r\n\x1a\n"


def test_swipe_rgb_keeps_each_stretch():
    cube = _ramp()
    before, after = cube, cube * 10  # same picture, ten times brighter
    view = ep.swipe(before, after)
    rgb = view[0.3].traverse(lambda e: e, [hv.RGB])[0]
    r = rgb.dimension_values("R", flat=False)[::-1]
    expected = cube.eo.plot_rgb().data["R"].values  # identical after each side's own stretch
    np.testing.assert_allclose(r, expected, atol=1e-6)


def test_compare_one_colour_range():
    a = et.make_cube(bands=["B04"], ny=8, nx=8, times=None).isel(band=0)
    view = ep.compare(a, a * 2, cmap="gray", clim=(0.0, 1.0))
    for img in view:
        opts = img.opts.get(backend="bokeh").kwargs
        assert opts["clim"] == (0.0, 1.0) and opts["cmap"] == "gray"
