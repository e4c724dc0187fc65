"""Input checks shared by the change functions: two dates on one grid, with the same bands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from .._attrs import crs_of
from .._dask.blockwise import map_blocks
from .._dims import band_dim, spatial_dims
from ..errors import DataTypeError, DimensionError, GridMismatchError, ParameterError

Cube = xr.DataArray | xr.Dataset


def as_array(cube: Cube, what: str) -> xr.DataArray:
    """A DataArray (a Dataset of bands is stacked along ``band``), floating point."""
    if isinstance(cube, xr.Dataset):
        if not cube.data_vars:
            raise DimensionError(
                f"{what}: the Dataset has no data variables (an empty band selection?); pass "
                "the bands to compare, e.g. `ds[['B04', 'B08']]` with names from "
                "`list(ds.data_vars)` of the full Dataset."
            )
        from ..bands import to_array

        cube = to_array(cube)
    if not isinstance(cube, xr.DataArray):
        raise DataTypeError(f"{what} expects a DataArray or Dataset, got {type(cube).__name__}.")
    dt = np.dtype(cube.dtype)
    if np.issubdtype(dt, np.complexfloating) or not np.issubdtype(dt, np.number):
        raise DataTypeError(f"{what} needs real numbers, got dtype {dt}.")
    if not np.issubdtype(dt, np.floating):
        cube = cube.astype(np.float32)  # digital numbers: float32 keeps NaN as nodata possible
    spatial_dims(cube)
    check_not_empty(cube, what)
    return cube


def check_not_empty(da: xr.DataArray, what: str) -> None:
    """Raise a :class:`DimensionError` if a band or spatial dim of ``da`` has no entries."""
    bd = band_dim(da)
    if bd is not None and da.sizes[bd] == 0:
        raise DimensionError(
            f"{what}: the band selection is empty ({bd!r} has 0 entries), so there is nothing "
            f"to compare. Select at least one band with labels the cube has, e.g. "
            f"`cube.sel({bd}=[...])` with values from `cube.{bd}.values` (before selecting)."
        )
    empty = [str(d) for d in spatial_dims(da) if da.sizes[d] == 0]
    if empty:
        raise DimensionError(
            f"{what}: the spatial selection is empty ({empty} have 0 pixels); select a window "
            "inside the cube, e.g. `cube.isel(x=slice(0, 512), y=slice(0, 512))`."
        )


def _describe(da: xr.DataArray) -> str:
    ydim, xdim = spatial_dims(da)
    ys, xs = da[ydim].values, da[xdim].values
    crs = crs_of(da)
    return (
        f"{da.sizes[ydim]}x{da.sizes[xdim]} px, {xdim} {xs[0]:.6g}..{xs[-1]:.6g}, "
        f"{ydim} {ys[0]:.6g}..{ys[-1]:.6g}, CRS {crs.to_string() if crs else None}"
    )


def check_same_grid(a: xr.DataArray, b: xr.DataArray, what: str) -> None:
    """Raise a :class:`GridMismatchError` naming both grids unless ``a`` and ``b`` share one."""
    ydim, xdim = spatial_dims(a)
    same = spatial_dims(b) == (ydim, xdim) and all(a.sizes[d] == b.sizes[d] for d in (ydim, xdim))
    if same:
        for d in (ydim, xdim):
            if d in a.coords and d in b.coords:
                ca, cb = np.asarray(a[d].values), np.asarray(b[d].values)
                step = abs(float(ca[1] - ca[0])) if ca.size > 1 else 1.0
                same = same and bool(np.allclose(ca, cb, rtol=0, atol=1e-3 * step))
    ca, cb = crs_of(a), crs_of(b)
    if ca is not None and cb is not None and ca != cb:
        same = False
    if not same:
        raise GridMismatchError(
            f"{what}: the two inputs are not on the same pixel grid: first {_describe(a)}; "
            f"second {_describe(b)}. Reproject one onto the other first, e.g. "
            "`b = b.rio.reproject_match(a)`."
        )


def _check_bands(a: xr.DataArray, b: xr.DataArray, what: str) -> None:
    da, db = band_dim(a), band_dim(b)
    if da != db:
        raise DimensionError(
            f"{what}: one input has band dim {da!r}, the other {db!r}; give both the same bands."
        )
    if da is not None and da in a.coords and da in b.coords:
        la, lb = [str(v) for v in a[da].values], [str(v) for v in b[da].values]
        if la != lb:
            raise DimensionError(
                f"{what}: the two dates have different bands {la} and {lb}; select the same "
                "bands in the same order, e.g. `b.sel(band=a.band)`."
            )


def _one_date(da: xr.DataArray, what: str) -> xr.DataArray:
    if "time" in da.dims:
        if da.sizes["time"] != 1:
            raise DimensionError(
                f"{what}: an input has {da.sizes['time']} dates; pass one date per input, or one "
                "cube and `times=(t0, t1)`."
            )
        da = da.isel(time=0)
    return da


def resolve_pair(
    a: Cube, b: Cube | None, times: Sequence[Any] | None, what: str
) -> tuple[xr.DataArray, xr.DataArray]:
    """The two dates to compare, as same-grid float DataArrays with the same bands.

    ``b=None``: ``a`` is a series and ``times`` two labels of its ``time`` dim (default: the first
    and the last date).
    """
    a = as_array(a, what)
    if b is None:
        if "time" not in a.dims or a.sizes["time"] < 2:
            n = a.sizes.get("time", 1)
            raise DimensionError(
                f"{what} compares two dates, but got one cube with {n} date(s) and no second "
                "cube. Pass `b=` (the later date) or a cube with a `time` dim of >= 2 dates."
            )
        if times is None:
            first, second = a.isel(time=0), a.isel(time=-1)
        else:
            if len(times) != 2:
                raise ParameterError(f"times={times!r}: give exactly two time labels.")
            first, second = a.sel(time=times[0]), a.sel(time=times[1])
        return _one_date(first, what), _one_date(second, what)
    if times is not None:
        raise ParameterError(f"{what}: `times=` selects dates of a single cube; drop it or `b`.")
    a, b = _one_date(a, what), _one_date(as_array(b, what), what)
    check_same_grid(a, b, what)
    _check_bands(a, b, what)
    b = b.transpose(*a.dims)
    common = {np.result_type(a.dtype, b.dtype)}
    if common != {a.dtype} or common != {b.dtype}:
        dt = common.pop()
        a, b = a.astype(dt), b.astype(dt)
    return a, b


def check_choice(name: str, value: Any, valid: Sequence[str]) -> str:
    """Validate a literal-valued parameter."""
    if value not in valid:
        raise ParameterError(f"{name}={value!r} is not valid; choose one of {list(valid)}.")
    return value


def stamp_values(times: np.ndarray) -> np.ndarray:
    """``times`` in a dtype that holds a missing value (the dtype of :func:`index_to_time`).

    Datetimes stay; numbers become float64 (NaN: none); anything else object (None: none).
    """
    times = np.asarray(times)
    if times.dtype.kind in "mM":
        return times
    if times.dtype.kind in "iuf":
        return times.astype(np.float64)
    return times.astype(object)


def index_to_time(block: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Float date indices (NaN: none) to ``times`` values (NaT / NaN / None: none).

    ``times`` as :func:`stamp_values` gives it; for map_blocks.
    """
    ok = np.isfinite(block)
    safe = np.where(ok, block, 0).astype(np.int64)
    if times.dtype.kind in "mM":
        missing = np.array("NaT", dtype=times.dtype)
    elif times.dtype.kind == "f":
        missing = np.nan
    else:
        missing = None
    return np.where(ok, times[safe], missing)


