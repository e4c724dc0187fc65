"""Speckle-filter quality metrics: ENL, speckle suppression index, edge preservation, mean ratio.

All metrics are global statistics of linear power (dB input is converted). They read their
inputs in one pass (:func:`eoxr._dask.stats.compute`, with a progress bar in interactive sessions)
and return a float for a 2-D image, or a DataArray over the extra dims (time, band...) with one
value per 2-D slice. ``mask`` (boolean, on the spatial grid) restricts them to an area; NaN
pixels are ignored.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._dask.stats import compute
from .._dims import spatial_dims
from ..errors import GridMismatchError, ParameterError
from ..sar import speckle
from ..sar.convert import as_linear

Mask = xr.DataArray | np.ndarray | None


def _grid(cube: xr.DataArray) -> tuple[int, int]:
    ydim, xdim = spatial_dims(cube)
    return cube.sizes[ydim], cube.sizes[xdim]


def _lin_values(*cubes: xr.DataArray) -> list[np.ndarray]:
    """Each cube as float64 linear power, spatial dims last, all read in one pass."""
    arrays = []
    for cube in cubes:
        lin = as_linear(cube, what="SAR metric")  # dB taken as power would be meaningless
        if _grid(cube) != _grid(cubes[0]):
            raise GridMismatchError(
                f"metric inputs differ in shape: {dict(cube.sizes)} vs {dict(cubes[0].sizes)}; "
                "compare images on the same grid."
            )
        arrays.append(lin.transpose(..., *spatial_dims(lin)).data)
    return [np.asarray(a, dtype=np.float64) for a in compute(*arrays)]


def _per_slice(cube: xr.DataArray, func: Callable[..., float], *arrays: np.ndarray) -> Any:
    """Apply ``func(*2d arrays)`` to each 2-D slice; float for 2-D input, else a DataArray."""
    ydim, xdim = spatial_dims(cube)
    lead = [d for d in cube.dims if d not in (ydim, xdim)]
    shape = tuple(cube.sizes[d] for d in lead)
    flat = [np.broadcast_to(a, shape + a.shape[-2:]).reshape((-1,) + a.shape[-2:]) for a in arrays]
    vals = np.array([func(*(a[k] for a in flat)) for k in range(flat[0].shape[0])])
    if not lead:
        return float(vals[0])
    coords = {d: cube[d] for d in lead if d in cube.coords}
    return xr.DataArray(vals.reshape(shape), dims=lead, coords=coords)


def _on_grid(cube: xr.DataArray, values: Any, name: str, dtype: Any) -> np.ndarray:
    """A mask or label image as a numpy array on ``cube``'s spatial grid."""
    if values is None:
        return np.ones(_grid(cube), dtype)
    if isinstance(values, xr.DataArray):
        values = values.transpose(..., *spatial_dims(cube)).data
    (values,) = compute(values)
    out = np.asarray(values, dtype=dtype)
    if out.shape[-2:] != _grid(cube):
        raise GridMismatchError(
            f"{name} has shape {out.shape} but the image grid is {_grid(cube)}; give a {name} "
            "on the same (y, x) grid."
        )
    return out


def _enl_2d(x: np.ndarray, m: np.ndarray, labels: np.ndarray) -> float:
    ok = m & np.isfinite(x)
    vals = []
    weights = []
    for lab in np.unique(labels[ok]):
        v = x[ok & (labels == lab)]
        if v.size > 1 and v.var() > 0:
            vals.append(v.mean() ** 2 / v.var())
            weights.append(v.size)
    return float(np.average(vals, weights=weights)) if vals else float("nan")


