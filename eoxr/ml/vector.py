"""Vector helpers (geopandas): sample pixels, zonal statistics, rasterize labels — CRS-aware.

Every function reprojects the vector data to the cube's CRS first (a vector without a CRS is
refused when the cube has one). Rasterisation follows GDAL's rule: a pixel belongs to a polygon
when its centre is inside (``all_touched=False``); where polygons overlap the later row wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._attrs import crs_of, finalize
from .._dask.stats import compute
from .._dims import spatial_dims
from ..bands import to_array
from ..errors import ParameterError

STATS = ("count", "mean", "std", "min", "max", "sum", "median")


def to_cube_crs(gdf: Any, cube: xr.DataArray | xr.Dataset) -> Any:
    """Check ``gdf`` is non-empty and return it in the cube's CRS."""
    if gdf is None or len(gdf) == 0:
        raise ParameterError("the GeoDataFrame is empty: pass at least one geometry.")
    crs = crs_of(cube)
    if crs is None:
        return gdf
    if gdf.crs is None:
        raise ParameterError(
            f"the GeoDataFrame has no CRS and the cube is in {crs}: declare it with "
            "`gdf.set_crs(...)` (or `gdf.set_crs(cube.rio.crs)` if it is already in the cube's)."
        )
    return gdf if gdf.crs == crs else gdf.to_crs(crs)


def _transform(cube: xr.DataArray | xr.Dataset) -> Any:
    ydim, xdim = spatial_dims(cube)
    return cube.rio.set_spatial_dims(x_dim=xdim, y_dim=ydim).rio.transform(recalc=True)


def _shape(cube: xr.DataArray | xr.Dataset) -> tuple[int, int]:
    ydim, xdim = spatial_dims(cube)
    return cube.sizes[ydim], cube.sizes[xdim]


def _burn(cube: Any, shapes: Any, fill: float, dtype: Any, all_touched: bool) -> np.ndarray:
    from rasterio import features

    pairs = [(g, v) for g, v in shapes if g is not None and not g.is_empty]
    if not pairs:
        return np.full(_shape(cube), fill, dtype=dtype)
    return features.rasterize(
        pairs,
        out_shape=_shape(cube),
        transform=_transform(cube),
        fill=fill,
        dtype=dtype,
        all_touched=all_touched,
    )


def rasterize(
    cube: xr.DataArray | xr.Dataset,
    gdf: Any,
    *,
    column: str | None = None,
    all_touched: bool = False,
) -> xr.DataArray:
    """Burn ``gdf`` into a float32 label raster on the cube's grid (NaN outside geometries).

    Numeric ``column`` values are burnt as they are; other values become codes ``0..n-1`` listed
    in the ``classes`` attr; no ``column`` burns 1.

    Parameters
    ----------
    cube : DataArray or Dataset
        Gives the grid (coordinates and CRS).
    gdf : GeoDataFrame
        Polygons or points (reprojected to the cube's CRS); where they overlap the later row wins.
    column : str, optional
        Column with the value (or class name) to burn.
    all_touched : bool
        Burn every pixel a geometry touches, not only those whose centre is inside.

    Returns
    -------
    DataArray
        float32 ``(y, x)`` on the cube's grid; NaN outside geometries.

    Examples
    --------
    >>> import geopandas as gpd, shapely, eoxr.testing as et
    >>> cube = et.make_cube(times=None)
    >>> poly = shapely.box(500_000, 5_099_800, 500_100, 5_099_900)
    >>> int(rasterize(cube, gpd.GeoDataFrame(geometry=[poly], crs=32633)).sum())
    100
    """
    gdf = to_cube_crs(gdf, cube)
    attrs: dict = {}
    if column is None:
        values = np.ones(len(gdf))
    elif column not in gdf.columns:
        raise ParameterError(f"column {column!r} not in the GeoDataFrame: {list(gdf.columns)}.")
    elif pd.api.types.is_numeric_dtype(gdf[column]):
        values = gdf[column].to_numpy(dtype=np.float64)
    else:
        classes, values = np.unique(gdf[column].astype(str).to_numpy(), return_inverse=True)
        attrs["classes"] = [str(c) for c in classes]
    burnt = _burn(cube, zip(gdf.geometry, values), np.nan, "float32", all_touched)
    ydim, xdim = spatial_dims(cube)
    out = xr.DataArray(burnt, dims=(ydim, xdim), coords={ydim: cube[ydim], xdim: cube[xdim]})
    return finalize(
        out,
        cube,
        name=column or "mask",
        long_name=f"rasterized {column or 'mask'}",
        attrs=attrs,
        history=f"rasterize(column={column!r}, all_touched={all_touched})",
    )


