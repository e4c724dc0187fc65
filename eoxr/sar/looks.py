"""Number of looks: estimated from the data (a documented global statistic) or taken as given."""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import xarray as xr

from .._chunks import is_dask
from .._dims import spatial_dims
from ..errors import ParameterError

#: attribute under which filters record the number of looks they used
LOOKS_ATTR = "eoxr:looks"
_EDGES = np.linspace(np.log10(0.25), np.log10(1000.0), 721)  # 0.005 decades per bin
_VALUE_EDGES = np.linspace(-12.0, 6.0, 9001)  # log10 linear power, 0.002 decades per bin


def looks_from_attrs(cube: xr.DataArray) -> float | None:
    """The number of looks recorded in ``cube.attrs`` (``eoxr:looks`` or ``looks``), if any."""
    for key in (LOOKS_ATTR, "looks", "number_of_looks", "enl"):
        if key in cube.attrs:
            return float(cube.attrs[key])
    return None


def check_looks(looks: Any) -> float:
    """Validate a given number of looks (a positive real, >= 0.5)."""
    try:
        val = float(looks)
    except (TypeError, ValueError):
        val = float("nan")
    if not np.isfinite(val) or val < 0.5:
        raise ParameterError(
            f"looks={looks!r} is not a valid number of looks: expected a real >= 0.5 (e.g. "
            "looks=4.4 for Sentinel-1 IW GRD), or looks=None to estimate it from the data."
        )
    return val


def local_enl_histogram(lin: xr.DataArray, size: int = 7, check: bool = False):
    """Histogram counts of log10 local ENL (``mean^2 / var`` in ``size`` windows) over the image.

    Lazy (a dask array of integer counts, chunk-independent) for dask input, numpy otherwise.
    ``check``: raise the undeclared-domain UnitsError on a negative value.
    """
    from .speckle import _filter_array  # local: speckle imports this module

    enl = _filter_array(lin, "local_enl", size=size, cu2=1.0, check=check, what="estimate_looks")
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.log10(enl.data)
    if is_dask(enl):
        import dask.array as dsa

        return dsa.histogram(logs, bins=_EDGES)[0]
    return np.histogram(logs[np.isfinite(logs)], bins=_EDGES)[0]


def _hist_quantile(counts: np.ndarray, edges: np.ndarray, q: float) -> float:
    """``q``-quantile from histogram counts over log10 ``edges`` (linear inside the bin)."""
    counts = np.asarray(counts, dtype=np.float64)
    cum = np.cumsum(counts)
    if cum[-1] == 0:
        return float("nan")
    target = q * cum[-1]
    k = int(np.searchsorted(cum, target))
    before = cum[k - 1] if k else 0.0
    frac = (target - before) / counts[k] if counts[k] else 0.5
    return float(10.0 ** (edges[k] + frac * (edges[k + 1] - edges[k])))


def looks_from_counts(counts: np.ndarray) -> float:
    """The looks estimate (median local ENL) from :func:`local_enl_histogram` counts."""
    if np.sum(counts) == 0:
        raise ParameterError(
            "cannot estimate the number of looks: no window has a valid, non-constant sample. "
            "Pass looks=... explicitly."
        )
    return _hist_quantile(counts, _EDGES, 0.5)


def estimate_looks(cube: xr.DataArray, size: int = 7) -> float:
    """Estimate the equivalent number of looks of linear-intensity SAR data.

    Global statistic, computed in one pass: the median of the local ENL (``mean^2 / variance``
    in ``size x size`` windows) over the image, read from a fixed log-spaced histogram (0.005
    decade bins, linear interpolation inside the median bin), so that the value does not depend
    on the dask chunking. Texture and edges pull single windows below the speckle's ENL while
    the ``mean^2 / var`` ratio of few samples is biased upward; on gamma speckle of 4.4 looks
    the median lands within a few % of the truth, and on the real Sentinel-1 Camargue sample
    (multilooked GRD, documented 7x7 ENL 4.4) it gives 4.4.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> cube = synthetic_s1(seed=0, looks=4.4).cube.isel(time=0, band=0)
    >>> 3.8 < estimate_looks(cube) < 5.0
    True
    """
    from ._validate import check_sar, domain
    from .convert import to_linear

    check_sar(cube, what="estimate_looks")
    dom, inferred = domain(cube)
    lin = to_linear(cube) if dom == "dB" else cube
    counts = local_enl_histogram(lin, size, check=inferred)
    return looks_from_counts(counts.compute() if hasattr(counts, "dask") else counts)