def enl(result: xr.DataArray, *, mask: Mask = None, labels: Mask = None) -> Any:
    """Equivalent number of looks ``mean^2 / variance`` over a homogeneous area.

    A no-reference metric: it takes the result only.

    Parameters
    ----------
    result : DataArray
        Intensity (linear or ``units="dB"``), e.g. a filtered image.
    mask : boolean array, optional
        The homogeneous area; default :func:`homogeneous_mask` of ``result`` itself.
    labels : array, optional
        Areas of different backscatter inside ``mask`` (land-cover classes, or the clean
        backscatter itself when known): the ENL is computed per distinct label value and
        averaged, weighted by pixel count.

    Returns
    -------
    float or DataArray
        One value for a 2-D image, one per 2-D slice otherwise.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> s = synthetic_s1(seed=0, looks=4.4)
    >>> img, clean = s.cube.isel(time=0, band=0), s.truth.isel(time=0, band=0)
    >>> 4.0 < enl(img, mask=s.extras["homogeneous"], labels=clean) < 4.8
    True
    """
    (x,) = _lin_values(result)
    m = _on_grid(result, homogeneous_mask(result) if mask is None else mask, "mask", bool)
    lab = _on_grid(result, labels, "labels", np.float64)
    return _per_slice(result, _enl_2d, x, m, lab)


def _cv(v: np.ndarray) -> float:
    return float(v.std() / v.mean())


def ssi(
    result: xr.DataArray, reference: xr.DataArray, *, mask: Mask = None, labels: Mask = None
) -> Any:
    """Speckle suppression index (Shamsoddini & Trinder 2010): ``CV(result) / CV(reference)``.

    Below 1 means speckle was reduced. With ``labels`` (areas of different backscatter) the CVs
    are taken per label, i.e. ``sqrt(ENL_reference / ENL_result)`` with the per-label ENL of
    :func:`enl`.

    Parameters
    ----------
    result : DataArray
        Filtered intensity.
    reference : DataArray
        The speckled original, on the same grid.
    mask : boolean array, optional
        Area where the CVs are measured (default: the whole image).
    labels : array, optional
        Areas of different backscatter inside ``mask``.

    Returns
    -------
    float or DataArray
        One value for a 2-D image, one per 2-D slice otherwise.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> from eoxr.sar import lee
    >>> s = synthetic_s1(shape=(64, 64)).cube.isel(time=0, band=0)
    >>> ssi(lee(s, looks=4.4), s, mask=homogeneous_mask(s, size=15)) < 0.5
    True
    """
    f, o = _lin_values(result, reference)
    m = _on_grid(result, mask, "mask", bool)
    lab = _on_grid(result, labels, "labels", np.float64)

    def one(a: np.ndarray, b: np.ndarray, mm: np.ndarray, lb: np.ndarray) -> float:
        ok = mm & np.isfinite(a) & np.isfinite(b)
        if labels is None:
            return _cv(a[ok]) / _cv(b[ok])
        return float(np.sqrt(_enl_2d(b, ok, lb) / _enl_2d(a, ok, lb)))

    return _per_slice(result, one, f, o, m, lab)


def mean_ratio(result: xr.DataArray, reference: xr.DataArray, *, mask: Mask = None) -> Any:
    """Mean preservation ratio ``mean(result) / mean(reference)`` in linear power (ideal 1).

    Over ``mask`` (default: every pixel valid in both). The whole-scene ratio of the adaptive
    speckle filters stays within 3.5 % of 1 on the test scenes (see :mod:`eoxr.sar.speckle`).

    Parameters
    ----------
    result : DataArray
        Filtered intensity.
    reference : DataArray
        The original, on the same grid.
    mask : boolean array, optional
        Area of the means.

    Returns
    -------
    float or DataArray
        One value for a 2-D image, one per 2-D slice otherwise.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> from eoxr.sar import lee
    >>> s = synthetic_s1(shape=(64, 64)).cube.isel(time=0, band=0)
    >>> abs(mean_ratio(lee(s, looks=4.4), s) - 1) < 0.02
    True
    """
    f, o = _lin_values(result, reference)
    m = _on_grid(result, mask, "mask", bool)

    def one(a: np.ndarray, b: np.ndarray, mm: np.ndarray) -> float:
        ok = mm & np.isfinite(a) & np.isfinite(b)
        return float(a[ok].mean() / b[ok].mean())

    return _per_slice(result, one, f, o, m)


