"""store_blocks: every input block computed once, global statistics first, stripes, row order."""

from __future__ import annotations

import pickle
import threading
from collections import Counter

import dask
import dask.array as dsa
import numpy as np
import pytest
import xarray as xr

from eoxr._dask import overlap, store

NY, NX, CH = 3, 8, 4  # chunks along y and x, chunk side


def _counted(calls: Counter) -> dsa.Array:
    """A cube generated block by block; ``calls`` counts how often each block is made."""
    lock = threading.Lock()

    def make(block_info=None):
        (y0, y1), (x0, x1) = block_info[None]["array-location"]
        with lock:
            calls[(y0 // CH, x0 // CH)] += 1
        yy, xx = np.mgrid[y0:y1, x0:x1]
        return (np.sin(yy / 3.0) + np.cos(xx / 5.0) + 2.0).astype(np.float32)

    return dsa.map_blocks(make, chunks=((CH,) * NY, (CH,) * NX), dtype=np.float32)


def _truth() -> np.ndarray:
    yy, xx = np.mgrid[0 : NY * CH, 0 : NX * CH]
    return (np.sin(yy / 3.0) + np.cos(xx / 5.0) + 2.0).astype(np.float32)


def _mean3(block: np.ndarray) -> np.ndarray:
    p = block
    ny, nx = p.shape[0] - 2, p.shape[1] - 2
    core = sum(p[i : i + ny, j : j + nx] for i in range(3) for j in range(3)) / 9
    out = p.copy()
    out[1:-1, 1:-1] = core
    return out


def _smooth(a: dsa.Array) -> dsa.Array:
    da = xr.DataArray(a, dims=("y", "x"))
    return overlap.map_overlap(_mean3, da, {"y": 1, "x": 1}, boundary="reflect").data


def _write_into(out: dict):
    def write(name, index, region, block):
        out.setdefault(name, {})[index] = (region, np.array(block))

    return write


def _assemble(blocks: dict) -> np.ndarray:
    a = np.full((NY * CH, NX * CH), np.nan, np.float32)
    for region, block in blocks.values():
        a[region] = block
    return a


@pytest.fixture
def single_stripe(monkeypatch):
    monkeypatch.setattr(store, "stripe_columns", lambda chunks: NX)


def test_every_input_block_computed_once(single_stripe):
    calls: Counter = Counter()
    cube = _counted(calls)
    out: dict = {}
    with dask.config.set(scheduler="threads"):
        n = store.store_blocks(
            {"plus": cube + 1, "smooth": _smooth(cube)}, _write_into(out), progress=False
        )
    assert n == 2 * NY * NX
    assert set(calls.values()) == {1} and len(calls) == NY * NX
    ref = _truth()
    np.testing.assert_array_equal(_assemble(out["plus"]), ref + 1)
    np.testing.assert_array_equal(
        _assemble(out["smooth"]), _smooth(dsa.from_array(ref, chunks=CH)).compute()
    )


def test_global_statistic_computed_first_in_one_pass(monkeypatch):
    monkeypatch.setattr(store, "_STATISTIC_BYTES", 64)  # the test cube is small
    calls: Counter = Counter()
    cube = _counted(calls)
    lazy = {"scaled": cube / cube.mean(), "smooth": _smooth(cube)}
    ready = store.precompute_statistics(lazy, progress=False)
    assert len(calls) == NY * NX and set(calls.values()) == {1}  # one pass for the mean
    calls.clear()
    scaled, smooth = dask.compute(ready["scaled"], ready["smooth"])
    assert set(calls.values()) == {1}  # the mean is a number in the graph now
    ref = _truth()
    np.testing.assert_allclose(scaled, ref / ref.mean(dtype=np.float64), rtol=1e-6)
    np.testing.assert_array_equal(smooth, dask.compute(lazy["smooth"])[0])


def test_no_statistic_no_extra_pass(monkeypatch):
    monkeypatch.setattr(store, "_STATISTIC_BYTES", 64)  # halo strips are larger than this
    calls: Counter = Counter()
    cube = _counted(calls)
    lazy = {"smooth": _smooth(cube), "plus": cube + 1, "numpy": np.zeros(3)}
    ready = store.precompute_statistics(lazy, progress=False)
    assert not calls
    assert all(ready[k] is lazy[k] for k in lazy)


def test_stripes_compute_only_their_halo_columns_again(monkeypatch):
    monkeypatch.setattr(store, "stripe_columns", lambda chunks: 2)
    calls: Counter = Counter()
    out: dict = {}
    with dask.config.set(scheduler="threads"):
        store.store_blocks({"smooth": _smooth(_counted(calls))}, _write_into(out))
    ref = dsa.from_array(_truth(), chunks=CH)
    np.testing.assert_array_equal(_assemble(out["smooth"]), _smooth(ref).compute())
    # 4 stripes of 2 columns, each reads one column more on each side inside the cube.
    per_column = Counter(x for _, x in calls.elements())
    assert per_column == {0: NY, **{x: 2 * NY for x in range(1, NX - 1)}, NX - 1: NY}


def test_row_priorities_rank_by_first_write():
    graph = {
        "a": 1,
        "b": (abs, "a"),
        "c": (abs, "a"),
        "late": (abs, "b"),
        "early": (abs, "c"),
    }
    priority = store._row_priorities(graph, [("late", 1), ("early", 0)])
    got = {k: priority(k) for k in graph}
    assert got == {"a": 0, "c": 0, "early": 0, "b": -1, "late": -1}
    # The scheduler unpickles it without eoxr; unknown keys get the default priority.
    again = pickle.loads(pickle.dumps(priority))
    assert again("late") == -1 and again("unknown") == 0
    assert "eoxr" not in pickle.dumps(priority).decode("latin-1")


@pytest.mark.parametrize("resume", [False, True])
def test_written_lee_with_global_threshold_equals_computed(tmp_path, resume):
    from eoxr.datasets import synthetic_s1

    s1 = synthetic_s1(shape=(640, 640), seed=3).cube.chunk({"y": 128, "x": 128})
    lee = s1.eo.denoise("lee", size=7, looks=4.0)  # default: a 98th-percentile threshold
    path = lee.eo.to_zarr(tmp_path / "lee.zarr", resume=resume, progress=False)
    written = xr.open_zarr(path)[lee.name or "data"]
    np.testing.assert_array_equal(written.values, lee.values)
