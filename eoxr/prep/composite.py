"""Temporal composites (median, mean, min, max, max-NDVI), NaN-aware and lazy."""

from __future__ import annotations

from typing import Literal

import numpy as np
import xarray as xr

from .. import bands as _bands
from .._attrs import finalize, finalize_dataset
from .._chunks import rechunk_whole
from ..errors import DimensionError, ParameterError

Method = Literal["median", "mean", "min", "max", "max_ndvi"]
_REDUCERS = ("median", "mean", "min", "max")


def _reduce(da: xr.DataArray, method: str, dim: str) -> xr.DataArray:
    if method == "median":  # an exact median needs the whole series of a pixel in one chunk
        da = rechunk_whole(da, [dim])
    return getattr(da, method)(dim=dim, skipna=True)


def _take(values: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """values[..., idx] per pixel (time is the last axis after apply_ufunc)."""
    idx = np.broadcast_to(idx, values.shape[:-1])[..., None].astype(np.intp)
    return np.take_along_axis(values, idx, axis=-1)[..., 0]


def _max_ndvi_index(cube: xr.DataArray | xr.Dataset, dim: str) -> xr.DataArray:
    red = _bands.select_band(cube, "red")
    nir = _bands.select_band(cube, "nir")
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
    Same type as ``cube``, without ``dim``; a pixel with no valid observation is NaN.

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
    if method not in (*_REDUCERS, "max_ndvi"):
        raise ParameterError(
            f"unknown composite method {method!r}; use one of {[*_REDUCERS, 'max_ndvi']}."
        )
    history = f"composite: {method} over {dim} ({cube.sizes[dim]} steps)"
    if method == "max_ndvi":
        idx, valid = _max_ndvi_index(cube, dim)

        def pick(v: xr.DataArray) -> xr.DataArray:
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


__all__ = ["composite"]