def edge_preservation_index(
    result: xr.DataArray, reference: xr.DataArray, *, mask: Mask = None
) -> Any:
    """Edge preservation index of Sattar et al. (1997), ideal 1.

    Correlation of the 3x3 Laplacians (high-pass) of ``result`` and ``reference``:
    ``sum(dF dR) / sqrt(sum(dF^2) sum(dR^2))`` with ``d`` the Laplacian minus its mean over
    ``mask``. Use the clean truth as reference when it is known; with the noisy original as
    reference the index rewards keeping speckle and only compares filters with each other.

    Parameters
    ----------
    result : DataArray
        Filtered intensity.
    reference : DataArray
        Clean truth (preferably) or the speckled original, on the same grid.
    mask : boolean array, optional
        Pixels entering the correlation (default all).

    Returns
    -------
    float or DataArray
        One value for a 2-D image, one per 2-D slice otherwise.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> from eoxr.sar import lee
    >>> s = synthetic_s1(shape=(64, 64))
    >>> t, c = s.truth.isel(time=0, band=0), s.cube.isel(time=0, band=0)
    >>> edge_preservation_index(lee(c, looks=4.4), t) > edge_preservation_index(c, t)
    True
    """
    from scipy import ndimage

    f, r = _lin_values(result, reference)
    m = _on_grid(result, mask, "mask", bool)

    def one(a: np.ndarray, b: np.ndarray, mm: np.ndarray) -> float:
        la, lb = ndimage.laplace(a, mode="nearest"), ndimage.laplace(b, mode="nearest")
        ok = mm & np.isfinite(la) & np.isfinite(lb)
        da, db = la[ok] - la[ok].mean(), lb[ok] - lb[ok].mean()
        return float((da * db).sum() / np.sqrt((da * da).sum() * (db * db).sum()))

    return _per_slice(result, one, f, r, m)


