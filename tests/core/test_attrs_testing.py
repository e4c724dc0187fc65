import dask.array as dsa
import numpy as np
import pytest

from eoxr import _attrs
from eoxr.testing import assert_chunk_invariant, make_cube, raise_if_dask_computes


def test_finalize_restores_metadata():
    cube = make_cube(times=None)
    cube.attrs["title"] = "scene"
    res = (cube.sel(band="B08") * 2).drop_vars("spatial_ref")
    res.attrs = {}
    out = _attrs.finalize(
        res, cube, name="double", long_name="twice NIR", units="1", history="doubled"
    )
    assert out.name == "double"
    assert out.rio.crs == cube.rio.crs
    assert out.attrs["title"] == "scene"
    assert out.attrs["long_name"] == "twice NIR"
    assert "doubled" in out.attrs["history"] and "eoxr" in out.attrs["history"]
    again = _attrs.finalize(out, out, history="again")
    assert again.attrs["history"].count("\n") == 1


def test_finalize_drops_value_attrs_unless_kept():
    cube = make_cube(times=None)
    out = _attrs.finalize(cube.sel(band="B04"), cube)
    assert "units" not in out.attrs
    kept = _attrs.finalize(cube.sel(band="B04"), cube, keep_value_attrs=True)
    assert kept.attrs["units"] == "1"


def test_raise_if_dask_computes():
    x = dsa.ones(4)
    with pytest.raises(RuntimeError, match="too many dask computations"), raise_if_dask_computes():
        x.sum().compute()
    with raise_if_dask_computes(max_computes=1) as sched:
        x.sum().compute()
    assert sched.total == 1


def test_assert_chunk_invariant_catches_chunk_dependence():
    cube = make_cube(ny=12, nx=12, times=None)

    def chunk_dependent(c):  # per-block mean: differs with the chunking
        if c.chunks is None:
            return c - c.mean()
        return c.copy(data=c.data.map_blocks(lambda b: b - b.mean()))

    with pytest.raises(AssertionError):
        assert_chunk_invariant(chunk_dependent, cube)
    assert_chunk_invariant(lambda c: c * 2, cube)


def test_make_cube_variants():
    c = make_cube(dtype="uint16", nan_fraction=0.2)
    assert c.dtype == np.uint16 and int(c.min()) >= 0
    ds = make_cube(as_dataset=True)
    assert list(ds.data_vars) == ["B02", "B03", "B04", "B08"]
    assert make_cube(nan_fraction=0.3).isnull().any()


def test_finalize_follows_xarray_keep_attrs():
    import xarray as xr

    cube = make_cube(times=None).assign_attrs(title="scene", history="2020 loaded")
    band = cube.sel(band="B08")
    kept = _attrs.finalize(band * 2, cube, units="1", history="doubled")
    assert kept.attrs["title"] == "scene"
    with xr.set_options(keep_attrs=False):
        dropped = _attrs.finalize(band * 2, cube, long_name="twice", units="1", history="doubled")
        same_units = _attrs.finalize(band, cube, keep_value_attrs=True, history="filtered")
        ds = _attrs.finalize_dataset(cube.to_dataset("band"), cube, history="split")
    assert set(dropped.attrs) == {"long_name", "units", "history"}
    assert (
        dropped.attrs["history"].startswith("2020 loaded\n")
        and "doubled" in dropped.attrs["history"]
    )
    assert dropped.rio.crs == cube.rio.crs  # the CRS is a coordinate, not an attr: it stays
    assert same_units.attrs["units"] == "1" and "title" not in same_units.attrs
    assert set(ds.attrs) == {"history"} and ds.rio.crs == cube.rio.crs
    with xr.set_options(keep_attrs=True):
        assert _attrs.keep_attrs()
