"""Bringing rasters of different grids (Sentinel-2's 10/20/60 m bands) onto one grid, lazily.

odc-geo's ``xr_reproject`` warps dask arrays block by block (rioxarray's ``reproject_match``
would read whole bands into memory), so the result stays a lazy cube.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._dims import spatial_dims

__all__ = ["same_grid", "pixel_size", "target_geobox", "onto_one_grid", "nodata_to_nan"]


def same_grid(a: xr.DataArray, b: xr.DataArray) -> bool:
    """Whether two georeferenced arrays share shape, CRS and transform."""
    ay, ax = spatial_dims(a)
    by, bx = spatial_dims(b)
    return (
        (a.sizes[ay], a.sizes[ax]) == (b.sizes[by], b.sizes[bx])
        and a.rio.crs == b.rio.crs
        and np.allclose(a.rio.transform()[:6], b.rio.transform()[:6])
    )


def pixel_size(da: xr.DataArray) -> float:
    """Pixel width in CRS units."""
    return float(abs(da.rio.resolution()[0]))


def target_geobox(arrays: list[xr.DataArray], resolution: float | str):
    """The grid every array is brought onto.

    ``"finest"`` / ``"coarsest"``: the grid of the file with the smallest / largest pixels (the
    first such file). A number: the grid of the first file with that pixel size, else the
    footprint of the finest file cut into pixels of that size.
    """
    import odc.geo.xr  # noqa: F401  (registers the .odc accessor)
    from odc.geo.geobox import GeoBox

    sizes = [pixel_size(a) for a in arrays]
    if resolution == "finest":
        return arrays[int(np.argmin(sizes))].odc.geobox
    if resolution == "coarsest":
        return arrays[int(np.argmax(sizes))].odc.geobox
    for a, s in zip(arrays, sizes):
        if np.isclose(s, float(resolution), rtol=1e-6):
            return a.odc.geobox
    finest = arrays[int(np.argmin(sizes))].odc.geobox
    return GeoBox.from_bbox(
        finest.boundingbox, crs=finest.crs, resolution=float(resolution), tight=True
    )


#: Resamplings that pick one of the input values: integer codes and DNs stay integers.
_PICKING = frozenset({"nearest", "mode", "min", "max", "med", "q1", "q3"})


def nodata_to_nan(da: xr.DataArray) -> xr.DataArray:
    """Lazily float (float32; float64 stays float64) with NaN for nodata, declared as nodata."""
    nodata = da.rio.nodata
    out = da.astype("float64" if da.dtype == np.float64 else "float32")
    if nodata is not None and not np.isnan(nodata):
        out = out.where(da != nodata)
    out.attrs = {k: v for k, v in da.attrs.items() if k != "_FillValue"}
    return out.rio.write_nodata(np.nan, encoded=False)


def _fill_value(da: xr.DataArray) -> float | int:
    nodata = da.rio.nodata
    if nodata is not None:
        return nodata
    return np.nan if np.issubdtype(da.dtype, np.floating) else 0


def onto_one_grid(
    arrays: list[xr.DataArray], resolution: float | str, resampling: str, *, geobox=None
) -> list[xr.DataArray]:
    """Warp every array that is not already on the target grid onto it (lazy on dask).

    Pixels outside an array's footprint get its nodata value; integer arrays without one get 0,
    which is then declared their nodata value (GDAL's convention). Interpolating or averaging
    resamplings turn integer arrays into float32 first (NaN outside the footprint). ``geobox``:
    the target grid when already chosen (from ``resolution`` before some files were reopened at
    an overview level).
    """
    import odc.geo.xr  # noqa: F401

    gbox = target_geobox(arrays, resolution) if geobox is None else geobox
    out = []
    for da in arrays:
        if da.odc.geobox == gbox:
            out.append(da)
            continue
        if resampling not in _PICKING and not np.issubdtype(da.dtype, np.floating):
            da = nodata_to_nan(da)  # averaging must not round to integers
        fill = _fill_value(da)
        warped = da.odc.reproject(gbox, resampling=resampling, dst_nodata=fill)
        warped.attrs = {k: v for k, v in da.attrs.items() if k != "_FillValue"}
        out.append(warped.rio.write_nodata(fill, encoded=False))
    return out
