"""Fitted low-rank spectral transforms: MNF, PCA and the HySime signal subspace.

Fitting reads the cube once (:func:`eoxr.hsi._stats.cube_moments`) and solves small band x band
eigenproblems; the result is a :class:`LowRankTransform` that maps each pixel spectrum ``x`` to
``mean + inverse @ forward @ (x - mean)``, applied lazily per chunk.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import xarray as xr

from .._sample import check_count
from ._cube import as_bands_first, check_positive_int, good_bands
from ._stats import Moments, cube_moments
from .noise import Noise, check_noise, hysime_noise_var, hysime_subspace, noise_sigma


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
        """Number of components kept."""
        return int(self.forward.shape[0])

    @property
    def n_bands(self) -> int:
        """Number of bands the transform was fitted on (those a ``bbl`` coordinate keeps)."""
        return int(self.mean.size)


def _check_fit(
    cube: xr.DataArray, n_components: int | None, sample: int | None, noise: Noise
) -> tuple[xr.DataArray, Noise]:
    """The cube's good bands as ``(band, y, x)``, and ``noise`` restricted to them."""
    check_noise(noise)
    data, _ = as_bands_first(cube)
    good = good_bands(data)
    if good is not None:
        # a sigma for every band (e.g. from estimate_noise: NaN on the bbl bands) is cut to the
        # good ones; a sigma already on the good bands is taken as it is
        if isinstance(noise, xr.DataArray) and noise.ndim == 1 and noise.size == data.shape[0]:
            noise = noise.isel({noise.dims[0]: good})
        data = data.isel({data.dims[0]: good})
    check_noise(noise, data.shape[0])
    check_positive_int(n_components, "n_components", upper=data.shape[0])
    check_count(sample, data.shape[1] * data.shape[2])
    return data, noise


def _noise_cov(
    data: xr.DataArray, noise: Noise, m: Moments, d: Moments | None, *, full: bool
) -> np.ndarray:
    """Noise covariance for a fit: from the ``y`` differences, HySime, or a sigma DataArray.

    ``full=False`` keeps only the diagonal of the difference covariance.
    """
    if d is not None:  # noise == "diff": var(x[y-1] - 2 x[y] + x[y+1]) = 6 sigma^2
        cov = d.corr / 6.0
        return cov if full else np.diag(np.diag(cov))
    if isinstance(noise, str):
        return np.diag(hysime_noise_var(m))
    return np.diag(np.nan_to_num(noise_sigma(data, noise)) ** 2)


def _fit_moments(data, noise, *, sample, seed, progress):
    """Moments of the cube (and of its ``y`` differences when ``noise == "diff"``), one pass."""
    diff = 2 if isinstance(noise, str) and noise == "diff" else 0
    return cube_moments(data, diff=diff, sample=sample, seed=seed, progress=progress)


def fit_mnf(
    cube: xr.DataArray,
    *,
    n_components: int | None = None,
    min_snr: float = 1.0,
    noise: Noise = "diff",
    sample: int | None = None,
    seed: int = 0,
    progress: bool | None = None,
) -> LowRankTransform:
    """Fit a minimum noise fraction transform (Green et al. 1988) in one pass over the cube.

    The noise covariance comes from second-order ``y`` differences (``noise="diff"``, captures
    band-to-band noise correlation), from HySime regression (``"hysime"``, diagonal) or from a
    per-band sigma DataArray (diagonal). The MNF components solve ``Sigma v = lambda Sigma_n v``
    (:func:`scipy.linalg.eigh`); ``lambda - 1`` is each component's SNR. Without
    ``n_components``, components with SNR >= ``min_snr`` are kept (``min_snr=1``: signal power
    at least the noise power, the HySime criterion). Bands a ``bbl`` coordinate marks 0 are
    left out.

    Parameters
    ----------
    cube : DataArray
        ``(band, y, x)`` float cube (one scene); pixels with NaN in any band are left out.
    n_components : int, optional
        Components kept (default: by ``min_snr``).
    min_snr : float
        SNR a component needs to be kept by default.
    noise : {"diff", "hysime"} or DataArray
        Noise covariance: ``y`` differences (full), HySime or a per-band sigma (diagonal).
    sample : int, optional
        Fit on about this many pixels (pseudo-random, chunk-independent, with ``seed``).
    seed : int
        Seed of the pixel sample.
    progress : bool, optional
        Progress bar for the pass over a dask cube (default: when interactive).

    Returns
    -------
    LowRankTransform
        The fitted transform; apply it with :func:`eoxr.hsi.apply_transform`.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_hsi
    >>> t = fit_mnf(synthetic_hsi(shape=(48, 48), n_bands=40).cube)
    >>> 2 <= t.n_components <= 10
    True
    """
    data, noise = _check_fit(cube, n_components, sample, noise)  # before the pass over the cube
    m, d = _fit_moments(data, noise, sample=sample, seed=seed, progress=progress)
    noise_cov = _noise_cov(data, noise, m, d, full=True)
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
        {"min_snr": min_snr, "noise": noise if isinstance(noise, str) else "given"},
    )