def _polygon_pixels(cube: Any, geom: Any, all_touched: bool) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of the pixels a geometry covers.

    Burnt on its bounding box only: a full-grid burn per polygon costs polygons x pixels on a
    large cube.
    """
    from affine import Affine
    from rasterio import features

    ny, nx = _shape(cube)
    if geom is None or geom.is_empty:
        return np.zeros(0, int), np.zeros(0, int)
    transform = _transform(cube)
    x0, y0, x1, y1 = geom.bounds
    c, r = ~transform * (np.array([x0, x0, x1, x1]), np.array([y0, y1, y0, y1]))
    # one pixel of margin: all_touched and centres on the bounds stay inside the window
    r0, r1 = max(int(np.floor(r.min())) - 1, 0), min(int(np.ceil(r.max())) + 1, ny)
    c0, c1 = max(int(np.floor(c.min())) - 1, 0), min(int(np.ceil(c.max())) + 1, nx)
    if r0 >= r1 or c0 >= c1:
        return np.zeros(0, int), np.zeros(0, int)
    mask = features.rasterize(
        [(geom, 1)],
        out_shape=(r1 - r0, c1 - c0),
        fill=0,
        dtype="uint8",
        transform=transform * Affine.translation(c0, r0),
        all_touched=all_touched,
    )
    r, c = np.nonzero(mask)
    return r + r0, c + c0


def _pixel_index(cube: Any, gdf: Any, all_touched: bool) -> tuple[np.ndarray, ...]:
    """``(row, col, source row number)`` of every pixel sampled by each geometry."""
    ny, nx = _shape(cube)
    inv = ~_transform(cube)
    rows, cols, src = [], [], []
    is_point = gdf.geom_type.isin(["Point"]).to_numpy()
    if is_point.any():
        pts = gdf.geometry[is_point]
        c, r = inv @ (pts.x.to_numpy(), pts.y.to_numpy())
        r, c = np.floor(r).astype(int), np.floor(c).astype(int)
        inside = (r >= 0) & (r < ny) & (c >= 0) & (c < nx)
        rows.append(r[inside])
        cols.append(c[inside])
        src.append(np.nonzero(is_point)[0][inside])
    for i in np.nonzero(~is_point)[0]:  # one burn per polygon: overlapping polygons keep all
        r, c = _polygon_pixels(cube, gdf.geometry.iloc[i], all_touched)
        rows.append(r)
        cols.append(c)
        src.append(np.full(r.size, i))
    return tuple(np.concatenate(a) if a else np.zeros(0, int) for a in (rows, cols, src))


def _values_at(
    da: xr.DataArray, rows: np.ndarray, cols: np.ndarray, other: list, progress: bool | None
) -> np.ndarray:
    """``(pixels, features)`` values of the given pixels (only those are computed, one pass)."""
    ydim, xdim = spatial_dims(da)
    pts = da.isel({ydim: xr.DataArray(rows, dims="_px"), xdim: xr.DataArray(cols, dims="_px")})
    n_feat = int(np.prod([da.sizes[d] for d in other]))
    # explicit width: a reshape to (0, -1) fails when no pixel falls on the grid
    (vals,) = compute(pts.transpose("_px", *other).data, progress=progress)
    return np.asarray(vals).reshape(rows.size, n_feat)


def _feature_names(da: xr.DataArray, dims: Sequence) -> list[str]:
    def fmt(v: Any) -> str:
        if isinstance(v, np.datetime64):
            return str(np.datetime_as_string(v, unit="D"))
        return str(v)

    idx = [da[d].values if d in da.coords else np.arange(da.sizes[d]) for d in dims]
    return ["_".join(fmt(v) for v in reversed(combo)) for combo in _product(idx)]


def _product(arrays: list) -> list[tuple]:
    import itertools

    return list(itertools.product(*arrays))


def sample(
    cube: xr.DataArray | xr.Dataset,
    gdf: Any,
    *,
    column: str | None = None,
    all_touched: bool = False,
    progress: bool | None = None,
) -> Any:
    """Pixel values at points and inside polygons, as a GeoDataFrame (one row per pixel).

    Columns: ``source`` (row number in ``gdf``), ``row``/``col`` (pixel indices), ``column``
    (when given) and one column per band (``<band>_<time>`` with extra dims); geometry is the
    pixel centre in the cube's CRS. Only the sampled pixels of a lazy cube are computed.

    Parameters
    ----------
    cube : DataArray or Dataset
        Cube to sample.
    gdf : GeoDataFrame
        Points (the pixel containing each) or polygons (every pixel inside).
    column : str, optional
        Column of ``gdf`` copied onto each sampled pixel (e.g. the class).
    all_touched : bool
        Polygons: take every pixel they touch, not only those whose centre is inside.
    progress : bool, optional
        Progress bar while the pixels are read: ``None`` shows it in interactive sessions only.

    Returns
    -------
    GeoDataFrame
        One row per sampled pixel.

    Examples
    --------
    >>> import geopandas as gpd, shapely, eoxr.testing as et
    >>> cube = et.make_cube(times=None)
    >>> pts = gpd.GeoDataFrame(geometry=[shapely.Point(500_015, 5_099_985)], crs=32633)
    >>> table = sample(cube, pts)
    >>> list(table.columns[:4]), int(table.row[0]), int(table.col[0])
    (['source', 'row', 'col', 'B02'], 1, 1)
    """
    import geopandas as gpd

    gdf = to_cube_crs(gdf, cube)
    da = to_array(cube)
    ydim, xdim = spatial_dims(da)
    rows, cols, src = _pixel_index(da, gdf, all_touched)
    other = [d for d in da.dims if d not in (ydim, xdim)]
    vals = _values_at(da, rows, cols, other, progress)
    table = pd.DataFrame(vals, columns=_feature_names(da, other))
    table.insert(0, "col", cols)
    table.insert(0, "row", rows)
    table.insert(0, "source", gdf.index.to_numpy()[src])
    if column is not None:
        table.insert(1, column, gdf[column].to_numpy()[src])
    geom = gpd.points_from_xy(da[xdim].values[cols], da[ydim].values[rows])
    return gpd.GeoDataFrame(table, geometry=geom, crs=crs_of(cube))


def zonal_stats(
    cube: xr.DataArray | xr.Dataset,
    gdf: Any,
    *,
    stats: str | Sequence[str] = ("mean", "std", "count"),
    all_touched: bool = False,
    progress: bool | None = None,
) -> Any:
    """Statistics of every band inside each geometry: the GeoDataFrame plus ``<band>_<stat>``.

    ``std`` is the population standard deviation; NaN pixels are left out; a geometry covering
    no valid pixel gets count 0 and NaN statistics. Only the pixels inside geometries are
    computed.

    Parameters
    ----------
    cube : DataArray or Dataset
        Cube to summarise.
    gdf : GeoDataFrame
        Zones (polygons, or points for single pixels); reprojected to the cube's CRS.
    stats : str or sequence of str
        Any of ``count``, ``mean``, ``std``, ``min``, ``max``, ``sum``, ``median`` (one column
        each).
    all_touched : bool
        Count every pixel a polygon touches, not only those whose centre is inside.
    progress : bool, optional
        Progress bar while the pixels are read: ``None`` shows it in interactive sessions only.

    Returns
    -------
    GeoDataFrame
        A copy of ``gdf`` with one column ``<band>_<stat>`` per band and statistic.

    Examples
    --------
    >>> import geopandas as gpd, shapely, eoxr.testing as et
    >>> cube = et.make_cube(times=None)
    >>> zone = shapely.box(500_000, 5_099_800, 500_100, 5_099_900)
    >>> out = zonal_stats(cube, gpd.GeoDataFrame(geometry=[zone], crs=32633), stats="count")
    >>> int(out["B08_count"][0])
    100
    """
    stats = [stats] if isinstance(stats, str) else list(stats)
    bad = [s for s in stats if s not in STATS]
    if bad:
        raise ParameterError(f"unknown stats {bad}; choose from {list(STATS)}.")
    work = to_cube_crs(gdf, cube)
    da = to_array(cube)
    ydim, xdim = spatial_dims(da)
    rows, cols, src = _pixel_index(da, work, all_touched)
    other = [d for d in da.dims if d not in (ydim, xdim)]
    vals = _values_at(da, rows, cols, other, progress)
    out = gdf.copy()
    for name, v in zip(_feature_names(da, other), vals.T):
        frame = pd.DataFrame({"zone": src, "v": v}).dropna()
        grouped = frame.groupby("zone")["v"]
        for s in stats:
            res = grouped.agg("std", ddof=0) if s == "std" else grouped.agg(s)
            col = np.full(len(gdf), 0 if s == "count" else np.nan)
            col[res.index.to_numpy()] = res.to_numpy()
            out[f"{name}_{s}"] = col
    return out
