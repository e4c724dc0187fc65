"""The fused speckle kernels against the float64 reference: NaN patterns, chunkings, drift."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numba
import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eoxr import sar
from eoxr.sar import _histogram as H
from eoxr.sar import _kernels as K
from eoxr.sar._filtering import MOMENT, looks_params
from eoxr.sar._gamma import sigma_range
from eoxr.testing import assert_chunk_invariant
from eoxr.testing.strategies import NAN_PATTERNS, chunkings, nan_mask

# the float64 reference lives next to this file (tests use --import-mode=importlib)
_spec = importlib.util.spec_from_file_location(
    "sar_reference", Path(__file__).with_name("sar_reference.py")
)
_ref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_ref)

LOOKS = 4.4
NY, NX = 22, 26
ADAPTIVE = ["lee", "kuan", "enhanced_lee", "gamma_map", "frost", "refined_lee", "lee_sigma"]


def scene(seed: int, pattern: str = "none", ny: int = NY, nx: int = NX) -> np.ndarray:
    """Two backscatter levels, a cluster of bright scatterers, gamma speckle, NaN holes."""
    rng = np.random.default_rng(seed)
    clean = np.where(np.arange(nx)[None, :] < nx // 2, 0.05, 0.4) * np.ones((ny, 1))
    clean[ny // 3 : ny // 3 + 3, nx // 4 : nx // 4 + 3] = 5.0
    img = clean * rng.gamma(LOOKS, 1 / LOOKS, (ny, nx))
    img[nan_mask(pattern, (ny, nx), rng)] = np.nan
    return img.astype(np.float32)


def ref_params(name: str) -> dict:
    if name != "lee_sigma":
        return {}
    e1, e2, sv2 = sigma_range(LOOKS, 0.9)
    return {"eta1": e1, "eta2": e2, "sv2": sv2}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(ADAPTIVE + ["boxcar"]),
    seed=st.integers(0, 2**16),
    pattern=st.sampled_from([p for p in NAN_PATTERNS if p not in ("all", "band")]),  # 2-D
    size=st.sampled_from([3, 5, 7, (5, 3), (3, 7)]),
    keep=st.booleans(),
    data=st.data(),
)
def test_fused_filters_match_reference_any_nan_pattern_and_chunking(
    name, seed, pattern, size, keep, data
):
    size = 7 if name == "refined_lee" else size
    chunks = data.draw(chunkings({"y": NY, "x": NX}))
    _check_against_reference(name, scene(seed, pattern), size, keep, chunks)


def _check_against_reference(name, img, size, keep, chunks):
    """The public filter vs the float64 reference, then on the dask ``chunks``."""
    da = xr.DataArray(img, dims=("y", "x"), attrs={"units": "1"})
    kw: dict = {"size": size if isinstance(size, int) else {"y": size[0], "x": size[1]}}
    if name != "boxcar":
        kw.update(looks=LOOKS, keep_points=keep, point_threshold=2.0)
    threshold = 2.0 if keep and name != "boxcar" else None
    want = _ref.filter_ref(img, name, size, LOOKS, threshold=threshold, **ref_params(name))
    got = getattr(sar, name)(da, **kw).values
    if name == "refined_lee":  # where gradients tie, any of the tied windows is right
        for tie in (1, 2, 3):
            other = _ref.filter_ref(img, name, size, LOOKS, threshold=threshold, tie=tie)
            want = np.where(np.isclose(got, other, rtol=1e-5), other, want)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=1e-5, equal_nan=True)
    chunked = getattr(sar, name)(da.chunk(chunks), **kw)
    np.testing.assert_allclose(chunked.values, got, rtol=1e-6, equal_nan=True)


def test_refined_lee_tied_gradients_take_one_of_the_tied_windows():
    """Three NaN columns beside the last one: only the centre column of the last pixels'
    windows is valid, so the empty sub-windows take the centre's value and three of the four
    gradients are equal but for rounding, which picks the window (found by hypothesis)."""
    img = scene(8432, "columns")
    assert np.isnan(img[:, -4:-1]).all() and not np.isnan(img[:, -1]).any()
    _check_against_reference("refined_lee", img, 7, True, {"y": 11, "x": 13})


def _padded(img: np.ndarray, hy: int, hx: int) -> np.ndarray:
    """A block as map_overlap hands it over: the window's halo plus one ring for the points."""
    return np.pad(img.astype(np.float64), ((hy + 1, hy + 1), (hx + 1, hx + 1)), "constant",
                  constant_values=np.nan)  # fmt: skip


