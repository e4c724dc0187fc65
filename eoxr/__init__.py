"""eoxr: an Earth-observation workbench on xarray.

Importing eoxr registers the ``.eo`` accessor on DataArray and Dataset. Heavy dependencies
(torch, hvplot, scikit-learn, geopandas) are imported only when a method needs them.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import _attrs, bands, errors  # noqa: F401  (_attrs registers .rio)
from . import accessor as _accessor  # noqa: F401  (registers .eo)
from .batch import batch
from .cluster import client
from .denoise import denoise_methods
from .errors import BandNotFoundError, EoxrError
from .io import load_stac, open_raster
from .progress import progress

__all__ = [
    "__version__",
    "bands",
    "errors",
    "EoxrError",
    "BandNotFoundError",
    "load_stac",
    "open_raster",
    "denoise_methods",
    "client",
    "batch",
    "progress",
]
