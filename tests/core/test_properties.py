"""Property tests of core helpers on drawn data: dtypes, NaN patterns, dim orders, chunkings."""

import numpy as np
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from eoxr import _attrs, bands
from eoxr._dask import overlap
from eoxr.testing import assert_chunk_invariant, raise_if_dask_computes
from eoxr.testing.strategies import NAN_PATTERNS, chunked, chunkings, cubes, nan_mask

SETTINGS = settings(max_examples=25, deadline=None)


def _shift_sum(block, axes):
    # Sum of each pixel and its 4 neighbours along the (y, x) axes: a kernel whose halo matters.
    out = block.copy()
    for ax in axes:
        lo = [slice(None)] * block.ndim
        hi = [slice(None)] * block.ndim
        lo[ax], hi[ax] = slice(1, None), slice(None, -1)
        out[tuple(lo)] += block[tuple(hi)]
        out[tuple(hi)] += block[tuple(lo)]
    return out


@SETTINGS
@given(chunked(cubes(dim_order=True)), st.sampled_from(["reflect", "nearest", "periodic"]))
def test_map_overlap_identity_kernel_returns_the_cube(pair, boundary):
    cube, chunks = pair
    with raise_if_dask_computes():
        out = overlap.map_overlap(
            lambda b: b, cube.chunk(chunks), {"y": 2, "x": 1}, boundary=boundary
        )
    assert out.dtype == cube.dtype and out.dims == cube.dims
    xr.testing.assert_identical(out.compute().drop_attrs(), cube.drop_attrs())


@SETTINGS
@given(cubes(dtypes=["float32", "float64"], dim_order=True), st.data())
def test_map_overlap_local_kernel_is_chunk_invariant(cube, data):
    chunks = data.draw(chunkings(dict(cube.sizes)))

    axes = (cube.get_axis_num("y"), cube.get_axis_num("x"))

    def f(c):
        return overlap.map_overlap(
            _shift_sum, c, {"y": 1, "x": 1}, boundary=0.0, kwargs={"axes": axes}
        )

    assert_chunk_invariant(f, cube, chunkings=[chunks], rtol=1e-12)


@SETTINGS
@given(cubes(), st.booleans())
def test_finalize_keeps_grid_dtype_and_history(cube, keep):
    cube.attrs["title"] = "scene"
    result = (cube * 1).drop_vars("spatial_ref").rename("out")
    with xr.set_options(keep_attrs=keep):
        out = _attrs.finalize(result, cube, long_name="copy", units="1", history="copied")
    assert out.dtype == cube.dtype
    assert out.rio.crs == cube.rio.crs
    for name in ("y", "x", "band"):
        np.testing.assert_array_equal(out[name].values, cube[name].values)
    assert out.attrs["long_name"] == "copy" and out.attrs["units"] == "1"
    assert out.attrs["history"].endswith("copied")
    assert ("title" in out.attrs) is keep


@SETTINGS
@given(cubes(time=False, dtypes=["float32", "uint16"]))
def test_to_dataset_to_array_round_trip(cube):
    ds = bands.to_dataset(cube)
    assert list(ds.data_vars) == [str(b) for b in cube.band.values]
    back = bands.to_array(ds)
    xr.testing.assert_equal(back.drop_vars("wavelength", errors="ignore"), cube)


@SETTINGS
@given(cubes(time=False, dtypes=["float32"]))
def test_rename_to_common_round_trip(cube):
    common = bands.rename_to_common(cube)
    mapping = bands.band_mapping(cube)  # common name -> the cube's own label
    assert [mapping[str(b)] for b in common.band.values] == [str(b) for b in cube.band.values]
    restored = common.assign_coords(band=[mapping[str(b)] for b in common.band.values])
    np.testing.assert_array_equal(restored.values, cube.values)


@settings(max_examples=50, deadline=None)
@given(
    st.sampled_from(NAN_PATTERNS),
    st.one_of(
        st.tuples(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9)),
        st.tuples(st.integers(1, 9), st.integers(1, 9)),  # one band, no band axis
    ),
    st.integers(0, 1000),
)
def test_nan_mask_patterns(pattern, shape, seed):
    mask = nan_mask(pattern, shape, np.random.default_rng(seed))
    assert mask.shape == shape
    if pattern == "none":
        assert not mask.any()
    elif pattern == "all":
        assert mask.all()
    elif pattern == "band":
        assert np.sum(mask.all(axis=(-2, -1))) == 1
    elif pattern in ("rows", "columns", "block"):
        assert mask.any()


@SETTINGS
@given(cubes(time=True, dim_order=True, dtypes=["int16", "float64"]))
def test_cubes_strategy_structure(cube):
    assert set(cube.dims) == {"time", "band", "y", "x"}
    assert cube.rio.crs is not None
    if np.issubdtype(cube.dtype, np.integer):
        assert cube.attrs["nodata"] == 0 and int(cube.min()) >= 0
