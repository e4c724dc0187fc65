"""SAR tools: dB/linear conversion, multilooking, speckle filters, metrics, dual-pol indices.

Imported lazily through the ``.eo`` accessor (``cube.eo.to_db()``, ``cube.eo.multilook()``,
``cube.eo.denoise("lee", size=7)``...). Numpy/numba kernels live in ``_kernels*.py``, apart from
the xarray wrappers.
"""

from __future__ import annotations

from .convert import to_db, to_linear
from .looks import estimate_looks
from .metrics import (
    compare_filters,
    edge_preservation_index,
    enl,
    homogeneous_mask,
    mean_ratio,
    ssi,
)
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
    "enl",
    "ssi",
    "edge_preservation_index",
    "mean_ratio",
    "homogeneous_mask",
    "compare_filters",
    "dual_pol_ratio",
    "dual_pol_rvi",
]
