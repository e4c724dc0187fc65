"""PCA + k-means change detection (Celik 2009) on the difference image of two dates.

Each pixel is described by its ``size x size`` neighbourhood in the difference image; the
neighbourhoods are projected on their leading principal components and split into two clusters
by k-means; the cluster of larger mean difference is the change. PCA and k-means are global fits:
they run on a seeded sample of pixels (drawn by global index, so the result does not depend on
the chunking; Celik fits the PCA on the non-overlapping blocks, a regular subsample of the same
neighbourhoods). Projection and assignment then run lazily, chunk by chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._attrs import finalize, finalize_dataset
from .._dask.overlap import map_overlap, sample_windows
from .._dims import band_dim, spatial_dims
from .._sample import check_count, pixel_sample
from ..errors import ParameterError
from ._pair import Cube, resolve_pair
from .bitemporal import standardize_pair


def _neighbourhoods(padded: np.ndarray, size: int, shape: tuple[int, int]) -> np.ndarray:
    """``(ny, nx, size * size)`` neighbourhood vectors of a block padded by ``size // 2``.

    The window of pixel ``(y, x)`` covers rows ``y - size // 2 ... y - size // 2 + size - 1``
    (and likewise columns): centred for odd ``size``; for even ``size`` the pixel is the
    lower-right one of the four central samples (scipy.ndimage's convention).
    """
    win = np.lib.stride_tricks.sliding_window_view(padded, (size, size))
    return win[: shape[0], : shape[1]].reshape(shape[0], shape[1], size * size)


def _sample_neighbourhoods(
    diff: xr.DataArray, size: int, n: int | None, seed: int, *, progress: bool | None = None
) -> np.ndarray:
    """``(m, size * size)`` neighbourhood vectors at a seeded pixel sample (one lazy pass).

    Only the sampled windows are brought to memory, never the whole image; the windows are
    those of :func:`_neighbourhoods`, with the image edges mirrored as the lazy assignment
    (``map_overlap`` with ``boundary="reflect"``) mirrors them.
    """
    ny, nx = diff.shape
    pick = pixel_sample((ny, nx), n, seed)
    rows, cols = pick if pick is not None else np.divmod(np.arange(ny * nx), nx)
    half = size // 2
    return sample_windows(
        diff.data, rows, cols, (size, size), (half, half), "reflect", progress=progress
    )


def _assign_kernel(
    padded: np.ndarray, *, size: int, mean: np.ndarray, basis: np.ndarray, centres: np.ndarray,
    change_label: int, half: int,
) -> np.ndarray:  # fmt: skip
    shape = (padded.shape[0] - 2 * half, padded.shape[1] - 2 * half)
    vec = _neighbourhoods(padded.astype(np.float64), size, shape)
    feat = (vec - mean) @ basis
    d2 = ((feat[..., None, :] - centres) ** 2).sum(axis=-1)
    label = np.argmin(d2, axis=-1) == change_label
    label = label.astype(np.float32)
    label[~np.isfinite(feat).all(axis=-1)] = np.nan
    out = np.full(padded.shape, np.nan, np.float32)
    out[half : half + shape[0], half : half + shape[1]] = label
    return out


def pca_kmeans(
    a: Cube,
    b: Cube | None = None,
    *,
    size: int = 4,
    n_components: int = 3,
    seed: int = 0,
    sample: int | None = 200_000,
    standardize: bool = True,
    times: Sequence[Any] | None = None,
    progress: bool | None = None,
) -> xr.Dataset:
    """Unsupervised change detection by PCA and k-means (Celik 2009).

    Parameters
    ----------
    a, b : DataArray or Dataset
        The two dates on the same grid (or one series and ``times``). The difference image is
        ``|b - a|``, or its Euclidean norm over bands (after standardising, by default).
    size : int
        Side ``h`` of the neighbourhood describing each pixel (Celik's ``h``; 2 ... 15). The
        window is centred on the pixel for odd ``h``; for even ``h`` it spans rows (and
        columns) ``y - h / 2 ... y + h / 2 - 1``: the pixel is the lower-right one of the four
        central samples, as in scipy.ndimage. Edges are mirrored.
    n_components : int
        Number of principal components kept (Celik's ``S``), at most ``size ** 2``.
    seed : int
        Seed of the pixel sample and of k-means.
    sample : int or None
        Number of pixels the PCA and k-means are fitted on (``None``: every pixel): a seeded
        sample by global pixel index whose neighbourhoods are read from the lazy difference
        image in one pass (only the sampled windows are held in memory, never the image); with
        ``standardize`` the same pass reads the per-date statistics.
    standardize : bool
        Scale each date and band to zero mean and unit variance first (global statistics, as
        :func:`eoxr.change.cva`): without it the radiometric differences between two real
        acquisitions dominate the difference image.
    times : pair of time labels, optional
        With ``b=None``: the two dates of ``a``.
    progress : bool, optional
        Progress bar for the pass that reads the sample. Default: shown when interactive.

    Returns
    -------
    Dataset
        ``difference`` (y, x) and ``change`` (y, x) bool (lazy for dask input). Attrs
        ``explained_variance`` of the kept components.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s2
    >>> s = synthetic_s2(seed=0, shape=(64, 64), times=24, cloud_cover=0.0)
    >>> res = pca_kmeans(s.cube.isel(time=1), s.cube.isel(time=13))
    >>> float((res.change == s.change).mean()) > 0.97
    True
    """
    from sklearn.cluster import KMeans

    a, b = resolve_pair(a, b, times, "pca_kmeans")
    if not isinstance(size, int | np.integer) or not 2 <= size <= 15:
        raise ParameterError(f"size={size!r}: expected an integer in 2 ... 15.")
    if not isinstance(n_components, int | np.integer) or not 1 <= n_components <= size**2:
        raise ParameterError(f"n_components={n_components!r}: expected 1 ... size**2.")
    bd = band_dim(a)
    if standardize:
        a, b, _ = standardize_pair(a, b)
    d = b - a
    diff = np.sqrt((d * d).sum(bd, skipna=False)) if bd else abs(d)
    diff = diff.astype(a.dtype)
    ydim, xdim = spatial_dims(diff)
    sample = check_count(sample, diff.sizes[ydim] * diff.sizes[xdim])
    vec = _sample_neighbourhoods(diff.transpose(ydim, xdim), size, sample, seed, progress=progress)
    vec = vec[np.isfinite(vec).all(axis=1)]
    if len(vec) < 2 * n_components + 2:
        raise ParameterError("pca_kmeans: too few valid pixels to fit (all NaN?).")
    mean = vec.mean(axis=0)
    evals, evecs = np.linalg.eigh(np.cov(vec - mean, rowvar=False))
    top = np.argsort(evals)[::-1][:n_components]
    basis = evecs[:, top] * np.where(evecs[:, top].sum(axis=0) < 0, -1.0, 1.0)
    feat = (vec - mean) @ basis
    km = KMeans(n_clusters=2, n_init=10, random_state=seed).fit(feat)
    half = size // 2
    centre_val = vec[:, half * size + half]  # the pixel itself (see _neighbourhoods)
    change_label = int(np.argmax([centre_val[km.labels_ == k].mean() for k in (0, 1)]))
    labels = map_overlap(
        _assign_kernel,
        diff.transpose(ydim, xdim),
        {ydim: half, xdim: half},
        boundary="reflect",
        dtype=np.float32,
        kwargs={
            "size": size,
            "mean": mean,
            "basis": basis,
            "centres": km.cluster_centers_,
            "change_label": change_label,
            "half": half,
        },
    )
    change = (labels == 1).transpose(*diff.dims)
    ds = xr.Dataset(
        {
            "difference": finalize(diff, diff, long_name="absolute difference |b - a|"),
            "change": finalize(change, diff, long_name="change (PCA + k-means)", units="1"),
        }
    )
    out = finalize_dataset(ds, a, history=f"pca_kmeans: size={size}, S={n_components}")
    var = evals[top] / max(evals.sum(), 1e-300)
    return out.assign_attrs(explained_variance=var.tolist())


__all__ = ["pca_kmeans"]
