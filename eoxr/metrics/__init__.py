"""Image-quality metrics: one package for every topic.

* :mod:`eoxr.metrics.hsi` - multi-band metrics of a result against a reference cube (MPSNR,
  MSSIM, SAM, ERGAS, per-band PSNR), for hyperspectral and optical denoising;
* :mod:`eoxr.metrics.sar` - speckle-filter metrics (ENL, speckle suppression index, edge
  preservation index, mean ratio) and the helpers to use them (homogeneous area, filter table).

Conventions, the same for every metric:

* the arguments are ``(result, reference)`` in that order: the image being scored first, then
  what it is compared with; a no-reference metric (:func:`enl`) takes ``result`` only; every
  option after them is keyword-only;
* a metric is a global statistic: its inputs are read in one pass (lazy inputs are computed
  then, with a progress bar in interactive sessions) and NaN pixels are left out;
* the return value is a Python ``float`` when the metric gives one number for its input (every
  multi-band metric, which averages over bands; a SAR metric of a 2-D image), and an
  ``xarray.DataArray`` over the remaining dims when it gives one number per slice (a SAR metric
  of a ``(time, band, y, x)`` cube: one per 2-D image; :func:`psnr_per_band`: one per band);
* tables of several metrics are a ``dict`` of floats (:func:`compare`) or a
  ``pandas.DataFrame`` with one row per method (:func:`compare_filters`).
"""

from __future__ import annotations

from .hsi import compare, ergas, mpsnr, mssim, psnr_per_band, sam
from .sar import compare_filters, edge_preservation_index, enl, homogeneous_mask, mean_ratio, ssi

__all__ = [
    "compare",
    "compare_filters",
    "edge_preservation_index",
    "enl",
    "ergas",
    "homogeneous_mask",
    "mean_ratio",
    "mpsnr",
    "mssim",
    "psnr_per_band",
    "sam",
    "ssi",
]
