import dask.array as dsa
import numpy as np
import pytest
from hypothesis import given, settings

from eoxr import _window
from eoxr._dask import blockwise, chunking, overlap
from eoxr.errors import ParameterError
from eoxr.testing import assert_chunk_invariant, make_cube, raise_if_dask_computes
from eoxr.testing.strategies import chunkings


def _box(block, size=5):
    # A strictly local window sum (scipy's running-sum filters spread NaN along whole rows).
    r = size // 2
    p = np.pad(block, [(0, 0)] * (block.ndim - 2) + [(r, r), (r, r)])
    ny, nx = block.shape[-2:]
    return sum(p[..., i : i + ny, j : j + nx] for i in range(size) for j in range(size))


@pytest.mark.parametrize("boundary", ["reflect", "nearest", "periodic", "nan", 0.0])
def test_map_overlap_equals_single_block(boundary):
    cube = make_cube(ny=23, nx=19, times=2)

    def f(c):
        return overlap.map_overlap(_box, c, {"y": 2, "x": 2}, boundary=boundary)

    chunkings_ = [{"y": 5, "x": 4, "time": 1}, {"y": 2, "x": 3}, {"y": 23, "x": 1, "band": 1}]
    assert_chunk_invariant(f, cube, chunkings=chunkings_, rtol=0)


def test_numpy_padding_matches_dask():
    a = np.arange(20.0).reshape(4, 5)
    for b in ("reflect", "nearest", "periodic"):
        d = dsa.overlap.overlap(
            dsa.from_array(a, chunks=-1), depth={0: 2, 1: 2}, boundary={0: b, 1: b}
        ).compute()
        np.testing.assert_array_equal(overlap.pad_numpy(a, {0: 2, 1: 2}, b), d)


@settings(max_examples=15, deadline=None)
@given(chunkings({"y": 17, "x": 13}))
def test_map_overlap_property(chunks):
    cube = make_cube(ny=17, nx=13, times=None, nan_fraction=0.1)
    expected = overlap.map_overlap(_box, cube, {"y": 2, "x": 2}, boundary="reflect")
    with raise_if_dask_computes():
        got = overlap.map_overlap(_box, cube.chunk(chunks), {"y": 2, "x": 2}, boundary="reflect")
    np.testing.assert_array_equal(got.values, expected.values)


def test_map_blocks_whole_band():
    cube = make_cube(chunks={"band": 1, "y": 8})
    out = blockwise.map_blocks(lambda b: b.sum(axis=1), cube, whole=["band"], drop_dims=["band"])
    np.testing.assert_allclose(out.compute(), cube.values.sum(axis=1), rtol=1e-6)


def test_map_slices_sees_whole_slices_and_their_position():
    """Each task gets one step of ``split`` with every sample of ``whole``, and its index."""
    cube = make_cube(times=None, ny=12, nx=10).transpose("band", "y", "x")

    def slice_stat(block, start, offsets):
        # a global statistic of the whole slice: wrong if the slice were cut
        out = block - block.mean(axis=(-2, -1), keepdims=True)
        return out + offsets[start : start + block.shape[0], None, None]

    offsets = np.arange(cube.sizes["band"]) * 10.0
    kw = {"offsets": offsets}
    expected = blockwise.map_slices(slice_stat, cube, whole=["y", "x"], split="band", kwargs=kw)
    want = cube.values - cube.values.mean(axis=(1, 2), keepdims=True) + offsets[:, None, None]
    np.testing.assert_array_equal(expected.values, want)
    for chunks in ({"band": -1, "y": 5, "x": 4}, {"band": 3, "y": 7, "x": 10}):
        with raise_if_dask_computes():
            got = blockwise.map_slices(
                slice_stat, cube.chunk(chunks), whole=["y", "x"], split="band", kwargs=kw
            )
        assert got.chunksizes["band"] == (1,) * cube.sizes["band"]
        np.testing.assert_array_equal(got.values, expected.values)


def test_check_window():
    assert _window.check_window(7) == 7
    for bad in (2, 4, 1, 3.0, -3):
        with pytest.raises(ParameterError, match="odd integer"):
            _window.check_window(bad)


def test_default_chunks_and_ensure_dask():
    cube = make_cube(ny=8, nx=8)
    lazy = chunking.ensure_dask(cube)
    assert chunking.is_dask(lazy) and not chunking.is_dask(cube)
    assert lazy.chunksizes["time"] == (1, 1)
    assert lazy.chunksizes["band"] == (4,)
