"""Iteratively reweighted multivariate alteration detection (IR-MAD, Nielsen 2007).

The canonical correlation analysis of the two dates is a global fit. It runs on a seeded random
sample of pixels (all pixels when the image is smaller than ``sample``), drawn by global pixel
index, so that the fit, and hence the result, is identical on any dask chunking. The fitted
transform is then applied lazily, chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr
from scipy import linalg, special

from .._attrs import finalize, finalize_dataset
from .._dask.blockwise import map_bands
from .._dask.chunking import rechunk_whole
from .._dask.stats import compute
from .._dims import band_dim, spatial_dims
from .._sample import check_count, pixel_sample
from ..errors import DimensionError, ParameterError
from ._pair import Cube, resolve_pair


def draw_sample(
    a: xr.DataArray, b: xr.DataArray, size: int | None, seed: int, *, progress: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(X, Y)``: ``(n, bands)`` float64 values of both dates at a seeded pixel sample.

    One pass over the data; pixels with a NaN in any band of either date are dropped. The
    sample is drawn by global pixel index, independent of the chunking.
    """
    ydim, xdim = spatial_dims(a)
    bd = band_dim(a)
    pick = pixel_sample((a.sizes[ydim], a.sizes[xdim]), size, seed)
    if pick is None:
        sa, sb = (d.stack(_pix=(ydim, xdim)).transpose("_pix", bd) for d in (a, b))
    else:
        iy, ix = (xr.DataArray(i, dims="_pix") for i in pick)
        sa, sb = (d.isel({ydim: iy, xdim: ix}).transpose("_pix", bd) for d in (a, b))
    x, y = compute(sa.data, sb.data, progress=progress)
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x).all(axis=1) & np.isfinite(y).all(axis=1)
    return x[ok], y[ok]


