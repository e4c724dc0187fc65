"""Run a speckle kernel over a DataArray: halo, slices, looks-dependent parameters, point targets.

Shared by :mod:`eoxr.sar.speckle` (the filters) and :mod:`eoxr.sar.looks` (the local-ENL map of
the looks estimate), so that neither imports the other.

The number of looks may be a number or a lazy 0-d array (an estimate that is part of the dask
graph): the parameters that depend on it are derived inside each block, from the computed value.
"""

from __future__ import annotations

import threading
from typing import Any

import numba
import numpy as np
import xarray as xr

from .._dask.chunking import is_dask
from .._dask.overlap import map_overlap
from . import _histogram as H
from . import _kernels as K
from . import _kernels_frost as KF
from . import _kernels_refined as KR
from . import _kernels_sigma as KS
from ._gamma import sigma_range
from ._validate import check_sar, raise_if_negative

# One kernel call at a time: each already uses every core through prange (two dask threads
# would oversubscribe them), and numba's workqueue layer, its fallback when neither OpenMP nor
# TBB loads, must not be entered by two threads at once.
_LOCK = threading.Lock()
_N_STRIPES = 16  # row stripes per kernel call, shared by numba's threads (load balance)
MOMENT = {
    "boxcar": K.BOXCAR,
    "lee": K.LEE,
    "kuan": K.KUAN,
    "enhanced_lee": K.ENHANCED_LEE,
    "gamma_map": K.GAMMA_MAP,
    "local_enl": K.LOCAL_ENL,
}


def count_values(block: np.ndarray) -> np.ndarray:
    """:func:`eoxr.sar._histogram.value_histogram` of a whole 2-D array on every core (one read)."""
    with _LOCK:
        return H.value_histogram(block, numba.get_num_threads())


def count_block_values(block: np.ndarray) -> np.ndarray:
    """The same counts for one dask block, on the calling thread: dask counts blocks in parallel.

    Why not :func:`count_values` per block: each block then waits for the lock and starts a
    parallel region of its own; 16 blocks of 1024² took 22.6 ms that way on 2 cores, 16.1 ms
    counted one per dask thread.
    """
    return H.value_histogram_serial(block)


def looks_params(kind: str, looks: float, p: dict[str, Any]) -> dict[str, Any]:
    """Kernel parameters that follow from the number of looks ``looks`` (``Cu^2 = 1/looks``)."""
    out = dict(p, cu2=1.0 / looks)
    if kind == "enhanced_lee":
        out["p1"] = float(np.sqrt(1.0 + 2.0 / looks))  # Cmax
    elif kind == "gamma_map":
        out["p1"], out["p2"] = float(np.sqrt(2.0 / looks)), float(looks)
    elif kind == "lee_sigma":
        out["eta1"], out["eta2"], out["sv2"] = sigma_range(round(looks, 6), p["sigma"])
    return out


def _kernel2d(
    x: np.ndarray,
    kind: str,
    h: tuple[int, int],
    p: dict[str, Any],
    out: np.ndarray,
    min_count: int = 0,
    threshold: float = 1.0,
) -> None:
    hy, hx = h
    if kind in MOMENT:
        cu2, p1, p2 = p["cu2"], p.get("p1", 0.0), p.get("p2", 0.0)
        K.moment_filter(x, hy, hx, MOMENT[kind], cu2, p1, p2, threshold, min_count, out, _N_STRIPES)
    elif kind == "median":
        net, row = K.median_network((2 * hy + 1) * (2 * hx + 1))
        K.median_filter(x, hy, hx, net, row, out, _N_STRIPES)
    elif kind == "frost":
        bases, dist_base, power, quad = KF.frost_tables(hy, hx)
        chl = KF.split_bases(bases)
        damping = p["damping"]
        KF.frost_filter(
            x, hy, hx, damping, chl, dist_base, power, quad, threshold, min_count, out, _N_STRIPES
        )
    elif kind == "refined_lee":
        KR.refined_lee_filter(x, p["cu2"], threshold, min_count, out, _N_STRIPES)
    else:
        e1, e2, sv2 = p["eta1"], p["eta2"], p["sv2"]
        KS.lee_sigma_filter(x, hy, hx, p["cu2"], e1, e2, sv2, threshold, min_count, out, _N_STRIPES)


