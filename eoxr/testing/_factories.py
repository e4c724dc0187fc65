"""Small cubes with coordinates, CRS and known content."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .._dims import make_grid_coords


def make_cube(
    *,
    bands: Sequence[str] = ("B02", "B03", "B04", "B08"),
    ny: int = 32,
    nx: int = 32,
    times: int | None = 2,
    dtype: str | np.dtype = "float32",
    seed: int = 0,
    crs: str | None = "EPSG:32633",
    chunks: Mapping[str, int] | None = None,
    as_dataset: bool = False,
    nan_fraction: float = 0.0,
    low: float = 0.01,
    high: float = 0.6,
) -> xr.DataArray | xr.Dataset:
    """A random reflectance-like cube ``(time, band, y, x)`` on a projected grid.

    Values are uniform in ``[low, high)``; a fraction ``nan_fraction`` of pixels is NaN in every
    band (nodata). Integer ``dtype`` gives DN-like values (reflectance x 10000, ``units="DN"``).

    Examples
    --------
    >>> make_cube(bands=["red", "nir"], ny=4, nx=5, times=None).dims
    ('band', 'y', 'x')
    """
    rng = np.random.default_rng(seed)
    shape = ((times,) if times else ()) + (len(bands), ny, nx)
    data = rng.uniform(low, high, size=shape)
    if nan_fraction > 0:
        mask = rng.random(((times,) if times else ()) + (1, ny, nx)) < nan_fraction
        data = np.where(mask, np.nan, data)
    if np.issubdtype(np.dtype(dtype), np.integer):
        data = np.nan_to_num(data * 10_000, nan=0).round()
    data = data.astype(dtype)
    coords: dict = {"band": list(bands), **make_grid_coords(ny, nx)}
    dims = ("band", "y", "x")
    if times:
        coords["time"] = pd.date_range("2024-01-01", periods=times, freq="16D")
        dims = ("time",) + dims
    da = xr.DataArray(
        data,
        dims=dims,
        coords=coords,
        name="reflectance",
        attrs=(
            {"units": "DN", "long_name": "digital numbers (surface reflectance x 10000)"}
            if np.issubdtype(np.dtype(dtype), np.integer)
            else {"units": "1", "long_name": "surface reflectance"}
        ),
    )
    if crs is not None:
        da = da.rio.write_crs(crs)
    if chunks is not None:
        da = da.chunk(dict(chunks))
    if as_dataset:
        from ..bands import to_dataset

        return to_dataset(da)
    return da
