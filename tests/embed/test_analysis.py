"""similarity, kmeans, pca on embedding cubes: numpy oracles, laziness, chunk invariance."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import eoxr  # noqa: F401
import eoxr.testing as et
from eoxr.embed import kmeans, pca, similarity
from eoxr.errors import DimensionError, ParameterError
from tests.conftest import require

require("sklearn", extra="ml")
shapely = require("shapely", extra="ml")


def _emb(seed: int = 0, times: int | None = None) -> xr.DataArray:
    """Two kinds of patches: left half near vector a, right half near vector b."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=6), rng.normal(size=6)
    v = np.where(np.arange(12)[None, None, :] < 6, a[:, None, None], b[:, None, None])
    v = v + 0.05 * rng.normal(size=(6, 10, 12))
    if times:
        v = np.stack([v] * times)
    dims = (("time",) if times else ()) + ("feature", "y", "x")
    coords = {"feature": np.arange(6), **et.make_grid_coords(10, 12, res=80.0)}
    da = xr.DataArray(v.astype("float32"), dims=dims, coords=coords, attrs={"patch": 8})
    da.attrs["pixel_size"] = [-10.0, 10.0]
    return da.rio.write_crs("EPSG:32633")


def _fit_chunk_invariant(func, emb: xr.DataArray, rtol: float = 1e-6, atol: float = 0.0) -> None:
    """Like et.assert_chunk_invariant for a fit: exactly one compute (the sample), lazy result."""
    want = func(emb).values
    for ch in ({"y": 3, "x": 5}, {"y": 7, "x": 4}):
        with et.raise_if_dask_computes(max_computes=1):
            got = func(emb.chunk(ch))
        et.assert_lazy(got)
        np.testing.assert_allclose(got.values, want, rtol=rtol, atol=atol)


def test_similarity_is_numpy_cosine() -> None:
    emb = _emb()
    q = np.random.default_rng(9).normal(size=6)
    got = similarity(emb, q)
    e = emb.values.astype(np.float64)
    want = np.tensordot(q, e, axes=(0, 0)) / (np.linalg.norm(e, axis=0) * np.linalg.norm(q))
    assert got.dims == ("y", "x") and got.dtype == np.float32
    np.testing.assert_allclose(got.values, want, rtol=1e-6)
    assert got.rio.crs == emb.rio.crs


def test_similarity_point_and_polygon_queries() -> None:
    emb = _emb()
    x0, y0 = float(emb.x[2]), float(emb.y[3])
    by_point = similarity(emb, (x0 + 5, y0 - 5))  # inside the footprint of patch (3, 2)
    np.testing.assert_allclose(by_point.values[3, 2], 1.0, rtol=1e-6)
    poly = shapely.geometry.box(
        float(emb.x[7]) - 1, float(emb.y[8]) - 1, float(emb.x[9]) + 1, float(emb.y[6]) + 1
    )  # 3 x 3 patches of the right half
    by_poly = similarity(emb, poly)
    mean = emb.isel(y=slice(6, 9), x=slice(7, 10)).mean(("y", "x")).values
    np.testing.assert_allclose(by_poly.values, similarity(emb, mean).values, atol=1e-6)
    assert by_poly.values[:, 6:].min() > 0.99 > by_poly.values[:, :6].max()


def test_similarity_lazy_chunk_invariant_nan() -> None:
    emb = _emb(times=2)
    emb[0, :, 0, 0] = np.nan
    q = emb.values[0, :, 5, 5]
    et.assert_chunk_invariant(lambda e: similarity(e, q), emb)
    assert np.isnan(similarity(emb, q).values[0, 0, 0])


def test_kmeans_recovers_two_groups_and_is_chunk_invariant() -> None:
    emb = _emb()
    lab = kmeans(emb, 2, seed=0)
    v = lab.values
    assert len(np.unique(v[:, :6])) == 1 and len(np.unique(v[:, 6:])) == 1
    assert v[0, 0] != v[0, 11]
    _fit_chunk_invariant(lambda e: kmeans(e, 2, seed=0), emb)
    assert np.asarray(lab.attrs["centres"]).shape == (2, 6)


def test_pca_matches_numpy_svd() -> None:
    emb = _emb()
    out = pca(emb, 2)
    x = emb.values.reshape(6, -1).T.astype(np.float64)
    xc = x - x.mean(0)
    _, s, vt = np.linalg.svd(xc, full_matrices=False)
    first = (xc @ vt[0]).reshape(10, 12)
    got = out.sel(component=0).values
    np.testing.assert_allclose(np.abs(got), np.abs(first), rtol=1e-4, atol=1e-5)
    assert out.attrs["explained_variance_ratio"][0] == pytest.approx(s[0] ** 2 / (s**2).sum())
    _fit_chunk_invariant(lambda e: pca(e, 2), emb, rtol=1e-5, atol=1e-6)


def test_analysis_errors() -> None:
    emb = _emb()
    with pytest.raises(DimensionError, match="'feature' dim"):
        similarity(emb.rename(feature="band"), np.ones(6))
    with pytest.raises(ParameterError, match="length 6"):
        similarity(emb, np.ones(5))
    with pytest.raises(ParameterError, match="outside"):
        similarity(emb, (0.0, 0.0))
    with pytest.raises(ParameterError, match="zero"):
        similarity(emb, np.zeros(6))
    with pytest.raises(ParameterError, match=r"\[1, 6\]"):
        pca(emb, 7)
