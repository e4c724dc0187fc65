"""zonal vectors per polygon and the GeoParquet round trip."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from tests.conftest import require

gpd = require("geopandas", extra="ml")
require("pyarrow", extra="embed")
from shapely.geometry import Point, box  # noqa: E402

import eoxr.testing as et  # noqa: E402
from eoxr.embed import read_geoparquet, to_geoparquet, zonal  # noqa: E402
from eoxr.errors import ParameterError, ReadError, WriteError  # noqa: E402


def _emb(times: int | None = 2) -> xr.DataArray:
    rng = np.random.default_rng(1)
    shape = ((times,) if times else ()) + (5, 6, 7)
    dims = (("time",) if times else ()) + ("feature", "y", "x")
    coords = {"feature": np.arange(5), **et.make_grid_coords(6, 7, res=40.0)}
    if times:
        coords["time"] = np.array(["2024-01-01", "2024-02-01"], dtype="datetime64[ns]")
    da = xr.DataArray(rng.normal(size=shape).astype("float32"), dims=dims, coords=coords)
    da.attrs.update(patch=4, stride=4, pixel_size=[-10.0, 10.0], encoder="test")
    return da.rio.write_crs("EPSG:32633")


def test_zonal_means_of_centres_inside() -> None:
    emb = _emb(times=None)
    x, y = emb.x.values, emb.y.values
    polys = [
        box(x[1] - 1, y[3] - 1, x[3] + 1, y[2] + 1),  # 2 rows x 3 cols of centres
        box(x[5] - 3, y[4] - 3, x[5] + 3, y[4] + 3),  # tiny: no centre inside... but one
        box(x[0] + 5, y[0] - 8, x[0] + 7, y[0] - 6),  # tiny, no centre: its patch
    ]
    gdf = gpd.GeoDataFrame({"name": ["a", "b", "c"]}, geometry=polys, crs="EPSG:32633")
    out = zonal(emb, gdf)
    assert list(out["name"]) == ["a", "b", "c"] and out.crs == gdf.crs
    want = emb.isel(y=slice(2, 4), x=slice(1, 4)).mean(("y", "x")).values
    np.testing.assert_allclose(out["embedding"][0], want, rtol=1e-6)
    assert list(out["n_patches"]) == [6, 1, 1]
    np.testing.assert_allclose(out["embedding"][1], emb.values[:, 4, 5])
    np.testing.assert_allclose(out["embedding"][2], emb.values[:, 0, 0])
    med = zonal(emb, gdf, stats="max")
    np.testing.assert_allclose(med["embedding"][0], emb.values[:, 2:4, 1:4].max(axis=(1, 2)))


def test_zonal_other_crs_and_time_rows() -> None:
    emb = _emb()
    x, y = emb.x.values, emb.y.values
    gdf = gpd.GeoDataFrame(geometry=[Point(x[2], y[1])], crs="EPSG:32633").to_crs("EPSG:4326")
    out = zonal(emb, gdf)
    assert len(out) == 2 and list(out["time"]) == list(emb.time.values)
    np.testing.assert_allclose(out["embedding"][1], emb.values[1, :, 1, 2], rtol=1e-6)


def test_geoparquet_round_trip(tmp_path) -> None:
    emb = _emb()
    emb[0, :, 1, 1] = np.nan
    path = to_geoparquet(emb, tmp_path / "e.parquet")
    table = gpd.read_parquet(path)
    assert len(table) == 2 * 6 * 7 - 1 and table.crs == emb.rio.crs
    first = table.iloc[0]
    assert first.geometry.bounds == pytest.approx(
        (first["x"] - 20, first["y"] - 20, first["x"] + 20, first["y"] + 20)
    )
    back = read_geoparquet(path)
    xr.testing.assert_identical(back.drop_vars("spatial_ref"), emb.drop_vars("spatial_ref"))
    assert back.rio.crs == emb.rio.crs and back.attrs["encoder"] == "test"


def test_geoparquet_write_errors(tmp_path) -> None:
    emb = _emb(times=None)
    path = tmp_path / "e.parquet"
    path.write_bytes(b"keep")
    with pytest.raises(WriteError, match="overwrite=True"):
        to_geoparquet(emb, path)
    assert path.read_bytes() == b"keep"
    with pytest.raises(WriteError, match="does not exist"):
        to_geoparquet(emb, tmp_path / "no" / "e.parquet")
    gpd.GeoDataFrame(geometry=[Point(0, 0)]).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(ReadError, match="not written by"):
        read_geoparquet(tmp_path / "plain.parquet")
    with pytest.raises(ParameterError, match="stats="):
        zonal(emb, gpd.GeoDataFrame(geometry=[Point(0, 0)], crs=32633), stats="sum")
