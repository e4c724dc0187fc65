"""The return type of every synthetic scene generator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import xarray as xr


@dataclass
class SyntheticScene:
    """A generated cube with the truth needed to score results.

    Attributes
    ----------
    cube : DataArray
        What a sensor would deliver (noise, speckle, clouds... included).
    truth : DataArray or None
        The clean signal on the same grid (e.g. clean reflectance or backscatter).
    change : DataArray or None
        Boolean mask of a planted change (flood, land-cover change), on the spatial grid.
    extras : dict
        Anything else a generator knows exactly (noise sigma per band, stripe offsets, masks...).
    """

    cube: xr.DataArray
    truth: xr.DataArray | None = None
    change: xr.DataArray | None = None
    extras: dict[str, Any] = field(default_factory=dict)
