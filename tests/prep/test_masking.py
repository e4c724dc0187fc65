import numpy as np
import pytest
import xarray as xr

from eoxr import datasets
from eoxr.errors import BandNotFoundError, GridMismatchError, ParameterError
from eoxr.prep.masking import cloud_mask
from eoxr.testing import assert_chunk_invariant, make_cube, raise_if_dask_computes


def test_scl_masks_exactly_the_planted_clouds():
    scene = datasets.synthetic_s2(seed=3, shape=(48, 48), times=5)
    with raise_if_dask_computes():
        masked = scene.cube.chunk({"y": 16}).eo.mask_clouds(mask=scene.extras["scl"])
    nan = masked.isnull().any("band")
    assert bool((nan >= scene.extras["cloud"]).all())  # every cloud masked
    shadow = scene.extras["scl"] == 3
    assert bool(nan.where(shadow, True).all())
    clear = ~scene.extras["cloud"] & ~shadow & (scene.extras["scl"] != 0)
    np.testing.assert_array_equal(masked.where(clear).values, scene.cube.where(clear).values)
    assert masked.dtype == np.float32 and masked.rio.crs == scene.cube.rio.crs
    assert "mask_clouds" in masked.attrs["history"]


def test_mask_band_inside_cube_is_dropped():
    cube = make_cube(bands=["B04", "B08", "SCL"], times=None, ny=4, nx=4)
    cube.loc[{"band": "SCL"}] = 4
    cube.loc[{"band": "SCL", "y": cube.y[0], "x": cube.x[0]}] = 9
    out = cube.eo.mask_clouds()
    assert list(out.band.values) == ["B04", "B08"]
    assert out.isnull().sum() == 2
    assert list(cube.eo.mask_clouds(keep_mask_band=True).band.values) == ["B04", "B08", "SCL"]


def test_qa_pixel_bits():
    qa = xr.DataArray(
        np.array([[1 << 6, 1 << 3, 1 << 4], [1 << 5, 1, (1 << 6) | (1 << 7)]], dtype=np.uint16),
        dims=("y", "x"),
        name="QA_PIXEL",
    )
    assert cloud_mask(mask=qa).values.tolist() == [[False, True, True], [False, True, False]]
    assert cloud_mask(mask=qa, classes=["snow"]).values.tolist() == [
        [False] * 3,
        [True, False, False],
    ]


def test_fmask_on_shipped_landsat_dataset():
    ds = datasets.open("landsat_colorado").isel(time=slice(0, 8))
    out = ds.eo.mask_clouds(classes=["cloud", "cloud_shadow", "snow", "fill"])
    assert "fmask" not in out
    bad = ds.fmask.isin([2, 3, 4, 255]).values
    assert np.isnan(out.red.values[bad]).all()
    assert np.isfinite(out.red.values[~bad]).all()


def test_buffer_is_chunk_exact():
    scene = datasets.synthetic_s2(seed=1, shape=(40, 40), times=2)
    scl = scene.extras["scl"]
    assert_chunk_invariant(
        lambda s: cloud_mask(mask=s, buffer=2),
        scl,
        chunkings=[{"y": 7, "x": 9, "time": 1}, {"y": 3, "x": 40}],
        rtol=0,
    )
    assert int(cloud_mask(mask=scl, buffer=2).sum()) > int(cloud_mask(mask=scl).sum())


def test_errors():
    cube = make_cube(bands=["B04", "B08"], times=None, ny=4, nx=4)
    with pytest.raises(BandNotFoundError, match="SCL"):
        cube.eo.mask_clouds()
    bad_grid = xr.DataArray(np.zeros((3, 3), np.uint8), dims=("y", "x"), name="SCL")
    with pytest.raises(GridMismatchError):
        cube.eo.mask_clouds(mask=bad_grid)
    with pytest.raises(ParameterError, match="unknown scl class"):
        cloud_mask(mask=bad_grid, classes=["fog"])
    with pytest.raises(ParameterError, match="kind="):
        cloud_mask(mask=bad_grid.rename("quality"))
