"""Hyperspectral denoisers: ``mnf``, ``pca``, ``subspace``, ``savgol`` and ``tv``.

Each takes a ``(band, y, x)`` float cube and returns a lazy cube of the same layout and dtype
when the input is dask-backed. The fitted methods (``mnf``, ``pca``, ``subspace``) compute their
statistics now, in one pass over the chunks (pass a fitted ``transform`` to skip that), and
apply the projection lazily per chunk. ``subspace`` with non-local means filters spatially
through :func:`eoxr._dask.overlap.map_overlap` with the exact halo; total variation (``tv`` and
``subspace(spatial="tv")``) is a global solver that no finite halo makes exact, so by default it
runs on whole band (or eigen-) images, one per task (:func:`eoxr._dask.blockwise.map_slices`): the
result does not depend on the chunking at all. Giving ``halo`` runs it tile by tile instead
(bounded memory for images too large to hold one band, results within a stated tolerance).
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
import xarray as xr

from .._attrs import finalize
from .._dask.blockwise import map_blocks, map_slices
from .._dask.chunking import is_dask, match_chunks
from .._dask.lazy import lazy_call
from .._dask.overlap import map_overlap
from .._window import check_window
from ..errors import ParameterError
from ._cube import as_bands_first, good_bands, halo_depth, on_good_bands, per_scene, wavelengths
from .noise import Noise, check_noise, sigma_data
from .spatial import denoise_scores, nlm_halo, tv_block, tv_slices
from .transforms import LowRankTransform, fit_mnf, fit_pca, fit_subspace, project_block


def _finish(
    out: xr.DataArray, data: xr.DataArray, cube: xr.DataArray, order: tuple, history: str
) -> xr.DataArray:
    """Chunks of the input, its dim order and metadata back on a result."""
    out = match_chunks(out, data)
    return finalize(out.transpose(*order), cube, keep_value_attrs=True, history=history)


def _check_transform(t: LowRankTransform, data: xr.DataArray, method: str) -> None:
    if not isinstance(t, LowRankTransform):
        raise ParameterError(
            f"transform must be a LowRankTransform (from fit_{method}); got {type(t).__name__}."
        )
    if t.n_bands != data.shape[0]:
        raise ParameterError(
            f"the transform was fitted on {t.n_bands} bands but the cube has {data.shape[0]} "
            "(not counting bands a `bbl` coordinate marks 0); fit it on the same bands."
        )


@per_scene
def apply_transform(cube: xr.DataArray, transform: LowRankTransform) -> xr.DataArray:
    """Project every pixel with a fitted :class:`LowRankTransform`, lazily per chunk.

    Nothing is computed: fit once (e.g. on a sample or a clear subset) and apply to any cube
    with the same bands. Pixels with NaN in any band are returned unchanged, and so are bands
    a ``bbl`` coordinate marks 0 (the fits leave them out).

    Parameters
    ----------
    cube : DataArray
        ``(band, y, x)`` float cube with the bands the transform was fitted on.
    transform : LowRankTransform
        From :func:`fit_mnf`, :func:`fit_pca` or :func:`fit_subspace`.

    Returns
    -------
    DataArray
        The projected cube, same dims, dtype and coords; lazy for dask input.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_hsi
    >>> from eoxr.hsi import fit_pca
    >>> cube = synthetic_hsi(shape=(48, 48), n_bands=40).cube
    >>> t = fit_pca(cube, n_components=5)
    >>> out = apply_transform(cube.chunk({"y": 24, "x": 24}), t)  # lazy
    >>> out.chunks[1], out.dtype.name
    ((24, 24), 'float32')
    """
    data, order = as_bands_first(cube)

    def project(d: xr.DataArray) -> xr.DataArray:
        _check_transform(transform, d, getattr(transform, "method", "mnf"))
        return d.copy(data=map_blocks(project_block, d, kwargs={"t": transform}))

    out = on_good_bands(project, data)
    history = f"{transform.method} denoising, {transform.n_components} components"
    return _finish(out, data, cube, order, history)


@per_scene
def mnf(
    cube: xr.DataArray,
    *,
    n_components: int | None = None,
    min_snr: float = 1.0,
    noise: Noise = "diff",
    sample: int | None = None,
    seed: int = 0,
    transform: LowRankTransform | None = None,
    progress: bool | None = None,
) -> xr.DataArray:
    """Minimum noise fraction denoising: keep the high-SNR MNF components, transform back.

    Parameters
    ----------
    cube : DataArray
        ``(band, y, x)`` float cube; pixels with NaN in any band are returned unchanged and
        left out of the statistics.
    n_components : int, optional
        Components kept; default: those with SNR >= ``min_snr`` (see :func:`fit_mnf`).
    min_snr : float
        SNR (noise-adjusted eigenvalue - 1) a component needs to be kept by default.
    noise : {"diff", "hysime"} or DataArray
        Noise covariance of the fit: estimated from ``y`` differences (full covariance) or by
        HySime, or a per-band sigma DataArray (e.g. :func:`estimate_noise`).
    sample : int, optional
        Fit on about this many pixels (pseudo-random with ``seed``, chunk-independent).
    seed : int
        Seed of the pixel sample.
    transform : LowRankTransform, optional
        A fitted transform (:func:`eoxr.hsi.fit_mnf`): nothing is computed now.
    progress : bool, optional
        Progress bar for the fit's pass over a dask cube (default: when interactive).

    Returns
    -------
    DataArray
        The denoised cube, same dims, dtype and coords; lazy for dask input. Bands a ``bbl``
        coordinate marks 0 are returned unchanged.

    Notes
    -----
    Without ``transform`` the fit runs when this function is called: for a dask cube, one
    computation that reads every chunk once (band sums and cross-products of the pixels and of
    their ``y`` differences). The projection itself is lazy and per chunk (chunk-exact).

    Examples
    --------
    >>> from eoxr.datasets import synthetic_hsi
    >>> scene = synthetic_hsi(shape=(48, 48), n_bands=40)
    >>> mnf(scene.cube).shape
    (40, 48, 48)
    """
    t = transform or fit_mnf(
        cube,
        n_components=n_components,
        min_snr=min_snr,
        noise=noise,
        sample=sample,
        seed=seed,
        progress=progress,
    )
    return apply_transform(cube, t)


@per_scene
def pca(
    cube: xr.DataArray,
    *,
    n_components: int | None = None,
    noise: Noise = "hysime",
    sample: int | None = None,
    seed: int = 0,
    transform: LowRankTransform | None = None,
    progress: bool | None = None,
) -> xr.DataArray:
    """Low-rank projection on the leading principal components (default rank: HySime).

    Without ``transform`` the covariance is computed now, in one pass over the chunks; the
    projection is lazy and per chunk.

    Parameters
    ----------
    cube : DataArray
        ``(band, y, x)`` float cube; pixels with NaN in any band are returned unchanged.
    n_components : int, optional
        Components kept; default: the HySime signal-subspace size for ``noise``.
    noise : {"hysime", "diff"} or DataArray
        Noise estimate for the default rank (not used when ``n_components`` is given).
    sample : int, optional
        Fit on about this many pixels (pseudo-random, chunk-independent, with ``seed``).
    seed : int
        Seed of the pixel sample.
    transform : LowRankTransform, optional
        A fitted transform (:func:`eoxr.hsi.fit_pca`): nothing is computed now.
    progress : bool, optional
        Progress bar for the fit's pass over a dask cube.

    Returns
    -------
    DataArray
        The projected cube, same dims, dtype and coords; lazy for dask input.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_hsi
    >>> pca(synthetic_hsi(shape=(48, 48), n_bands=40).cube, n_components=5).dtype.name
    'float32'
    """
    t = transform or fit_pca(
        cube, n_components=n_components, noise=noise, sample=sample, seed=seed, progress=progress
    )
    return apply_transform(cube, t)


def _subspace_block(block: np.ndarray, t: LowRankTransform, spatial: str, params: dict):
    nb, ny, nx = block.shape
    x = block.reshape(nb, -1).astype("float64")
    bad = np.isnan(x).any(axis=0)
    # invalid pixels get score 0 (the mean spectrum), so they add no edge to the eigen-images
    z = t.forward @ (np.where(bad, t.mean[:, None], x) - t.mean[:, None])
    z = denoise_scores(z.reshape(-1, ny, nx), spatial, params).reshape(z.shape)
    out = t.mean[:, None] + t.inverse @ z
    out[:, bad] = x[:, bad]
    return out.reshape(block.shape).astype(block.dtype)


def _scores_block(block: np.ndarray, t: LowRankTransform) -> np.ndarray:
    """Subspace scores ``(y, x, rank)`` of a ``(band, y, x)`` block; invalid pixels score 0."""
    nb, ny, nx = block.shape
    x = block.reshape(nb, -1).astype("float64")
    bad = np.isnan(x).any(axis=0)
    z = t.forward @ (np.where(bad, t.mean[:, None], x) - t.mean[:, None])
    return np.ascontiguousarray(z.T).reshape(ny, nx, -1)


def _subspace_tv_whole(d: xr.DataArray, t: LowRankTransform, weight: float, n_iter: int):
    """``subspace(spatial="tv")`` on whole eigen-images: chunk-exact (see the module doc).

    Scores per pixel (lazy, per chunk), TV of each whole eigen-image (one per task), back-
    projection per pixel; pixels with NaN in any band are returned unchanged.
    """
    bdim, ydim, xdim = d.dims
    r = t.n_components
    raw = map_blocks(
        _scores_block, d, dtype="float64", drop_dims=[bdim], new_dims={"score": r}, kwargs={"t": t}
    )
    z = xr.DataArray(raw, dims=(ydim, xdim, "score")).transpose("score", ydim, xdim)
    kw = {"weights": np.full(r, float(weight)), "n_iter": int(n_iter)}
    z = map_slices(tv_slices, z, whole=[ydim, xdim], split="score", kwargs=kw)
    inverse = xr.DataArray(t.inverse, dims=(bdim, "score"))
    back = xr.dot(inverse, z, dim="score") + xr.DataArray(t.mean, dims=bdim)
    back = match_chunks(back.transpose(bdim, ydim, xdim), d)  # d's chunks: no unify step
    out = xr.where(d.isnull().any(bdim), d.variable, back.variable)
    return d.copy(data=out.transpose(bdim, ydim, xdim).astype(d.dtype).data)


@per_scene
def subspace(
    cube: xr.DataArray,
    *,
    rank: int | None = None,
    spatial: Literal["nlmeans", "tv"] = "nlmeans",
    h: float = 0.6,
    size: int = 5,
    patch_distance: int = 6,
    weight: float = 1.0,
    n_iter: int = 60,
    halo: int | None = None,
    noise: Noise = "hysime",
    sample: int | None = None,
    seed: int = 0,
    transform: LowRankTransform | None = None,
    progress: bool | None = None,
) -> xr.DataArray:
    """Spatial-spectral denoising in the signal subspace (FastHyDe-like).

    The cube is noise-whitened and projected onto its HySime signal subspace
    (:func:`fit_subspace`); each eigen-image, whose noise then has unit variance, is denoised
    spatially, and the result is projected back (Zhuang & Bioucas-Dias 2018, "Fast hyperspectral
    image denoising and inpainting based on low-rank and sparse representations", IEEE JSTARS;
    they use BM3D, we use scikit-image's non-local means or TV). Without ``transform`` the
    subspace is fitted now, in one pass over the chunks; the filtering is lazy.

    Parameters
    ----------
    cube : DataArray
        ``(band, y, x)`` float cube; pixels with NaN in any band are returned unchanged.
    rank : int, optional
        Subspace dimension (default: HySime's estimate).
    spatial : {"nlmeans", "tv"}
        Eigen-image denoiser. ``"nlmeans"`` (``h`` x sigma filtering strength, patch ``size``,
        ``patch_distance``) is exact across chunkings with its default halo
        ``patch_distance + size // 2`` (measured: within 3e-8 of the unchunked result, float32
        rounding). ``"tv"`` (``weight``, ``n_iter``) is iterative and global: without ``halo``
        each whole eigen-image is solved in one task (exact whatever the chunking; memory: one
        float64 image per task); with ``halo`` tile by tile, within the tolerance stated in
        :func:`tv`.
    h : float
        Non-local means filtering strength, in noise sigmas.
    size : int
        Non-local means patch size (odd).
    patch_distance : int
        Non-local means search distance (pixels).
    weight, n_iter : float, int
        TV weight (the eigen-images have unit noise) and iterations.
    halo : int, optional
        Override the halo (pixels); capped at the image size. For ``"tv"``: tile by tile with
        this halo instead of whole eigen-images (approximate, see above).
    noise : {"hysime", "diff"} or DataArray
        Noise sigma used to whiten the bands.
    sample, seed : int, int
        Fit on about ``sample`` pixels (pseudo-random, chunk-independent).
    transform : LowRankTransform, optional
        A fitted transform (:func:`eoxr.hsi.fit_subspace`): nothing is computed now.
    progress : bool, optional
        Progress bar for the fit's pass over a dask cube.

    Returns
    -------
    DataArray
        The denoised cube, same dims, dtype and coords; lazy for dask input.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_hsi
    >>> subspace(synthetic_hsi(shape=(48, 48), n_bands=40).cube).sizes["band"]
    40
    """
    if spatial not in ("nlmeans", "tv"):
        raise ParameterError(f"spatial={spatial!r}: use 'nlmeans' or 'tv'.")
    size = check_window(size, name="size")
    check_noise(noise)
    data, order = as_bands_first(cube)
    t = transform or fit_subspace(
        data, rank=rank, noise=noise, sample=sample, seed=seed, progress=progress
    )
    params = {
        "h": h,
        "patch_size": size,
        "patch_distance": int(patch_distance),
        "weight": weight,
        "n_iter": int(n_iter),
    }
    whole = spatial == "tv" and halo is None
    if halo is None:
        halo = nlm_halo(size, patch_distance)

    def run(d: xr.DataArray) -> xr.DataArray:
        _check_transform(t, d, "subspace")
        if whole:
            return _subspace_tv_whole(d, t, weight, n_iter)
        kw = {"t": t, "spatial": spatial, "params": params}
        edge = "reflect" if spatial == "nlmeans" else "none"  # tv: as on the whole image
        return map_overlap(_subspace_block, d, halo_depth(d, halo), boundary=edge, kwargs=kw)

    out = on_good_bands(run, data)
    return _finish(out, data, cube, order, f"subspace denoising, rank {t.n_components}, {spatial}")


def _savgol_block(block: np.ndarray, size: int, order: int) -> np.ndarray:
    """Savitzky-Golay along axis 0 of a ``(band, y, x)`` block; NaN bands interpolated, kept."""
    from scipy.signal import savgol_filter

    nb = block.shape[0]
    x = block.reshape(nb, -1).astype(np.promote_types(block.dtype, "float32"), copy=True)
    nan = np.isnan(x)
    if nan.any():
        partial = np.flatnonzero(nan.any(axis=0) & ~nan.all(axis=0))
        idx = np.arange(nb)
        for p in partial:  # rare: interpolate missing bands so NaN does not spread
            ok = ~nan[:, p]
            x[:, p] = np.interp(idx, idx[ok], x[ok, p])
        x[:, nan.all(axis=0)] = 0.0  # empty pixels: any finite value, NaN again below
    # The filter is linear along bands: its matrix is the filter applied to the identity.
    # Interior bands share one row of taps (window shifted adds over contiguous rows, memory
    # bound); the edge rows (polynomial fits of mode="interp") are two small GEMMs. This is
    # ~10x faster than savgol_filter along a strided axis 0.
    mat = savgol_filter(np.eye(nb), size, order, axis=0, mode="interp").astype(x.dtype)
    half = size // 2
    out = np.empty_like(x)
    taps = mat[half, :size]
    out[half : nb - half] = taps[0] * x[: nb - size + 1]
    for j in range(1, size):
        out[half : nb - half] += taps[j] * x[j : nb - size + 1 + j]
    out[:half] = mat[:half, :size] @ x[:size]
    out[nb - half :] = mat[nb - half :, nb - size :] @ x[nb - size :]
    out[nan] = np.nan
    return out.reshape(block.shape).astype(block.dtype, copy=False)


def _check_spacing(data: xr.DataArray, spacing: str) -> None:
    """Refuse unevenly spaced wavelengths unless ``spacing="index"``."""
    if spacing not in ("check", "index"):
        raise ParameterError(f"spacing={spacing!r}: use 'check' or 'index'.")
    if spacing == "check" and "wavelength" in data.coords:
        step = np.diff(wavelengths(data, "savgol"))
        if np.abs(step - np.median(step)).max() > 0.1 * abs(np.median(step)):
            raise ParameterError(
                f"savgol needs evenly spaced bands, but wavelength steps range from "
                f"{step.min():.3g} to {step.max():.3g} nm (bands were probably dropped). "
                "Resample (`cube.interp(wavelength=...)`) or pass spacing='index' to filter "
                "by band index."
            )


@per_scene
def savgol(
    cube: xr.DataArray,
    *,
    size: int = 7,
    order: int = 2,
    spacing: Literal["check", "index"] = "check",
) -> xr.DataArray:
    """Savitzky-Golay smoothing of every spectrum along wavelength; NaN-aware.

    A missing band is interpolated from its spectral neighbours for the fit and stays NaN in
    the output. Bands a ``bbl`` coordinate marks 0 are left out of the filter and returned
    unchanged.

    Parameters
    ----------
    cube : DataArray
        ``(band, y, x)`` float cube.
    size : int
        Window length in bands (odd, at most the number of bands).
    order : int
        Polynomial order, in ``[0, size)``.
    spacing : {"check", "index"}
        The filter assumes evenly spaced bands: ``"check"`` raises when the ``wavelength``
        steps vary by more than 10 % (typical after dropping water-absorption bands);
        ``"index"`` filters by band index anyway. Without a ``wavelength`` coordinate bands are
        taken as evenly spaced.

    Returns
    -------
    DataArray
        The smoothed cube, same dims, dtype and coords; lazy for dask input.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_hsi
    >>> savgol(synthetic_hsi(shape=(16, 16), n_bands=40).cube, size=9, order=3).dtype.name
    'float32'
    """
    data, dim_order = as_bands_first(cube)
    size = check_window(size, name="size")
    if not isinstance(order, int) or not 0 <= order < size:
        raise ParameterError(f"order={order!r} must be an integer in [0, size) = [0, {size}).")
    good = good_bands(data)
    n_good = data.shape[0] if good is None else good.size
    if size > n_good:
        raise ParameterError(f"size={size} exceeds the {n_good} (good) bands of the cube.")

    def run(d: xr.DataArray) -> xr.DataArray:
        _check_spacing(d, spacing)
        return d.copy(data=map_blocks(_savgol_block, d, kwargs={"size": size, "order": order}))

    out = on_good_bands(run, data)
    return _finish(out, data, cube, dim_order, f"savgol(size={size}, order={order})")


def _tv_weights(sigma: np.ndarray, *, strength: float) -> np.ndarray:
    """TV weight per band, ``strength * sigma``; 0 (not smoothed) where sigma is NaN."""
    # NaN: a band without valid second differences (all NaN) or left out by bbl
    sig = np.nan_to_num(np.asarray(sigma, dtype="float64"), nan=0.0)
    if not np.all(np.isfinite(sig)) or (sig < 0).any():
        raise ParameterError("noise must give one finite, non-negative sigma per band.")
    return strength * sig


@per_scene
def tv(
    cube: xr.DataArray,
    *,
    strength: float = 1.0,
    noise: Noise = "diff",
    n_iter: int = 50,
    halo: int | None = None,
    progress: bool | None = None,
) -> xr.DataArray:
    """Total-variation denoising of each band (Chambolle), weighted by the band's noise level.

    The ROF weight of band ``b`` is ``strength * sigma_b``: noisy bands are smoothed more. TV is
    a global iterative method that no finite halo makes exact. By default each whole band image
    is solved in one task (one band per task, the spatial chunks joined): the result is the
    same whatever the chunking, bit for bit, and a task holds one band image (float64, plus
    the solver's few work arrays of that size). With ``halo`` each chunk is solved with that
    halo instead (bounded memory for very large images): it then differs from the whole-image
    result near chunk borders; measured with ``halo=16`` and the default ``n_iter`` on the real
    AVIRIS Jasper Ridge cube and a synthetic cube over four chunkings: at most 3.5e-6 absolute,
    5e-6 of the largest value (below 1e-3 of the bands' noise sigma).

    Parameters
    ----------
    cube : DataArray
        ``(band, y, x)`` float cube; NaN stays NaN (filled from the nearest valid pixel for the
        solver only).
    strength : float
        Multiplier of each band's noise sigma to give its TV weight.
    noise : {"diff", "hysime"} or DataArray
        Per-band noise sigma: estimated (``"diff"``, default: a global statistic kept in the
        graph for a dask cube; ``"hysime"``: a fit, computed now) or given (a lazy sigma stays
        lazy). A band without an estimate (NaN, e.g. all NaN or ``bbl`` 0) is not smoothed.
    n_iter : int
        Chambolle iterations (fixed, so that results do not depend on a stopping rule).
    halo : int, optional
        Solve tile by tile with this halo in pixels around each chunk (capped at the image
        size) instead of whole band images; approximate, see above.
    progress : bool, optional
        Progress bar for the ``"hysime"`` noise fit's pass over a dask cube.

    Returns
    -------
    DataArray
        The denoised cube, same dims, dtype and coords; lazy for dask input.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_hsi
    >>> tv(synthetic_hsi(shape=(32, 32), n_bands=20).cube).shape
    (20, 32, 32)
    """
    check_noise(noise)
    data, order = as_bands_first(cube)
    # the weights stay in the graph for a dask cube (a "diff" estimate, a lazy sigma)
    sig = sigma_data(data, noise, progress=progress)
    weights = lazy_call(functools.partial(_tv_weights, strength=strength), sig, shape=sig.shape)
    if not is_dask(data):
        weights = np.asarray(weights)  # numpy cube, lazy sigma: read it (the cube is eager)
    kw = {"weights": weights, "n_iter": int(n_iter)}
    if halo is None:
        out = map_slices(tv_slices, data, whole=data.dims[1:], split=data.dims[0], kwargs=kw)
    else:
        # no padding at the image's edges: the solver's own boundary, as on the whole image
        out = map_overlap(tv_block, data, halo_depth(data, halo), boundary="none", kwargs=kw)
    tiles = "" if halo is None else f", halo={halo}"
    return _finish(out, data, cube, order, f"tv(strength={strength}, n_iter={n_iter}{tiles})")


__all__ = ["mnf", "pca", "subspace", "savgol", "tv", "apply_transform"]
