"""Hyperspectral tools: noise estimation, denoising, destriping, dead-pixel repair, bad bands.

Functions take a ``(band, y, x)`` float DataArray (numpy- or dask-backed) and are bound to the
``.eo`` accessor (``cube.eo.estimate_noise()``, ``cube.eo.denoise("mnf")``...). Fits (HySime
noise, MNF/PCA/subspace transforms) are computed when a function is called, in one pass over the
chunks, with a progress bar; other global statistics (the ``"diff"`` noise, line profiles of
``destripe``, dead lines, SNR thresholds) stay in the result's graph, so those functions compute
nothing at call time. The per-pixel or per-neighbourhood application is lazy. A cube with
further dims (e.g. ``time``) is processed scene by scene (statistics per scene) and the results
are stacked in the input's dim order; the ``fit_*`` functions take one scene.
"""

from __future__ import annotations

from .deadpix import find_dead_pixels, repair_dead_pixels
from .denoise import apply_transform, mnf, pca, savgol, subspace, tv
from .noise import (
    MIN_PIXELS_PER_BAND,
    WATER_ABSORPTION_RANGES,
    estimate_noise,
    find_bad_bands,
    hysime_subspace,
)
from .stripes import destripe
from .transforms import LowRankTransform, fit_mnf, fit_pca, fit_subspace

__all__ = [
    "estimate_noise",
    "find_bad_bands",
    "hysime_subspace",
    "WATER_ABSORPTION_RANGES",
    "MIN_PIXELS_PER_BAND",
    "mnf",
    "pca",
    "savgol",
    "tv",
    "subspace",
    "apply_transform",
    "fit_mnf",
    "fit_pca",
    "fit_subspace",
    "LowRankTransform",
    "destripe",
    "find_dead_pixels",
    "repair_dead_pixels",
]
