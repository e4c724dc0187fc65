"""Fitted low-rank spectral transforms: MNF, PCA and the HySime signal subspace.

Fitting reads the cube once (:func:`eoxr.hsi._stats.cube_moments`) and solves small band x band
eigenproblems; the result is a :class:`LowRankTransform` that maps each pixel spectrum ``x`` to
``mean + inverse @ forward @ (x - mean)``, applied lazily per chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import scipy.linalg
import xarray as xr

from ..errors import ParameterError
from ._cube import as_bands_first, check_fraction, check_positive_int
from ._stats import cube_moments
from .noise import hysime_noise_var, hysime_subspace


@dataclass(frozen=True)
class LowRankTransform:
    """A fitted projection of spectra onto ``n_components`` components and back.

    Attributes
    ----------
    method : str
        ``"mnf"``, ``"pca"`` or ``"subspace"``.
    mean : ndarray (bands,)
        Band means of the fitted pixels.
    forward : ndarray (n_components, bands)
        Component scores ``z = forward @ (x - mean)``.
    inverse : ndarray (bands, n_components)
        Reconstruction ``x = mean + inverse @ z``.
    eigenvalues : ndarray (bands,)
        All eigenvalues, descending: ``1 + SNR`` of each MNF component, PCA variances, or the
        noise-whitened signal eigenvalues of the subspace fit.
    noise_sigma : ndarray (bands,), optional
        Per-band noise sigma used by the fit (MNF: from the differences; subspace: HySime).
    n_pixels : int
        Pixels the statistics were computed on.
    """

    method: str
    mean: np.ndarray
    forward: np.ndarray
    inverse: np.ndarray
    eigenvalues: np.ndarray
    noise_sigma: np.ndarray | None = None
    n_pixels: int = 0
    info: dict = field(default_factory=dict)

    @property
    def n_components(self) -> int:
        return int(self.forward.shape[0])

    @property
    def n_bands(self) -> int:
        return int(self.mean.size)


def _check_fit(cube: xr.DataArray, n_components: int | None, sample: float | None):
    data, _ = as_bands_first(cube)
    check_positive_int(n_components, "n_components", upper=data.shape[0])
    check_fraction(sample, "sample")
    return data


def fit_mnf(
    cube: xr.DataArray,
    n_components: int | None = None,
    *,
    min_snr: float = 1.0,
    noise: Literal["diff", "hysime"] = "diff",
    sample: float | None = None,
    seed: int = 0,
) -> LowRankTransform:
    """Fit a minimum noise fraction transform (Green et al. 1988) in one pass over the cube.

    The noise covariance comes from second-order ``y`` differences (``noise="diff"``, captures
    band-to-band noise correlation) or from HySime regression (``"hysime"``, diagonal). The MNF
    components solve ``Sigma v = lambda Sigma_n v`` (:func:`scipy.linalg.eigh`); ``lambda - 1``
    is each component's SNR. Without ``n_components``, components with SNR >= ``min_snr`` are
    kept (``min_snr=1``: signal power at least the noise power, the HySime criterion).

    Examples
    --------
    >>> from eoxr.datasets import synthetic_hsi
    >>> t = fit_mnf(synthetic_hsi(shape=(48, 48), n_bands=40).cube)
    >>> 2 <= t.n_components <= 10
    True
    """
    if noise not in ("diff", "hysime"):  # checked before the pass over the cube
        raise ParameterError(f"noise={noise!r}: use 'diff' or 'hysime'.")
    data = _check_fit(cube, n_components, sample)
    m, d = cube_moments(data, diff=2 if noise == "diff" else 0, sample=sample, seed=seed)
    # var(x[y-1] - 2 x[y] + x[y+1]) = 6 sigma^2 for white noise
    noise_cov = d.corr / 6.0 if noise == "diff" else np.diag(hysime_noise_var(m))
    nb = m.total.size
    # a tiny ridge keeps Sigma_n positive definite when a band is constant (e.g. saturated)
    ridge = 1e-9 * np.trace(noise_cov) / nb + 1e-30
    lam, v = scipy.linalg.eigh(m.cov, noise_cov + ridge * np.eye(nb))
    order = np.argsort(lam)[::-1]
    lam, v = lam[order], v[:, order]
    k = n_components or max(int(np.sum(lam - 1.0 >= min_snr)), 1)
    # v^T Sigma_n v = I, so v^-1 = v^T Sigma_n and the inverse transform is Sigma_n v.
    inv = (noise_cov + ridge * np.eye(nb)) @ v[:, :k]
    return LowRankTransform(
        "mnf",
        m.mean,
        v[:, :k].T.copy(),
        inv,
        lam,
        np.sqrt(np.diag(noise_cov)),
        m.n,
        {"min_snr": min_snr, "noise": noise},
    )


def fit_pca(
    cube: xr.DataArray,
    n_components: int | None = None,
    *,
    sample: float | None = None,
    seed: int = 0,
) -> LowRankTransform:
    """Fit a principal-component projection; default rank: the HySime signal subspace size.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_hsi
    >>> fit_pca(synthetic_hsi(shape=(48, 48), n_bands=40).cube, 4).n_components
    4
    """
    data = _check_fit(cube, n_components, sample)
    m, _ = cube_moments(data, sample=sample, seed=seed)
    lam, e = np.linalg.eigh(m.cov)
    order = np.argsort(lam)[::-1]
    lam, e = lam[order], e[:, order]
    noise_var = hysime_noise_var(m)
    k = n_components or hysime_subspace(m.cov, np.diag(noise_var))[1]
    return LowRankTransform(
        "pca", m.mean, e[:, :k].T.copy(), e[:, :k].copy(), lam, np.sqrt(noise_var), m.n
    )


def fit_subspace(
    cube: xr.DataArray,
    rank: int | None = None,
    *,
    sample: float | None = None,
    seed: int = 0,
) -> LowRankTransform:
    """Fit the noise-whitened HySime signal subspace used by FastHyDe (Zhuang & Bioucas-Dias 2018).

    Bands are divided by their HySime noise sigma so that the noise is white with unit
    variance; the subspace is spanned by the leading eigenvectors of the whitened covariance,
    ``rank`` of them or as many as HySime finds. The component scores ("eigen-images") then
    carry unit-variance noise, which the spatial denoiser is told.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_hsi
    >>> fit_subspace(synthetic_hsi(shape=(48, 48), n_bands=40).cube).n_components >= 2
    True
    """
    data = _check_fit(cube, rank, sample)
    m, _ = cube_moments(data, sample=sample, seed=seed)
    sigma = np.sqrt(hysime_noise_var(m))
    sigma = np.where(sigma > 0, sigma, sigma[sigma > 0].min() if (sigma > 0).any() else 1.0)
    cov_w = m.cov / np.outer(sigma, sigma)
    e, k = hysime_subspace(cov_w, np.eye(sigma.size))
    k = rank or k
    lam = np.einsum("ij,jk,ki->i", e.T, cov_w, e)
    return LowRankTransform(
        "subspace",
        m.mean,
        (e[:, :k] / sigma[:, None]).T.copy(),
        e[:, :k] * sigma[:, None],
        lam,
        sigma,
        m.n,
    )


def project_block(block: np.ndarray, t: LowRankTransform) -> np.ndarray:
    """Apply ``t`` to a ``(band, y, x)`` numpy block; pixels with any NaN band are returned as is.

    Float32 blocks are projected in float32 (two thin GEMMs, ``2 * bands * k`` flops per pixel).
    """
    nb = block.shape[0]
    x = block.reshape(nb, -1)
    dt = block.dtype
    mean = t.mean.astype(dt)
    z = t.forward.astype(dt) @ (x - mean[:, None])
    out = t.inverse.astype(dt) @ z
    out += mean[:, None]
    bad = np.isnan(out).any(axis=0)
    if bad.any():
        out[:, bad] = x[:, bad]
    return out.reshape(block.shape)


__all__ = ["LowRankTransform", "fit_mnf", "fit_pca", "fit_subspace", "project_block"]
