"""Change masks to polygons: `mask.eo.vectorize(min_area=...)` -> GeoDataFrame, area totals."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._attrs import crs_of
from .._dask.stats import compute
from .._dims import spatial_dims
from ..errors import DataTypeError, DimensionError, ParameterError


def vectorize(
    mask: xr.DataArray,
    *,
    min_area: float = 0.0,
    connectivity: int = 4,
    progress: bool | None = None,
):
    """Polygons of the True pixels of a change mask, with their areas and the totals.

    The mask is a global product: it is computed in one pass (with a progress bar when
    interactive) and traced with :func:`rasterio.features.shapes` on the cube's affine grid.

    Parameters
    ----------
    mask : DataArray
        Boolean ``(y, x)`` mask with a regular grid (e.g. ``change`` of ``a.eo.change(b)``);
        NaN / False are background.
    min_area : float
        Drop polygons smaller than this, in squared CRS units (m^2 for a projected CRS).
    connectivity : {4, 8}
        Pixel connectivity of a polygon.
    progress : bool, optional
        Progress bar while the mask is computed: ``None`` shows it in interactive sessions only.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per polygon: ``geometry`` and ``area``, in the mask's CRS. The totals are in
        ``gdf.attrs``: ``total_area`` (kept polygons), ``n_polygons``, ``n_dropped``
        (polygons below ``min_area``), ``changed_fraction`` (of the valid mask pixels) and
        ``crs``.

    Examples
    --------
    >>> import numpy as np, xarray as xr, rioxarray
    >>> m = np.zeros((6, 6), bool); m[1:3, 1:3] = True; m[5, 5] = True
    >>> da = xr.DataArray(m, dims=("y", "x"), coords={"y": 55.0 - 10 * np.arange(6),
    ...                   "x": 5.0 + 10 * np.arange(6)}).rio.write_crs("EPSG:32633")
    >>> gdf = vectorize(da, min_area=150)
    >>> len(gdf), float(gdf.area.sum()), gdf.attrs["n_dropped"], gdf.crs.to_epsg()
    (1, 400.0, 1, 32633)
    """
    import geopandas as gpd
    from rasterio import features
    from shapely.geometry import shape

    if not isinstance(mask, xr.DataArray):
        raise DataTypeError(f"vectorize expects a DataArray mask, got {type(mask).__name__}.")
    if connectivity not in (4, 8):
        raise ParameterError(f"connectivity={connectivity!r} is not valid; choose one of [4, 8].")
    if min_area < 0:
        raise ParameterError(f"min_area={min_area!r}: expected an area >= 0 (CRS units^2).")
    ydim, xdim = spatial_dims(mask)
    extra = [d for d in mask.dims if d not in (ydim, xdim)]
    if extra:
        raise DimensionError(
            f"vectorize needs a 2-D (y, x) mask; it has extra dims {extra}: select one first."
        )
    if not (mask.dtype == bool or np.issubdtype(mask.dtype, np.number)):
        raise DataTypeError(f"vectorize needs a boolean mask, got dtype {mask.dtype}.")
    (values,) = compute(mask.transpose(ydim, xdim).data, progress=progress)
    values = np.asarray(values)
    valid = ~np.isnan(values) if values.dtype.kind == "f" else np.ones(values.shape, bool)
    binary = (np.nan_to_num(values) != 0).astype(np.uint8)
    transform = mask.rio.transform(recalc=True)
    geoms, areas = [], []
    for geom, _ in features.shapes(
        binary, mask=binary.astype(bool), transform=transform, connectivity=connectivity
    ):
        poly = shape(geom)
        geoms.append(poly)
        areas.append(poly.area)
    areas = np.asarray(areas, dtype=np.float64)
    keep = areas >= min_area
    crs = crs_of(mask)
    gdf = gpd.GeoDataFrame(
        {"area": areas[keep]}, geometry=[g for g, k in zip(geoms, keep) if k], crs=crs
    )
    gdf.attrs.update(
        total_area=float(areas[keep].sum()),
        n_polygons=int(keep.sum()),
        n_dropped=int((~keep).sum()),
        changed_fraction=float(binary[valid].mean()) if valid.any() else float("nan"),
        crs=crs.to_string() if crs else None,
    )
    return gdf


__all__ = ["vectorize"]
