"""Input checks shared by the SAR functions: data type, dims and the dB / linear domain."""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

from .._dims import spatial_dims
from ..errors import DataTypeError, DimensionError, UnitsError

Domain = Literal["dB", "linear"]

_DB_UNITS = ("db", "decibel", "decibels")
_LINEAR_UNITS = ("1", "", "linear", "intensity", "power", "m2/m2", "m2 m-2", "amplitude^2")


def check_sar(cube: xr.DataArray, *, what: str = "this SAR function") -> tuple[str, str]:
    """Validate a SAR intensity DataArray; return its ``(y, x)`` dims.

    Raises
    ------
    DataTypeError
        For complex (SLC) or integer data, or a non-DataArray input.
    DimensionError
        When the array has no spatial ``(y, x)`` dims.
    """
    if not isinstance(cube, xr.DataArray):
        raise DataTypeError(
            f"{what} expects a DataArray, got {type(cube).__name__}; for a Dataset of "
            "polarisations use `ds.map(func)` or `ds.eo.to_array()`."
        )
    dt = np.dtype(cube.dtype)
    if np.issubdtype(dt, np.complexfloating):
        raise DataTypeError(
            f"{what} works on real intensity, but the data are complex ({dt}), i.e. single-look "
            "complex (SLC). Convert first: `intensity = abs(slc) ** 2` (then multilook it)."
        )
    if not np.issubdtype(dt, np.floating):
        raise DataTypeError(
            f"{what} needs floating-point backscatter but the data are {dt} (digital numbers?). "
            "Calibrate them to sigma0/gamma0 and cast, e.g. `cube.astype('float32')`."
        )
    return spatial_dims(cube)


def declared_domain(cube: xr.DataArray) -> Domain | None:
    """The domain declared by the ``units`` attr (``"dB"`` or ``"linear"``), else ``None``."""
    units = cube.attrs.get("units")
    if units is None:
        return None
    u = str(units).strip().lower()
    if u in _DB_UNITS:
        return "dB"
    if u in _LINEAR_UNITS:
        return "linear"
    raise UnitsError(
        f"units={units!r} is not a SAR backscatter unit eoxr knows. Declare the domain with "
        "`cube.attrs['units'] = 'dB'` (decibels) or `cube.attrs['units'] = '1'` (linear power)."
    )


def domain(cube: xr.DataArray) -> tuple[Domain, bool]:
    """Tell dB from linear; return ``(domain, inferred)``.

    The ``units`` attr decides when present (``inferred=False``). Without it the data are taken
    as linear power with ``inferred=True``: the kernels then raise
    :class:`~eoxr.errors.UnitsError` on the first negative value (only dB can be negative, and
    guessing would silently give garbage). The check runs inside the kernels, so it costs no
    extra pass and keeps dask input lazy.
    """
    found = declared_domain(cube)
    return (found, False) if found is not None else ("linear", True)


def raise_if_negative(block: np.ndarray, what: str = "the SAR function") -> None:
    """Raise the undeclared-domain :class:`~eoxr.errors.UnitsError` if ``block`` has a value < 0."""
    if block.size and bool(np.nanmin(block, initial=0.0) < 0):
        raise UnitsError(
            f"{what}: the data have negative values but no `units` attr, so dB cannot be told "
            "from linear. Declare it: `cube.attrs['units'] = 'dB'` for decibels, or "
            "`cube.attrs['units'] = '1'` for linear power (negative power is invalid)."
        )


def require_2d_plus(cube: xr.DataArray) -> None:
    """Raise a DimensionError if a spatial dim has fewer than 2 pixels."""
    ydim, xdim = spatial_dims(cube)
    if cube.sizes[ydim] < 2 or cube.sizes[xdim] < 2:
        raise DimensionError(
            f"the image is {cube.sizes[ydim]}x{cube.sizes[xdim]} pixels; speckle filters need at "
            "least 2x2. Select a larger area."
        )
