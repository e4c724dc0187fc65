"""Bad inputs to eoxr.plot: each raises a typed error whose message names the fix.

The views write nothing (they return holoviews objects), so there is no file state to check.
"""

import sys

import numpy as np
import pytest
import xarray as xr

from tests.conftest import require

require("holoviews", extra="viz")

import eoxr.plot as ep  # noqa: E402
from eoxr.errors import (  # noqa: E402
    BandNotFoundError,
    CatalogError,
    DimensionError,
    GridMismatchError,
    ParameterError,
)
from eoxr.testing import make_cube  # noqa: E402

RGB = ["B04", "B03", "B02"]


def _rgb_cube():
    return make_cube(bands=RGB, ny=8, nx=8, times=None)


def test_unknown_stretch():
    with pytest.raises(ParameterError, match=r"stretch='histeq'.*percentile"):
        _rgb_cube().eo.plot_rgb(stretch="histeq")


def test_band_not_present():
    with pytest.raises(BandNotFoundError, match="swir16"):
        _rgb_cube().eo.plot_rgb(bands=("swir16", "nir", "red"))


@pytest.mark.parametrize("pct", [(-1, 98), (2, 101), (98, 2), (50, 50)])
def test_percentiles_out_of_range(pct):
    with pytest.raises(ParameterError, match="0 <= low < high <= 100"):
        _rgb_cube().eo.plot_rgb(percentiles=pct)


def test_percentiles_not_two_numbers():
    with pytest.raises(ParameterError, match="two numbers"):
        _rgb_cube().eo.plot_rgb(percentiles=(2, 50, 98))


def test_gamma_not_positive():
    with pytest.raises(ParameterError, match="gamma=0"):
        _rgb_cube().eo.plot_rgb(stretch="gamma", gamma=0)


def test_rgb_needs_three_bands():
    with pytest.raises(ParameterError, match="exactly three bands"):
        _rgb_cube().eo.plot_rgb(bands=("red", "green"))


def test_plot_spectra_without_wavelength():
    cube = make_cube(bands=["x1", "x2", "x3"], ny=4, nx=4, times=None)
    with pytest.raises(DimensionError, match=r"wavelength.*assign_coords"):
        cube.eo.plot_spectra(points=[(float(cube.x[0]), float(cube.y[0]))])


def test_plot_spectra_bad_band_flags_of_wrong_length():
    cube = make_cube(bands=RGB, ny=4, nx=4, times=None)
    cube = cube.assign_coords(wavelength=("band", [665.0, 560.0, 490.0]))
    with pytest.raises(ParameterError, match="2 flags for 3 bands"):
        cube.eo.plot_spectra(points=[(float(cube.x[0]), float(cube.y[0]))], bad_bands=[True, False])


def test_plot_spectra_no_points():
    cube = make_cube(bands=RGB, ny=4, nx=4, times=None)
    cube = cube.assign_coords(wavelength=("band", [665.0, 560.0, 490.0]))
    with pytest.raises(ParameterError, match="at least one"):
        cube.eo.plot_spectra(points=[])


def test_swipe_of_mismatched_grids():
    a = make_cube(bands=["B04"], ny=8, nx=8, times=None).isel(band=0)
    b = make_cube(bands=["B04"], ny=8, nx=10, times=None).isel(band=0)
    with pytest.raises(GridMismatchError, match="reproject_match"):
        ep.swipe(a, b)


def test_compare_of_mismatched_crs():
    a = make_cube(bands=["B04"], ny=8, nx=8, times=None).isel(band=0)
    b = a.rio.write_crs("EPSG:32634")
    with pytest.raises(GridMismatchError, match="EPSG:32634 vs EPSG:32633"):
        ep.compare(a, b)


def test_compare_titles_count():
    a = make_cube(bands=["B04"], ny=8, nx=8, times=None).isel(band=0)
    with pytest.raises(ParameterError, match="1 titles for 2 layers"):
        ep.compare(a, a, titles=["only one"])


def test_explore_unknown_index():
    with pytest.raises(CatalogError, match="NOTANINDEX"):
        make_cube(bands=["B04", "B08"], ny=8, nx=8).eo.explore(indices=["NOTANINDEX"])


def test_image_with_extra_dim():
    cube = make_cube(bands=RGB, ny=8, nx=8, times=2).isel(band=0)
    with pytest.raises(DimensionError, match=r"isel\(time=0\)"):
        ep.image(cube)


def test_too_many_classes():
    m = xr.DataArray(np.arange(16).reshape(4, 4), dims=("y", "x"))
    with pytest.raises(ParameterError, match="at most 10"):
        ep.categorical(m, [f"c{i}" for i in range(16)])


def test_tiles_without_geoviews(monkeypatch):
    # geoviews is in no extra; hide it where it is installed, so that this test always runs
    monkeypatch.setitem(sys.modules, "geoviews", None)
    with pytest.raises(ParameterError, match="pip install geoviews"):
        _rgb_cube().eo.plot_rgb(tiles="OSM")
