"""SAR tools: dB/linear conversion, multilooking, looks, speckle filters, dual-pol indices.

Imported lazily through the ``.eo`` accessor (``cube.eo.to_db()``, ``cube.eo.multilook()``,
``cube.eo.denoise("lee", size=7)``...). Numpy/numba kernels live in ``_kernels*.py``, apart from
the xarray wrappers. Quality metrics (ENL, SSI, EPI, mean ratio) live in :mod:`eoxr.metrics`.
"""

from __future__ import annotations

from .convert import as_linear, to_db, to_linear
from .looks import estimate_looks
from .multilook import multilook
from .polarimetry import dual_pol_ratio, dual_pol_rvi
from .speckle import (
    boxcar,
    enhanced_lee,
    frost,
    gamma_map,
    kuan,
    lee,
    lee_sigma,
    median,
    refined_lee,
)

__all__ = [
    "to_db",
    "to_linear",
    "as_linear",
    "estimate_looks",
    "multilook",
    "boxcar",
    "median",
    "lee",
    "kuan",
    "enhanced_lee",
    "gamma_map",
    "frost",
    "refined_lee",
    "lee_sigma",
    "dual_pol_ratio",
    "dual_pol_rvi",
]
