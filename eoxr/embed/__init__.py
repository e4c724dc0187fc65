"""Embeddings and pretrained encoders: models that carry their preprocessing, embedding cubes.

``encoder(...)`` wraps a torch module or an ONNX model with its bands, scale and mean/std (or
builds random convolutional features, or a published encoder from :data:`SPECS` and a local
weights file); ``embed`` turns a cube into a lazy cube of patch embeddings; ``similarity``,
``kmeans``, ``pca``, ``zonal`` and the GeoParquet functions work on embedding cubes.

Nothing heavy is imported here: torch, scikit-learn, geopandas and onnxruntime load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "Encoder": "eoxr.models.encoder",
    "encoder": "eoxr.embed.encoders",
    "embed": "eoxr.embed.patches",
    "similarity": "eoxr.embed.analysis",
    "kmeans": "eoxr.embed.analysis",
    "pca": "eoxr.embed.analysis",
    "zonal": "eoxr.embed.vector",
    "to_geoparquet": "eoxr.embed.vector",
    "read_geoparquet": "eoxr.embed.vector",
    "SPECS": "eoxr.embed.specs",
    "Spec": "eoxr.embed.specs",
    "spec_from_json": "eoxr.models.encoder",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'eoxr.embed' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
