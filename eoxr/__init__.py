"""eoxr: an Earth-observation workbench on xarray.

Importing eoxr registers the ``.eo`` accessor on DataArray and Dataset. The topic packages
(``eoxr.change``, ``eoxr.embed``, ``eoxr.indices``, ``eoxr.io``, ``eoxr.plot``...) are imported
on first attribute access (SPEC 1 lazy loading: a module ``__getattr__`` with ``__dir__``), so
``import eoxr`` stays light and ``eoxr.change.cva`` works with no further import. Heavy
dependencies (torch, hvplot, scikit-learn, geopandas, zarr) are imported only when a method needs
them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from . import _attrs, bands, errors  # noqa: F401  (_attrs registers .rio)
from . import accessor as _accessor  # noqa: F401  (registers .eo)
from ._version import __version__
from .batch import batch
from .cluster import client
from .denoise import denoise_methods
from .errors import BandNotFoundError, EoxrError
from .progress import progress

if TYPE_CHECKING:  # what the lazy names are, for type checkers and IDEs
    from . import (  # noqa: F401
        change,
        datasets,
        demo,
        embed,
        hsi,
        indices,
        io,
        metrics,
        ml,
        plot,
        prep,
        radiometry,
        sar,
    )
    from .io import load_stac, open_raster

#: Subpackages and modules imported on first access (``eoxr.change``...).
_SUBMODULES = frozenset(
    {
        "change",
        "datasets",
        "demo",
        "embed",
        "hsi",
        "indices",
        "io",
        "metrics",
        "ml",
        "plot",
        "prep",
        "radiometry",
        "sar",
        "testing",
    }
)
#: Public names imported on first access, and the submodule that defines each.
_LAZY_NAMES = {"load_stac": "io", "open_raster": "io"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_NAMES:
        value = getattr(importlib.import_module(f".{_LAZY_NAMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES | set(_LAZY_NAMES))


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
