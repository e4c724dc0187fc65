"""Layout checks shared by the hyperspectral functions: `(band, y, x)` cubes, wavelengths."""

from __future__ import annotations

import dask.array as dsa
import numpy as np
import xarray as xr

from .._chunks import rechunk_whole
from .._dims import require_band_dim, spatial_dims
from ..errors import DataTypeError, DimensionError, ParameterError


def as_bands_first(cube: xr.DataArray) -> tuple[xr.DataArray, tuple]:
    """Return ``cube`` as ``(band, y, x)`` float data with the band axis in one chunk.

    Also returns the original dim order, to transpose results back with
    ``result.transpose(*order)``.
    """
    if not isinstance(cube, xr.DataArray):
        raise DimensionError(
            "hyperspectral functions need a DataArray with a band dimension; got a "
            f"{type(cube).__name__}. Use `ds.eo.to_array()` to stack a Dataset's bands."
        )
    bdim = require_band_dim(cube)
    ydim, xdim = spatial_dims(cube)
    extra = [d for d in cube.dims if d not in (bdim, ydim, xdim)]
    if extra:
        raise DimensionError(
            f"the cube has extra dims {extra} besides ({bdim!r}, {ydim!r}, {xdim!r}); "
            f"select one step first, e.g. `cube.isel({extra[0]}=0)`."
        )
    if not np.issubdtype(cube.dtype, np.floating):
        raise DataTypeError(
            f"the cube holds {cube.dtype} values; hyperspectral denoising needs floats. "
            "Scale digital numbers first, e.g. `(cube / 10000).astype('float32')`."
        )
    order = tuple(cube.dims)
    return rechunk_whole(cube.transpose(bdim, ydim, xdim), [bdim]), order


def wavelengths(cube: xr.DataArray, needed_for: str) -> np.ndarray:
    """The cube's wavelengths in nm, or a :class:`ParameterError` naming what needs them."""
    bdim = require_band_dim(cube)
    name = "wavelength" if "wavelength" in cube.coords else None
    if name is None or cube[name].dims != (bdim,):
        raise ParameterError(
            f"{needed_for} needs band centre wavelengths, but the cube has no `wavelength` "
            f"coordinate along {bdim!r}. Add one in nanometres: "
            f"`cube.assign_coords(wavelength=({bdim!r}, wl_nm))` (ENVI headers read by "
            "`eoxr.open_raster` provide it)."
        )
    wl = cube[name].data
    if isinstance(wl, dsa.Array):
        # `.chunk()` also chunks non-index coordinates; this one is tiny band metadata, loaded
        # synchronously, never a pass over the data
        wl = wl.compute(scheduler="sync")
    wl = np.asarray(wl, dtype="float64")
    if np.nanmax(wl) < 25:  # micrometres are a common alternative unit in headers
        raise ParameterError(
            f"the wavelength coordinate looks like micrometres (max {np.nanmax(wl):g}); "
            "eoxr expects nanometres: `cube.assign_coords(wavelength=cube.wavelength * 1000)`."
        )
    return wl


def check_positive_int(value: int | None, name: str, *, upper: int | None = None) -> int | None:
    """Validate an optional positive integer parameter (e.g. ``n_components``)."""
    if value is None:
        return None
    if not isinstance(value, int | np.integer) or value < 1 or (upper and value > upper):
        bound = f" and <= {upper}" if upper else ""
        raise ParameterError(f"{name}={value!r} must be an integer >= 1{bound}.")
    return int(value)


def check_fraction(value: float | None, name: str) -> float | None:
    """Validate an optional fraction in (0, 1]."""
    if value is None:
        return None
    if not 0 < float(value) <= 1:
        raise ParameterError(f"{name}={value!r} must be a fraction in (0, 1], e.g. 0.1.")
    return float(value)
