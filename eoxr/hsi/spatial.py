"""Numpy kernels of the spatial denoising steps (scikit-image, imported when first called).

Both denoisers see a block padded with a halo by :func:`eoxr._dask.overlap.map_overlap`:

* non-local means (Buades et al. 2005) has a finite footprint, ``patch_distance + patch_size//2``
  pixels, so with that halo every pixel sees the same data on any chunking (the results agree
  to float rounding);
* total variation (Chambolle 2004) is a global iterative solver: a pixel's result depends,
  weakly and decaying with distance, on the whole image, so no finite halo makes it exact. By
  default it runs on whole band images (:func:`tv_slices` through
  :func:`eoxr._dask.blockwise.map_slices`, one band per task), which is exact whatever the chunking;
  with a ``halo`` it runs tile by tile, and the chunked result matches the whole-image one to
  a small tolerance near chunk borders (measured in the tests), not exactly.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import distance_transform_edt


def fill_nan_nearest(img: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """Replace NaN by the nearest valid pixel (so they make no artificial edge); return the mask."""
    bad = np.isnan(img)
    if not bad.any():
        return img, None
    if bad.all():
        return np.zeros_like(img), bad
    idx = distance_transform_edt(bad, return_distances=False, return_indices=True)
    return img[tuple(idx)], bad


def tv_block(block: np.ndarray, weights: np.ndarray, n_iter: int) -> np.ndarray:
    """Chambolle TV of every band of a ``(band, y, x)`` block with its own weight; NaN kept."""
    from skimage.restoration import denoise_tv_chambolle

    out = np.empty_like(block)
    for b in range(block.shape[0]):
        if not weights[b] > 0:  # zero weight: no smoothing (skimage divides by the weight)
            out[b] = block[b]
            continue
        img, bad = fill_nan_nearest(block[b].astype("float64"))
        # eps=0: always n_iter iterations, so a stopping rule relative to the block's own energy
        # cannot differ between chunks.
        res = denoise_tv_chambolle(img, weight=float(weights[b]), eps=0.0, max_num_iter=n_iter)
        if bad is not None:
            res[bad] = np.nan
        out[b] = res
    return out


def tv_slices(block: np.ndarray, start: int, weights: np.ndarray, n_iter: int) -> np.ndarray:
    """:func:`tv_block` of bands ``start ...`` of a cube, each with its own weight."""
    return tv_block(block, weights[start : start + block.shape[0]], n_iter)


def nlm_image(
    img: np.ndarray, sigma: float, patch_size: int, patch_distance: int, h: float
) -> np.ndarray:
    """Non-local means of one float64 image with known noise ``sigma`` (fast mode)."""
    from skimage.restoration import denoise_nl_means

    return denoise_nl_means(
        img,
        patch_size=patch_size,
        patch_distance=patch_distance,
        h=h * sigma,
        sigma=sigma,
        fast_mode=True,
    )


def nlm_halo(patch_size: int, patch_distance: int) -> int:
    """Pixels outside a block that non-local means can reach."""
    return patch_distance + patch_size // 2


def denoise_scores(z: np.ndarray, spatial: str, params: dict) -> np.ndarray:
    """Denoise each eigen-image ``z[k]`` (unit noise variance) with ``spatial``."""
    out = np.empty_like(z)
    for k in range(z.shape[0]):
        if spatial == "nlmeans":
            out[k] = nlm_image(
                z[k], 1.0, params["patch_size"], params["patch_distance"], params["h"]
            )
        else:
            out[k] = tv_block(z[k][None], np.array([params["weight"]]), params["n_iter"])[0]
    return out
