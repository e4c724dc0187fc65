"""Input checks shared by the SAR functions: data type, dims and the dB / linear domain."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import xarray as xr

from .._attrs import finalize_dataset
from .._dims import spatial_dims
from .._window import check_window
from ..errors import DataTypeError, DimensionError, ParameterError, UnitsError
from ..radiometry import sar_domain

Domain = Literal["dB", "linear"]
#: SAR operations take a DataArray, or a Dataset with one variable per polarisation
SarCube = xr.DataArray | xr.Dataset
#: a window size: one odd int, or ``{dim: int}`` (the same for both spatial dims)
Size = int | Mapping[str, int]


def check_sar(cube: xr.DataArray, *, what: str = "this SAR function") -> tuple[str, str]:
    """Validate a SAR intensity DataArray; return its ``(y, x)`` dims.

    Raises
    ------
    DataTypeError
        For complex (SLC) or integer data, or a non-DataArray input.
    UnitsError
        When the cube looks like optical reflectance or DN (:mod:`eoxr.radiometry`).
    DimensionError
        When the array has no spatial ``(y, x)`` dims.
    """
    if not isinstance(cube, xr.DataArray):
        raise DataTypeError(
            f"{what} expects a DataArray, got {type(cube).__name__}; for a Dataset of "
            "polarisations use `ds.map(func)` or `ds.eo.to_array()`."
        )
    sar_domain(cube, what=what)  # optical reflectance / DN is refused here, by eoxr.radiometry
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
    dom, inferred = domain(cube)
    return None if inferred else dom


def domain(cube: xr.DataArray, what: str = "this SAR function") -> tuple[Domain, bool]:
    """Tell dB from linear; return ``(domain, inferred)`` (decided by :mod:`eoxr.radiometry`).

    The ``units`` attr decides when present (``inferred=False``). Without it the data are taken
    as linear power with ``inferred=True``: the kernels then raise
    :class:`~eoxr.errors.UnitsError` on the first negative value (only dB can be negative, and
    guessing would silently give garbage). The check runs inside the kernels, so it costs no
    extra pass and keeps dask input lazy. Optical reflectance or DN is refused.
    """
    return sar_domain(cube, what=what)


def raise_if_negative(
    block: np.ndarray, what: str = "the SAR function", declared: bool = False
) -> None:
    """Raise :class:`~eoxr.errors.UnitsError` for values that cannot be linear power.

    Undeclared data (``declared=False``): any value < 0 (only dB can be negative). Data declared
    linear (``units="1"``): a value <= -1, which no calibrated power takes even after thermal
    noise subtraction (whose small negative values are tolerated), i.e. dB labelled linear.
    """
    if not block.size:
        return
    low = float(np.nanmin(block, initial=0.0))
    if declared and low <= -1.0:
        raise UnitsError(
            f"{what}: the data are declared linear power (units={'1'!r}) but hold values down "
            f"to {low:.3g}, which only dB takes (xarray arithmetic such as `10 * np.log10(cube)` "
            "keeps the old `units`). If they are decibels, convert them to linear power first: "
            "`cube.assign_attrs(units='dB').eo.to_linear()`, or set "
            "`cube.attrs['units'] = 'dB'` (eoxr then works in linear power and converts back)."
        )
    if not declared and low < 0:
        raise UnitsError(
            f"{what}: the data have negative values but no `units` attr, so dB cannot be told "
            "from linear. If they are decibels, convert them to linear power first: "
            "`cube.eo.to_linear()`, or declare it: `cube.attrs['units'] = 'dB'`; for linear "
            "power `cube.attrs['units'] = '1'` (negative power is invalid)."
        )


def _check_block(block: np.ndarray, what: str, declared: bool) -> np.ndarray:
    raise_if_negative(block, what, declared)
    return block


def checked(cube: xr.DataArray, what: str, declared: bool = False) -> xr.DataArray:
    """``cube`` with the dB-as-linear check of :func:`raise_if_negative` run lazily per block.

    For operations written with xarray arithmetic rather than an eoxr kernel (which checks
    inside): no extra pass, the check runs when the block is computed.
    """
    from .._dask.blockwise import map_blocks

    kwargs = {"what": what, "declared": declared}
    return cube.copy(data=map_blocks(_check_block, cube, kwargs=kwargs))


def window_size(cube: xr.DataArray, size: Size) -> tuple[int, int]:
    """The window as ``(rows, columns)``: one odd int for both, or ``{dim: int}`` per spatial dim.

    A spatial dim left out of the mapping gets the other's size (``{"y": 9}`` is 9x9).
    """
    ydim, xdim = spatial_dims(cube)
    if isinstance(size, Mapping):
        extra = set(size) - {ydim, xdim}
        if extra or not size:
            raise ParameterError(
                f"size={dict(size)!r}: the keys must be the spatial dims {ydim!r} and/or "
                f"{xdim!r}, e.g. {{{ydim!r}: 7, {xdim!r}: 5}}."
            )
        sizes = (size.get(ydim, size.get(xdim)), size.get(xdim, size.get(ydim)))
    else:
        sizes = (size, size)
    for v in sizes:
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise ParameterError(f"size={size!r} must be an odd integer >= 3 (e.g. size=7).")
    return check_window(int(sizes[0])), check_window(int(sizes[1]))


def require_2d_plus(cube: xr.DataArray) -> None:
    """Raise a DimensionError if a spatial dim has fewer than 2 pixels."""
    ydim, xdim = spatial_dims(cube)
    if cube.sizes[ydim] < 2 or cube.sizes[xdim] < 2:
        raise DimensionError(
            f"the image is {cube.sizes[ydim]}x{cube.sizes[xdim]} pixels; speckle filters need at "
            "least 2x2. Select a larger area."
        )


def with_dataset_units(var: xr.DataArray, ds: xr.Dataset) -> xr.DataArray:
    """``var`` with the Dataset's ``units`` attr when it has none of its own."""
    units = ds.attrs.get("units")
    if units is None or "units" in var.attrs:
        return var
    return var.assign_attrs(units=units)


def per_variable(func: Callable[..., xr.DataArray]) -> Callable[..., Any]:
    """Let a DataArray operation take a Dataset (one variable per polarisation).

    Each variable on the spatial grid goes through ``func``; a ``units`` attr of the Dataset
    applies to variables without their own (``DataArray.to_dataset(dim=...)`` puts it there).
    Variables without spatial dims are kept, and so are those along one spatial dim when the
    grid keeps its size (they cannot follow a multilook).
    """

    @functools.wraps(func)
    def wrapper(cube: SarCube, *args: Any, **kwargs: Any) -> Any:
        if not isinstance(cube, xr.Dataset):
            return func(cube, *args, **kwargs)
        ydim, xdim = spatial_dims(cube)
        done = {}
        for name, var in cube.data_vars.items():
            if ydim in var.dims and xdim in var.dims:
                done[name] = func(with_dataset_units(var, cube), *args, **kwargs)
        if not done:
            raise DimensionError(
                f"{func.__name__}: no variable of the Dataset has both spatial "
                f"dims ({ydim!r}, {xdim!r}); select or transpose one that has."
            )
        grid = next(iter(done.values())).sizes
        rest = {
            name: var
            for name, var in cube.data_vars.items()
            if name not in done
            and all(grid.get(d, n) == n for d, n in var.sizes.items() if d in (ydim, xdim))
        }
        out = xr.Dataset(
            {
                name: done.get(name, rest.get(name))
                for name in cube.data_vars
                if name in done or name in rest
            }
        )
        return finalize_dataset(out, cube, history=f"{func.__name__} on each variable")

    return wrapper
