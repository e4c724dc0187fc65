"""Destriping: equalise the line statistics of every band.

A push-broom detector element that is slightly off adds the same offset (or gain) to a whole
column of a band. Two estimators of those per-line offsets:

* ``offsets="moments"``: classic moment matching (Gadallah et al. 2000): every line's mean
  (and standard deviation) is set to the band's global one. Simple, but it also erases real
  line-to-line brightness changes of the scene.
* ``offsets="robust"`` (default): each pixel is compared with the mean of its two neighbours
  across lines, ``h = v[x] - (v[x-d] + v[x+d]) / 2`` for ``d = 1, 2``; the median of ``h``
  along each line (over all rows) is the line's stripe contrast
  ``c = o[x] - (o[x-d] + o[x+d]) / 2``, immune to scene slopes (a second difference) and to
  scene edges that cross less than half of the rows (a median). The offsets ``o`` are then
  found by (slightly ridge-regularised) least squares on the lines whose contrast stands out
  (``z`` robust sigmas, local maxima first), all other lines keeping ``o = 0``: only striped
  lines are touched. The medians need whole lines in a chunk; the cube is rechunked for that
  statistic only, and the correction is applied on the original chunks. Nothing is computed at
  call time: the medians, the offsets solved from them (one graph task) and the correction
  form one graph.

Multiplicative stripes (gains) are handled the same way on the logarithm of the data.
"""

from __future__ import annotations

import functools
import warnings
from typing import Literal

import numpy as np
import xarray as xr

from .._attrs import finalize
from .._dask.blockwise import map_blocks
from .._dask.chunking import match_chunks
from .._dask.lazy import lazy_call
from .._dask.stats import compute
from ..errors import ParameterError
from ._cube import as_bands_first, on_good_bands, per_scene
from .noise import positive_number

StripeMode = Literal["additive", "multiplicative"]
StripeOffsets = Literal["robust", "moments"]


#: Neighbour distances of the line contrasts: with only +-1, two adjacent striped lines look
#: like a smooth bump of the scene; the +-2 contrast sees each of them directly.
_DISTANCES = (1, 2)
_RIDGE = 0.05


def contrast_parts(
    data: xr.DataArray, line_dim: str, along: str, distances: tuple[int, ...] = _DISTANCES
) -> list:
    """Median line contrasts per distance, as lazy ``(band, line)`` arrays (numpy for numpy).

    Each is the median along ``along`` of each pixel minus the mean of its neighbours ``d``
    lines away (mirrored neighbours at the edges); the cube is rechunked so that ``along`` is
    whole, as the median needs.
    """
    parts = []
    n = data.sizes[line_dim]
    for d in distances:
        # mirrored neighbours at the edges (index -d -> d), as in :func:`_reflect`
        padded = data.pad({line_dim: (d, d)}, mode="reflect")
        lo = padded.isel({line_dim: slice(0, n)}).data
        hi = padded.isel({line_dim: slice(2 * d, 2 * d + n)}).data
        h = data - 0.5 * (data.copy(data=lo) + data.copy(data=hi))
        h = h.transpose(data.dims[0], line_dim, along)
        parts.append(map_blocks(_line_median, h, whole=[along], drop_dims=[along]))
    return parts


def _line_median(block: np.ndarray) -> np.ndarray:
    """Median along the last axis, NaN ignored; an all-NaN line gets NaN (skipped later)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(block, axis=-1)


def line_contrast(
    data: xr.DataArray,
    line_dim: str,
    along: str,
    distances: tuple[int, ...] = _DISTANCES,
    *,
    progress: bool | None = None,
) -> np.ndarray:
    """Median line contrasts: each pixel minus the mean of its neighbours ``d`` lines away.

    For each ``d`` in ``distances`` the median is taken along ``along``. Returns a
    ``(distance, band, line)`` array (mirrored neighbours at the edges), computed now in one pass
    (:func:`destripe` keeps the same statistic lazy, in the graph).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN lines: NaN contrast, skipped
        vals = compute(*contrast_parts(data, line_dim, along, distances), progress=progress)
    return _stack(*vals)


def _stack(*parts: np.ndarray) -> np.ndarray:
    return np.stack([np.asarray(v, dtype="float64") for v in parts])


