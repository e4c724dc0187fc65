"""Vector helpers: rasterize, sample, zonal_stats — known values, CRS handling, errors."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require

gpd = require("geopandas", extra="ml")
import shapely  # noqa: E402

import eoxr.testing as et  # noqa: E402
from eoxr.errors import ParameterError  # noqa: E402

CUBE = et.make_cube(ny=20, nx=20, times=2, seed=1)  # 10 m grid from (500000, 5100000)
BOX = shapely.box(500_050, 5_099_850, 500_100, 5_099_900)  # rows 10..14, cols 5..9: 25 px
PT = shapely.Point(500_125, 5_099_985)  # row 1, col 12


def _gdf(crs: str = "EPSG:32633") -> gpd.GeoDataFrame:
    g = gpd.GeoDataFrame(
        {"cls": ["field", "tree"], "id": [3.0, 7.0]}, geometry=[BOX, PT], crs="EPSG:32633"
    )
    return g.to_crs(crs)


def test_rasterize_values_and_classes() -> None:
    lab = CUBE.eo.rasterize(_gdf(), column="id")
    assert lab.dims == ("y", "x") and lab.rio.crs == CUBE.rio.crs
    assert int((lab == 3).sum()) == 25 and bool((lab[10:15, 5:10] == 3).all())
    assert lab[1, 12].item() == 7.0 and int(lab.notnull().sum()) == 26
    codes = CUBE.eo.rasterize(_gdf(), column="cls")
    assert codes.attrs["classes"] == ["field", "tree"] and codes[1, 12].item() == 1


def test_reprojected_labels_match() -> None:
    here = CUBE.eo.rasterize(_gdf(), column="id").values
    there = CUBE.eo.rasterize(_gdf("EPSG:4326"), column="id").values
    # the reprojected box edges move by ~1e-6 m: the same pixel centres are inside
    np.testing.assert_array_equal(np.isnan(there), np.isnan(here))
    np.testing.assert_array_equal(there[~np.isnan(here)], here[~np.isnan(here)])


def test_sample_points_and_polygons() -> None:
    s = CUBE.eo.sample(_gdf("EPSG:4326"), column="cls")
    assert len(s) == 26 and s.crs == CUBE.rio.crs
    pt = s[s.cls == "tree"].iloc[0]
    assert (pt.row, pt.col) == (1, 12)
    assert pt["B04_2024-01-17"] == pytest.approx(float(CUBE.sel(band="B04")[1, 1, 12]))
    assert set(s[s.cls == "field"].row) == set(range(10, 15))


def test_zonal_stats_known_values() -> None:
    z = CUBE.isel(time=0).eo.zonal_stats(_gdf(), stats=["mean", "std", "count", "max"])
    block = CUBE.isel(time=0).sel(band="B08")[10:15, 5:10].values
    assert z.loc[0, "B08_count"] == 25
    assert z.loc[0, "B08_mean"] == pytest.approx(block.mean(), rel=1e-6)
    assert z.loc[0, "B08_std"] == pytest.approx(block.std(), rel=1e-5)
    assert z.loc[1, "B08_max"] == pytest.approx(float(CUBE.isel(time=0).sel(band="B08")[1, 12]))


def test_errors() -> None:
    empty = gpd.GeoDataFrame(geometry=[], crs="EPSG:32633")
    with pytest.raises(ParameterError, match="empty"):
        CUBE.eo.rasterize(empty)
    with pytest.raises(ParameterError, match="no CRS"):
        CUBE.eo.sample(gpd.GeoDataFrame(geometry=[PT]))
    with pytest.raises(ParameterError, match="unknown stats"):
        CUBE.eo.zonal_stats(_gdf(), stats=["mode"])


def test_geometries_partly_or_wholly_outside_the_cube() -> None:
    cube = CUBE.isel(time=0)
    # half of the box lies west of the grid: only the 5 x 3 pixels inside are used
    half = shapely.box(499_900, 5_099_850, 500_030, 5_099_900)
    out = shapely.box(400_000, 5_000_000, 400_100, 5_000_100)
    g = gpd.GeoDataFrame({"cls": ["half", "out"]}, geometry=[half, out], crs="EPSG:32633")
    for frame in (g, g.to_crs("EPSG:4326")):
        s = cube.eo.sample(frame, column="cls")
        assert len(s) == 15 and set(s.col) == {0, 1, 2} and set(s.row) == set(range(10, 15))
        z = cube.eo.zonal_stats(frame, stats=["count", "mean"])
        assert list(z["B02_count"]) == [15, 0] and np.isnan(z.loc[1, "B02_mean"])
        want = cube.sel(band="B02")[10:15, 0:3].values.mean()
        assert z.loc[0, "B02_mean"] == pytest.approx(want, rel=1e-6)
        lab = cube.eo.rasterize(frame, column="cls")
        assert int(lab.notnull().sum()) == 15 and bool((lab[10:15, 0:3] == 0).all())


def test_nothing_on_the_grid_gives_empty_results() -> None:
    # used to fail with "cannot reshape array of size 0"
    far = gpd.GeoDataFrame({"cls": ["a"]}, geometry=[shapely.Point(0, 0)], crs="EPSG:32633")
    s = CUBE.eo.sample(far, column="cls")
    assert len(s) == 0 and "B02_2024-01-17" in s.columns
    z = CUBE.eo.zonal_stats(far)
    assert z.loc[0, "B02_2024-01-17_count"] == 0 and np.isnan(z.loc[0, "B02_2024-01-17_mean"])


@pytest.mark.parametrize("all_touched", [False, True])
def test_window_burn_equals_full_grid_burn(all_touched: bool) -> None:
    from eoxr.ml import vector

    cube = CUBE.isel(time=0)
    rng = np.random.default_rng(1)
    geoms = [
        shapely.Point(500_000 + rng.uniform(-50, 250), 5_100_000 - rng.uniform(-50, 250)).buffer(
            rng.uniform(3, 60)
        )
        for _ in range(25)
    ]
    geoms += [
        shapely.box(499_000, 5_090_000, 501_000, 5_101_000),  # covers the whole grid
        shapely.LineString([(500_001, 5_099_999), (500_150, 5_099_870)]),
    ]
    for geom in geoms:
        full = vector._burn(cube, [(geom, 1)], 0, "uint8", all_touched)
        rows, cols = vector._polygon_pixels(cube, geom, all_touched)
        np.testing.assert_array_equal(np.stack(np.nonzero(full)), np.stack([rows, cols]))
