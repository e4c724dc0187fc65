"""Speckle filters on SAR intensity: xarray wrappers around the numba kernels.

Every filter works in the linear power domain: dB input (``units="dB"``) is converted, filtered
and converted back. Neighbourhoods go through :func:`eoxr._chunks.map_overlap` with the exact
halo and ``boundary="nan"``, so image edges and nodata are handled by skipping NaN inside the
window, and results do not depend on the dask chunking. Extra dims (time, polarisation) are
filtered as independent 2-D slices.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import xarray as xr

from .._attrs import finalize
from .._chunks import check_window, is_dask, map_overlap
from ..errors import ParameterError
from . import _kernels as K
from . import _kernels_edge as KE
from ._validate import SarCube, check_sar, domain, per_variable, raise_if_negative, require_2d_plus
from .looks import (
    LOOKS_ATTR,
    check_looks,
    estimate_looks,
    local_enl_histogram,
    looks_from_attrs,
    looks_from_counts,
    sigma_range,
    slice_quantile,
)

# One kernel call at a time: each already uses every core through prange (two dask threads
# would oversubscribe them), and numba's workqueue layer, its fallback when neither OpenMP nor
# TBB loads, must not be entered by two threads at once.
_LOCK = threading.Lock()
_N_STRIPES = 16  # row stripes per kernel call, shared by numba's threads (load balance)
_MOMENT = {
    "boxcar": K.BOXCAR,
    "lee": K.LEE,
    "kuan": K.KUAN,
    "enhanced_lee": K.ENHANCED_LEE,
    "gamma_map": K.GAMMA_MAP,
    "local_enl": K.LOCAL_ENL,
}


def _kernel2d(x: np.ndarray, kind: str, h: int, p: dict[str, Any], out: np.ndarray) -> None:
    if kind in _MOMENT:
        K.moment_filter(
            x, h, _MOMENT[kind], p["cu2"], p.get("p1", 0.0), p.get("p2", 0.0), out, _N_STRIPES
        )
    elif kind == "median":
        net, row = K.median_network((2 * h + 1) ** 2)
        K.median_filter(x, h, net, row, out, _N_STRIPES)
    elif kind == "frost":
        K.frost_filter(x, h, p["damping"], *K.frost_tables(h), out, _N_STRIPES)
    elif kind == "refined_lee":
        KE.refined_lee_filter(x, p["cu2"], KE.refined_lee_bits(), out, _N_STRIPES)
    else:
        KE.lee_sigma_filter(
            x,
            h,
            p["cu2"],
            p["eta1"],
            p["eta2"],
            p["sv2"],
            p["threshold"],
            p["min_count"],
            out,
            _N_STRIPES,
        )


def _block(
    block: np.ndarray, *, kind: str, h: int, check: bool, what: str, params: dict
) -> np.ndarray:
    """Kernel for ``map_overlap``: spatial dims last, any leading dims filtered slice by slice."""
    if check:
        raise_if_negative(block, what)
    flat = np.ascontiguousarray(block).reshape((-1,) + block.shape[-2:])
    out = np.empty_like(flat)
    with _LOCK:
        for k in range(flat.shape[0]):
            _kernel2d(flat[k], kind, h, params, out[k])
    return out.reshape(block.shape)


def _filter_array(
    lin: xr.DataArray,
    kind: str,
    *,
    size: int,
    check: bool,
    halo: int | None = None,
    what: str | None = None,
    **params: Any,
) -> xr.DataArray:
    """Run kernel ``kind`` over ``lin`` (linear power), spatial dims moved last and back."""
    ydim, xdim = check_sar(lin, what=kind)
    order = lin.dims
    moved = lin.transpose(..., ydim, xdim)
    h = size // 2 if halo is None else halo
    out = map_overlap(
        _block,
        moved,
        {ydim: h, xdim: h},
        boundary="nan",
        kwargs={
            "kind": kind,
            "h": size // 2,
            "check": check,
            "what": what or kind,
            "params": params,
        },
    )
    return out.transpose(*order)


def _prepare(cube: xr.DataArray, size: int, looks: Any, *, what: str, estimate: bool = True):
    """Validate and bring to linear power; return ``(lin, db_input, inferred, looks)``.

    ``looks=None``: the cube's attrs, else (``estimate``) :func:`estimate_looks`, else ``None``.
    """
    from .convert import to_linear

    check_sar(cube, what=what)
    require_2d_plus(cube)
    check_window(size)
    dom, inferred = domain(cube)
    lin = to_linear(cube) if dom == "dB" else cube
    if looks is None:
        looks = looks_from_attrs(cube)
    if looks is None and not estimate:
        return lin, dom == "dB", inferred, None
    if looks is None:
        looks = estimate_looks(lin)  # raises the undeclared-dB UnitsError itself
    return lin, dom == "dB", inferred, check_looks(looks)


def _finish(out: xr.DataArray, cube: xr.DataArray, db: bool, looks: float, text: str):
    from .convert import to_db

    out.attrs = {"units": "1"}
    if db:
        out = to_db(out)
    attrs = {} if looks is None else {LOOKS_ATTR: round(float(looks), 4)}
    return finalize(out, cube, keep_value_attrs=True, attrs=attrs, history=text)


def _moment(cube, kind: str, size: int, looks: Any, p1=None, p2=None, **extra) -> xr.DataArray:
    lin, db, inferred, L = _prepare(cube, size, looks, what=kind)
    cu2 = 1.0 / L
    p = {
        "cu2": cu2,
        "p1": float(p1(L) if callable(p1) else (p1 or 0.0)),
        "p2": float(p2(L) if callable(p2) else (p2 or 0.0)),
    }
    out = _filter_array(lin, kind, size=size, check=inferred, **p)
    desc = ", ".join(f"{k}={v}" for k, v in {"size": size, "looks": round(L, 3), **extra}.items())
    return _finish(out, cube, db, L, f"{kind} speckle filter ({desc})")


@per_variable
def boxcar(cube: SarCube, size: int = 7, looks: float | None = None) -> SarCube:
    """NaN-aware ``size x size`` mean (boxcar) of SAR intensity.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> s1 = synthetic_s1(shape=(64, 64)).cube
    >>> boxcar(s1, size=5).dtype
    dtype('float32')
    """
    lin, db, inferred, L = _prepare(cube, size, looks, what="boxcar", estimate=False)
    out = _filter_array(lin, "boxcar", size=size, check=inferred, cu2=1.0)
    return _finish(out, cube, db, L, f"boxcar speckle filter (size={size})")


@per_variable
def lee(cube: SarCube, size: int = 7, looks: float | None = None) -> SarCube:
    """Lee (1980) local-statistics MMSE filter for multiplicative speckle.

    ``x = m + k (z - m)`` with ``k = (Ci^2 - Cu^2) / (Ci^2 + Cu^4)`` clipped to [0, 1], where
    ``m``, ``Ci^2 = var / m^2`` are the window's mean and squared variation coefficient and
    ``Cu^2 = 1 / looks``. ``looks=None`` takes ``attrs["eoxr:looks"]`` or estimates it with
    :func:`~eoxr.sar.looks.estimate_looks`; the value used is stored in the result's attrs.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> s1 = synthetic_s1(shape=(64, 64)).cube
    >>> lee(s1, size=7, looks=4.4).attrs["eoxr:looks"]
    4.4
    """
    return _moment(cube, "lee", size, looks)


@per_variable
def kuan(cube: SarCube, size: int = 7, looks: float | None = None) -> SarCube:
    """Kuan et al. (1985) filter: ``W = (1 - Cu^2/Ci^2) / (1 + Cu^2)``, ``x = m + W (z - m)``.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> kuan(synthetic_s1(shape=(64, 64)).cube, looks=4.4).shape
    (2, 2, 64, 64)
    """
    return _moment(cube, "kuan", size, looks)


@per_variable
def enhanced_lee(
    cube: SarCube, size: int = 7, looks: float | None = None, damping: float = 1.0
) -> SarCube:
    """Enhanced Lee filter (Lopes, Touzi & Nezry 1990).

    Mean where ``Ci <= Cu``; the pixel itself where ``Ci >= Cmax = sqrt(1 + 2/looks)`` (point
    targets); in between ``W = exp(-damping (Ci - Cu) / (Cmax - Ci))``, ``x = m W + z (1 - W)``.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> enhanced_lee(synthetic_s1(shape=(64, 64)).cube, looks=4.4, damping=1.0).dtype
    dtype('float32')
    """
    _positive(damping, "damping")
    return _moment(
        cube,
        "enhanced_lee",
        size,
        looks,
        p1=lambda L: np.sqrt(1 + 2 / L),
        p2=damping,
        damping=damping,
    )


@per_variable
def gamma_map(cube: SarCube, size: int = 7, looks: float | None = None) -> SarCube:
    """Gamma-MAP filter (Lopes, Nezry, Touzi & Laur 1990), thresholds ``Cu`` and ``sqrt(2) Cu``.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> gamma_map(synthetic_s1(shape=(64, 64)).cube, looks=4.4).dtype
    dtype('float32')
    """
    return _moment(cube, "gamma_map", size, looks, p1=lambda L: np.sqrt(2.0 / L), p2=lambda L: L)


@per_variable
def frost(
    cube: SarCube, size: int = 7, looks: float | None = None, damping: float = 2.0
) -> SarCube:
    """Frost et al. (1982) filter: weights ``exp(-damping Ci^2 |t|)``, ``|t|`` = distance to centre.

    ``looks`` is not used by the formula; it is only recorded in the attrs when given.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> frost(synthetic_s1(shape=(64, 64)).cube, damping=2.0).dtype
    dtype('float32')
    """
    _positive(damping, "damping")
    return _moment_like(cube, "frost", size, looks, damping=float(damping))


@per_variable
def median(cube: SarCube, size: int = 7, looks: float | None = None) -> SarCube:
    """NaN-aware median over ``size x size`` windows (in linear power).

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> median(synthetic_s1(shape=(64, 64)).cube, size=3).dtype
    dtype('float32')
    """
    return _moment_like(cube, "median", size, looks)


def _moment_like(cube, kind: str, size: int, looks: Any, **params: Any) -> xr.DataArray:
    """Filters whose formula does not use the looks: never estimate them."""
    lin, db, inferred, L = _prepare(cube, size, looks, what=kind, estimate=False)
    out = _filter_array(lin, kind, size=size, check=inferred, **params)
    desc = ", ".join(f"{k}={v}" for k, v in {"size": size, **params}.items())
    return _finish(out, cube, db, L, f"{kind} speckle filter ({desc})")


@per_variable
def refined_lee(cube: SarCube, size: int = 7, looks: float | None = None) -> SarCube:
    """Refined Lee filter (Lee 1981): edge-aligned non-symmetric windows in a 7x7 neighbourhood.

    The nine 3x3 sub-window means give four directional gradients; the strongest picks the edge
    direction and the sub-window nearer to the centre's mean picks its side, i.e. one of eight
    28-pixel half windows, over which the Lee MMSE estimate
    ``b = var_x / var_z, var_x = (var_z - m^2 Cu^2) / (1 + Cu^2)`` is applied. Only ``size=7``.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> refined_lee(synthetic_s1(shape=(64, 64)).cube, looks=4.4).dtype
    dtype('float32')
    """
    if size != 7:
        raise ParameterError(
            f"refined_lee uses the 7x7 window of Lee 1981; got size={size}. "
            "Use size=7 (or `lee(cube, size=...)` for other windows)."
        )
    lin, db, inferred, L = _prepare(cube, size, looks, what="refined_lee")
    out = _filter_array(lin, "refined_lee", size=7, check=inferred, cu2=1.0 / L)
    return _finish(out, cube, db, L, f"refined_lee speckle filter (7x7, looks={L:.3f})")


@per_variable
def lee_sigma(
    cube: SarCube,
    size: int = 7,
    looks: float | None = None,
    sigma: float = 0.9,
    point_threshold: float | None = None,
    min_count: int = 5,
) -> SarCube:
    """Improved Lee sigma filter (Lee, Wen, Ainsworth, Chen & Chen 2009, IEEE TGRS 47(1)).

    Parameters
    ----------
    size : int
        Window for the sigma-range MMSE step (the a priori mean uses 3x3).
    sigma : float
        Probability mass of the sigma range, one of the paper's 0.5-0.95 (default 0.9).
    point_threshold : float, optional
        Linear power above which 3x3 clusters of >= ``min_count`` pixels are kept as point
        targets. Default: each 2-D slice's 98th percentile, a global statistic
        (:func:`~eoxr.sar.looks.slice_quantile`, within ~3e-3 of the exact quantile). On dask
        input it stays lazy when ``looks`` is known (dask then keeps a slice's input chunks in
        memory until its percentile is known; give ``point_threshold`` for a streaming
        computation); when ``looks`` must be estimated, both statistics are computed at call
        time in one pass over the data.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> lee_sigma(synthetic_s1(shape=(64, 64)).cube, looks=4.4).dtype
    dtype('float32')
    """
    if not 0.5 <= float(sigma) <= 0.99:
        raise ParameterError(f"sigma={sigma!r} must lie in [0.5, 0.99] (the paper uses 0.5-0.95).")
    lin, db, inferred, L = _prepare(cube, size, looks, what="lee_sigma", estimate=False)
    scale, L = _sigma_scale(lin, L, point_threshold, inferred)
    eta1, eta2, sv2 = sigma_range(round(L, 6), float(sigma))
    # The filter is scale-equivariant: dividing each slice by its threshold and using threshold
    # 1 equals a per-slice threshold, with the threshold kept out of the kernel's parameters.
    out = _filter_array(
        lin / scale,
        "lee_sigma",
        size=size,
        check=inferred,
        halo=max(size // 2, 1),
        cu2=1.0 / L,
        eta1=eta1,
        eta2=eta2,
        sv2=sv2,
        threshold=1.0,
        min_count=int(min_count),
    )
    return _finish(
        (out * scale).transpose(*cube.dims),
        cube,
        db,
        L,
        f"lee_sigma speckle filter (size={size}, looks={L:.3f}, sigma={sigma})",
    )


def _sigma_scale(
    lin: xr.DataArray, looks: float | None, point_threshold: float | None, inferred: bool
) -> tuple[Any, float]:
    """Point-target threshold (given, or the per-slice 98th percentile) and the looks.

    A looks estimate and the percentile are computed in one pass (one ``dask.compute``).
    """
    if point_threshold is not None:
        _positive(point_threshold, "point_threshold")
        t = lin.dtype.type(point_threshold)
        return t, check_looks(looks if looks is not None else estimate_looks(lin))
    t = slice_quantile(lin, 0.98)
    if looks is None:
        counts = local_enl_histogram(lin, 7, check=inferred)
        if is_dask(lin):
            import dask

            counts, tv = dask.compute(counts, t.data)
            t = t.copy(data=tv)
        looks = looks_from_counts(counts)
    t = t.where(t > 0, 1.0).astype(lin.dtype)  # an all-zero or all-NaN slice
    return t, check_looks(looks)


def _positive(value: float, name: str) -> None:
    if not float(value) > 0:
        raise ParameterError(f"{name}={value!r} must be > 0.")


__all__ = [
    "boxcar",
    "median",
    "lee",
    "kuan",
    "enhanced_lee",
    "gamma_map",
    "frost",
    "refined_lee",
    "lee_sigma",
]