def _moment(x, kind, hy, hx, min_count, thr, n_stripes):
    p = looks_params(kind, LOOKS, {"p2": 1.0} if kind == "enhanced_lee" else {})
    out = np.full_like(x, np.nan)
    K.moment_filter(
        x, hy, hx, MOMENT[kind], p["cu2"], p.get("p1", 0.0), p.get("p2", 0.0), thr, min_count,
        out, n_stripes,
    )  # fmt: skip
    return out[hy + 1 : -hy - 1, hx + 1 : -hx - 1]


@pytest.mark.slow  # compiles the float64 kernel (~20-30 s cold); `make test-slow`, run by CI
@pytest.mark.parametrize("kind", ["boxcar", "lee", "kuan", "enhanced_lee", "gamma_map"])
@pytest.mark.parametrize(("hy", "hx"), [(1, 1), (3, 3), (5, 5), (2, 4)])
def test_float64_kernel_exact_and_stripe_independent(kind, hy, hx):
    """float64 in and out: the running sums are exact to ~1e-15, wherever a stripe starts."""
    img = scene(7, "scattered", 40, 36).astype(np.float64)
    x = _padded(img, hy, hx)
    want = _ref.filter_ref(img, kind, (2 * hy + 1, 2 * hx + 1), LOOKS, threshold=2.0)
    one = _moment(x, kind, hy, hx, 3, 2.0, 1)
    np.testing.assert_array_equal(np.isnan(one), np.isnan(want))
    np.testing.assert_allclose(one, want, rtol=1e-11, equal_nan=True)
    for stripes in (3, 7, 40):
        np.testing.assert_allclose(_moment(x, kind, hy, hx, 3, 2.0, stripes), one, rtol=1e-13)


@pytest.mark.slow  # compiles the float64 kernel (~20-30 s cold); `make test-slow`, run by CI
def test_running_sums_do_not_drift_after_bright_rows():
    """1e6 scatterers (squares 1e12) pass through the window before 1e-3 speckle (1e-6).

    Plain float64 running sums keep ~1e-4 of the bright rows' squares, far above the dark
    pixels' variance (~2e-7): the compensated sums must match the fresh float64 sums.
    """
    rng = np.random.default_rng(3)
    img = 1e-3 * rng.gamma(LOOKS, 1 / LOOKS, (60, 30))
    img[:4] *= 1e9
    img[30:33, 10] = 1e6
    x = _padded(img, 3, 3)
    for kind in ("lee", "kuan"):
        want = _ref.filter_ref(img, kind, 7, LOOKS)
        for stripes in (1, 4):
            got = _moment(x, kind, 3, 3, 0, 1.0, stripes)
            np.testing.assert_allclose(got[8:], want[8:], rtol=1e-10)


