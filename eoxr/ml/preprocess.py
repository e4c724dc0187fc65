"""Model input preparation: bands picked by name, per-band statistics, the encoder protocol.

Shared by :func:`eoxr.ml.apply_model` and :func:`eoxr.ml.torch_dataset`, so that a network is
applied to exactly the input it was trained on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._dask.chunking import rechunk_whole
from .._dims import require_band_dim, spatial_dims
from ..bands import resolve_band, to_array
from ..errors import ParameterError

_PREPROCESS = ("bands", "mean", "std", "scale", "transform")


def model_metadata(model: Any) -> dict:
    """Preprocessing defaults a model carries: ``bands``, ``mean``, ``std``, ``scale``...

    ... and ``transform`` (an encoder's per-patch pipeline, see :func:`apply_model`).

    Read from ``model.eoxr_preprocess`` (the encoder protocol, see :func:`apply_model`), else
    from an ``eoxr_meta`` / ``meta`` / ``metadata`` dict attribute; ``{}`` when there is none.

    Examples
    --------
    >>> class Wrapped:
    ...     eoxr_model = None
    ...     eoxr_preprocess = {"bands": ["red", "nir"], "scale": 1e-4}
    >>> model_metadata(Wrapped())
    {'bands': ['red', 'nir'], 'scale': 0.0001}
    """
    for attr in ("eoxr_preprocess", "eoxr_meta", "meta", "metadata"):
        meta = getattr(model, attr, None)
        if isinstance(meta, Mapping):
            return {k: v for k, v in meta.items() if k in _PREPROCESS}
    return {}


def unwrap_model(model: Any) -> tuple[Any, dict]:
    """The model to run and its preprocessing defaults (encoder protocol: ``eoxr_model``)."""
    meta = model_metadata(model)
    if hasattr(model, "eoxr_model"):
        model = model.eoxr_model
    return model, meta


def select_channels(cube: xr.DataArray | xr.Dataset, bands: Sequence[str] | None) -> xr.DataArray:
    """The cube as ``(*other, band, y, x)`` float DataArray with the requested bands in order.

    Bands are picked by name (any alias :func:`eoxr.bands.resolve_band` knows), never by
    position; a missing one raises :class:`~eoxr.errors.BandNotFoundError`.
    """
    da = to_array(cube)
    bdim = require_band_dim(da)
    if bands is not None:
        if isinstance(bands, str):
            bands = [bands]
        labels = [resolve_band(da, b) for b in bands]
        da = da.sel({bdim: labels})
    ydim, xdim = spatial_dims(da)
    other = [d for d in da.dims if d not in (bdim, ydim, xdim)]
    da = da.transpose(*other, bdim, ydim, xdim)
    if not np.issubdtype(da.dtype, np.floating):
        da = da.astype(np.float32)
    return rechunk_whole(da, [bdim])


def band_stats(
    values: float | Sequence[float] | None, name: str, bands: Sequence[str]
) -> np.ndarray | None:
    """Per-band ``mean`` or ``std`` as float32, one value per band (a scalar applies to all)."""
    if values is None:
        return None
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.size not in (1, len(bands))):
        raise ParameterError(
            f"{name} has {arr.size} values but the model gets {len(bands)} bands {list(bands)}: "
            f"give one {name} per band, in the order of `bands`."
        )
    arr = np.broadcast_to(arr.reshape(-1), (len(bands),)).astype(np.float32)
    if not np.isfinite(arr).all() or (name == "std" and (arr <= 0).any()):
        raise ParameterError(
            f"{name} must be finite{' and positive' if name == 'std' else ''}, got {arr.tolist()}."
        )
    return arr
