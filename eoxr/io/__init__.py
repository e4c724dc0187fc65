"""Loading (STAC via odc-stac, rasters via rioxarray) and atomic writing (COG, Zarr)."""

from __future__ import annotations

from .raster import open_raster
from .stac import load_stac

__all__ = ["load_stac", "open_raster"]
