"""The Frost kernel's fast paths: float32 weights within the stated bound, NaN-free tiles."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numba
import numpy as np
import pytest
import xarray as xr

from eoxr import sar
from eoxr.sar import _kernels_frost as KF
from eoxr.testing import assert_chunk_invariant

# the float64 reference lives next to this file (tests use --import-mode=importlib)
_spec = importlib.util.spec_from_file_location(
    "sar_reference", Path(__file__).with_name("sar_reference.py")
)
_ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ref)

U = 2.0**-24  # float32 unit roundoff


def bound(hy: int, hx: int) -> float:
    """The relative error bound stated in :func:`eoxr.sar._kernels_frost.frost_filter`."""
    return (2 * (hx + hy) + 6 * max(hy, hx) + 6) * U


def scene(seed: int, ny: int = 40, nx: int = 300, holes: bool = True) -> np.ndarray:
    """Two backscatter levels, bright scatterers (a cluster and single ones), NaN holes."""
    rng = np.random.default_rng(seed)
    clean = np.where(np.arange(nx)[None, :] < nx // 2, 0.05, 0.4) * np.ones((ny, 1))
    clean[10:13, 20:23] = 50.0
    clean[rng.random((ny, nx)) < 0.005] = 200.0
    img = clean * rng.gamma(1.0, 1.0, (ny, nx))
    if holes:
        img[rng.random((ny, nx)) < 0.01] = np.nan
        img[30:, 200:260] = np.nan
    return img.astype(np.float32)


def kernel(img: np.ndarray, hy: int, hx: int, path: int = 0, damping: float = 2.0):
    x = np.pad(img, ((hy, hy), (hx, hx)), constant_values=np.nan)
    out = np.full_like(x, np.nan)
    bases, dist_base, power, quad = KF.frost_tables(hy, hx)
    chl = KF.split_bases(bases)
    KF.frost_filter(x, hy, hx, damping, chl, dist_base, power, quad, 1.0, 0, out, 4, path)
    return out[hy:-hy, hx:-hx]


@pytest.mark.slow  # 12 windows x dampings, float32 and float64 kernels; `make test-slow`, run by CI
@pytest.mark.parametrize(("hy", "hx"), [(3, 3), (5, 5), (2, 1), (1, 3)])
@pytest.mark.parametrize("damping", [0.5, 2.0, 8.0])
def test_frost_within_stated_bound_of_float64_reference(hy, hx, damping):
    img = scene(hy * 10 + hx)
    want = _ref.filter_ref(img, "frost", (2 * hy + 1, 2 * hx + 1), 1.0, damping=damping)
    got = kernel(img, hy, hx, damping=damping)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=bound(hy, hx), equal_nan=True)
    # float64 blocks go through the same float32 sums (one more rounding of the input)
    got64 = kernel(img.astype(np.float64), hy, hx, damping=damping)
    assert got64.dtype == np.float64
    np.testing.assert_allclose(got64, want, rtol=bound(hy, hx), equal_nan=True)


@pytest.mark.parametrize(("hy", "hx"), [(3, 3), (5, 5), (2, 4)])
@pytest.mark.parametrize("holes", [False, True])
def test_nan_free_tiles_give_the_bits_of_the_nan_path(hy, hx, holes):
    """Tiles without NaN skip the NaN tests and use constant masks: the same bits."""
    img = scene(3, holes=holes)
    fast, masked = kernel(img, hy, hx, path=0), kernel(img, hy, hx, path=1)
    np.testing.assert_array_equal(fast, masked)
    assert np.isfinite(fast).sum() > 0.9 * fast.size


@numba.njit(fastmath={"contract"})  # the kernel's flags: _weights is inlined into it
def _all_weights(av, chl, dist_base, power):
    n = KF.LANES
    out = np.empty((dist_base.size, av.size), np.float32)
    ah, al = np.empty(n, np.float32), np.empty(n, np.float32)
    sb = np.empty((chl.shape[1], n), np.float32)
    eb = np.empty_like(sb)
    wd = np.empty((dist_base.size, n), np.float32)
    for t in range(av.size // n):
        KF._split_row(av[t * n : (t + 1) * n], ah, al, n)
        KF._weights(ah, al, n, chl, dist_base, power, sb, eb, wd)
        out[:, t * n : (t + 1) * n] = wd
    return out


def test_weights_within_three_p_minus_one_ulp():
    """The vectorised float32 weights against ``np.exp`` in float64, arguments to -126 ln 2.

    Many arguments (dense in ``a``, with exact zeros, tiny values and values past the clamp)
    for 7x7 and 11x11 windows: a power ``p`` of a base weight within ``(3 p - 1)`` ulp.
    """
    n = KF.LANES
    rng = np.random.default_rng(0)
    av = np.concatenate(
        [[0.0, 1e-9, 127.9, 128.0, 200.0, 1e9], np.geomspace(1e-9, 130.0, 40 * n - 6)]
    )
    av = np.concatenate([av, rng.uniform(0.0, 2.0, 40 * n), rng.uniform(0.0, 100.0, 40 * n)])
    for hy in (3, 5):
        bases, dist_base, power, quad = KF.frost_tables(hy, hy)
        chl = KF.split_bases(bases)

        got = _all_weights(av, chl, dist_base, power).astype(np.float64)
        dist = bases[dist_base] * power
        want = np.exp(-av[None, :] * dist[:, None])
        normal = want >= 2.0**-125
        err = np.abs(got - want) / np.where(normal, want, 1.0)
        limit = (3 * np.maximum(power, 1) - 1)[:, None] * U
        assert (err <= limit)[normal].all(), (err / limit)[normal].max()
        assert (np.abs(got - want)[~normal] <= 2.0**-125).all()
        assert (got >= 0.0).all()
        assert np.unique(quad).size == dist.size
        # the base weights themselves: within 2 ulp (not only 3 p - 1 for p = 1)
        base = (power == 1)[:, None] & normal
        assert err[base].max() <= 2 * U


def test_frost_chunk_invariant_with_points_and_holes():
    img = scene(11, 48, 64)
    da = xr.DataArray(img, dims=("y", "x"), attrs={"units": "1"})
    assert_chunk_invariant(lambda a: sar.frost(a, point_threshold=20.0), da, rtol=0.0)
    assert_chunk_invariant(lambda a: sar.frost(a, size=11, keep_points=False), da, rtol=0.0)


@pytest.mark.parametrize(("hy", "hx", "n_stripes"), [(3, 3, 1), (3, 3, 5), (5, 5, 3)])
def test_points_found_per_stripe_equal_separate_passes(hy, hx, n_stripes):
    """Point targets found stripe by stripe in the kernel: the bits of three separate passes.

    The passes: point targets out of the whole block (NaN), the kernel without a point step,
    the points' own values back. Any number of stripes gives the same bits, and the points
    keep their values.
    """
    from eoxr.sar import _kernels as K

    img = scene(4)
    x = np.pad(img, ((hy, hy), (hx, hx)), constant_values=np.nan)
    bases, dist_base, power, quad = KF.frost_tables(hy, hx)
    args = (hy, hx, 2.0, KF.split_bases(bases), dist_base, power, quad)
    fused = np.full_like(x, np.nan)
    KF.frost_filter(x, *args, 5.0, 3, fused, n_stripes)
    work, points = K.stripe_rows(x, hy, x.shape[0] - hy, hy, 5.0, 3)
    assert points >= 5  # most of the 3x3 cluster at 50
    apart = np.full_like(x, np.nan)
    KF.frost_filter(work, *args, 5.0, 0, apart, 2)
    K.keep_stripe_points(x, work, apart, hy, x.shape[0] - hy, hy)
    np.testing.assert_array_equal(fused, apart)
    kept = np.isnan(work) & np.isfinite(x)
    assert kept.sum() == points
    np.testing.assert_array_equal(fused[kept], x[kept])
