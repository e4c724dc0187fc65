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
        with raise_if_dask_computes(computes):
            res = func(base.chunk(chunks))
        got = values(res)
        for k, e in want.items():
            assert got[k].dtype == e.dtype, (k, chunks)
            if np.issubdtype(e.dtype, np.floating):
                np.testing.assert_allclose(got[k], e, rtol=rtol, equal_nan=True, err_msg=f"{k}")
            else:  # bool, int, datetime64 (NaT == NaT for assert_array_equal)
                np.testing.assert_array_equal(got[k], e, err_msg=f"{k} {chunks}")
