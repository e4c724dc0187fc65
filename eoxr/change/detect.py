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
from .threshold import METHODS, ThresholdMethod, lazy_threshold

ChangeMethod = Literal["cva", "irmad", "diff", "log_ratio"]
CHANGE_METHODS = ("cva", "irmad", "diff", "log_ratio")


def _norm(x: xr.DataArray) -> xr.DataArray:
    """``|x|``, or its Euclidean norm over bands (NaN where any band is NaN)."""
    bd = band_dim(x)
    if bd is None:
        return abs(x)
    return np.sqrt((x * x).sum(bd, skipna=False)).astype(x.dtype)


def _statistic(
    a: xr.DataArray, b: xr.DataArray, method: str, kwargs: dict, progress: bool | None
) -> xr.DataArray:
    if method == "cva":
        return cva(a, b, **kwargs).magnitude
    if method == "irmad":
        from .irmad import irmad

        return irmad(a, b, progress=progress, **kwargs).chi2
    return _norm(difference(a, b, kind=method, **kwargs))


def change(
    a: Cube,
    b: Cube | None = None,
    *,
    method: ChangeMethod | None = None,
    threshold_method: ThresholdMethod = "kittler_illingworth",
    times: Sequence[Any] | None = None,
    progress: bool | None = None,
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
    threshold_method : {"kittler_illingworth", "otsu", "em_gmm"}
        How the global threshold is picked (:func:`eoxr.change.threshold`). It is read from
        one histogram pass over the statistic when the result is computed: for dask input
        it stays in the graph as a 0-d value.
    times : pair of time labels, optional
        With ``b=None``: the two dates of ``a``.
    progress : bool, optional
        Progress bar for what computes at call time: only the IR-MAD fit
        (``method="irmad"``); everything else is lazy. Default: shown when interactive.
    **kwargs
        Passed to the statistic's function (e.g. ``standardize=False``, ``seed=1``).

    Returns
    -------
    Dataset
        ``statistic`` and ``change`` (bool mask, ``statistic > threshold``), lazy for dask
        input, with the 0-d coordinate ``threshold`` (lazy too: ``float(res.threshold)``
        computes it) and the attrs ``method`` and ``threshold_method``.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s2
    >>> s = synthetic_s2(seed=0, shape=(64, 64), times=24, cloud_cover=0.0)
    >>> res = s.cube.isel(time=1).eo.change(s.cube.isel(time=13))  # a year apart
    >>> float((res.change == s.change).mean()) > 0.95
    True
    >>> float(res.threshold) > 0
    True
    """
    a, b = resolve_pair(a, b, times, "change")
    method = method or ("log_ratio" if is_sar(a) else "cva")
    check_choice("method", method, CHANGE_METHODS)
    check_choice("threshold_method", threshold_method, METHODS)
    stat = _statistic(a, b, method, kwargs, progress)
    t = xr.DataArray(lazy_threshold(stat, threshold_method))
    mask = finalize(
        stat > t,
        stat,
        name="change",
        long_name=f"change mask ({stat.name or 'statistic'} > threshold, {threshold_method})",
        units="1",
        history=f"threshold: {threshold_method}",
        attrs={"threshold_method": threshold_method},
    )
    like = a.isel({band_dim(a): 0}, drop=True) if band_dim(a) else a
    ds = xr.Dataset(
        {"statistic": finalize(stat, like, keep_value_attrs=True, attrs=stat.attrs), "change": mask}
    )
    out = finalize_dataset(
        ds, like, history=f"change: method={method}, threshold_method={threshold_method}"
    )
    out = out.assign_coords(threshold=t.assign_attrs(long_name="change threshold"))
    return out.assign_attrs(method=method, threshold_method=threshold_method)


__all__ = ["change", "CHANGE_METHODS"]