def test_drop_and_restore_points_match_reference_mask():
    img = scene(11, "scattered", 30, 34)
    img[4:6, 5:8] = 9.0  # a cluster (6 pixels) and a lone bright pixel
    img[20, 20] = 9.0
    block = np.pad(img, 1, constant_values=np.nan)
    mask = _ref.point_mask(img, 2.0, 3)
    assert mask[4:6, 5:8].all() and not mask[20, 20]
    for r0, r1 in [(1, 31), (5, 12), (1, 2)]:  # the whole block and stripes of it
        rows, points = K.stripe_rows(block, r0, r1, 1, 2.0, 3)
        assert points == mask[max(r0 - 2, 0) : r1].sum()  # the halo rows are cleaned too
        cleaned = rows[1:-1, 1:-1]
        want = (np.isnan(img) | mask)[r0 - 1 : r1 - 1]
        np.testing.assert_array_equal(np.isnan(cleaned), want)
        out = np.zeros_like(block)
        K.keep_stripe_points(block, rows, out, r0, r1, 1)
        np.testing.assert_array_equal(out[r0:r1, 1:-1], np.where(mask, img, 0.0)[r0 - 1 : r1 - 1])
    rows, points = K.stripe_rows(block, 5, 12, 1, 2.0, 0)  # no point step: the block's rows
    assert points == 0 and np.shares_memory(rows, block)


@pytest.mark.slow  # compiles the float64 kernel (~20-30 s cold); `make test-slow`, run by CI
def test_row_pass_by_doubling_equals_direct_sums():
    rng = np.random.default_rng(0)
    col = rng.random(57) * 10.0 ** rng.integers(-6, 6, 57)
    for h in range(1, 9):
        got = np.full_like(col, np.nan)
        want = np.full_like(col, np.nan)
        ones, w1, w2 = np.ones_like(col), np.zeros_like(col), np.zeros_like(col)
        K.window_sums(h, ones, col, col, w1, want, w2)
        _box_row_py(h, col, got)
        np.testing.assert_allclose(got[h:-h], want[h:-h], rtol=1e-14)


def _box_row_py(h: int, col: np.ndarray, out: np.ndarray) -> None:
    """Call the numba row pass through the boxcar moment filter on a one-row-high block."""
    x = np.vstack([np.full_like(col, np.nan), col, np.full_like(col, np.nan)])
    res = np.full_like(x, np.nan)
    K.moment_filter(x, 1, h, K.BOXCAR, 1.0, 0.0, 0.0, 1.0, 0, res, 1)
    out[h:-h] = res[1, h:-h] * (2 * h + 1)


def test_vectorised_exp_within_one_ulp_of_libm():
    rng = np.random.default_rng(0)
    x = np.concatenate(
        [-rng.random(20000) * 800, -rng.random(20000) * 4, [0.0, -1e-300, -708.4, -745.2, -1e6]]
    )
    got = x.copy()
    _exp(got, np.empty_like(x), np.empty_like(x))
    want = np.exp(x)
    normal = want > np.finfo(np.float64).tiny
    assert np.max(np.abs(got - want)[normal] / np.spacing(want[normal])) <= 1
    np.testing.assert_allclose(got[~normal], want[~normal], rtol=1e-12, atol=1e-320)


@numba.njit
def _exp(a, t, s):
    K.exp_row(a, t, s)


def test_lee_sigma_range_bounds_are_the_float64_range_rounded_inwards():
    """float32 ``lo <= v <= hi`` holds exactly when float64 ``eta1 xh <= v <= eta2 xh`` does."""
    from eoxr.sar import _kernels_sigma as KS

    rng = np.random.default_rng(5)
    rows = (rng.gamma(1.0, 1.0, (3, 300)) * 10.0 ** rng.uniform(-6, 3, 300)).astype(np.float32)
    rows[rng.random(rows.shape) < 0.1] = np.nan
    nl = 296
    lo, hi, c = (np.empty(nl, np.float32) for _ in range(3))
    xh, cn, cs, cs2 = np.empty(nl), np.empty(nl + 2), np.empty(nl + 2), np.empty(nl + 2)
    rounded = 0
    for e1, e2, _ in (sigma_range(1.0, 0.5), sigma_range(LOOKS, 0.9), sigma_range(16.0, 0.99)):
        KS._prior_row(*rows, 2, nl, 1 / LOOKS, e1, e2, lo, hi, c, xh, cn, cs, cs2)
        a, b = e1 * xh, e2 * xh
        ok = ~np.isnan(xh)
        assert ok.sum() > 250
        lo64, hi64 = lo[ok].astype(np.float64), hi[ok].astype(np.float64)
        assert (lo64 >= a[ok]).all() and (hi64 <= b[ok]).all()
        below = np.nextafter(lo[ok], np.float32(-np.inf)).astype(np.float64)
        above = np.nextafter(hi[ok], np.float32(np.inf)).astype(np.float64)
        assert (below < a[ok]).all() and (above > b[ok]).all()
        rounded += int((lo64 != a[ok]).sum())
    assert rounded > 500  # the bounds were not float32 values: the rounding was exercised