def _offsets_of_parts(parts: list, k: float) -> np.ndarray:
    """:func:`offsets_from_contrast` of the per-distance contrasts (a graph task for dask)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return offsets_from_contrast(_stack(*parts), k)


def _reflect(x: np.ndarray, n: int) -> np.ndarray:
    """Mirror line indices into ``[0, n)`` without repeating the edge (numpy "reflect")."""
    x = np.abs(x)
    return np.where(x > n - 1, 2 * (n - 1) - x, x)


def _contrast_of(o: np.ndarray, d: int) -> np.ndarray:
    """Contrast ``o[x] - (o[x-d] + o[x+d]) / 2`` of an offset profile (mirrored at the edges)."""
    idx = np.arange(o.size)
    return o - 0.5 * (o[_reflect(idx - d, o.size)] + o[_reflect(idx + d, o.size)])


def offsets_from_contrast(
    c: np.ndarray, k: float = 4.0, rounds: int = 6, distances: tuple[int, ...] = _DISTANCES
) -> np.ndarray:
    """Sparse line offsets ``o`` with ``o[x] - (o[x-d] + o[x+d]) / 2 = c[d, x]`` on striped lines.

    ``c`` is ``(distance, band, line)``. Lines whose residual contrast exceeds ``k`` robust
    sigmas join the support; the offsets on the support are solved by least squares from all
    contrasts (``rounds`` times at most); all other lines keep ``o = 0``.
    """
    _, nb, n = c.shape
    out = np.zeros((nb, n))
    shared = _shared_lines(c, k)
    for b in range(nb):
        cb = c[:, b]
        ok = np.isfinite(cb)
        if ok.sum() < 3:
            continue
        support = shared & ok.any(axis=0)
        o = _solve_support(cb, ok, support, distances) if support.any() else np.zeros(n)
        for _ in range(rounds):
            res = cb - np.stack([_contrast_of(o, d) for d in distances])
            # the scale is re-estimated on the residual: each stripe also spoils the contrast
            # of its neighbours, so the raw contrasts overstate the noise
            z = np.zeros(n)
            for i in range(len(distances)):
                r = res[i][ok[i]]
                scale = 1.4826 * np.median(np.abs(r - np.median(r)))
                if scale > 0:
                    z = np.maximum(z, np.where(ok[i], np.abs(res[i]), 0) / scale)
            # grow the support by local maxima only: a run of flagged neighbours is mostly the
            # echo of one stripe in its neighbours' contrasts
            peak = (z >= np.roll(z, 1)) & (z >= np.roll(z, -1))
            new = support | ((z > k) & peak)
            if new.sum() == support.sum():
                break
            support = new
            o = _solve_support(cb, ok, support, distances)
        out[b] = o
    return out


def _robust_z(c: np.ndarray) -> np.ndarray:
    """``|c|`` in robust sigmas along the last axis (0 where NaN)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN band: z = 0
        med = np.nanmedian(c, axis=-1, keepdims=True)
        scale = 1.4826 * np.nanmedian(np.abs(c - med), axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.nan_to_num(np.abs(c - med) / scale)


def _shared_lines(c: np.ndarray, k: float) -> np.ndarray:
    """Lines that stand out in most bands: a faulty detector element stripes all its bands.

    Scene features also show in every band, but a line enters only when its median z over the
    bands exceeds ``k``; pooling makes clusters of adjacent stripes, which one band alone
    cannot tell from a dark scene feature, visible.
    """
    if c.shape[1] < 5:
        return np.zeros(c.shape[-1], bool)
    return np.median(_robust_z(c).max(axis=0), axis=0) > k


def _solve_support(
    c: np.ndarray, ok: np.ndarray, support: np.ndarray, distances: tuple[int, ...]
) -> np.ndarray:
    """Least squares for the offsets on ``support`` (zero elsewhere) from the valid contrasts."""
    n = c.shape[1]
    cols = np.flatnonzero(support)
    pos = np.full(n, -1)
    pos[cols] = np.arange(cols.size)
    blocks, rhs = [], []
    for i, d in enumerate(distances):
        rows = np.unique(_reflect(np.concatenate([cols - d, cols, cols + d]), n))
        rows = rows[ok[i, rows]]
        a = np.zeros((rows.size, cols.size))
        for x, w in ((rows, 1.0), (_reflect(rows - d, n), -0.5), (_reflect(rows + d, n), -0.5)):
            j = pos[x]
            np.add.at(a, (np.flatnonzero(j >= 0), j[j >= 0]), w)
        blocks.append(a)
        rhs.append(c[i, rows])
    a, r = np.concatenate(blocks), np.concatenate(rhs)
    # a small ridge fixes the smooth modes of long runs of support, which second differences
    # barely see (they would otherwise take arbitrary, scene-like values)
    sol = np.linalg.solve(a.T @ a + _RIDGE * np.eye(cols.size), a.T @ r)
    o = np.zeros(n)
    o[cols] = sol
    return o


def _moment_offsets(data: xr.DataArray, along: str) -> tuple[xr.DataArray, xr.DataArray]:
    """Classic moment matching: gain and offset per line from the line and band moments.

    Lazy for dask input (the per-line moments stay in the graph). An all-NaN line or band has
    no statistics: NaN, which leaves it untouched.
    """
    line_dim = next(d for d in data.dims[1:] if d != along)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = data.mean(along).astype("float64")
        std = data.std(along).astype("float64")
        ref_m = mean.mean(line_dim, skipna=True)
        ref_s = std.mean(line_dim, skipna=True)
    # divide by NaN, not by 0, where the line is constant: no warning when the graph runs
    gain = xr.where(std > 0, ref_s / std.where(std > 0), 1.0)
    return gain, ref_m - gain * mean


@per_scene
def destripe(
    cube: xr.DataArray,
    *,
    dim: Literal["x", "y"] = "x",
    mode: StripeMode = "additive",
    offsets: StripeOffsets = "robust",
    z: float = 4.0,
    progress: bool | None = None,
) -> xr.DataArray:
    """Remove stripes from every band by equalising line statistics.

    Parameters
    ----------
    cube : DataArray
        ``(band, y, x)`` float cube, numpy- or dask-backed; NaN stays NaN. Spatial coords of any
        shape (e.g. 2-D ``xc``/``yc`` of a curvilinear grid) are carried over.
    dim : {"x", "y"}
        The dim along which the stripe offset varies, i.e. the dim that indexes the striped
        lines: ``"x"``: one offset per column, constant along ``y`` (column stripes of a
        push-broom detector); ``"y"``: row stripes. Also accepts the cube's own names for its
        spatial dims (e.g. ``"lon"``).
    mode : {"additive", "multiplicative"}
        Stripe model: an offset per line, or a gain (estimated on the log of positive data).
    offsets : {"robust", "moments"}
        How the stripe offsets are estimated: ``"robust"``: median line contrasts and sparse
        offsets (only striped lines change); ``"moments"``: classic moment matching of every
        line's mean and standard deviation to the band's (``mode`` is then ignored).
    z : float
        Detection threshold of striped lines, in robust sigmas of the line contrast.
    progress : bool, optional
        Accepted for compatibility and ignored: nothing is computed at call time (the line
        statistics and the offsets solved from them are part of the result's graph).

    Returns
    -------
    DataArray
        The destriped cube, lazy for dask input: the line statistics are a lazy reduction that
        feeds the correction, evaluated with the result.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_hsi
    >>> scene = synthetic_hsi(shape=(32, 32), n_bands=10, dead_fraction=0)
    >>> destripe(scene.cube).dims
    ('band', 'y', 'x')
    """
    if mode not in ("additive", "multiplicative") or offsets not in ("robust", "moments"):
        raise ParameterError(
            f"mode={mode!r} / offsets={offsets!r}: use mode 'additive' or "
            "'multiplicative' and offsets 'robust' or 'moments'."
        )
    z = positive_number(z, "z")  # checked now: the offsets are solved when the graph runs
    data, order = as_bands_first(cube)
    bdim, ydim, xdim = data.dims
    line_dim, along = _line_dims(dim, ydim, xdim)
    run = functools.partial(
        _destripe, line_dim=line_dim, along=along, mode=mode, offsets=offsets, z=z
    )
    out = match_chunks(on_good_bands(run, data), cube.transpose(*data.dims))
    return finalize(
        out.transpose(*order),
        cube,
        keep_value_attrs=True,
        history=f"destripe(dim={dim!r}, mode={mode!r}, offsets={offsets!r})",
    )


def _destripe(
    data: xr.DataArray,
    *,
    line_dim: str,
    along: str,
    mode: str,
    offsets: str,
    z: float,
) -> xr.DataArray:
    """Destripe a ``(band, y, x)`` cube whose bands all take part in the statistics."""
    bdim, ydim, xdim = data.dims
    # bare arrays for the statistics: coords would be carried through pad/median for nothing
    bare = data.drop_vars(list(data.coords))
    nb, n = data.shape[0], data.sizes[line_dim]

    def robust_offsets(cube: xr.DataArray) -> xr.DataArray:
        # the sparse solve needs every line's contrast: one graph task fed by the medians
        parts = contrast_parts(cube, line_dim, along)
        o = lazy_call(_offsets_of_parts, parts, z, shape=(nb, n), dtype="float64")
        return xr.DataArray(o, dims=(bdim, line_dim))

    if offsets == "moments":
        gain, offset = _moment_offsets(bare, along)
        out = bare * gain.astype(data.dtype) + offset.astype(data.dtype)
    elif mode == "additive":
        out = bare - robust_offsets(bare).astype(data.dtype)
    else:
        logd = np.log(bare.where(bare > 0))
        out = bare * np.exp(-robust_offsets(logd)).astype(data.dtype)
    return data.copy(data=out.transpose(bdim, ydim, xdim).data)


def _line_dims(dim: str, ydim: str, xdim: str) -> tuple[str, str]:
    """``(line_dim, along)`` for ``destripe(dim=...)``, or a ParameterError naming the choices."""
    if dim in ("x", xdim):
        return xdim, ydim
    if dim in ("y", ydim):
        return ydim, xdim
    raise ParameterError(
        f"dim={dim!r}: destripe needs a spatial dim, the one that indexes the striped lines: "
        f"'x' (column stripes, {xdim!r} here) or 'y' (row stripes, {ydim!r} here)."
    )


__all__ = ["destripe", "line_contrast", "offsets_from_contrast"]