@dataclass(frozen=True)
class Packed:
    """Per-pixel outputs that a kernel packed along a trailing ``_out`` dim, read by position.

    ``data`` is the kernel's packed ``(*like.dims, _out)`` array (from ``map_blocks`` with
    ``new_dims={"_out": k}``); ``like`` the 2-D grid it covers (its coords are kept).
    """

    data: Any
    like: xr.DataArray

    @property
    def cube(self) -> xr.DataArray:
        """The packed outputs as one ``(*like.dims, _out)`` DataArray."""
        return xr.DataArray(self.data, dims=(*self.like.dims, "_out"), coords=self.like.coords)

    def plane(self, i: int, dtype: Any = None) -> xr.DataArray:
        """Output ``i`` as a ``like``-shaped plane (cast to ``dtype`` if given)."""
        out = self.cube.isel(_out=i, drop=True)
        return out if dtype is None else out.astype(dtype)

    def dates(self, i: int, times: np.ndarray) -> xr.DataArray:
        """Output ``i``, float indices into ``times`` (NaN: none), as ``times`` values."""
        idx = self.plane(i)
        data = map_blocks(index_to_time, idx, dtype=times.dtype, kwargs={"times": times})
        return idx.copy(data=data)

    def series(self, lo: int, time: xr.DataArray, dtype: Any) -> xr.DataArray:
        """Outputs ``lo ... lo + len(time) - 1`` as a ``(time, *like.dims)`` series."""
        part = self.cube.isel(_out=slice(lo, lo + time.size)).rename(_out="time")
        return part.assign_coords(time=time).transpose("time", *self.like.dims).astype(dtype)
