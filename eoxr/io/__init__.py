"""Loading (STAC via odc-stac, rasters via rioxarray, netCDF via xarray) and atomic writing."""

from __future__ import annotations

from .raster import open_raster
from .stac import load_stac
from .write_cog import to_cog
from .write_zarr import to_zarr

__all__ = ["load_stac", "open_raster", "to_cog", "to_zarr"]
