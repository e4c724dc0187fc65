"""The one seeded pixel sampler (eoxr/_sample.py) that the change, embed and hsi fits share."""

from __future__ import annotations

import numpy as np
import xarray as xr

from eoxr._sample import pixel_sample, sample_mask
from eoxr.change.irmad import draw_sample
from eoxr.embed.analysis import sample_vectors


def test_count_sample_is_distinct_sorted_and_seeded():
    rows, cols = pixel_sample((40, 30), 100, seed=3)
    flat = rows * 30 + cols
    assert flat.size == 100 and np.unique(flat).size == 100
    assert (np.diff(flat) > 0).all()  # raster order
    again = pixel_sample((40, 30), 100, seed=3)
    assert all(np.array_equal(u, v) for u, v in zip((rows, cols), again))
    other = pixel_sample((40, 30), 100, seed=4)
    assert not np.array_equal(flat, other[0] * 30 + other[1])
    assert pixel_sample((4, 5), 20, seed=0) is None  # no more pixels than asked: use them all


def test_count_sample_in_n_dims_is_the_2d_draw_of_the_flat_grid():
    t, y, x = pixel_sample((3, 8, 9), 50, seed=1)
    (flat,) = pixel_sample((3 * 8 * 9,), 50, seed=1)
    assert np.array_equal((t * 8 + y) * 9 + x, flat)


def test_fraction_mask_is_chunk_independent_and_near_the_fraction():
    a = sample_mask((60, 50), 0.25, seed=2)
    b = np.asarray(sample_mask((60, 50), 0.25, seed=2, chunks=((7, 53), (50,))).compute())
    assert np.array_equal(a, b)
    assert abs(a.mean() - 0.25) < 0.03


def test_callers_draw_the_same_pixels_on_any_chunking():
    rng = np.random.default_rng(0)
    emb = xr.DataArray(rng.random((2, 12, 10, 4)), dims=("time", "y", "x", "feature"))
    ref = sample_vectors(emb, 30, seed=5)
    assert np.array_equal(ref, sample_vectors(emb.chunk({"y": 5, "x": 3}), 30, seed=5))
    t, y, x = pixel_sample((2, 12, 10), 30, seed=5)
    assert np.array_equal(ref, emb.values[t, y, x])  # the documented positions, in order
    a = xr.DataArray(rng.random((3, 12, 10)), dims=("band", "y", "x"))
    b = a + 1.0
    xa, xb = draw_sample(a, b, 20, seed=7)
    rows, cols = pixel_sample((12, 10), 20, seed=7)
    assert np.array_equal(xa, a.values[:, rows, cols].T) and np.array_equal(xb, xa + 1.0)
    ca, cb = draw_sample(a.chunk({"y": 5}), b.chunk({"x": 4}), 20, seed=7)
    assert np.array_equal(ca, xa) and np.array_equal(cb, xb)
