"""Fixtures of the change tests: the real Taizhou Landsat pair with its ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared_path


def kappa_oa(mask: np.ndarray, change: np.ndarray, unchanged: np.ndarray) -> tuple[float, float]:
    """Overall accuracy and Cohen's kappa of a change mask on the labelled pixels."""
    truth = np.r_[np.ones(int(change.sum())), np.zeros(int(unchanged.sum()))]
    pred = np.r_[mask[change], mask[unchanged]].astype(float)
    oa = float((truth == pred).mean())
    pe = truth.mean() * pred.mean() + (1 - truth.mean()) * (1 - pred.mean())
    return oa, float((oa - pe) / (1 - pe))


def textbook_ki(x: np.ndarray) -> float:
    """Kittler & Illingworth (1986) minimum-error threshold on the samples themselves.

    No histogram: each split of the sorted finite samples (>= 2 samples per class) is scored
    with ``J = w0 ln var0 + w1 ln var1 - 2 (w0 ln w0 + w1 ln w1)``; a zero-variance class is no
    Gaussian class and is skipped. Returns the midpoint of the best split.
    """
    x = np.sort(x[np.isfinite(x)].astype(np.float64))
    n, mu = len(x), float(x.mean())
    x = x - mu  # centred: the variance sums do not cancel
    c1, c2 = np.cumsum(x), np.cumsum(x * x)
    i = np.arange(2, n - 1)  # the lower class is x[:i]
    w0 = i / n
    w1 = 1 - w0
    m0, m1 = c1[i - 1] / i, (c1[-1] - c1[i - 1]) / (n - i)
    v0 = c2[i - 1] / i - m0**2
    v1 = (c2[-1] - c2[i - 1]) / (n - i) - m1**2
    with np.errstate(divide="ignore", invalid="ignore"):
        crit = w0 * np.log(v0) + w1 * np.log(v1) - 2 * (w0 * np.log(w0) + w1 * np.log(w1))
    crit[~np.isfinite(crit) | (v0 <= 1e-12 * x.var()) | (v1 <= 1e-12 * x.var())] = np.inf
    k = i[int(np.argmin(crit))]
    return float(0.5 * (x[k - 1] + x[k])) + mu


@pytest.fixture(scope="session")
def taizhou():
    """``(a, b, change, unchanged)``: the 2000 / 2003 TM pair (uint8 DN) and the label masks."""
    root = shared_path("landsat_change_taizhou")
    import rioxarray
    from PIL import Image

    # read with rasterio directly: the ENVI headers are named `.HDR` (upper case)
    a = rioxarray.open_rasterio(root / "2000TM").load()
    b = rioxarray.open_rasterio(root / "2003TM").load()
    change = np.asarray(Image.open(root / "change.bmp")) > 127
    unchanged = np.asarray(Image.open(root / "unchanged.bmp")) > 127
    return a, b, change, unchanged


def assert_same_on_chunkings(func, cube, chunkings, *, computes=1, rtol=1e-6):
    """``func`` on numpy equals ``func`` on each dask chunking; at most ``computes`` passes.

    For functions that fit a documented global statistic (one pass) and return lazy results,
    which :func:`eoxr.testing.assert_chunk_invariant` (no computation allowed) cannot check.
    """
    import xarray as xr

    from eoxr.testing import raise_if_dask_computes

    def values(obj):
        if isinstance(obj, xr.Dataset):
            return {k: v.values for k, v in obj.data_vars.items()}
        return {"result": obj.values}

    base = cube.compute()
    want = values(func(base))
    for chunks in chunkings:
        with raise_if_dask_computes(max_computes=computes):
            res = func(base.chunk(chunks))
        got = values(res)
        for k, e in want.items():
            assert got[k].dtype == e.dtype, (k, chunks)
            if np.issubdtype(e.dtype, np.floating):
                np.testing.assert_allclose(got[k], e, rtol=rtol, equal_nan=True, err_msg=f"{k}")
            else:  # bool, int, datetime64 (NaT == NaT for assert_array_equal)
                np.testing.assert_array_equal(got[k], e, err_msg=f"{k} {chunks}")
