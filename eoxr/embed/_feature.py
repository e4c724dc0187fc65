"""The feature dim of embedding cubes, shared by :mod:`eoxr.embed.analysis` and ``.vector``."""

from __future__ import annotations

import xarray as xr

from ..errors import DimensionError

FEATURE = "feature"


def feature_dim(emb: xr.DataArray) -> str:
    """The feature dim of an embedding cube (raises :class:`DimensionError` without one)."""
    if not isinstance(emb, xr.DataArray) or FEATURE not in emb.dims:
        dims = getattr(emb, "dims", None)
        raise DimensionError(
            f"expected an embedding cube with a {FEATURE!r} dim (from cube.eo.embed), got dims "
            f"{tuple(dims) if dims is not None else type(emb).__name__}."
        )
    return FEATURE
