"""Padded blocks in one task each (eoxr._dask.halo): the blocks of dask's overlap, bit for bit."""

from __future__ import annotations

import dask
import dask.array as dsa
import numpy as np
import pytest
import xarray as xr

from eoxr._dask import halo, overlap

BOUNDARIES = ["nan", "none", "reflect", "nearest", 0.5]
CHUNKINGS = [((4, 9, 5), (7, 7, 6)), ((18,), (5, 5, 5, 5)), ((3, 3, 12), (20,))]


def _cube(dtype=np.float32) -> np.ndarray:
    rng = np.random.default_rng(3)
    a = rng.gamma(2.0, 1.0, (18, 20)).astype(dtype)
    a[5, 7] = np.nan
    return a


def _dask_boundary(boundary):
    return np.nan if boundary == "nan" else boundary


def _record(block: np.ndarray) -> np.ndarray:
    """A kernel whose output is its whole padded block (halo included): shows what it got."""
    return block.copy()


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("chunks", CHUNKINGS)
@pytest.mark.parametrize("depth", [(2, 3), (3, 0), (0, 1)])
def test_padded_blocks_are_dask_overlap_blocks(boundary, chunks, depth):
    arr = dsa.from_array(_cube(), chunks=chunks)
    assert halo.applies(arr, dict(enumerate(depth)), boundary)
    got = halo.padded_blocks(arr, depth, boundary)
    want = dsa.overlap.overlap(
        arr,
        depth=dict(enumerate(depth)),
        boundary={0: _dask_boundary(boundary)} | {1: _dask_boundary(boundary)},
    )
    assert got.chunks == want.chunks
    with dask.config.set(scheduler="sync"):
        for loc in np.ndindex(*arr.numblocks):
            np.testing.assert_array_equal(got.blocks[loc].compute(), want.blocks[loc].compute())


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("chunks", CHUNKINGS)
def test_map_overlap_equals_dask_and_one_numpy_block(boundary, chunks):
    """The kernel's output cropped as dask crops it; the same as on the whole numpy array."""
    cube = _cube()
    depth = {"y": 2, "x": 3}

    def box(block: np.ndarray) -> np.ndarray:  # a 5x7 NaN-skipping mean, edges left as given
        out = block.copy()
        h, w = block.shape
        for i in range(2, h - 2):
            for j in range(3, w - 3):
                out[i, j] = np.nanmean(block[i - 2 : i + 3, j - 3 : j + 4])
        return out

    da = xr.DataArray(cube, dims=("y", "x"))
    one = overlap.map_overlap(box, da, depth, boundary=boundary).values
    got = overlap.map_overlap(
        box, da.chunk({"y": chunks[0], "x": chunks[1]}), depth, boundary=boundary
    )
    arr = da.chunk({"y": chunks[0], "x": chunks[1]}).data
    theirs = dsa.map_overlap(
        box, arr, depth={0: 2, 1: 3}, boundary=_dask_boundary(boundary), trim=True
    )
    assert got.data.chunks == arr.chunks
    np.testing.assert_array_equal(got.values, theirs.compute())
    if boundary != "none":  # "none": edge blocks see no padding, a whole array one side less
        np.testing.assert_array_equal(got.values, one)


def test_block_info_and_lazy_keywords_reach_the_kernel():
    """``block_info`` locates the block (leading axes unpadded); dask-array kwargs come whole."""
    cube = np.stack([_cube(), 2 * _cube(), 3 * _cube()])
    da = xr.DataArray(cube, dims=("t", "y", "x")).chunk({"t": 1, "y": 9, "x": 10})
    scale = dsa.from_array(np.array([10.0, 20.0, 30.0]), chunks=2)

    def kernel(block, *, scale, block_info=None):
        t0, t1 = block_info[0]["array-location"][0]
        (y0, y1), (x0, x1) = block_info[0]["array-location"][1:]  # of the padded blocks
        assert block.shape == (1, y1 - y0, x1 - x0) == (1, 9 + 2, 10 + 2)
        return block * np.asarray(scale)[t0:t1, None, None]

    got = overlap.map_overlap(kernel, da, {"y": 1, "x": 1}, kwargs={"scale": scale})
    assert isinstance(got.data, dsa.Array)
    np.testing.assert_array_equal(got.values, cube * np.array([10.0, 20.0, 30.0])[:, None, None])


def test_periodic_and_thin_chunks_take_dask_path():
    arr = dsa.from_array(_cube(), chunks=(9, 10))
    assert not halo.applies(arr, {0: 2, 1: 2}, "periodic")
    thin = dsa.from_array(_cube(), chunks=((1, 17), (10, 10)))
    assert not halo.applies(thin, {0: 2, 1: 2}, "nan")
    assert halo.applies(thin, {0: 0, 1: 2}, "nan")  # no halo along the thin axis
    da = xr.DataArray(_cube(), dims=("y", "x"))
    for chunked, boundary in [
        (da.chunk({"y": 9, "x": 10}), "periodic"),
        (da.chunk({"y": (1, 17)}), "nan"),
    ]:
        got = overlap.map_overlap(_record_crop, chunked, {"y": 2, "x": 2}, boundary=boundary)
        np.testing.assert_array_equal(got.values, da.values)


def _record_crop(block: np.ndarray) -> np.ndarray:
    return _record(block)


