"""Change detection: bi-temporal statistics, thresholds, SAR omnibus test and BFAST monitoring.

Bound to the ``.eo`` accessor: ``a.eo.change(b, method=..., threshold_method=...)``,
``mask.eo.vectorize(...)``, ``s1.eo.change_omnibus(...)``, ``cube.eo.bfast_monitor(...)``.
Global statistics (thresholds, IR-MAD weights) are computed in one pass and documented as such;
everything else is lazy on dask input.
"""

from __future__ import annotations

from .bfast import bfast_monitor
from .bitemporal import cva, difference, embedding_distance
from .detect import change
from .irmad import irmad
from .omnibus import omnibus
from .pca_kmeans import pca_kmeans
from .threshold import threshold
from .vectorize import vectorize

__all__ = [
    "pca_kmeans",
    "embedding_distance",
    "vectorize",
    "difference",
    "cva",
    "irmad",
    "omnibus",
    "threshold",
    "bfast_monitor",
    "change",
]
