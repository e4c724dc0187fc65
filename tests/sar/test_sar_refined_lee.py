"""The refined Lee kernel: half-window sums from column runs, clean-tile path, float64 bound."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from eoxr import sar
from eoxr.sar import _kernels_refined as KR
from eoxr.testing import assert_chunk_invariant

# the float64 reference lives next to this file (tests use --import-mode=importlib)
_spec = importlib.util.spec_from_file_location(
    "sar_reference", Path(__file__).with_name("sar_reference.py")
)
_ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ref)

LOOKS = 4.4
LANES = KR._LANES


def scene(ny: int, nx: int, seed: int = 5, dtype=np.float32) -> np.ndarray:
    """An edge, a diagonal edge, bright point clusters, gamma speckle and NaN holes.

    Wide enough (``nx > 2 * LANES + 6``) that tiles of 64 pixels away from the NaN holes and
    the padding take the kernel's path without counts.
    """
    rng = np.random.default_rng(seed)
    r, c = np.mgrid[0:ny, 0:nx]
    clean = np.where(c < nx // 3, 0.05, 0.4) + np.where(r + c > nx // 2 + ny // 2, 0.6, 0.0)
    clean[ny // 3 : ny // 3 + 3, nx // 4 : nx // 4 + 3] = 5.0
    clean[ny // 2, 2 * nx // 3] = 8.0
    img = clean * rng.gamma(LOOKS, 1 / LOOKS, (ny, nx))
    img[4, 10] = np.nan
    img[ny - 9 : ny - 6, 20:24] = np.nan
    return img.astype(dtype)


def kernel(img: np.ndarray, n_stripes: int = 4) -> np.ndarray:
    """The kernel on a block padded by 3 NaN (as map_overlap hands it over), interior back."""
    x = np.pad(img, 3, constant_values=np.nan)
    out = np.full_like(x, np.nan)
    KR.refined_lee_filter(x, 1.0 / LOOKS, 1.0, 0, out, n_stripes)
    return out[3:-3, 3:-3]


def test_half_window_sums_from_column_runs_equal_masked_sums():
    """Each of the 8 sums of :func:`_pick` is the masked sum over its 28 pixels."""
    rng = np.random.default_rng(0)
    masks = KR.refined_lee_masks()
    assert (masks.sum(axis=(1, 2)) == 28).all() and masks[:, 3, 3].all()
    width = 20
    for values in (
        rng.integers(0, 1000, (7, width)).astype(float),
        rng.gamma(1.0, 1.0, (7, width)),
    ):
        ts, bs, tq, bq = KR._rows7(width), KR._rows6(width), KR._rows7(width), KR._rows6(width)
        KR._runs(tuple(values), False, ts, bs, tq, bq)
        for q in range(width - 6):
            block = values[:, q : q + 7]
            for w in range(8):
                got = KR._pick(float(w), q, *ts, *bs)
                got2 = KR._pick(float(w), q, *tq, *bq)
                # integers: exact in any order; otherwise within 27 roundings of the sum
                np.testing.assert_allclose(got, block[masks[w]].sum(), rtol=27 * 2.0**-53)
                np.testing.assert_allclose(got2, (block[masks[w]] ** 2).sum(), rtol=27 * 2.0**-53)


def test_tiles_without_nan_equal_tiles_with_nan():
    """A NaN outside a pixel's window sends its tile down the counting path: same bits."""
    img = np.nan_to_num(scene(30, 3 * LANES), nan=1.0)  # no NaN but the one put below
    holed = img.copy()
    col = LANES + 30  # in the middle tile, the one whose 7 rows reach no padding column
    holed[15, col] = np.nan
    a, b = kernel(img), kernel(holed)
    assert not np.isnan(a).any()
    far = np.ones(img.shape, bool)
    far[15 - 3 : 15 + 4, col - 3 : col + 4] = False  # the pixels whose window holds the NaN
    np.testing.assert_array_equal(a[far], b[far])
    assert (a[~far] != b[~far]).any()


@pytest.mark.slow  # compiles the float64 kernel (~20-30 s cold); `make test-slow`, run by CI
def test_float64_kernel_within_stated_bound_of_reference_any_stripes():
    """float64 in and out: the sums are within 27 roundings, so the output is within ~1e-12."""
    img = scene(36, 2 * LANES + 40, dtype=np.float64)
    want = _ref.filter_ref(img, "refined_lee", 7, LOOKS)
    one = kernel(img, 1)
    np.testing.assert_array_equal(np.isnan(one), np.isnan(want))
    np.testing.assert_allclose(one, want, rtol=1e-11, equal_nan=True)
    for n_stripes in (3, 36):
        np.testing.assert_array_equal(kernel(img, n_stripes), one)


def test_refined_lee_matches_reference_and_chunkings_on_wide_scene():
    img = scene(24, 2 * LANES + 30)
    da = xr.DataArray(img, dims=("y", "x"), attrs={"units": "1"})
    got = sar.refined_lee(da, looks=LOOKS, point_threshold=2.0).values
    want = _ref.filter_ref(img, "refined_lee", 7, LOOKS, threshold=2.0)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=1e-5, equal_nan=True)
    assert_chunk_invariant(
        lambda c: sar.refined_lee(c, looks=LOOKS),
        da,
        chunkings=[{"y": 9, "x": 70}, {"y": 24, "x": 100}, {"y": 11, "x": 41}],
    )


@pytest.mark.parametrize("n_stripes", [1, 3, 7])
def test_points_found_per_stripe_equal_separate_passes(n_stripes):
    """Point targets found stripe by stripe in the kernel: the bits of three separate passes.

    The passes: point targets out of the whole block (NaN), the kernel without a point step,
    the points' own values back. Any number of stripes gives the same bits.
    """
    from eoxr.sar import _kernels as K

    img = scene(40, 2 * LANES + 30)
    x = np.pad(img, 3, constant_values=np.nan)
    thr, min_count = 2.0, 3
    fused = np.full_like(x, np.nan)
    KR.refined_lee_filter(x, 1.0 / LOOKS, thr, min_count, fused, n_stripes)
    work, points = K.stripe_rows(x, 3, x.shape[0] - 3, 3, thr, min_count)
    assert points >= 9  # the 3x3 cluster at least
    apart = np.full_like(x, np.nan)
    KR.refined_lee_filter(work, 1.0 / LOOKS, thr, 0, apart, 2)
    K.keep_stripe_points(x, work, apart, 3, x.shape[0] - 3, 3)
    np.testing.assert_array_equal(fused[3:-3, 3:-3], apart[3:-3, 3:-3])
    cluster = (slice(40 // 3 + 3, 40 // 3 + 6), slice((2 * LANES + 30) // 4 + 3, None))
    assert np.isfinite(fused[cluster]).any()
