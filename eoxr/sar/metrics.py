"""Speckle-filter quality metrics: ENL, speckle suppression index, edge preservation, mean ratio.

All metrics are global statistics of linear power (dB input is converted): they read the data
once and return a float for a 2-D image, or a DataArray over the extra dims (time, band...)
with one value per 2-D slice. ``mask`` (boolean, on the spatial grid or broadcastable) restricts
them to an area; NaN pixels are ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .._dims import spatial_dims
from ..errors import GridMismatchError
from ._validate import check_sar, domain, raise_if_negative


def _lin_values(cube: xr.DataArray, like: xr.DataArray | None = None) -> np.ndarray:
    from .convert import to_linear

    check_sar(cube, what="SAR metric")
    dom, inferred = domain(cube)
    lin = to_linear(cube) if dom == "dB" else cube
    ydim, xdim = spatial_dims(lin)
    if like is not None and (lin.sizes[ydim], lin.sizes[xdim]) != (
        like.sizes[ydim],
        like.sizes[xdim],
    ):
        raise GridMismatchError(
            f"metric inputs differ in shape: {dict(lin.sizes)} vs "
            f"{dict(like.sizes)}; compare images on the same grid."
        )
    values = np.asarray(lin.transpose(..., ydim, xdim).values, dtype=np.float64)
    if inferred:  # metrics of undeclared dB values would be silently meaningless
        raise_if_negative(values, "SAR metric")
    return values


def _per_slice(cube: xr.DataArray, func: Callable[..., float], *arrays: np.ndarray):
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


def _mask(cube: xr.DataArray, mask: xr.DataArray | np.ndarray | None) -> np.ndarray:
    ydim, xdim = spatial_dims(cube)
    if mask is None:
        return np.ones((cube.sizes[ydim], cube.sizes[xdim]), bool)
    if isinstance(mask, xr.DataArray):
        mask = mask.transpose(..., ydim, xdim).values
    return np.asarray(mask, dtype=bool)


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


def enl(
    cube: xr.DataArray,
    mask: xr.DataArray | np.ndarray | None = None,
    labels: xr.DataArray | np.ndarray | None = None,
):
    """Equivalent number of looks ``mean^2 / variance`` over a homogeneous area.

    Parameters
    ----------
    mask : boolean array, optional
        The homogeneous area; default :func:`homogeneous_mask` of ``cube`` itself.
    labels : array, optional
        Areas of different backscatter inside ``mask`` (land-cover classes, or the clean
        backscatter itself when known): the ENL is computed per distinct label value and
        averaged, weighted by pixel count.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> s = synthetic_s1(seed=0, looks=4.4)
    >>> e = enl(s.cube.isel(time=0, band=0), s.extras["homogeneous"], s.truth.isel(time=0, band=0))
    >>> 4.0 < e < 4.8
    True
    """
    x = _lin_values(cube)
    m = _mask(cube, homogeneous_mask(cube) if mask is None else mask)
    lab = np.zeros(m.shape, int) if labels is None else _mask_int(cube, labels)
    return _per_slice(cube, _enl_2d, x, m, lab)


def _mask_int(cube: xr.DataArray, labels: xr.DataArray | np.ndarray) -> np.ndarray:
    if isinstance(labels, xr.DataArray):
        ydim, xdim = spatial_dims(cube)
        labels = labels.transpose(..., ydim, xdim).values
    return np.asarray(labels)


def _cv(v: np.ndarray) -> float:
    return float(v.std() / v.mean())


def ssi(
    filtered: xr.DataArray,
    original: xr.DataArray,
    mask: xr.DataArray | np.ndarray | None = None,
    labels: xr.DataArray | np.ndarray | None = None,
):
    """Speckle suppression index (Shamsoddini & Trinder 2010): ``CV(filtered) / CV(original)``.

    Below 1 means speckle was reduced; computed over ``mask`` (default the whole image). With
    ``labels`` (areas of different backscatter) the CVs are taken per label, i.e.
    ``sqrt(ENL_original / ENL_filtered)`` with the per-label ENL of :func:`enl`.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> from eoxr.sar import lee
    >>> s = synthetic_s1(shape=(64, 64)).cube.isel(time=0, band=0)
    >>> ssi(lee(s, looks=4.4), s) < 1
    True
    """
    f, o = _lin_values(filtered), _lin_values(original, filtered)
    m = _mask(filtered, mask)
    lab = np.zeros(m.shape, int) if labels is None else _mask_int(filtered, labels)

    def one(a: np.ndarray, b: np.ndarray, mm: np.ndarray, lb: np.ndarray) -> float:
        ok = mm & np.isfinite(a) & np.isfinite(b)
        if labels is None:
            return _cv(a[ok]) / _cv(b[ok])
        return float(np.sqrt(_enl_2d(b, ok, lb) / _enl_2d(a, ok, lb)))

    return _per_slice(filtered, one, f, o, m, lab)


def mean_ratio(
    filtered: xr.DataArray, original: xr.DataArray, mask: xr.DataArray | np.ndarray | None = None
):
    """Mean preservation ratio ``mean(filtered) / mean(original)`` (ideal 1) over ``mask``.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> from eoxr.sar import lee
    >>> s = synthetic_s1(shape=(64, 64)).cube.isel(time=0, band=0)
    >>> abs(mean_ratio(lee(s, looks=4.4), s) - 1) < 0.02
    True
    """
    f, o = _lin_values(filtered), _lin_values(original, filtered)
    m = _mask(filtered, mask)

    def one(a: np.ndarray, b: np.ndarray, mm: np.ndarray) -> float:
        ok = mm & np.isfinite(a) & np.isfinite(b)
        return float(a[ok].mean() / b[ok].mean())

    return _per_slice(filtered, one, f, o, m)


def edge_preservation_index(
    filtered: xr.DataArray, reference: xr.DataArray, mask: xr.DataArray | np.ndarray | None = None
):
    """Edge preservation index of Sattar et al. (1997), ideal 1.

    Correlation of the 3x3 Laplacians (high-pass) of ``filtered`` and ``reference``:
    ``sum(dF dR) / sqrt(sum(dF^2) sum(dR^2))`` with ``d`` the Laplacian minus its mean over
    ``mask``. Use the clean truth as reference when it is known; with the noisy original as
    reference the index rewards keeping speckle and only compares filters with each other.

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

    f, r = _lin_values(filtered), _lin_values(reference, filtered)
    m = _mask(filtered, mask)

    def one(a: np.ndarray, b: np.ndarray, mm: np.ndarray) -> float:
        la, lb = ndimage.laplace(a, mode="nearest"), ndimage.laplace(b, mode="nearest")
        ok = mm & np.isfinite(la) & np.isfinite(lb)
        da, db = la[ok] - la[ok].mean(), lb[ok] - lb[ok].mean()
        return float((da * db).sum() / np.sqrt((da * da).sum() * (db * db).sum()))

    return _per_slice(filtered, one, f, r, m)


