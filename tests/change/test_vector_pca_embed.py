"""Change polygons, PCA + k-means (Celik 2009) and embedding distances."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eoxr import change as ch
from eoxr.datasets import synthetic_s2
from eoxr.errors import DimensionError, GridMismatchError, ParameterError
from eoxr.testing import assert_chunk_invariant

from .conftest import assert_same_on_chunkings, kappa_oa


def test_vectorize_polygons_areas_totals_crs():
    s = synthetic_s2(seed=0, shape=(64, 64), times=24, cloud_cover=0.0)
    res = s.cube.isel(time=1).eo.change(s.cube.isel(time=13))
    mask = res.change.copy()
    mask[0, 0] = True  # an isolated 100 m^2 pixel
    gdf = mask.eo.vectorize(min_area=500.0)
    assert gdf.crs == s.cube.rio.crs
    assert gdf.attrs["n_dropped"] >= 1 and gdf.attrs["n_polygons"] == len(gdf)
    # 10 m pixels: the kept area is 100 m^2 per changed pixel of the planted clearing
    assert gdf.attrs["total_area"] == pytest.approx(100.0 * float(res.change.sum()), rel=0.01)
    assert gdf.attrs["total_area"] == pytest.approx(float(gdf.area.sum()))
    assert gdf.attrs["changed_fraction"] == pytest.approx(float(mask.mean()))
    lazy = mask.chunk({"x": 16}).eo.vectorize(min_area=500.0)
    assert lazy.attrs["total_area"] == gdf.attrs["total_area"]
    with pytest.raises(ParameterError, match="connectivity"):
        mask.eo.vectorize(connectivity=6)
    with pytest.raises(DimensionError, match="2-D"):
        s.change.expand_dims(time=2).eo.vectorize()


def test_pca_kmeans_synthetic_and_chunks():
    s = synthetic_s2(seed=1, shape=(48, 48), times=24, cloud_cover=0.0)
    a, b = s.cube.isel(time=1), s.cube.isel(time=13)
    res = ch.pca_kmeans(a, b, size=4, n_components=3)
    assert float((res.change.values == s.change.values).mean()) > 0.97
    both = xr.concat([a, b], "time", coords="minimal", compat="override")
    assert_same_on_chunkings(
        lambda c: ch.pca_kmeans(c.isel(time=0), c.isel(time=1), size=5, sample=1500),
        both,
        [{"y": 7, "x": 11}, {"y": 48, "x": 10}],
        computes=2,  # standardisation statistics, then the difference image to sample
        rtol=0,
    )
    with pytest.raises(ParameterError, match="size=1"):
        ch.pca_kmeans(a, b, size=1)


def textbook_pca_kmeans(a, b, h, s, seed):
    """Celik (2009) on numpy: h x h neighbourhood of every pixel of the difference image,
    PCA (S leading eigenvectors of their covariance), k-means with 2 clusters; the change
    cluster has the larger mean difference at the pixels themselves.

    The window of pixel (y, x) spans rows/columns y - h//2 ... y - h//2 + h - 1 (centred for
    odd h; for even h the pixel is the lower-right of the four central samples); edges are
    mirrored (numpy "symmetric").
    """
    from sklearn.cluster import KMeans

    def z(v):  # each band of each date to zero mean, unit variance
        return (v - v.mean(axis=(1, 2), keepdims=True)) / v.std(axis=(1, 2), keepdims=True)

    diff = np.sqrt(((z(b) - z(a)) ** 2).sum(axis=0))
    ny, nx = diff.shape
    lo = h // 2
    padded = np.pad(diff, (lo, h - 1 - lo), mode="symmetric")
    vec = np.empty((ny, nx, h * h))
    for dy in range(h):
        for dx in range(h):
            vec[:, :, dy * h + dx] = padded[dy : dy + ny, dx : dx + nx]
    vec = vec.reshape(-1, h * h)
    centred = vec - vec.mean(axis=0)
    evals, evecs = np.linalg.eigh(np.cov(centred, rowvar=False))
    feat = centred @ evecs[:, ::-1][:, :s]
    labels = KMeans(n_clusters=2, n_init=10, random_state=seed).fit(feat).labels_
    own = vec[:, lo * h + lo]  # the pixel itself
    assert np.array_equal(own, diff.ravel())
    change = int(own[labels == 1].mean() > own[labels == 0].mean())
    return (labels == change).reshape(ny, nx)


@pytest.mark.parametrize("block", [4, 5])
def test_pca_kmeans_matches_textbook(block):
    s = synthetic_s2(seed=2, shape=(40, 44), times=24, cloud_cover=0.0)
    a, b = s.cube.isel(time=1), s.cube.isel(time=13)
    want = textbook_pca_kmeans(
        a.values.astype(np.float64), b.values.astype(np.float64), block, 3, seed=0
    )
    # sample >= pixels: the fit sees every pixel, as the textbook does
    got = ch.pca_kmeans(a.chunk({"y": 9, "x": 13}), b.chunk({"y": 9, "x": 13}), size=block)
    agree = float((got.change.values == want).mean())
    assert agree > 0.998, agree


def test_pca_kmeans_taizhou(taizhou):
    a, b, changed, unchanged = taizhou
    res = ch.pca_kmeans(a, b)
    oa, kappa = kappa_oa(res.change.values, changed, unchanged)
    assert kappa > 0.85 and oa > 0.95  # 0.90 with the default size=4


def test_embedding_distance_cosine_values_nan_and_grid():
    rng = np.random.default_rng(0)
    e1 = xr.DataArray(rng.normal(size=(8, 10, 12)).astype("float32"), dims=("feature", "y", "x"))
    e1 = e1.assign_coords(y=np.arange(10.0), x=np.arange(12.0))
    e2 = e1 * 2.5  # same directions
    e2[:, 0, 0] = -e1[:, 0, 0]
    e2[3, 1, 1] = np.nan
    d = ch.embedding_distance(e1, e2)
    assert d.dtype == np.float32 and d.dims == ("y", "x")
    assert float(d[0, 0]) == pytest.approx(2.0) and np.isnan(d.values[1, 1])
    assert np.nanmax(np.abs(d.values[2:])) < 1e-6
    x, y = e1.values[:, 5, 6], e1.values[:, 5, 7]
    other = e1.copy(data=np.roll(e1.values, 1, axis=2))
    cos = x @ y / np.linalg.norm(x) / np.linalg.norm(y)
    assert float(ch.embedding_distance(e1, other)[5, 7]) == pytest.approx(1 - cos, abs=1e-5)
    pair = xr.concat([e1, other], "time")
    assert_chunk_invariant(
        lambda c: ch.embedding_distance(c.isel(time=0), c.isel(time=1)), pair, rtol=1e-5
    )
    with pytest.raises(GridMismatchError):
        ch.embedding_distance(e1, e1.assign_coords(x=e1.x + 1))
    with pytest.raises(DimensionError, match="feature"):
        ch.embedding_distance(e1.rename(feature="band"), e1)


@pytest.mark.parametrize("block", [2, 3, 4])
def test_pca_kmeans_windows_hold_the_pixel_at_the_documented_place(block):
    from eoxr.change.pca_kmeans import _sample_neighbourhoods

    img = np.arange(8 * 9, dtype=np.float64).reshape(8, 9)
    lo = block // 2
    padded = np.pad(img, (lo, block - 1 - lo), mode="symmetric")
    for chunks in ({"y": 3, "x": 4}, {"y": 8, "x": 9}):
        da = xr.DataArray(img, dims=("y", "x")).chunk(chunks)
        vec = _sample_neighbourhoods(da, block, 10_000, seed=0).reshape(8, 9, block, block)
        for y, x in [(0, 0), (3, 4), (7, 8)]:
            np.testing.assert_array_equal(vec[y, x], padded[y : y + block, x : x + block])
            assert vec[y, x, lo, lo] == img[y, x]  # the index pca_kmeans reads as "the pixel"


def test_sample_windows_same_on_any_chunking_even_below_the_halo():
    import dask.array as da

    from eoxr._dask.overlap import sample_windows

    img = np.random.default_rng(0).random((30, 31))
    r, c = np.divmod(np.arange(30 * 31), 31)
    for size, before in (((15, 15), (7, 7)), ((4, 4), (2, 2))):
        want = sample_windows(img, r, c, size, before)
        for chunks in ((3, 4), (30, 31), (7, 16)):
            got = sample_windows(da.from_array(img, chunks=chunks), r, c, size, before)
            np.testing.assert_array_equal(got, want)