def _log_counts(data: Any) -> Any:
    """Histogram of log10 linear power on :data:`_VALUE_EDGES` (zeros in the first bin)."""
    mod = np
    if not isinstance(data, np.ndarray):
        import dask.array as mod
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = mod.clip(mod.log10(data), _VALUE_EDGES[0], _VALUE_EDGES[-1])  # NaN stays NaN
    return mod.histogram(logs, bins=_VALUE_EDGES)[0]


def _quantiles(counts: np.ndarray, q: float) -> np.ndarray:
    return np.array([_hist_quantile(c, _VALUE_EDGES, q) for c in counts])


def slice_quantile(lin: xr.DataArray, q: float) -> xr.DataArray:
    """The ``q``-quantile of each 2-D slice of linear power, lazily for dask input.

    Read from a fixed log10 histogram (0.002 decade bins over 1e-12..1e6, interpolated inside
    the bin: within ~3e-3 of the exact quantile), so the value does not depend on the chunking
    and no slice has to fit in one chunk. A slice without valid pixel gives NaN.
    """
    ydim, xdim = spatial_dims(lin)
    lead = [d for d in lin.dims if d not in (ydim, xdim)]
    moved = lin.transpose(*lead, ydim, xdim)
    shape, data = moved.shape[:-2], moved.data
    if is_dask(moved):
        import dask.array as dsa

        counts = dsa.stack([_log_counts(data[i]) for i in np.ndindex(shape)])
        vals = counts.map_blocks(_quantiles, q=q, drop_axis=1, dtype=np.float64)
        vals = vals.rechunk(-1).reshape(shape)
    else:
        vals = _quantiles(np.stack([_log_counts(data[i]) for i in np.ndindex(shape)]), q).reshape(
            shape
        )
    return xr.DataArray(vals, dims=lead, coords={d: moved[d] for d in lead if d in moved.coords})


@functools.lru_cache(maxsize=256)
def sigma_range(looks: float, sigma: float) -> tuple[float, float, float]:
    """Lee et al. 2009 sigma range ``(eta1, eta2, var)`` of unit-mean gamma speckle of ``looks``.

    ``[eta1, eta2]`` holds probability ``sigma`` and the speckle restricted to it has mean 1
    (the unbiased range of the improved sigma filter); ``var`` is the variance of the speckle
    inside the range, used by the MMSE step. Solved from the gamma CDF, where
    ``E[v 1(a<v<b)] = F_{L+1}(b) - F_{L+1}(a)`` and
    ``E[v^2 1(a<v<b)] = (L+1)/L (F_{L+2}(b) - F_{L+2}(a))``.
    """
    from scipy import optimize, special

    L = float(looks)

    def F(shape: float, v: float) -> float:
        return float(special.gammainc(shape, L * v))

    def upper(a: float) -> float:
        target = F(L, a) + sigma
        return optimize.brentq(lambda b: F(L, b) - target, a, 1e3)

    def bias(a: float) -> float:
        b = upper(a)
        return (F(L + 1, b) - F(L + 1, a)) - sigma

    a_max = optimize.brentq(lambda a: F(L, a) - (1.0 - sigma) + 1e-12, 0.0, 1e3)
    eta1 = optimize.brentq(bias, 0.0, a_max * (1 - 1e-9), xtol=1e-12)
    eta2 = upper(eta1)
    second = (L + 1) / L * (F(L + 2, eta2) - F(L + 2, eta1)) / sigma
    return eta1, eta2, second - 1.0


__all__ = [
    "LOOKS_ATTR",
    "estimate_looks",
    "slice_quantile",
    "sigma_range",
    "check_looks",
    "looks_from_attrs",
]