def homogeneous_mask(cube: xr.DataArray, *, size: int = 31, smooth: int = 7) -> xr.DataArray:
    """Automatically found homogeneous area: the ``size x size`` square whose mean is flattest.

    On the first 2-D slice (linear power), the image is smoothed with a ``smooth`` boxcar and
    the square of valid pixels where the smoothed values vary least (coefficient of variation)
    is returned. Selecting on the smoothed image rather than on the raw variance avoids picking
    a window that is calm only by chance, which would bias the ENL upward; one square (not a
    quantile of pixels) keeps areas of different backscatter from being pooled.

    Parameters
    ----------
    cube : DataArray
        Intensity (linear or ``units="dB"``).
    size : int
        Side of the square (clipped to the image).
    smooth : int
        Boxcar size of the pre-smoothing.

    Returns
    -------
    DataArray
        Boolean ``(y, x)`` mask named ``homogeneous``.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> int(homogeneous_mask(synthetic_s1(shape=(64, 64)).cube, size=15).sum())
    225
    """
    from scipy import ndimage

    for name, v in (("size", size), ("smooth", smooth)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
            raise ParameterError(f"homogeneous_mask {name}={v!r} must be a positive integer.")
    (x,) = _lin_values(cube)
    x = x.reshape((-1,) + x.shape[-2:])[0]
    size = min(size, *x.shape)
    valid = np.isfinite(x)
    sm = ndimage.uniform_filter(np.where(valid, x, 0.0), smooth, mode="nearest")
    m1 = ndimage.uniform_filter(sm, size, mode="constant")
    m2 = ndimage.uniform_filter(sm * sm, size, mode="constant")
    full = ndimage.uniform_filter(valid.astype(float), size, mode="constant") > 1 - 1e-9
    cv = np.where(full, np.sqrt(np.maximum(m2 - m1 * m1, 0.0)) / np.maximum(m1, 1e-30), np.inf)
    i, j = np.unravel_index(int(np.argmin(cv)), cv.shape)
    h = size // 2
    mask = np.zeros(x.shape, bool)
    mask[max(i - h, 0) : i + h + 1, max(j - h, 0) : j + h + 1] = True
    ydim, xdim = spatial_dims(cube)
    return xr.DataArray(
        mask,
        dims=(ydim, xdim),
        coords={d: cube[d] for d in (ydim, xdim) if d in cube.coords},
        name="homogeneous",
    )


def compare_filters(
    cube: xr.DataArray,
    *,
    filters: Sequence[str] | None = None,
    truth: xr.DataArray | None = None,
    mask: Mask = None,
    labels: Mask = None,
    epi_mask: Mask = None,
    **params: Any,
) -> pd.DataFrame:
    """Run several speckle filters on a 2-D image and tabulate ENL, mean ratio, SSI and EPI.

    Parameters
    ----------
    cube : DataArray
        A 2-D speckled intensity image.
    filters : sequence of str, optional
        Names from :mod:`eoxr.sar.speckle` (default: all of them).
    truth : DataArray, optional
        Clean image: the reference of the EPI (else the noisy ``cube``, which only ranks).
    mask : boolean array, optional
        Where ENL, SSI and the homogeneous-area ``mean_ratio`` are measured (default
        :func:`homogeneous_mask` of ``cube``); ``mean_ratio_all`` uses every valid pixel.
    labels : array, optional
        Areas of different backscatter inside ``mask`` (see :func:`enl`).
    epi_mask : boolean array, optional
        Pixels of the EPI (default all).
    **params
        Filter options (e.g. ``looks=4.4``), given to every filter that takes them; an option
        no filter takes raises a ParameterError.

    Returns
    -------
    DataFrame
        One row per filter (and ``none``, the input): ``filter, enl, mean_ratio,
        mean_ratio_all, ssi, epi, seconds``.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> c = synthetic_s1(shape=(64, 64)).cube.isel(time=0, band=0)
    >>> list(compare_filters(c, filters=["lee"], looks=4.4).columns)[:3]
    ['filter', 'enl', 'mean_ratio']
    """
    names = list(speckle.__all__ if filters is None else filters)
    unknown = [n for n in names if n not in speckle.__all__]
    if unknown:
        raise ParameterError(
            f"compare_filters: unknown filter(s) {unknown}; valid: {list(speckle.__all__)}."
        )
    funcs = {n: getattr(speckle, n) for n in names}
    accepted = {n: set(inspect.signature(f).parameters) for n, f in funcs.items()}
    stray = sorted(set(params) - set().union(*accepted.values(), set()))
    if stray:
        raise ParameterError(
            f"compare_filters: option(s) {stray} are taken by none of the filters {names}; "
            f"valid options: {sorted(set().union(*accepted.values()) - {'cube'})}."
        )
    mask = homogeneous_mask(cube) if mask is None else mask
    ref = cube if truth is None else truth
    rows = []
    for name in ["none", *names]:
        t0 = time.perf_counter()
        out = cube
        if name != "none":
            out = funcs[name](cube, **{k: v for k, v in params.items() if k in accepted[name]})
        rows.append(
            {
                "filter": name,
                "enl": enl(out, mask=mask, labels=labels),
                "mean_ratio": mean_ratio(out, cube, mask=mask),
                "mean_ratio_all": mean_ratio(out, cube),
                "ssi": ssi(out, cube, mask=mask, labels=labels),
                "epi": edge_preservation_index(out, ref, mask=epi_mask),
                "seconds": time.perf_counter() - t0,
            }
        )
    return pd.DataFrame(rows)


__all__ = [
    "enl",
    "ssi",
    "mean_ratio",
    "edge_preservation_index",
    "homogeneous_mask",
    "compare_filters",
]
