"""The one seeded pixel sampler (eoxr/_sample.py) that the change, embed and hsi fits share."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eoxr._sample import count_fraction, pixel_sample, sample_mask
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


def test_sample_is_a_number_of_pixels_and_a_fraction_says_the_count():
    from eoxr._sample import check_count
    from eoxr.errors import ParameterError

    assert check_count(1000) == 1000 and check_count(np.int64(7)) == 7 and check_count(3e3) == 3000
    assert check_count(None) is None
    with pytest.raises(ParameterError, match=r"0.25 of these 400 pixels pass sample=100\."):
        check_count(0.25, 400)
    for bad in (0, -5, 2.5, True, "100", float("nan")):
        with pytest.raises(ParameterError, match="number of pixels"):
            check_count(bad, 400)
    with pytest.raises(ParameterError, match="integer >= 2"):
        check_count(1, 400, minimum=2)
    with pytest.raises(ParameterError, match="number of pixels"):
        check_count(None, 400, allow_none=False)


def test_hsi_count_keeps_the_pixels_the_fraction_kept():
    """``sample=f * pixels`` reads exactly the pixels of the former ``sample=f``: the moments
    equal those of the independent numpy sum over the pixels the mask keeps."""
    from eoxr.hsi._stats import cube_moments

    rng = np.random.default_rng(0)
    cube = xr.DataArray(rng.random((5, 40, 30)), dims=("band", "y", "x"))
    keep = sample_mask((40, 30), 0.1, seed=4)  # the fraction 0.1 of the 1200 pixels
    x = cube.values[:, keep]  # (band, kept pixels)
    for data in (cube, cube.chunk({"y": 7, "x": 11})):
        m, _ = cube_moments(data, sample=120, seed=4, progress=False)
        assert m.n == keep.sum()
        np.testing.assert_allclose(m.mean, x.mean(axis=1), rtol=1e-12)
    assert count_fraction(120, 1200) == 0.1 and count_fraction(5000, 1200) == 1.0
