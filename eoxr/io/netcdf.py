"""netCDF files (e.g. L3 composites) opened through xarray, with the CRS kept from their attrs."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import xarray as xr

from .._dims import spatial_dims
from ..errors import DimensionError, ParameterError, ReadError
from .remote import is_url, url_path

__all__ = ["is_netcdf", "open_netcdf", "NETCDF_SUFFIXES"]

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


#: Suffixes of URLs opened as netCDF (a remote file is not sniffed before it is opened).
NETCDF_SUFFIXES = (".nc", ".nc4", ".cdf", ".h5", ".hdf5")


def _remote_file(url: str) -> Any:
    """An fsspec file object of a netCDF URL (range reads; standard AWS_*/GS_* configuration)."""
    try:
        import fsspec
    except ImportError as err:
        raise ReadError(
            f"reading netCDF from {url!r} needs fsspec: `pip install 'eoxr[cloud]'`."
        ) from err
    try:
        return fsspec.open(url, mode="rb").open()
    except FileNotFoundError as err:
        raise ReadError(f"no file at {url!r}: check the URL.") from err
    except (OSError, ValueError) as err:  # aiohttp / botocore errors derive from these
        raise ReadError(f"cannot open {url!r} ({err}).") from err


def _engine(path: Any, source: Any = None) -> str:
    if source is None:
        with open(path, "rb") as f:
            head = f.read(8)
    else:
        head = source.read(8)
        source.seek(0)
    if head[:4] in _CLASSIC:
        return "scipy"  # netCDF-3 classic, readable without the netCDF C library
    # a file object (remote) is read by h5netcdf; the netCDF C library wants a path
    candidates = (("netcdf4", "netCDF4"),) if source is None else ()
    for engine, module in (*candidates, ("h5netcdf", "h5netcdf")):
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
    path: Path | str, *, chunks: Any = "auto", masked: bool = True, variable: str | None = None
) -> xr.DataArray:
    """One gridded variable of a netCDF file as a lazy DataArray with its CRS.

    Parameters
    ----------
    path : Path or str
        netCDF-3 or netCDF-4 file, or its ``http(s)://``, ``s3://``, ``gs://`` or ``az://`` URL
        (read with range requests through fsspec, configured by the standard environment
        variables; needs ``eoxr[cloud]``, and h5netcdf for netCDF-4). s3fs retries transient
        errors itself; fsspec's HTTP file system does not.
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
    source = _remote_file(path) if is_url(path) else None
    engine = _engine(path, source)
    name = url_path(path) if is_url(path) else Path(path)
    try:
        ds = xr.open_dataset(
            path if source is None else source,
            engine=engine,
            chunks={} if chunks == "auto" else chunks,
            mask_and_scale=masked,
            decode_coords="all",
        )
    except Exception as err:  # the engines raise OSError, ValueError, KeyError...
        raise ReadError(f"cannot read {str(path)!r} as netCDF ({err}).") from err
    da = _pick_variable(ds, name, variable)
    try:
        spatial_dims(da)
    except DimensionError as err:
        raise DimensionError(
            f"{name.name}: variable {da.name!r} has dims {da.dims}, without spatial dims (y/x, "
            "lat/lon...); open it with xarray.open_dataset instead."
        ) from err
    da = _with_crs(da, ds)
    da.attrs = {**ds.attrs, **da.attrs}
    return da
