"""Temporal composites (median, mean, min, max, max-NDVI), NaN-aware and lazy."""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

from .. import bands as _bands
from .._attrs import finalize, finalize_dataset
from .._dask.chunking import rechunk_whole
from ..errors import DimensionError, ParameterError

Method = Literal["median", "mean", "min", "max", "max_ndvi"]
METHODS: tuple[str, ...] = ("median", "mean", "min", "max", "max_ndvi")


def _float32(da: xr.DataArray) -> xr.DataArray:
    """Integer bands as float32, lazily: exact for 8/16-bit DN, and it can hold NaN."""
    return da if np.issubdtype(da.dtype, np.floating) else da.astype("float32")


def _reduce(da: xr.DataArray, method: str, dim: str) -> xr.DataArray:
    if method in ("median", "mean"):  # their values are not data values: float32, never float64
        da = _float32(da)
    if method == "median":  # an exact median needs the whole series of a pixel in one chunk
        da = rechunk_whole(da, [dim])
    return getattr(da, method)(dim=dim, skipna=True)


def _take(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """values[..., idx] per pixel (time is the last axis after apply_ufunc)."""
    idx = np.broadcast_to(idx, values.shape[:-1])[..., None].astype(np.intp)
    return np.take_along_axis(values, idx, axis=-1)[..., 0]


def _max_ndvi_index(cube: xr.DataArray | xr.Dataset, dim: str) -> tuple[xr.DataArray, xr.DataArray]:
    # float32 first: integer DN would wrap around in nir - red (uint8 3 - 5 = 254).
    red = _float32(_bands.select_band(cube, "red"))
    nir = _float32(_bands.select_band(cube, "nir"))
    # NDVI is written out here rather than taken from eoxr.indices: topic packages do not
    # depend on each other, and this one formula is the whole need.
    ndvi = (nir - red) / (nir + red)
    score = ndvi.where(np.isfinite(ndvi), -np.inf)
    score = rechunk_whole(score, [dim])
    return score.argmax(dim=dim), np.isfinite(ndvi).any(dim=dim)


def composite(
    cube: xr.DataArray | xr.Dataset,
    method: Method = "median",
    *,
    dim: str = "time",
) -> xr.DataArray | xr.Dataset:
    """Reduce a time series to one image per pixel, ignoring NaN (masked clouds, nodata).

    Parameters
    ----------
    cube : DataArray or Dataset
        Cube with a ``dim`` dimension; mask clouds first (:func:`eoxr.prep.mask_clouds`).
    method : {"median", "mean", "min", "max", "max_ndvi"}
        Per-band statistic over time, or ``max_ndvi``: all bands taken from the date with the
        highest NDVI at each pixel (needs red and nir bands), which keeps band values coherent.
    dim : str
        The dimension to reduce.

    Returns
    -------
    DataArray or Dataset
        Same type as ``cube``, without ``dim``; a pixel with no valid observation is NaN.
        ``median``, ``mean`` and ``max_ndvi`` give float32 for integer input (float input keeps
        its type); ``min`` and ``max`` keep the input type.

    Raises
    ------
    DimensionError
        ``dim`` is not a dimension of the cube.
    ParameterError
        Unknown ``method``.
    BandNotFoundError
        ``max_ndvi`` on a cube without red and NIR bands.

    Examples
    --------
    >>> import eoxr.datasets
    >>> scene = eoxr.datasets.synthetic_s2(shape=(32, 32), times=4)
    >>> scene.cube.eo.composite("median").dims
    ('band', 'y', 'x')
    """
    if dim not in cube.dims:
        raise DimensionError(
            f"cannot composite over {dim!r}: the cube has dims {tuple(cube.dims)}."
        )
    if not isinstance(method, str) or method not in METHODS:
        raise ParameterError(f"unknown composite method {method!r}; use one of {list(METHODS)}.")
    history = f"composite: {method} over {dim} ({cube.sizes[dim]} steps)"
    if method == "max_ndvi":
        idx, valid = _max_ndvi_index(cube, dim)

        def pick(v: xr.DataArray) -> xr.DataArray:
            v = _float32(v)  # a pixel without any valid date is NaN
            out = xr.apply_ufunc(
                _take,
                rechunk_whole(v, [dim]),
                idx,
                input_core_dims=[[dim], []],
                dask="parallelized",
                output_dtypes=[v.dtype],
            )
            return out.where(valid)
    else:

        def pick(v: xr.DataArray) -> xr.DataArray:
            return _reduce(v, method, dim)

    if isinstance(cube, xr.Dataset):
        out = xr.Dataset(
            {
                k: pick(v).assign_attrs(v.attrs) if dim in v.dims else v
                for k, v in cube.data_vars.items()
            }
        )
        return finalize_dataset(out, cube, history=history)
    res = pick(cube)
    dims = [d for d in cube.dims if d != dim]
    return finalize(res.transpose(*dims), cube, keep_value_attrs=True, history=history)


__all__ = ["METHODS", "composite"]
