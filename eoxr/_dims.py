"""Dimension conventions: which dims are spatial, which hold bands, and checks on them."""

from __future__ import annotations

from collections.abc import Hashable, Iterable

import numpy as np
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


def find_spatial_dims(dims: Iterable[Hashable]) -> tuple[str, str] | None:
    """The ``(y, x)`` pair among dimension names, in order of preference, else ``None``."""
    names = set(dims)
    return next(((y, x) for y, x in SPATIAL_DIM_PAIRS if y in names and x in names), None)


def find_band_dim(dims: Iterable[Hashable]) -> str | None:
    """The band dimension among a DataArray's dimension names, else ``None``."""
    names = set(dims)
    return next((d for d in BAND_DIMS if d in names), None)


def spatial_dims(obj: xr.DataArray | xr.Dataset) -> tuple[str, str]:
    """Return the ``(y, x)`` dimension names of ``obj``.

    Raises
    ------
    DimensionError
        If no known pair of spatial dimensions is present.
    """
    pair = find_spatial_dims(obj.dims)
    if pair is not None:
        return pair
    others = [str(d) for d in obj.dims if d not in (*BAND_DIMS, "time")]
    pair = dict(zip(others, ("y", "x"), strict=True)) if len(others) == 2 else None
    # rename works on dimension names of a DataArray and a Dataset alike.
    raise DimensionError(
        f"no spatial dimensions found: the cube has dims {tuple(obj.dims)}, expected one of the "
        f"pairs {[list(p) for p in SPATIAL_DIM_PAIRS]}. Rename them, e.g. "
        f"`cube = cube.rename({pair or {'rows': 'y', 'cols': 'x'}})`."
    )


def band_dim(obj: xr.DataArray | xr.Dataset) -> str | None:
    """Return the band dimension of a DataArray (``band`` or ``wavelength``), else ``None``."""
    if isinstance(obj, xr.Dataset):
        return None
    return find_band_dim(obj.dims)


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


def make_grid_coords(
    ny: int, nx: int, *, res: float = 10.0, x0: float = 500_000.0, y0: float = 5_100_000.0
) -> dict[str, np.ndarray]:
    """Pixel-centre ``y``/``x`` coordinates of a north-up grid (``y`` decreasing).

    Examples
    --------
    >>> c = make_grid_coords(2, 3, res=10.0, x0=0.0, y0=100.0)
    >>> c["x"].tolist(), c["y"].tolist()
    ([5.0, 15.0, 25.0], [95.0, 85.0])
    """
    x = x0 + res * (np.arange(nx) + 0.5)
    y = y0 - res * (np.arange(ny) + 0.5)
    return {"y": y, "x": x}


def other_dims(obj: xr.DataArray, exclude: tuple[Hashable, ...]) -> tuple[Hashable, ...]:
    """Dims of ``obj`` not in ``exclude``, in order."""
    return tuple(d for d in obj.dims if d not in exclude)


__all__ = [
    "SPATIAL_DIM_PAIRS",
    "BAND_DIMS",
    "spatial_dims",
    "find_spatial_dims",
    "band_dim",
    "find_band_dim",
    "require_band_dim",
    "make_grid_coords",
    "other_dims",
]
