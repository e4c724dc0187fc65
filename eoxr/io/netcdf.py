"""netCDF files (e.g. L3 composites) opened through xarray, with the CRS kept from their attrs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import xarray as xr

from .._dims import spatial_dims
from ..errors import DimensionError, ParameterError, ReadError

__all__ = ["is_netcdf", "open_netcdf"]

_HDF5 = b"\x89HDF\r\n\x1a\n"
_CLASSIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05")
# Attributes where netCDF writers that skip CF grid mappings put the CRS.
_CRS_ATTRS = ("crs", "crs_wkt", "spatial_ref", "epsg", "spatial_ref_wkt_epsg", "proj4")


def is_netcdf(path: Path) -> bool:
    """Whether ``path`` starts with a netCDF-3 or HDF5 (netCDF-4) signature."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return head == _HDF5 or head[:4] in _CLASSIC


def _engine(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:4] in _CLASSIC:
        return "scipy"  # netCDF-3 classic, readable without the netCDF C library
    for engine, module in (("netcdf4", "netCDF4"), ("h5netcdf", "h5netcdf")):
        if importlib.util.find_spec(module) is not None:
            return engine
    raise ReadError(
        f"{str(path)!r} is netCDF-4/HDF5, and neither netCDF4 nor h5netcdf is installed: "
        "`pip install h5netcdf`."
    )


def _pick_variable(ds: xr.Dataset, path: Path, variable: str | None) -> xr.DataArray:
    if variable is not None:
        if variable not in ds.data_vars:
            raise ParameterError(
                f"variable={variable!r} is not in {path.name}; it holds {list(ds.data_vars)}."
            )
        return ds[variable]
    gridded = [k for k, v in ds.data_vars.items() if v.ndim >= 2]
    if len(gridded) == 1:
        return ds[gridded[0]]
    if not gridded:
        raise DimensionError(f"{path.name} holds no gridded variable (variables: {list(ds)}).")
    raise ParameterError(
        f"{path.name} holds several gridded variables {gridded}: choose one with variable=..."
    )


def _with_crs(da: xr.DataArray, ds: xr.Dataset) -> xr.DataArray:
    if da.rio.crs is not None:
        return da
    for attrs in (da.attrs, ds.attrs):
        for key in _CRS_ATTRS:
            if key in attrs:
                try:
                    return da.rio.write_crs(attrs[key])
                except Exception:  # pyproj raises several types: try the next attribute
                    continue
    return da


def open_netcdf(
    path: Path, *, chunks: Any = "auto", masked: bool = True, variable: str | None = None
) -> xr.DataArray:
    """One gridded variable of a netCDF file as a lazy DataArray with its CRS.

    Parameters
    ----------
    path : Path
        netCDF-3 or netCDF-4 file.
    chunks : dict, "auto" or None
        Dask chunks; ``"auto"`` uses the file's own chunking.
    masked : bool
        Decode ``_FillValue`` to NaN and apply ``scale_factor``/``add_offset``.
    variable : str, optional
        The variable to read, required when several gridded variables are present.

    Returns
    -------
    DataArray
        The variable with its dims as stored; CRS from a CF grid mapping or from a ``crs``-like
        attribute of the variable or file.
    """
    engine = _engine(path)
    try:
        ds = xr.open_dataset(
            path,
            engine=engine,
            chunks={} if chunks == "auto" else chunks,
            mask_and_scale=masked,
            decode_coords="all",
        )
    except Exception as err:  # the engines raise OSError, ValueError, KeyError...
        raise ReadError(f"cannot read {str(path)!r} as netCDF ({err}).") from err
    da = _pick_variable(ds, path, variable)
    try:
        spatial_dims(da)
    except DimensionError as err:
        raise DimensionError(
            f"{path.name}: variable {da.name!r} has dims {da.dims}, without spatial dims (y/x, "
            "lat/lon...); open it with xarray.open_dataset instead."
        ) from err
    da = _with_crs(da, ds)
    da.attrs = {**ds.attrs, **da.attrs}
    return da