def homogeneous_mask(cube: xr.DataArray, size: int = 31, smooth: int = 7) -> xr.DataArray:
    """Automatically found homogeneous area: the ``size x size`` square whose mean is flattest.

    On the first 2-D slice (linear power), the image is smoothed with a ``smooth`` boxcar and
    the square of valid pixels where the smoothed values vary least (coefficient of variation)
    is returned. Selecting on the smoothed image rather than on the raw variance avoids picking
    a window that is calm only by chance, which would bias the ENL upward; one square (not a
    quantile of pixels) keeps areas of different backscatter from being pooled.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> int(homogeneous_mask(synthetic_s1(shape=(64, 64)).cube, size=15).sum())
    225
    """
    from scipy import ndimage

    x = _lin_values(cube)
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
    filters: Sequence[str] | None = None,
    *,
    truth: xr.DataArray | None = None,
    mask: xr.DataArray | np.ndarray | None = None,
    labels: xr.DataArray | np.ndarray | None = None,
    epi_mask: xr.DataArray | np.ndarray | None = None,
    **params: Any,
) -> pd.DataFrame:
    """Run several speckle filters on a 2-D image and tabulate ENL, mean ratio, SSI and EPI.

    ``mask`` (default :func:`homogeneous_mask` of ``cube``) is where ENL, SSI and the
    homogeneous-area mean ratio are measured; ``mean_ratio_all`` uses every valid pixel. EPI
    uses ``truth`` as reference when given, else the noisy ``cube`` (then it only ranks filters),
    over ``epi_mask`` (default all pixels).
    ``params`` (e.g. ``looks=4.4``) go to every filter that takes them.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> c = synthetic_s1(shape=(64, 64)).cube.isel(time=0, band=0)
    >>> list(compare_filters(c, ["lee"], looks=4.4).columns)[:3]
    ['filter', 'enl', 'mean_ratio']
    """
    import inspect
    import time

    from . import speckle

    names = list(filters or speckle.__all__)
    mask = homogeneous_mask(cube) if mask is None else mask
    ref = cube if truth is None else truth
    rows = []
    for name in ["none", *names]:
        func = getattr(speckle, name, None)
        t0 = time.perf_counter()
        if func is None:
            out = cube
        else:
            accepted = inspect.signature(func).parameters
            out = func(cube, **{k: v for k, v in params.items() if k in accepted})
        rows.append(
            {
                "filter": name,
                "enl": enl(out, mask, labels),
                "mean_ratio": mean_ratio(out, cube, mask),
                "mean_ratio_all": mean_ratio(out, cube),
                "ssi": ssi(out, cube, mask, labels),
                "epi": edge_preservation_index(out, ref, epi_mask),
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