def _cca(
    z: np.ndarray, w: np.ndarray, reg: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Weighted canonical correlation analysis of ``z = [X Y]``: means, ``A``, ``B``, ``rho``.

    ``rho`` ascending (the first pair is the least correlated).
    """
    p = z.shape[1] // 2
    ws = w.sum()
    zw = z * w[:, None]
    mean = zw.sum(axis=0) / ws
    # second moments about the mean (float64: the cancellation costs a few digits at most)
    s = zw.T @ z / ws - np.outer(mean, mean)
    sxx, syy, sxy = s[:p, :p], s[p:, p:], s[:p, p:]
    if reg:
        sxx = sxx + reg * np.trace(sxx) / p * np.eye(p)
        syy = syy + reg * np.trace(syy) / p * np.eye(p)
    # Sxy Syy^-1 Syx a = rho^2 Sxx a, with A' Sxx A = I (eigenvalues ascending)
    lam, a = linalg.eigh(sxy @ linalg.solve(syy, sxy.T, assume_a="pos"), sxx)
    # fix the signs: each canonical variate of X correlates positively with the sum of the bands
    a *= np.where((sxx @ a).sum(axis=0) < 0, -1.0, 1.0)
    # each b from its own a (Nielsen 2007; Canty): b = Syy^-1 Syx a / rho, which has b' Syy b = 1
    # and a' Sxy b = rho > 0. A second eigenproblem for B, paired by sort order, mispairs the
    # vectors of tied or nearly tied correlations. Scaling by the Syy-norm equals dividing by
    # rho and stays finite where rho is ~0.
    bm = linalg.solve(syy, sxy.T @ a, assume_a="pos")
    norm = np.sqrt(np.maximum(np.einsum("ij,ik,kj->j", bm, syy, bm), 0.0))
    bm /= np.where(norm > 0, norm, 1.0)
    return mean[:p], mean[p:], a, bm, np.sqrt(np.clip(lam, 0.0, 1.0))


def fit_irmad(
    x: np.ndarray, y: np.ndarray, *, max_iter: int, tol: float, reg: float
) -> dict[str, Any]:
    """Iterate the reweighted CCA on sample values; return the fitted transform."""
    p = x.shape[1]
    z = np.hstack([x, y])
    w = np.ones(x.shape[0])
    rho_prev, fit, converged = None, {}, False
    for it in range(1, max_iter + 1):
        # the weights can collapse onto a few pixels (small samples, many bands): keep the last
        # well-posed fit rather than iterate on an ill-conditioned one
        if not np.isfinite(w).all() or w.sum() < 2 * p + 1:
            break
        mx, my, a, b, rho = _cca(z, w, reg)
        var = np.maximum(2.0 * (1.0 - rho), 1e-12)
        fit = {"mx": mx, "my": my, "a": a, "b": b, "rho": rho, "var": var, "iterations": it}
        proj = np.vstack([a, -b])
        mad = z @ proj
        mad -= np.concatenate([mx, my]) @ proj
        chi2 = np.einsum("ij,ij->i", mad, mad / var)
        w = special.chdtrc(p, chi2)  # probability of no change
        if rho_prev is not None and np.max(np.abs(rho - rho_prev)) < tol:
            converged = True
            break
        rho_prev = rho
    return {**fit, "converged": converged}


def _apply_kernel(block: np.ndarray, band_axis: int, fit: dict[str, Any]) -> tuple:
    """MAD variates, chi-square and no-change probability of one ``(2p, ...)`` block."""
    p = fit["a"].shape[0]
    z = np.moveaxis(block, band_axis, 0)
    shape = z.shape[1:]
    z = z.reshape(2 * p, -1).astype(np.float64)
    mad = fit["a"].T @ (z[:p] - fit["mx"][:, None]) - fit["b"].T @ (z[p:] - fit["my"][:, None])
    chi2 = np.sum(mad * mad / fit["var"][:, None], axis=0)
    pval = special.chdtrc(p, chi2)
    dt = block.dtype
    return (*(m.reshape(shape).astype(dt) for m in mad), chi2.reshape(shape).astype(dt),
            pval.reshape(shape).astype(dt))  # fmt: skip


def irmad(
    a: Cube,
    b: Cube | None = None,
    *,
    max_iter: int = 50,
    tol: float = 1e-3,
    reg: float = 0.0,
    sample: int | None = 1_000_000,
    seed: int = 0,
    times: Sequence[Any] | None = None,
    progress: bool | None = None,
) -> xr.Dataset:
    """IR-MAD change detection (Nielsen 2007): MAD variates, chi-square and no-change probability.

    Canonical correlation analysis of the two dates gives pairs of maximally correlated linear
    combinations; their differences (the MAD variates) are uncorrelated and hold the change.
    Each iteration weights the pixels by their probability of no change, so that the fit
    converges to the statistics of the invariant pixels (illumination/atmosphere differences
    are absorbed, real change stands out).

    The weighted statistics of each iteration are global: they are fitted on a seeded random
    sample of ``sample`` pixels (drawn by global pixel index, one pass over the data; all
    pixels when the image is smaller), so the result does not depend on the chunking. The
    transform is then applied lazily.

    Parameters
    ----------
    a, b : DataArray or Dataset
        The two dates with the same bands on the same grid (or one series and ``times``).
    max_iter : int
        Maximum number of reweighting iterations.
    tol : float
        Stop when no canonical correlation moves by more than ``tol``.
    reg : float
        Ridge regularisation of the covariance matrices, as a fraction of their mean variance
        (for nearly collinear bands).
    sample : int or None
        Number of pixels the fit uses (``None``: every pixel).
    seed : int
        Seed of the pixel sample.
    times : pair of time labels, optional
        With ``b=None``: the two dates of ``a``.
    progress : bool, optional
        Progress bar for the pass that reads the sample. Default: shown when interactive.

    Returns
    -------
    Dataset
        ``mad`` (variate, y, x): MAD variates, the first the least correlated (most change);
        ``chi2`` (y, x): sum of the squared standardised variates, chi-square with ``bands``
        degrees of freedom where nothing changed; ``p_nochange`` (y, x): its upper tail
        probability. Attrs: ``rho`` (canonical correlations, ascending), ``iterations``,
        ``converged`` (1 when ``tol`` was reached; 0 after ``max_iter``, or when the weights
        collapsed onto fewer than ``2 * bands + 1`` pixels, whereupon the last well-posed fit is
        kept), ``sample_size``.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s2
    >>> s = synthetic_s2(seed=0, shape=(64, 64), times=24, cloud_cover=0.0)
    >>> res = irmad(s.cube.isel(time=1), s.cube.isel(time=13))
    >>> res.mad.dims, bool(res.chi2.where(s.change).median() > 100)
    (('variate', 'y', 'x'), True)
    """
    a, b = resolve_pair(a, b, times, "irmad")
    bd = band_dim(a)
    if bd is None:
        raise DimensionError("irmad needs a band dimension (>= 2 bands); use difference() for one.")
    if not isinstance(max_iter, int | np.integer) or max_iter < 1:
        raise ParameterError(f"max_iter={max_iter!r}: expected an integer >= 1.")
    ydim, xdim = spatial_dims(a)
    sample = check_count(sample, a.sizes[ydim] * a.sizes[xdim], minimum=2)
    if not (tol > 0 and reg >= 0):
        raise ParameterError(f"tol={tol!r} must be > 0 and reg={reg!r} >= 0.")
    p = a.sizes[bd]
    x, y = draw_sample(a, b, sample, seed, progress=progress)
    if x.shape[0] <= 2 * p:
        raise ParameterError(
            f"irmad: only {x.shape[0]} valid pixels (no NaN in any band of either date) for "
            f"{p} bands; the fit needs more than {2 * p}."
        )
    fit = fit_irmad(x, y, max_iter=max_iter, tol=tol, reg=reg)
    both = xr.concat([a, b], bd, coords="minimal", compat="override", join="override")
    both = rechunk_whole(both, [bd])
    outs = map_bands(
        _apply_kernel, both, bd, n_out=p + 2, dtype=a.dtype, kwargs={"fit": fit}, token="irmad"
    )
    like = a.isel({bd: 0}, drop=True)
    dims = like.dims
    mad = xr.concat([like.copy(data=m) for m in outs[:p]], "variate")
    mad = mad.assign_coords(variate=np.arange(1, p + 1)).transpose("variate", *dims)
    attrs = {
        "rho": fit["rho"].tolist(),
        "iterations": fit["iterations"],
        "converged": int(fit["converged"]),
        "sample_size": len(x),
    }
    ds = xr.Dataset(
        {
            "mad": finalize(mad, like, long_name="MAD variates", units="1"),
            "chi2": finalize(
                like.copy(data=outs[p]), like, long_name="IR-MAD chi-square", units="1"
            ),
            "p_nochange": finalize(
                like.copy(data=outs[p + 1]), like, long_name="probability of no change", units="1"
            ),
        }
    )
    out = finalize_dataset(ds, a, history=f"irmad: {fit['iterations']} iterations, reg={reg}")
    return out.assign_attrs(attrs)


__all__ = ["irmad", "fit_irmad", "draw_sample"]