def fit_pca(
    cube: xr.DataArray,
    *,
    n_components: int | None = None,
    noise: Noise = "hysime",
    sample: int | None = None,
    seed: int = 0,
    progress: bool | None = None,
) -> LowRankTransform:
    """Fit a principal-component projection; default rank: the HySime signal subspace size.

    ``noise`` (a method name or a per-band sigma DataArray) serves the HySime rank choice only,
    so it is not estimated when ``n_components`` is given. Bands a ``bbl`` coordinate marks 0 are
    left out.

    Parameters
    ----------
    cube : DataArray
        ``(band, y, x)`` float cube (one scene); pixels with NaN in any band are left out.
    n_components : int, optional
        Components kept (default: the HySime signal-subspace size).
    noise : {"hysime", "diff"} or DataArray
        Noise estimate for the default rank.
    sample : int, optional
        Fit on about this many pixels (pseudo-random, chunk-independent, with ``seed``).
    seed : int
        Seed of the pixel sample.
    progress : bool, optional
        Progress bar for the pass over a dask cube (default: when interactive).

    Returns
    -------
    LowRankTransform
        The fitted transform; apply it with :func:`eoxr.hsi.apply_transform`.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_hsi
    >>> fit_pca(synthetic_hsi(shape=(48, 48), n_bands=40).cube, n_components=4).n_components
    4
    """
    data, noise = _check_fit(cube, n_components, sample, noise)
    need_noise = n_components is None or not isinstance(noise, str)
    m, d = _fit_moments(
        data, noise if need_noise else "hysime", sample=sample, seed=seed, progress=progress
    )
    lam, e = np.linalg.eigh(m.cov)
    order = np.argsort(lam)[::-1]
    lam, e = lam[order], e[:, order]
    noise_cov = _noise_cov(data, noise, m, d, full=False) if need_noise else None
    k = n_components or hysime_subspace(m.cov, noise_cov)[1]
    sigma = None if noise_cov is None else np.sqrt(np.diag(noise_cov))
    return LowRankTransform("pca", m.mean, e[:, :k].T.copy(), e[:, :k].copy(), lam, sigma, m.n)


def fit_subspace(
    cube: xr.DataArray,
    *,
    rank: int | None = None,
    noise: Noise = "hysime",
    sample: int | None = None,
    seed: int = 0,
    progress: bool | None = None,
) -> LowRankTransform:
    """Fit the noise-whitened HySime signal subspace used by FastHyDe (Zhuang & Bioucas-Dias 2018).

    Bands are divided by their noise sigma (``noise``: HySime by default, ``"diff"`` or a
    per-band sigma DataArray) so that the noise is white with unit
    variance; the subspace is spanned by the leading eigenvectors of the whitened covariance,
    ``rank`` of them or as many as HySime finds. The component scores ("eigen-images") then
    carry unit-variance noise, which the spatial denoiser is told. Bands a ``bbl`` coordinate
    marks 0 are left out.

    Parameters
    ----------
    cube : DataArray
        ``(band, y, x)`` float cube (one scene); pixels with NaN in any band are left out.
    rank : int, optional
        Subspace dimension (default: HySime's estimate).
    noise : {"hysime", "diff"} or DataArray
        Per-band noise sigma used to whiten the bands.
    sample : int, optional
        Fit on about this many pixels (pseudo-random, chunk-independent, with ``seed``).
    seed : int
        Seed of the pixel sample.
    progress : bool, optional
        Progress bar for the pass over a dask cube (default: when interactive).

    Returns
    -------
    LowRankTransform
        The fitted transform; apply it with :func:`eoxr.hsi.apply_transform`.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_hsi
    >>> fit_subspace(synthetic_hsi(shape=(48, 48), n_bands=40).cube).n_components >= 2
    True
    """
    data, noise = _check_fit(cube, rank, sample, noise)
    m, d = _fit_moments(data, noise, sample=sample, seed=seed, progress=progress)
    sigma = np.sqrt(np.diag(_noise_cov(data, noise, m, d, full=False)))
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
