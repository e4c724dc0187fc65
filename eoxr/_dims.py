"""Dimension conventions: which dims are spatial, which hold bands, and checks on them."""

from __future__ import annotations

from collections.abc import Hashable

import xarray as xr

from .errors import DimensionError

#: Accepted (y, x) dimension name pairs, in order of preference.
SPATIAL_DIM_PAIRS: tuple[tuple[str, str], ...] = (
    ("y", "x"),
    ("latitude", "longitude"),
    ("lat", "lon"),
    ("row", "col"),
)
#: Dimensions that can hold the spectral axis of a DataArray cube.
BAND_DIMS: tuple[str, ...] = ("band", "wavelength")


def spatial_dims(obj: xr.DataArray | xr.Dataset) -> tuple[str, str]:
    """Return the ``(y, x)`` dimension names of ``obj``.

    Raises
    ------
    DimensionError
        If no known pair of spatial dimensions is present.
    """
    dims = set(obj.dims)
    for ydim, xdim in SPATIAL_DIM_PAIRS:
        if ydim in dims and xdim in dims:
            return ydim, xdim
    raise DimensionError(
        f"no spatial dimensions found: the cube has dims {tuple(obj.dims)}, expected one of the "
        f"pairs {[list(p) for p in SPATIAL_DIM_PAIRS]}. Rename them, e.g. "
        "`cube.rename({'rows': 'y', 'cols': 'x'})`."
    )


def band_dim(obj: xr.DataArray | xr.Dataset) -> str | None:
    """Return the band dimension of a DataArray (``band`` or ``wavelength``), else ``None``."""
    if isinstance(obj, xr.Dataset):
        return None
    for name in BAND_DIMS:
        if name in obj.dims:
            return name
    return None


def require_band_dim(obj: xr.DataArray) -> str:
    """Return the band dimension of a DataArray or raise a :class:`DimensionError`."""
    dim = band_dim(obj)
    if dim is None:
        raise DimensionError(
            f"the DataArray has dims {tuple(obj.dims)} but no band dimension (one of {BAND_DIMS}). "
            "Add one with `da.expand_dims(band=['name'])` or pass a Dataset with one variable per "
            "band."
        )
    return dim


def other_dims(obj: xr.DataArray, exclude: tuple[Hashable, ...]) -> tuple[Hashable, ...]:
    """Dims of ``obj`` not in ``exclude``, in order."""
    return tuple(d for d in obj.dims if d not in exclude)
