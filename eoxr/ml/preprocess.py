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
from .._resolved import ResolvedBands
from ..bands import band_labels, resolve_band, to_array
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
        labels = [resolve_band(da, b) for b in _names(bands)]
        da = da.sel({bdim: labels})
    return _arranged(da, bdim, spatial_dims(da))


def resolved_channels(
    cube: xr.DataArray | xr.Dataset, rb: ResolvedBands, bands: Sequence[str] | None
) -> tuple[xr.DataArray, list[str]]:
    """:func:`select_channels` reading the bands from ``rb`` (resolved once by the verb).

    Returns the channels and their labels.
    """
    if isinstance(cube, xr.Dataset) or rb.band_dim is None or rb.spatial is None:
        da = select_channels(cube, bands)  # a layout change first: the old way
        return da, band_labels(da)
    da, labels = cube, list(rb.labels)
    if bands is not None:
        # a band rb cannot name (absent, or ambiguous labels) raises as resolve_band does
        labels = [rb.label(b) or resolve_band(cube, b) for b in _names(bands)]
        da = da.sel({rb.band_dim: labels})
    return _arranged(da, rb.band_dim, rb.spatial), labels


def _names(bands: Sequence[str] | str) -> list[str]:
    return [bands] if isinstance(bands, str) else list(bands)


def _arranged(da: xr.DataArray, bdim: str, spatial: tuple[str, str]) -> xr.DataArray:
    """``(*other, band, y, x)``, float, the band dim one chunk."""
    ydim, xdim = spatial
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
