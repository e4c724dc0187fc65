"""Model application: torch / ONNX models in blended patches, scikit-learn per pixel, vectors.

Nothing heavy is imported here: torch, onnxruntime, scikit-learn and geopandas load on first use
of the function that needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "apply_model": "eoxr.ml.apply",
    "model_metadata": "eoxr.ml.preprocess",
    "default_overlap": "eoxr.ml.apply",
    "fit": "eoxr.ml.sklearn",
    "apply_estimator": "eoxr.ml.sklearn",
    "sample": "eoxr.ml.vector",
    "zonal_stats": "eoxr.ml.vector",
    "rasterize": "eoxr.ml.vector",
    "batches": "eoxr.ml.batches",
    "torch_dataset": "eoxr.ml.batches",
    "Patches": "eoxr.ml.batches",
    "ModelError": "eoxr.errors",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'eoxr.ml' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