def _sigma_block(img, h, keep, dtype):
    from eoxr.sar import _kernels_sigma as KS

    e1, e2, sv2 = sigma_range(LOOKS, 0.9)
    x = _padded(img, *h).astype(dtype)
    out = np.full_like(x, np.nan)
    KS.lee_sigma_filter(x, *h, 1 / LOOKS, e1, e2, sv2, 2.0, 3 if keep else 0, out, 5)
    return out[h[0] + 1 : -h[0] - 1, h[1] + 1 : -h[1] - 1]


@pytest.mark.slow  # compiles the float64 kernel (~20-30 s cold); `make test-slow`, run by CI
@pytest.mark.parametrize("h", [(3, 3), (1, 2), (5, 5)])
def test_lee_sigma_within_stated_bound_of_float64(h):
    """The kernel's docstring bound: float32 blocks within 2e-6 relative of the float64 result.

    Points kept and NaN holes; the float64 block is computed in float64 and matches the
    textbook reference; the point step found in the kernel equals the separate
    separate passes (points out of the whole block, kernel, points back) bit for bit.
    """
    from eoxr.sar import _kernels_sigma as KS

    img = scene(21, "scattered", 70, 90)
    img[30:33, 40:44] = 9.0  # a second cluster of point targets
    size = (2 * h[0] + 1, 2 * h[1] + 1)
    e1, e2, sv2 = sigma_range(LOOKS, 0.9)
    want = _ref.filter_ref(img, "lee_sigma", size, LOOKS, threshold=2.0, eta1=e1, eta2=e2, sv2=sv2)
    got64 = _sigma_block(img, h, True, np.float64)
    np.testing.assert_array_equal(np.isnan(got64), np.isnan(want))
    np.testing.assert_allclose(got64, want, rtol=1e-12, equal_nan=True)
    got32 = _sigma_block(img, h, True, np.float32)
    assert got32.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(got32), np.isnan(want))
    np.testing.assert_allclose(got32, want, rtol=2e-6, equal_nan=True)
    x = _padded(img, *h).astype(np.float32)
    work, _ = K.stripe_rows(x, h[0], x.shape[0] - h[0], h[0], 2.0, 3)  # points out of the block
    apart = np.full_like(x, np.nan)
    KS.lee_sigma_filter(work, *h, 1 / LOOKS, e1, e2, sv2, 2.0, 0, apart, 3)
    K.keep_stripe_points(x, work, apart, h[0], x.shape[0] - h[0], h[0])
    np.testing.assert_array_equal(apart[h[0] + 1 : -h[0] - 1, h[1] + 1 : -h[1] - 1], got32)


