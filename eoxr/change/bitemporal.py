"""Bi-temporal change statistics: difference / ratio / log-ratio and change vector analysis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import xarray as xr

from .._attrs import finalize, finalize_dataset
from .._dask.blockwise import map_blocks
from .._dims import band_dim, spatial_dims
from ..errors import DimensionError, UnitsError
from ._pair import Cube, check_choice, check_same_grid, resolve_pair

DiffKind = Literal["diff", "ratio", "log_ratio"]
DIFF_KINDS = ("diff", "ratio", "log_ratio")
_DB = ("db", "decibel", "decibels")


def is_db(da: xr.DataArray) -> bool:
    """True if the ``units`` attr declares decibels."""
    return str(da.attrs.get("units", "")).strip().lower() in _DB


def is_sar(da: xr.DataArray) -> bool:
    """True for SAR backscatter (``eoxr:kind="sar"`` or dB units)."""
    return da.attrs.get("eoxr:kind") == "sar" or is_db(da)


def _positive_kernel(block: np.ndarray, what: str) -> np.ndarray:
    if block.size and bool(np.nanmin(block, initial=0.0) < 0):
        raise UnitsError(
            f"{what}: negative values in linear intensities. Ratios need power > 0; if the data "
            "are in dB, declare it with `cube.attrs['units'] = 'dB'`."
        )
    # zero power is the no-data border of SAR scenes (GRD), not a measurement: NaN
    return np.where(block > 0, block, np.nan).astype(block.dtype, copy=False)


def positive(da: xr.DataArray, what: str) -> xr.DataArray:
    """``da`` with a lazy per-block check that linear intensities are >= 0 (zeros -> NaN)."""
    return da.copy(data=map_blocks(_positive_kernel, da, kwargs={"what": what}))


def difference(
    a: Cube,
    b: Cube | None = None,
    *,
    kind: DiffKind | None = None,
    times: Sequence[Any] | None = None,
) -> xr.DataArray:
    """Per-pixel change of ``b`` relative to ``a``: difference, ratio or log-ratio (lazily).

    Parameters
    ----------
    a, b : DataArray or Dataset
        The earlier and the later date on the same grid (a mismatch raises
        :class:`~eoxr.errors.GridMismatchError`). With ``b=None``, ``a`` is a series and ``times``
        picks two of its dates (default the first and the last).
    kind : {"diff", "ratio", "log_ratio"}, optional
        ``"diff"``: ``b - a``; ``"ratio"``: ``b / a``; ``"log_ratio"``: ``10 log10(b / a)`` in dB,
        the standard SAR statistic (speckle is multiplicative). Default: ``"log_ratio"`` for SAR
        input (``units="dB"`` or ``eoxr:kind="sar"``), else ``"diff"``. dB input is handled
        through its ``units`` attr (the log-ratio of dB data is ``b - a``); linear input to a
        ratio must be >= 0 (zeros are no-data and give NaN; negatives raise
        :class:`~eoxr.errors.UnitsError` when computed).
    times : pair of time labels, optional
        With ``b=None``: the two dates of ``a`` to compare.

    Returns
    -------
    DataArray
        Same dims as one date (float32 for float32 input), named ``kind``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> a = xr.DataArray(np.full((2, 2), 0.1, "float32"), dims=("y", "x"), attrs={"units": "1"})
    >>> round(float(difference(a, a * 4, kind="log_ratio")[0, 0]), 3)
    6.021
    """
    what = "difference"
    a, b = resolve_pair(a, b, times, what)
    kind = kind or ("log_ratio" if is_sar(a) else "diff")
    check_choice("kind", kind, DIFF_KINDS)
    db = is_db(a)
    ten = a.dtype.type(10.0)
    if kind == "diff":
        out, units = b - a, a.attrs.get("units")
    elif db:
        d = b - a
        out, units = (d, "dB") if kind == "log_ratio" else (ten ** (d / ten), "1")
    else:
        a, b = positive(a, what), positive(b, what)
        ratio = b / a
        out, units = (ratio, "1") if kind == "ratio" else (ten * np.log10(ratio), "dB")
    return finalize(
        out,
        a,
        name=kind,
        long_name={"diff": "difference (b - a)", "ratio": "ratio b / a"}.get(kind, "log-ratio"),
        units=units,
        history=f"difference: kind={kind}",
    )


def standardize_pair(
    a: xr.DataArray, b: xr.DataArray
) -> tuple[xr.DataArray, xr.DataArray, dict[str, tuple[xr.DataArray, xr.DataArray]]]:
    """Each date and band scaled to zero mean and unit variance (global, float64).

    The means and deviations stay in the dask graph for dask input (one pass when the result is
    computed); a zero deviation counts as 1.
    """
    ydim, xdim = spatial_dims(a)
    bd = band_dim(a)
    stats = []
    for da in (a, b):
        f = da.astype(np.float64)
        m, s = f.mean((ydim, xdim)), f.std((ydim, xdim))
        m, s = (v.drop_vars([c for c in v.coords if c != bd]) for v in (m, s))
        stats.append((m, s.where(s > 0, 1.0)))
    (ma, sa), (mb, sb) = stats
    za, zb = ((da - m.astype(a.dtype)) / s.astype(a.dtype) for da, (m, s) in zip((a, b), stats))
    return za, zb, {"mean": (ma, mb), "std": (sa, sb)}


def cva(
    a: Cube,
    b: Cube | None = None,
    *,
    standardize: bool = True,
    times: Sequence[Any] | None = None,
) -> xr.Dataset:
    """Change vector analysis: magnitude and direction of the spectral change (lazily).

    Parameters
    ----------
    a, b : DataArray or Dataset
        The two dates (bands along ``band``), on the same grid; or one series and ``times``.
    standardize : bool
        Scale each date and band to zero mean and unit variance before differencing (default).
        The means and standard deviations are global statistics of each date, kept in the dask
        graph (one pass when the result is computed); they absorb gain/offset differences
        between the acquisitions (illumination, atmosphere, sensor), on which raw-DN CVA fails
        on real Landsat pairs.
    times : pair of time labels, optional
        With ``b=None``: the two dates of ``a``.

    Returns
    -------
    Dataset
        ``magnitude`` (Euclidean norm of the change vector, in standard deviations when
        standardised) and ``direction`` (degrees between the change vector and the diagonal
        where all bands change alike: 0 = everything brighter, 180 = everything darker; the
        compressed CVA of Bovolo & Bruzzone 2007). NaN where any band is NaN.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s2
    >>> s = synthetic_s2(seed=0, shape=(64, 64), times=12, cloud_cover=0.0)
    >>> res = cva(s.cube.isel(time=1), s.cube.isel(time=7))
    >>> bool(res.magnitude.where(s.change).mean() > 3 * res.magnitude.where(~s.change).mean())
    True
    """
    a, b = resolve_pair(a, b, times, "cva")
    if standardize:
        za, zb, _ = standardize_pair(a, b)
    else:
        za, zb = a, b
    d = zb - za
    bd = band_dim(a)
    if bd is None:
        mag = abs(d)
        total = d
        nb = 1
    else:
        mag = np.sqrt((d * d).sum(bd, skipna=False))
        total = d.sum(bd, skipna=False)
        nb = a.sizes[bd]
    with np.errstate(invalid="ignore", divide="ignore"):
        cosang = (total / (np.sqrt(a.dtype.type(nb)) * mag)).clip(-1, 1)
    direction = np.degrees(np.arccos(cosang)).astype(a.dtype)
    like = a.isel({bd: 0}, drop=True) if bd else a
    unit = "standard deviations" if standardize else a.attrs.get("units")
    ds = xr.Dataset(
        {
            "magnitude": finalize(
                mag.astype(a.dtype), like, long_name="change vector magnitude", units=unit
            ),
            "direction": finalize(
                direction, like, long_name="angle of change vector to the diagonal", units="deg"
            ),
        }
    )
    return finalize_dataset(ds, a, history=f"cva: standardize={standardize}")


def embedding_distance(
    e1: xr.DataArray, e2: xr.DataArray, *, metric: Literal["cosine", "euclidean"] = "cosine"
) -> xr.DataArray:
    """Per-pixel distance between two embedding maps ``(feature, y, x)`` (lazily).

    Parameters
    ----------
    e1, e2 : DataArray
        Embeddings of the two dates on the same grid, with a ``feature`` dim of equal length
        (e.g. the output of a foundation model applied with ``cube.eo.apply_model``).
    metric : {"cosine", "euclidean"}
        ``"cosine"``: ``1 - cos`` of the angle between the two feature vectors (0 for the same
        direction, 2 for opposite; invariant to the vectors' norms); ``"euclidean"``: the
        norm of the difference.

    Returns
    -------
    DataArray
        ``(y, x)`` float32 for float32 input; NaN where any feature of either input is NaN
        (and, for cosine, where a vector is zero).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> e = xr.DataArray(np.array([[[1.0]], [[0.0]]], "float32"), dims=("feature", "y", "x"))
    >>> f = e.copy(data=np.array([[[0.0]], [[2.0]]], "float32"))
    >>> float(embedding_distance(e, f)[0, 0]), float(embedding_distance(e, e * 3)[0, 0])
    (1.0, 0.0)
    """
    check_choice("metric", metric, ("cosine", "euclidean"))
    for e in (e1, e2):
        if not isinstance(e, xr.DataArray) or "feature" not in e.dims:
            raise DimensionError(
                "embedding_distance expects DataArrays with a `feature` dim (feature, y, x); "
                f"got {getattr(e, 'dims', type(e).__name__)}."
            )
    if e1.sizes["feature"] != e2.sizes["feature"]:
        raise DimensionError(
            f"the embeddings have {e1.sizes['feature']} and {e2.sizes['feature']} features; "
            "compare embeddings of the same model."
        )
    check_same_grid(e1, e2, "embedding_distance")
    e2 = e2.transpose(*e1.dims)
    dt = np.result_type(e1.dtype, e2.dtype, np.float32)
    a, b = e1.astype(dt), e2.drop_vars("feature", errors="ignore").astype(dt)
    a = a.drop_vars("feature", errors="ignore")
    if metric == "euclidean":
        d = a - b
        out = np.sqrt((d * d).sum("feature", skipna=False))
    else:
        dot = (a * b).sum("feature", skipna=False)
        norm = np.sqrt((a * a).sum("feature", skipna=False) * (b * b).sum("feature", skipna=False))
        with np.errstate(invalid="ignore", divide="ignore"):
            out = 1 - dot / norm.where(norm > 0)
    like = e1.isel(feature=0, drop=True)
    return finalize(
        out.astype(dt),
        like,
        name=f"{metric}_distance",
        long_name=f"{metric} distance between embeddings",
        units="1",
        history=f"embedding_distance: metric={metric}",
    )


__all__ = [
    "difference",
    "cva",
    "embedding_distance",
    "standardize_pair",
    "is_db",
    "is_sar",
    "positive",
]
