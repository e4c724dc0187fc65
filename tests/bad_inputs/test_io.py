"""Bad inputs to eoxr.io: each raises a typed error that says the fix, and touches no file.

Every case snapshots the directory tree (names, sizes, contents) before and after: a refused
write must neither delete a user's file nor leave a partial or temporary one behind.
"""

import hashlib
import os

import numpy as np
import pytest
import xarray as xr

import eoxr
from eoxr import datasets
from eoxr.errors import (
    DimensionError,
    GridMismatchError,
    ParameterError,
    ReadError,
    WriteError,
)
from eoxr.testing import make_cube


def _tree(root):
    """Relative path -> content digest (or "<dir>"/"<link>"), for every entry under root."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            rel = os.path.relpath(p, root)
            if os.path.islink(p):
                out[rel] = "<link>" + os.readlink(p)
            elif os.path.isdir(p):
                out[rel] = "<dir>"
            else:
                with open(p, "rb") as f:
                    out[rel] = hashlib.sha1(f.read()).hexdigest()
    return out


@pytest.fixture
def user_files(tmp_path):
    """A workspace with a user's folder of unrelated files, a text file and a link."""
    folder = tmp_path / "results"
    (folder / "sub").mkdir(parents=True)
    (folder / "thesis.docx").write_bytes(b"chapter 1 " * 100)
    (folder / "sub" / "field_notes.txt").write_text("plot 7: wet")
    (tmp_path / "notes.tif").write_text("not an image")
    (tmp_path / "link.tif").symlink_to(folder / "thesis.docx")
    return tmp_path


@pytest.fixture
def cube():
    return make_cube(times=None)


def _refused(root, call, error, phrase):
    before = _tree(root)
    with pytest.raises(error, match=phrase):
        call()
    assert _tree(root) == before


@pytest.mark.parametrize("writer", ["to_cog", "to_zarr"])
def test_overwrite_of_a_user_folder(user_files, cube, writer):
    target = user_files / "results"
    call = lambda: getattr(cube.eo, writer)(target, overwrite=True)  # noqa: E731
    _refused(user_files, call, WriteError, "refusing to overwrite.*directory with 2 entries")


def test_cog_overwrite_of_a_non_tiff_file(user_files, cube):
    call = lambda: cube.eo.to_cog(user_files / "notes.tif", overwrite=True)  # noqa: E731
    _refused(user_files, call, WriteError, "a file of 12 bytes, not a GeoTIFF")


def test_cog_overwrite_of_a_symlink(user_files, cube):
    call = lambda: cube.eo.to_cog(user_files / "link.tif", overwrite=True)  # noqa: E731
    _refused(user_files, call, WriteError, "symbolic link")


def test_zarr_overwrite_of_a_file(user_files, cube):
    call = lambda: cube.eo.to_zarr(user_files / "notes.tif", overwrite=True)  # noqa: E731
    _refused(user_files, call, WriteError, "not a Zarr store")


def test_existing_output_without_overwrite(tmp_path, cube):
    cube.eo.to_cog(tmp_path / "x.tif")
    call = lambda: cube.eo.to_cog(tmp_path / "x.tif")  # noqa: E731
    _refused(tmp_path, call, WriteError, "overwrite=True")


def test_missing_parent_is_not_created(tmp_path, cube):
    call = lambda: cube.eo.to_cog(tmp_path / "resluts" / "x.tif")  # noqa: E731
    _refused(tmp_path, call, WriteError, "does not exist. Create it first")


def test_parent_is_a_file(user_files, cube):
    call = lambda: cube.eo.to_zarr(user_files / "notes.tif" / "x.zarr")  # noqa: E731
    _refused(user_files, call, WriteError, "is not a directory")


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0,
    reason="root writes into a read-only folder: chmod cannot deny it (see test_parent_is_a_file)",
)
def test_read_only_parent(tmp_path, cube):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        _refused(tmp_path, lambda: cube.eo.to_cog(ro / "x.tif"), WriteError, "not writable")
    finally:
        ro.chmod(0o755)


def test_failed_overwrite_keeps_the_old_store(tmp_path, cube):
    cube.eo.to_zarr(tmp_path / "c.zarr")

    def boom(block):
        raise RuntimeError("disk full")

    data = cube.chunk({"y": 8}).data
    failing = cube.copy(data=data.map_blocks(boom, dtype=cube.dtype))
    call = lambda: failing.eo.to_zarr(tmp_path / "c.zarr", overwrite=True)  # noqa: E731
    _refused(tmp_path, call, WriteError, "Nothing was written")


def test_cube_with_time_to_cog(tmp_path):
    _refused(tmp_path, lambda: make_cube().eo.to_cog(tmp_path / "x.tif"), DimensionError, "time")


@pytest.mark.parametrize(
    ("writer", "kwargs", "phrase"),
    [
        ("to_cog", {"compress": "gzip"}, "compress='gzip'.*'DEFLATE'"),
        ("to_zarr", {"zarr_format": 4}, r"zarr_format=4.*\[2, 3\]"),
        ("to_zarr", {"mode": "a"}, "mode= cannot be chosen"),
    ],
)
def test_writer_option_values(tmp_path, cube, writer, kwargs, phrase):
    call = lambda: getattr(cube.eo, writer)(tmp_path / "out", **kwargs)  # noqa: E731
    _refused(tmp_path, call, ParameterError, phrase)