@pytest.mark.slow  # a 60k-pixel Python reference; `make test-slow`, run by CI
@pytest.mark.parametrize("looks", [1.0, LOOKS])
def test_lee_sigma_float32_bound_holds_on_large_single_look_scene(looks):
    """2e-6 relative on 60k pixels of high-contrast speckle with points and NaN holes."""
    from eoxr.sar import _kernels_sigma as KS

    rng = np.random.default_rng(8)
    clean = np.where((np.arange(240)[:, None] // 20 + np.arange(250)[None, :] // 30) % 2, 0.02, 2.0)
    img = clean * rng.gamma(looks, 1 / looks, clean.shape)
    img[rng.random(img.shape) < 0.002] = 50.0
    img[rng.random(img.shape) < 0.01] = np.nan
    e1, e2, sv2 = sigma_range(looks, 0.9)
    outs = []
    for dtype in (np.float64, np.float32):
        x = np.pad(img, 4, constant_values=np.nan).astype(dtype)
        out = np.full_like(x, np.nan)
        KS.lee_sigma_filter(x, 3, 3, 1 / looks, e1, e2, sv2, 10.0, 3, out, 7)
        outs.append(out[4:-4, 4:-4])
    np.testing.assert_array_equal(np.isnan(outs[0]), np.isnan(outs[1]))
    np.testing.assert_allclose(outs[1], outs[0], rtol=2e-6, equal_nan=True)


def test_lee_sigma_chunk_invariant_with_points_and_holes():
    img = scene(4, "scattered", 64, 70)
    da = xr.DataArray(img, dims=("y", "x"), attrs={"units": "1"})
    for size in (7, {"y": 3, "x": 9}):
        assert_chunk_invariant(
            lambda c, s=size: sar.lee_sigma(c, looks=LOOKS, size=s, point_threshold=2.0),
            da,
            chunkings=[{"y": 9, "x": 70}, {"y": 64, "x": 11}, {"y": 20, "x": 23}],
            rtol=0.0,
        )


def test_lee_sigma_one_float32_step_up_and_down():
    """``float32(f +- max(|f| _STEP, _TINY))`` is the float32 after / before ``f``."""
    from eoxr.sar import _kernels_sigma as KS

    rng = np.random.default_rng(0)
    bits = rng.integers(0, 0x7F7FFFFF, 4_000_000, dtype=np.int64).astype(np.uint32)
    f = bits.view(np.float32)
    f = np.concatenate([f, -f, np.float32([0.0, -0.0, 2.0**-126, 2.0**-149, 1.0, 2.0, 3.0])])
    f = f[np.isfinite(np.nextafter(f, np.float32(np.inf)))]
    f = f[np.isfinite(np.nextafter(f, np.float32(-np.inf)))]
    step = np.maximum(np.abs(f.astype(np.float64)) * KS._STEP, KS._TINY)
    up = (f.astype(np.float64) + step).astype(np.float32)
    down = (f.astype(np.float64) - step).astype(np.float32)
    np.testing.assert_array_equal(up, np.nextafter(f, np.float32(np.inf)))
    np.testing.assert_array_equal(down, np.nextafter(f, np.float32(-np.inf)))


def test_median_has_no_point_step_and_says_so():
    """Every kernel with a point step finds the points itself; the median has none."""
    from eoxr.sar._filtering import filter_array

    da = xr.DataArray(np.ones((12, 12), np.float32), dims=("y", "x"), attrs={"units": "1"})
    with pytest.raises(ValueError, match="no point-target step"):
        filter_array(da, "median", size=3, check=False, min_count=2, threshold=10.0)
    np.testing.assert_array_equal(filter_array(da, "median", size=3, check=False).values, 1.0)


@pytest.mark.parametrize("dtype", ["f4", "f8"])
def test_value_histogram_serial_counts_as_the_parallel_one(dtype):
    """The dask blocks' single-threaded counts equal the whole-array ones, every bin."""
    rng = np.random.default_rng(5)
    x = (rng.gamma(2.0, 1.0, (97, 131)) * 10.0 ** rng.integers(-20, 20, (97, 131))).astype(dtype)
    specials = [np.nan, np.inf, -np.inf, -1.0, 0.0, -0.0, 1e-45, 2.0**-48, 2.0**40, 1e38]
    x.flat[rng.choice(x.size, 400, replace=False)] = np.resize(specials, 400)
    serial = H.value_histogram_serial(x)
    assert serial.sum() == x.size and serial[-1] == np.isnan(x).sum()
    for parts in (1, 2, 3, 200):
        np.testing.assert_array_equal(H.value_histogram(x, parts), serial)
    halves = H.value_histogram_serial(x[:40]) + H.value_histogram_serial(x[40:])
    np.testing.assert_array_equal(halves, serial)