def _block(
    block: np.ndarray,
    *,
    kind: str,
    h: tuple[int, int],
    check: bool,
    what: str,
    params: dict,
    looks: Any = None,
    min_count: int | None = None,
    threshold: Any = 1.0,
    declared: bool = False,
    block_info: dict | None = None,
) -> np.ndarray:
    """Kernel for ``map_overlap``: spatial dims last, any leading dims filtered slice by slice.

    ``min_count`` set: pixels at or above ``threshold`` in clusters are point targets
    (:func:`eoxr.sar._kernels.clean_row`), left out of every window's statistics; they keep
    their own value. ``threshold``: a number, or one per 2-D slice of the whole array (an
    array over its leading dims, of which ``block_info`` locates the block's part).
    """
    if check:
        raise_if_negative(block, what, declared)
    p = params if looks is None else looks_params(kind, float(looks), params)
    flat = np.ascontiguousarray(block).reshape((-1,) + block.shape[-2:])
    thr = np.asarray(threshold, np.float64)
    if thr.ndim and block_info is not None:  # a dask block: its slices' thresholds
        thr = thr[tuple(slice(*loc) for loc in block_info[0]["array-location"][:-2])]
    thr = np.broadcast_to(thr, block.shape[:-2]).reshape(-1)
    out = np.empty_like(flat)
    with _LOCK:
        for k in range(flat.shape[0]):
            # every kernel with a point step finds the point targets itself, stripe by stripe
            _kernel2d(flat[k], kind, h, p, out[k], min_count or 0, thr[k])
    return out.reshape(block.shape)


def filter_array(
    lin: xr.DataArray,
    kind: str,
    *,
    size: int | tuple[int, int],
    check: bool,
    declared: bool = False,
    looks: Any = None,
    min_count: int | None = None,
    threshold: Any = 1.0,
    what: str | None = None,
    **params: Any,
) -> xr.DataArray:
    """Run kernel ``kind`` over ``lin`` (linear power), spatial dims moved last and back.

    ``size``: the window, one odd int or ``(rows, columns)``.

    ``check``: raise a UnitsError on values linear power cannot take (``declared``: the data are
    declared linear, see :func:`~eoxr.sar._validate.raise_if_negative`).
    ``looks`` (a number or a lazy 0-d array) sets the looks-dependent parameters inside the
    blocks; ``min_count`` turns on the point-target step (pixels >= ``threshold``: a number, or
    a numpy or lazy array with one value per 2-D slice, over the non-spatial dims in ``lin``'s
    order).
    """
    if min_count is not None and kind == "median":  # the one kernel without a point step
        raise ValueError("the median filter has no point-target step: pass min_count=None")
    ydim, xdim = check_sar(lin, what=kind)
    order = lin.dims
    moved = lin.transpose(..., ydim, xdim)
    sy, sx = (size, size) if isinstance(size, int | np.integer) else size
    h = (int(sy) // 2, int(sx) // 2)
    # lee_sigma's a priori mean is 3x3; the point-target test counts over 3x3
    lo = 1 if kind == "lee_sigma" else 0
    extra = 0 if min_count is None else 1
    halo = {ydim: max(h[0], lo) + extra, xdim: max(h[1], lo) + extra}
    kwargs: dict[str, Any] = {
        "kind": kind,
        "h": h,
        "check": check,
        "declared": declared,
        "what": what or kind,
        "params": params,
    }
    if looks is not None:
        kwargs["looks"] = looks
    if min_count is not None:
        kwargs["min_count"] = int(min_count)
        lazy = is_dask(threshold) or np.ndim(threshold)
        kwargs["threshold"] = threshold if lazy else float(threshold)
    out = map_overlap(_block, moved, halo, boundary="nan", kwargs=kwargs)
    return out.transpose(*order)