def test_integer_blocks_padded_as_dask_pads_them():
    """``"nan"`` pads integer blocks with 0 (dask's path does), other modes as for floats."""
    ints = (np.arange(18 * 20).reshape(18, 20) % 7).astype(np.int16)
    arr = dsa.from_array(ints, chunks=(7, 8))
    for boundary, theirs in [("nan", 0), ("reflect", "reflect"), (3, 3)]:
        got = halo.padded_blocks(arr, (2, 2), boundary)
        want = dsa.overlap.overlap(arr, depth={0: 2, 1: 2}, boundary={0: theirs, 1: theirs})
        assert got.dtype == np.int16
        with dask.config.set(scheduler="sync"):
            for loc in np.ndindex(*arr.numblocks):
                np.testing.assert_array_equal(got.blocks[loc].compute(), want.blocks[loc].compute())


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_three_dims_chunks_equal_to_the_depth(boundary):
    """A leading axis without halo (chunked), chunks as thin as the halo, a single-chunk axis."""
    cube = np.stack([_cube(), _cube()[::-1], 2 * _cube()])
    arr = dsa.from_array(cube, chunks=((1, 2), (2, 2, 14), (20,)))
    depth = (0, 2, 3)
    got = halo.padded_blocks(arr, depth, boundary)
    b = _dask_boundary(boundary)
    want = dsa.overlap.overlap(
        arr, depth=dict(enumerate(depth)), boundary=dict.fromkeys(range(3), b)
    )
    assert got.chunks == want.chunks
    with dask.config.set(scheduler="sync"):
        for loc in np.ndindex(*arr.numblocks):
            np.testing.assert_array_equal(got.blocks[loc].compute(), want.blocks[loc].compute())


def test_neighbours_hand_over_strips_not_blocks():
    """A padded block depends on its own block and on copied strips of its neighbours only.

    On a cluster only these strips travel between workers, and no neighbour is kept alive
    whole for them.
    """
    arr = dsa.from_array(_cube(), chunks=(6, 5))
    padded = halo.padded_blocks(arr, (2, 1), "nan")
    graph = dict(padded.__dask_graph__())
    strip_keys = [k for k in graph if isinstance(k, tuple) and "-strips-" in k[0]]
    assert len(strip_keys) == arr.npartitions
    for loc in np.ndindex(*arr.numblocks):
        deps = dask.core.get_dependencies(graph, (padded.name, *loc))
        assert deps - set(strip_keys) == {(arr.name, *loc)}
    with dask.config.set(scheduler="sync"):
        for strips in dask.get(graph, strip_keys):
            assert len(strips) == 8
            for a in strips:
                assert a.base is None and (a.shape[0] == 2 or a.shape[1] == 1)


def test_block_id_reaches_the_kernel():
    da = xr.DataArray(_cube(), dims=("y", "x")).chunk({"y": 9, "x": 10})

    def kernel(block, block_id=None):
        return np.full_like(block, 10 * block_id[0] + block_id[1])

    got = overlap.map_overlap(kernel, da, {"y": 1, "x": 1})
    np.testing.assert_array_equal(got.values[:9, :10], 0)
    np.testing.assert_array_equal(got.values[9:, 10:], 11)


def _shift(block: np.ndarray) -> np.ndarray:
    """The padded block moved down-right by one: the cube's first row and column show the pad."""
    return np.roll(np.roll(block, 1, 0), 1, 1)


@pytest.mark.parametrize(
    ("dtype", "boundary", "edge"),
    [
        (np.uint8, "nan", 0),
        (np.int16, -7, -7),
        (np.uint16, 65535.0, 65535),
        (np.float32, "nan", np.nan),
        (np.float32, 2.5, 2.5),
        (np.complex64, "nan", complex(np.nan, 0)),
    ],
)
@pytest.mark.parametrize("chunks", [None, 4, 1, (3, 5)])
def test_constant_edges_same_on_numpy_and_every_chunking(dtype, boundary, edge, chunks):
    """ "nan" is 0 for integers and NaN for floats and complex, on every path alike."""
    cube = xr.DataArray(np.arange(1, 65).reshape(8, 8).astype(dtype), dims=("y", "x"))
    arr = cube if chunks is None else cube.chunk({"y": chunks, "x": chunks})
    if chunks == (3, 5):  # chunks thinner than the halo: dask's own path
        arr = cube.chunk({"y": (1, 7), "x": (7, 1)})
    depth = {"y": 2, "x": 2} if chunks == (3, 5) else {"y": 1, "x": 1}
    got = overlap.map_overlap(_shift, arr, depth, boundary=boundary).values
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(got[0], np.full(8, edge, dtype))
    np.testing.assert_array_equal(got[1:, 0], np.full(7, edge, dtype))
    np.testing.assert_array_equal(got[1:, 1:], cube.values[:-1, :-1])


@pytest.mark.parametrize("boundary", [300, -1, 2.5, np.nan, float("inf")])
@pytest.mark.parametrize("chunks", [None, 4, {"y": (1, 7), "x": (7, 1)}])
def test_constant_an_integer_cube_cannot_hold_is_refused_at_the_call(boundary, chunks):
    """numpy would wrap 300 to 44 on one block while dask refuses it: refused everywhere."""
    cube = xr.DataArray(np.arange(64, dtype=np.uint8).reshape(8, 8), dims=("y", "x"))
    arr = cube if chunks is None else cube.chunk(chunks if isinstance(chunks, dict) else chunks)
    with pytest.raises(ValueError, match=r"cannot pad a uint8 array .*astype\('float32'\)"):
        overlap.map_overlap(_shift, arr, {"y": 1, "x": 1}, boundary=boundary)
    with pytest.raises(ValueError, match="cannot pad a uint8 array"):
        overlap.pad_edges(arr.data, {0: (1, 1)}, boundary)
