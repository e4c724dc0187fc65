"""Every catalog entry against spyndex (float64 reference), on real Sentinel-2 L1C data.

spyndex evaluates the same ASI formulas with ``eval`` on float64 arrays; eoxr compiles them into
one fused kernel (float64 inside, float32 stored). Tolerance from the issue: max relative error
<= 1e-5 where both are finite, relative to max(|reference|, 1e-3); identical NaN placement, where
a reference +-inf (zero denominator) must be NaN in eoxr.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import xarray as xr

import eoxr  # noqa: F401
import eoxr.testing as et
from eoxr.indices import _catalog, catalog
from eoxr.indices._resolve import CubeBands, constant_default
from tests.conftest import require, shared_path

spyndex = require("spyndex", extra="test")

S2_LABELS = [
    "B01",
    "B02",
    "B03",
    "B04",
    "B05",
    "B06",
    "B07",
    "B08",
    "B8A",
    "B09",
    "B10",
    "B11",
    "B12",
]
S2_COMPUTABLE = list(catalog(bands_available=S2_LABELS).index)
# Every other ASI entry (thermal, radar, G1, PAR) is checked on a synthetic cube that has all
# symbols, so that the whole catalog is covered.
ALL_SYMBOL_BANDS = [
    "coastal",
    "blue",
    "green",
    "green05",
    "yellow",
    "red",
    "rededge071",
    "rededge075",
    "rededge078",
    "nir",
    "nir08",
    "nir09",
    "swir16",
    "swir22",
    "lwir",
    "lwir11",
    "lwir12",
    "vv",
    "vh",
    "hh",
    "hv",
]
OTHERS = sorted(set(_catalog.asi().indices) - set(S2_COMPUTABLE))
EXTRA = {
    "PAR": 1.7,
    "lambdaG": 560.0,
    "lambdaN": 842.0,
    "lambdaN2": 865.0,
    "lambdaR": 665.0,
    "lambdaS1": 1610.0,
    "lambdaS2": 2190.0,
}


def _reference(name: str, cube: xr.DataArray, extra: dict) -> np.ndarray:
    """spyndex.computeIndex in float64 with the constants eoxr uses."""
    cb = CubeBands.of(cube)
    entry = _catalog.asi().indices[name]
    params = {s: cube.sel(band=lab).values.astype("float64") for s, lab in cb.symbols.items()}
    for c in entry.constants:
        params[c] = extra.get(c, constant_default(c, cb))
    for term, (a, b) in entry.kernel_terms.items():
        params[term] = spyndex.computeKernel(
            "RBF", params={"a": params[a], "b": params[b], "sigma": 0.5}
        )
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = spyndex.computeIndex(name, params=params)
    return np.broadcast_to(np.asarray(ref, dtype="float64"), cube.isel(band=0).shape)


def _compare(got: xr.DataArray, ref: np.ndarray) -> None:
    assert got.dtype == np.float32
    g = got.values.astype("float64")
    np.testing.assert_array_equal(np.isnan(g), ~np.isfinite(ref), err_msg="NaN placement")
    assert not np.isinf(g).any()
    both = np.isfinite(ref)
    if both.any():
        err = np.abs(g[both] - ref[both]) / np.maximum(np.abs(ref[both]), 1e-3)
        assert err.max() <= 1e-5, f"max relative error {err.max():.2e}"


@pytest.fixture(scope="module")
def s2():
    with xr.open_dataset(
        shared_path("s2_slovenia_timeseries", "s2l1c_5dates_13bands_epsg32633.nc")
    ) as ds:
        return ds["reflectance"].load()


@pytest.fixture(scope="module")
def s2_all(s2):
    """All computable indices in ONE call (one fused pass), as users would ask for them."""
    assert list(catalog(bands_available=s2).index) == S2_COMPUTABLE
    return s2.eo.indices(S2_COMPUTABLE)


def test_catalog_coverage():
    assert len(S2_COMPUTABLE) >= 240 and len(S2_COMPUTABLE) + len(OTHERS) == len(
        _catalog.asi().indices
    )


@pytest.mark.parametrize("name", S2_COMPUTABLE)
def test_matches_spyndex_on_real_sentinel2(name, s2, s2_all):
    _compare(s2_all[name], _reference(name, s2, {}))


def test_real_data_chunk_invariant_time_chunks_of_one(s2, s2_all):
    names = S2_COMPUTABLE[:16] + ["NDVI", "EVI", "TGI", "NDDI", "TriVI", "kNDVI"]
    lazy = s2.chunk({"time": 1, "band": -1, "y": 40, "x": 33})
    with et.raise_if_dask_computes():
        ds = lazy.eo.indices(list(dict.fromkeys(names)))
    got = ds.compute()
    for n in got.data_vars:
        np.testing.assert_array_equal(got[n].values, s2_all[n].values, err_msg=n)


@pytest.fixture(scope="module")
def synthetic_all_symbols():
    return et.make_cube(bands=ALL_SYMBOL_BANDS, ny=12, nx=10, times=2, seed=7, nan_fraction=0.05)


@pytest.fixture(scope="module")
def others_all(synthetic_all_symbols):
    return synthetic_all_symbols.eo.indices(OTHERS, **EXTRA)


@pytest.mark.parametrize("name", OTHERS)
def test_matches_spyndex_other_platforms(name, synthetic_all_symbols, others_all):
    _compare(others_all[name], _reference(name, synthetic_all_symbols, EXTRA))