# ----------------------------------------------------------------------------------- reading
S2 = datasets.data_dir("s2_chesapeake") / "s2_chesapeake_l1c"


@pytest.mark.parametrize(
    ("kwargs", "error", "phrase"),
    [
        ({"paths": []}, ParameterError, "empty list of paths"),
        ({"paths": [S2 / "B04.tif", S2 / "B08.tif"]}, ParameterError, "stack='time' or"),
        ({"stack": "bands"}, ParameterError, r"stack='bands'.*\['time', 'band'\]"),
        ({"stack": "band", "resampling": "linear"}, ParameterError, "'bilinear'"),
        ({"stack": "band", "resolution": "fine"}, ParameterError, "'finest', 'coarsest'"),
        ({"stack": "band", "resolution": 0}, ParameterError, "positive pixel size"),
        ({"stack": "band", "names": ["red"]}, ParameterError, "1 names for 2 bands"),
        (
            {"paths": [S2 / "B04.tif", S2 / "B05.tif"], "stack": "band"},
            GridMismatchError,
            "pixel size 20 vs 10.*resolution=",
        ),
        ({"paths": [S2 / "B04.tif", S2 / "nope.tif"], "stack": "band"}, ReadError, "not exist"),
        ({"paths": S2, "stack": None}, ReadError, "is a folder"),
        ({"stack": "band", "sign": "token=1"}, ParameterError, "sign must be a callable"),
        ({"stack": "band", "sign": str}, ParameterError, "every file given is local"),
    ],
)
def test_open_raster_bad_arguments(tmp_path, kwargs, error, phrase):
    kwargs = {"paths": [S2 / "B04.tif", S2 / "B08.tif"], **kwargs}
    before = _tree(S2.parent)
    _refused(tmp_path, lambda: eoxr.open_raster(**kwargs), error, phrase)
    assert _tree(S2.parent) == before


def test_unreadable_file(tmp_path):
    (tmp_path / "scene.tif").write_bytes(b"II*\x00 truncated download")
    call = lambda: eoxr.open_raster(tmp_path / "scene.tif")  # noqa: E731
    _refused(tmp_path, call, ReadError, "cannot read .* not truncated")


def test_netcdf_without_spatial_dims(tmp_path):
    xr.Dataset({"counts": ("t", np.arange(3.0))}).to_netcdf(tmp_path / "t.nc", engine="scipy")
    call = lambda: eoxr.open_raster(tmp_path / "t.nc")  # noqa: E731
    _refused(tmp_path, call, DimensionError, "no gridded variable")
    xr.Dataset({"v": (("t", "k"), np.ones((2, 3)))}).to_netcdf(tmp_path / "tk.nc", engine="scipy")
    call = lambda: eoxr.open_raster(tmp_path / "tk.nc")  # noqa: E731
    _refused(tmp_path, call, DimensionError, "without spatial dims")


def test_netcdf_unknown_variable(tmp_path):
    grid = xr.Dataset({"ndvi": (("y", "x"), np.ones((2, 3)))}, coords={"y": [1, 0], "x": [0, 1, 2]})
    grid.to_netcdf(tmp_path / "g.nc", engine="scipy")
    call = lambda: eoxr.open_raster(tmp_path / "g.nc", variable="evi")  # noqa: E731
    _refused(tmp_path, call, ParameterError, "variable='evi'.*holds \\['ndvi'\\]")


def test_load_stac_nothing_to_load(tmp_path):
    _refused(tmp_path, lambda: eoxr.load_stac([]), ReadError, "no STAC items")
    call = lambda: eoxr.load_stac(tmp_path / "catalog.json")  # noqa: E731
    _refused(tmp_path, call, ReadError, "does not exist")


def test_load_stac_bad_sign(tmp_path):
    catalog = datasets.catalog_path("landsat_colorado")
    call = lambda: eoxr.load_stac(catalog, sign="?token=1")  # noqa: E731
    _refused(tmp_path, call, ParameterError, "sign must be a callable")
    call = lambda: eoxr.load_stac(catalog, sign=str, driver="rio")  # noqa: E731
    _refused(tmp_path, call, ParameterError, "cannot work with your driver=")


def test_load_stac_file_that_is_not_stac(tmp_path):
    (tmp_path / "catalog.json").write_text("{not json")
    call = lambda: eoxr.load_stac(tmp_path / "catalog.json")  # noqa: E731
    _refused(tmp_path, call, ReadError, "not a readable STAC")


@pytest.mark.parametrize("writer", ["to_cog", "to_zarr"])
@pytest.mark.parametrize("url", ["http://127.0.0.1:9/x.out", "https://example.org/x.out"])
def test_write_to_a_read_only_url(tmp_path, cube, writer, url):
    # http(s) serves reads only: refused before anything is computed or sent
    _refused(tmp_path, lambda: getattr(cube.eo, writer)(url), WriteError, "read-only")
