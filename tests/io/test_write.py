import os

import numpy as np
import pytest
import rasterio
import xarray as xr

import eoxr
from eoxr.errors import DimensionError, ParameterError, WriteError
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


def _tree(root):
    """Every path under ``root`` with its size and mtime: a before/after snapshot."""
    return {
        str(p.relative_to(root)): (p.is_dir(), p.stat().st_size if p.is_file() else 0)
        for p in sorted(root.rglob("*"))
    }


def _user_folder(root):
    root.mkdir()
    (root / "thesis.docx").write_bytes(b"chapter 1")
    (root / "sub").mkdir()
    (root / "sub" / "field_notes.txt").write_text("plot 7: wet")
    return root


@pytest.mark.parametrize("writer", ["to_cog", "to_zarr"])
def test_overwrite_never_deletes_a_user_folder(tmp_path, writer):
    target = _user_folder(tmp_path / "results")
    before = _tree(tmp_path)
    cube = make_cube(times=None)
    with pytest.raises(WriteError, match="refusing to overwrite.*thesis.docx"):
        getattr(cube.eo, writer)(target, overwrite=True)
    assert _tree(tmp_path) == before
    assert (target / "sub" / "field_notes.txt").read_text() == "plot 7: wet"


def test_cog_overwrite_refuses_non_tiff_and_symlink(tmp_path):
    notes = tmp_path / "notes.tif"
    notes.write_text("not an image")
    cube = make_cube(times=None)
    with pytest.raises(WriteError, match="not a GeoTIFF"):
        cube.eo.to_cog(notes, overwrite=True)
    assert notes.read_text() == "not an image"
    real = cube.eo.to_cog(tmp_path / "real.tif")
    link = tmp_path / "link.tif"
    link.symlink_to(real)
    with pytest.raises(WriteError, match="symbolic link"):
        cube.eo.to_cog(link, overwrite=True)
    assert link.is_symlink() and real.exists()


def test_cog_overwrite_replaces_a_geotiff(tmp_path):
    cube = make_cube(times=None)
    path = cube.eo.to_cog(tmp_path / "x.tif")
    (cube * 2).eo.to_cog(path, overwrite=True)
    with rasterio.open(path) as r:
        np.testing.assert_allclose(r.read(1), cube.isel(band=0).values * 2, rtol=1e-6)
    assert os.listdir(tmp_path) == ["x.tif"]


def test_zarr_overwrite_replaces_only_a_store(tmp_path):
    cube = make_cube(times=None)
    path = cube.eo.to_zarr(tmp_path / "c.zarr")
    (cube + 1).eo.to_zarr(path, overwrite=True)
    np.testing.assert_allclose(xr.open_zarr(path)["reflectance"].values, cube.values + 1, rtol=1e-6)
    assert os.listdir(tmp_path) == ["c.zarr"]  # the old store is gone, no temp left
    afile = tmp_path / "c2.zarr"
    afile.write_text("a file")
    with pytest.raises(WriteError, match="not a Zarr store"):
        cube.eo.to_zarr(afile, overwrite=True)
    assert afile.read_text() == "a file"


def test_missing_or_file_parent(tmp_path):
    cube = make_cube(times=None)
    with pytest.raises(WriteError, match="does not exist. Create it"):
        cube.eo.to_cog(tmp_path / "typo" / "x.tif")
    assert not (tmp_path / "typo").exists()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(WriteError, match="not a directory"):
        cube.eo.to_zarr(tmp_path / "afile" / "x.zarr")


def test_writer_options_validated(tmp_path):
    cube = make_cube(times=None)
    with pytest.raises(ParameterError, match="DEFLATE"):
        cube.eo.to_cog(tmp_path / "x.tif", compress="gzip")
    with pytest.raises(ParameterError, match=r"\[2, 3\]"):
        cube.eo.to_zarr(tmp_path / "x.zarr", zarr_format=4)
    with pytest.raises(ParameterError, match="mode="):
        cube.eo.to_zarr(tmp_path / "x.zarr", mode="a")
    assert os.listdir(tmp_path) == []
    path = cube.eo.to_cog(tmp_path / "x.tif", compress="zstd")
    with rasterio.open(path) as r:
        assert r.compression.name.upper() == "ZSTD"


def test_unwritable_parent_is_refused_before_writing(tmp_path, monkeypatch):
    # tests run as root, which chmod cannot stop: simulate the permission answer instead
    import eoxr.io._target as target  # where the writers check their target's folder

    monkeypatch.setattr(target.os, "access", lambda *a, **k: False)
    with pytest.raises(WriteError, match="not writable"):
        make_cube(times=None).eo.to_cog(tmp_path / "x.tif")
    assert os.listdir(tmp_path) == []
