"""``a.eo.change(b, ...)``: one bi-temporal statistic and its thresholded change mask."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import xarray as xr

from .._attrs import finalize, finalize_dataset
from .._dims import band_dim
from ._pair import Cube, check_choice, resolve_pair
from .bitemporal import cva, difference, is_sar
from .threshold import METHODS, ThresholdMethod
from .threshold import threshold as apply_threshold

ChangeMethod = Literal["cva", "irmad", "diff", "log_ratio"]
CHANGE_METHODS = ("cva", "irmad", "diff", "log_ratio")


def _norm(x: xr.DataArray) -> xr.DataArray:
    """``|x|``, or its Euclidean norm over bands (NaN where any band is NaN)."""
    bd = band_dim(x)
    if bd is None:
        return abs(x)
    return np.sqrt((x * x).sum(bd, skipna=False)).astype(x.dtype)


def _statistic(a: xr.DataArray, b: xr.DataArray, method: str, kwargs: dict) -> xr.DataArray:
    if method == "cva":
        return cva(a, b, **kwargs).magnitude
    if method == "irmad":
        from .irmad import irmad

        return irmad(a, b, **kwargs).chi2
    return _norm(difference(a, b, kind=method, **kwargs))


def change(
    a: Cube,
    b: Cube | None = None,
    *,
    method: ChangeMethod | None = None,
    threshold: ThresholdMethod = "kittler_illingworth",
    times: Sequence[Any] | None = None,
    **kwargs: Any,
) -> xr.Dataset:
    """Detect change between two dates: a statistic, a global threshold and the change mask.

    Parameters
    ----------
    a, b : DataArray or Dataset
        Earlier and later date on the same grid, or one series and ``times``.
    method : {"cva", "irmad", "diff", "log_ratio"}, optional
        The statistic: the CVA magnitude (:func:`eoxr.change.cva`, standardised), the IR-MAD
        chi-square (:func:`eoxr.change.irmad`), or ``|b - a|`` / ``|10 log10(b / a)|`` (their
        norm over bands). Default: ``"log_ratio"`` for SAR input, else ``"cva"``.
    threshold : {"kittler_illingworth", "otsu", "em_gmm"}
        The thresholding method (:func:`eoxr.change.threshold`; computed in one pass).
    times : pair of time labels, optional
        With ``b=None``: the two dates of ``a``.
    **kwargs
        Passed to the statistic's function (e.g. ``standardize=False``, ``seed=1``).

    Returns
    -------
    Dataset
        ``statistic`` (lazy for dask input) and ``change`` (bool mask, ``statistic >
        threshold``), with attrs ``method``, ``threshold`` and ``threshold_method``.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s2
    >>> s = synthetic_s2(seed=0, shape=(64, 64), times=24, cloud_cover=0.0)
    >>> res = s.cube.isel(time=1).eo.change(s.cube.isel(time=13))  # a year apart
    >>> float((res.change == s.change).mean()) > 0.95
    True
    """
    a, b = resolve_pair(a, b, times, "change")
    method = method or ("log_ratio" if is_sar(a) else "cva")
    check_choice("method", method, CHANGE_METHODS)
    check_choice("threshold", threshold, METHODS)
    stat = _statistic(a, b, method, kwargs)
    t, mask = apply_threshold(stat, threshold)
    like = a.isel({band_dim(a): 0}, drop=True) if band_dim(a) else a
    ds = xr.Dataset(
        {"statistic": finalize(stat, like, keep_value_attrs=True, attrs=stat.attrs), "change": mask}
    )
    out = finalize_dataset(ds, like, history=f"change: method={method}, threshold={threshold}")
    return out.assign_attrs(method=method, threshold=t, threshold_method=threshold)


__all__ = ["change", "CHANGE_METHODS"]
