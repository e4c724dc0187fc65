import os

import numpy as np
import pytest
import rasterio
import xarray as xr

import eoxr
from eoxr.errors import DimensionError, WriteError
from eoxr.testing import make_cube


def test_cog_roundtrip_keeps_crs_labels_nan(tmp_path):
    cube = make_cube(times=None, chunks={"y": 8, "x": 8}, nan_fraction=0.1)
    path = cube.eo.to_cog(tmp_path / "cube.tif")
    with rasterio.open(path) as r:
        assert r.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert r.descriptions == ("B02", "B03", "B04", "B08")
    back = eoxr.open_raster(path)
    assert back.rio.crs == cube.rio.crs
    np.testing.assert_array_equal(back.values, cube.values)
    assert os.listdir(tmp_path) == ["cube.tif"]


def test_cog_refuses_extra_dims_and_existing(tmp_path):
    with pytest.raises(DimensionError, match="time"):
        make_cube().eo.to_cog(tmp_path / "x.tif")
    cube = make_cube(times=None)
    cube.eo.to_cog(tmp_path / "x.tif")
    with pytest.raises(WriteError, match="overwrite=True"):
        cube.eo.to_cog(tmp_path / "x.tif")
    cube.eo.to_cog(tmp_path / "x.tif", overwrite=True)


def test_zarr_roundtrip_and_atomic_failure(tmp_path):
    cube = make_cube(chunks={"y": 16})
    path = cube.eo.to_zarr(tmp_path / "c.zarr")
    back = xr.open_zarr(path, decode_coords="all")["reflectance"]
    assert back.rio.crs.to_epsg() == 32633
    np.testing.assert_array_equal(back.values, cube.values)

    def boom(block):
        raise RuntimeError("disk full")

    failing = cube.copy(data=cube.data.map_blocks(boom, dtype=cube.dtype))
    with pytest.raises(WriteError, match="Nothing was written"):
        failing.eo.to_zarr(tmp_path / "f.zarr")
    assert sorted(os.listdir(tmp_path)) == ["c.zarr"]  # no partial store, no temp left
    # a failed overwrite keeps the previous complete store
    with pytest.raises(WriteError):
        failing.eo.to_zarr(tmp_path / "c.zarr", overwrite=True)
    np.testing.assert_array_equal(xr.open_zarr(path)["reflectance"].values, cube.values)
