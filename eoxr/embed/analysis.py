"""Work on embedding cubes: similarity search, k-means clusters and principal components.

Fits (the k-means centres, the principal axes, a query vector taken from the cube) are global
statistics read in one pass through :func:`eoxr._dask.stats.compute`; applying them is lazy and
per pixel, so the maps are the same on any chunking.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._attrs import finalize
from .._dask.blockwise import map_blocks
from .._dask.chunking import rechunk_whole
from .._dask.stats import compute
from .._dims import spatial_dims
from .._sample import check_count, pixel_sample
from ..errors import DimensionError, ParameterError
from ._feature import FEATURE, feature_dim


def _vectors(emb: xr.DataArray) -> xr.DataArray:
    """Feature dim last and one chunk along it."""
    fdim = feature_dim(emb)
    order = [d for d in emb.dims if d != fdim] + [fdim]
    return rechunk_whole(emb.transpose(*order), [fdim])


def sample_vectors(
    emb: xr.DataArray, sample: int | None, seed: int, *, progress: bool | None = None
) -> np.ndarray:
    """Up to ``sample`` NaN-free feature vectors at seeded positions (one pass; a fit input)."""
    vec = _vectors(emb)
    sample = check_count(sample, int(np.prod(vec.shape[:-1])))
    pick = pixel_sample(vec.shape[:-1], sample, seed)
    if pick is None:
        flat = vec.stack(_pos=list(vec.dims[:-1])).transpose("_pos", FEATURE)
    else:
        flat = vec.isel({d: xr.DataArray(i, dims="_pos") for d, i in zip(vec.dims[:-1], pick)})
        flat = flat.transpose("_pos", FEATURE)
    (vals,) = compute(flat.data, progress=progress)
    vals = np.asarray(vals, dtype=np.float64)
    return vals[np.isfinite(vals).all(axis=1)]


def _map_vectors(
    func: Any, emb: xr.DataArray, new: dict | None = None, kwargs: dict | None = None
) -> xr.DataArray:
    """Apply ``func(block_with_features_last) -> block`` lazily; ``new`` adds trailing dims."""
    vec = _vectors(emb)
    data = map_blocks(func, vec, dtype=np.float32, drop_dims=[FEATURE], new_dims=new, kwargs=kwargs)
    dims = [*vec.dims[:-1], *(new or {})]
    coords = {k: v for k, v in vec.coords.items() if FEATURE not in v.dims}
    return xr.DataArray(data, dims=dims, coords=coords)


def _cosine(block: np.ndarray, *, q: np.ndarray) -> np.ndarray:
    b = block.astype(np.float64)
    num = b @ q
    den = np.linalg.norm(b, axis=-1) * np.linalg.norm(q)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (num / den).astype(np.float32)


def _is_geometry(obj: Any) -> bool:
    return hasattr(obj, "geom_type") or hasattr(obj, "geometry")


def query_vector(emb: xr.DataArray, query: Any, *, crs: Any = None) -> np.ndarray:
    """The feature vector a query stands for (see :func:`similarity`)."""
    fdim = feature_dim(emb)
    k = emb.sizes[fdim]
    if isinstance(query, xr.DataArray) and fdim in query.dims:
        q = query
        extra = [d for d in q.dims if d != fdim]
        if extra:
            raise ParameterError(f"the query vector has extra dims {extra}; select one vector.")
        (vals,) = compute(q.data)
        return np.asarray(vals, dtype=np.float64)
    if _is_geometry(query):
        return _geometry_vector(emb, query, crs)
    arr = np.asarray(query, dtype=np.float64)
    if arr.shape == (2,) and k != 2:
        from shapely.geometry import Point

        return _geometry_vector(emb, Point(*arr), crs)
    if arr.shape != (k,):
        raise ParameterError(
            f"query of shape {arr.shape}: expected a feature vector of length {k}, a point "
            "(x, y) in map coordinates, or a polygon."
        )
    return arr


def _geometry_vector(emb: xr.DataArray, geom: Any, crs: Any) -> np.ndarray:
    """Vector at a point (nearest patch centre) or mean over a polygon's patch centres."""
    from .vector import geometries_in_crs, patch_index

    geoms = geometries_in_crs(geom, emb, crs)
    rows, cols = patch_index(emb, geoms)
    if rows.size == 0:
        raise ParameterError("the query geometry lies outside the embedding cube's extent.")
    ydim, xdim = spatial_dims(emb)
    extra = [d for d in emb.dims if d not in (ydim, xdim, FEATURE)]
    if extra:
        raise DimensionError(
            f"the embedding cube has extra dims {extra}: select one (e.g. emb.isel(time=0)) "
            "before taking a query vector from it, or pass the vector itself."
        )
    sel = emb.isel({ydim: xr.DataArray(rows), xdim: xr.DataArray(cols)})
    (vals,) = compute(sel.transpose(..., FEATURE).data)
    vals = np.asarray(vals, dtype=np.float64)
    vals = vals[np.isfinite(vals).all(axis=-1)]
    if not len(vals):
        raise ParameterError("every patch under the query geometry is NaN (no data).")
    return vals.mean(axis=0)


def similarity(emb: xr.DataArray, query: Any, *, crs: Any = None) -> xr.DataArray:
    """Cosine similarity of every embedding vector to a query.

    Parameters
    ----------
    emb : DataArray
        Embedding cube (``feature`` dim), e.g. from :func:`eoxr.embed.embed`.
    query : array-like, DataArray, (x, y), shapely geometry or GeoDataFrame
        A feature vector; a point in map coordinates (the vector of the nearest patch centre);
        or polygons (the mean vector of the patches whose centres they contain, or of the
        patch under a polygon too small to contain a centre).
    crs : optional
        CRS of a geometry query without one (default: the cube's).

    Returns
    -------
    DataArray
        float32 in [-1, 1], the embedding's dims without ``feature``; NaN where the vector is
        NaN or zero. Cosine as numpy computes it: ``(e @ q) / (norm(e) * norm(q))`` in float64.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> emb = xr.DataArray(np.eye(3, dtype="float32").reshape(3, 1, 3),
    ...                    dims=("feature", "y", "x"), coords={"y": [0.0], "x": [0.0, 1.0, 2.0]})
    >>> [round(float(v), 3) for v in similarity(emb, [1.0, 1.0, 0.0]).values[0]]
    [0.707, 0.707, 0.0]
    """
    q = query_vector(emb, query, crs=crs)
    if not np.isfinite(q).all() or not np.any(q):
        raise ParameterError("the query vector is zero or not finite: cosine is undefined.")
    out = _map_vectors(_cosine, emb, kwargs={"q": q})
    return finalize(
        out,
        emb,
        name="similarity",
        long_name="cosine similarity to the query",
        units="1",
        history="similarity(query)",
    )


def _nearest(block: np.ndarray, *, centres: np.ndarray) -> np.ndarray:
    b = block.astype(np.float64)
    d = (b**2).sum(-1)[..., None] - 2 * b @ centres.T + (centres**2).sum(-1)
    lab = np.argmin(np.nan_to_num(d, nan=np.inf), axis=-1).astype(np.float32)
    lab[~np.isfinite(b).all(axis=-1)] = np.nan
    return lab


def kmeans(
    emb: xr.DataArray,
    k: int,
    *,
    sample: int | None = 100_000,
    seed: int = 0,
    progress: bool | None = None,
) -> xr.DataArray:
    """K-means clusters of the embedding vectors: fit on a seeded sample, applied lazily.

    Parameters
    ----------
    emb : DataArray
        Embedding cube (``feature`` dim).
    k : int
        Number of clusters.
    sample : int or None
        Number of vectors (pixels) drawn, seeded, positions independent of chunks, to fit the
        centres on (``None``: every pixel).
    seed : int
        Seed of the sample and of scikit-learn's initialisation.
    progress : bool, optional
        Progress bar of the one read of the sample.

    Returns
    -------
    DataArray
        float32 cluster index 0..k-1 (NaN where the vector is NaN), the embedding's dims without
        ``feature``; ``attrs["centres"]`` holds the ``(k, feature)`` centres.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> v = np.r_[np.zeros(10), np.ones(10)].reshape(1, 4, 5).astype("float32")
    >>> emb = xr.DataArray(v, dims=("feature", "y", "x"))
    >>> int(kmeans(emb, 2).isel(x=0).diff("y").sum())
    1
    """
    from sklearn.cluster import KMeans

    if not isinstance(k, int | np.integer) or k < 1:
        raise ParameterError(f"k={k!r} must be a positive integer.")
    x = sample_vectors(emb, sample, seed, progress=progress)
    if len(x) < k:
        raise ParameterError(f"only {len(x)} valid vectors for k={k} clusters: lower k.")
    km = KMeans(n_clusters=int(k), random_state=seed, n_init=4).fit(x)
    # order clusters by their first centre coordinate, so labels do not depend on sklearn's init
    centres = km.cluster_centers_[np.lexsort(km.cluster_centers_.T[::-1])]
    out = _map_vectors(_nearest, emb, kwargs={"centres": centres})
    return finalize(
        out,
        emb,
        name="cluster",
        long_name=f"k-means cluster of {emb.name or 'embedding'}",
        units="1",
        history=f"kmeans(k={k}, sample={sample}, seed={seed})",
        attrs={"centres": centres.astype(np.float32).tolist()},
    )


def _project(block: np.ndarray, *, mean: np.ndarray, axes: np.ndarray) -> np.ndarray:
    return ((block.astype(np.float64) - mean) @ axes.T).astype(np.float32)


def pca(
    emb: xr.DataArray,
    n: int,
    *,
    sample: int | None = 100_000,
    seed: int = 0,
    progress: bool | None = None,
) -> xr.DataArray:
    """Principal components of the embedding vectors (fit on a seeded sample, applied lazily).

    Parameters
    ----------
    emb : DataArray
        Embedding cube (``feature`` dim).
    n : int
        Number of components (at most the feature count).
    sample, seed, progress
        As in :func:`kmeans`.

    Returns
    -------
    DataArray
        float32 with ``component`` (0..n-1) in place of ``feature``; attrs hold
        ``explained_variance_ratio``. Each axis's sign makes its largest loading positive.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> rng = np.random.default_rng(0)
    >>> emb = xr.DataArray(rng.normal(size=(6, 8, 8)), dims=("feature", "y", "x"))
    >>> pca(emb, 2).dims
    ('component', 'y', 'x')
    """
    fdim = feature_dim(emb)
    if not isinstance(n, int | np.integer) or not 1 <= n <= emb.sizes[fdim]:
        raise ParameterError(f"n={n!r} must be an integer in [1, {emb.sizes[fdim]}].")
    x = sample_vectors(emb, sample, seed, progress=progress)
    if len(x) < 2:
        raise ParameterError("fewer than two valid vectors: nothing to fit components on.")
    mean = x.mean(axis=0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    axes = vt[:n] * np.sign(vt[:n][np.arange(n), np.abs(vt[:n]).argmax(axis=1)])[:, None]
    ratio = (s**2 / (s**2).sum())[:n]
    out = _map_vectors(
        _project, emb, new={"component": int(n)}, kwargs={"mean": mean, "axes": axes}
    )
    out = out.assign_coords(component=np.arange(n)).transpose(*_swap(emb.dims, fdim, "component"))
    return finalize(
        out,
        emb,
        name="pca",
        long_name="principal components of the embedding",
        units="1",
        history=f"pca(n={n}, sample={sample}, seed={seed})",
        attrs={"explained_variance_ratio": ratio.tolist()},
    )


def _swap(dims: Sequence[Hashable], old: Hashable, new: Hashable) -> list[Hashable]:
    return [new if d == old else d for d in dims]


__all__ = ["similarity", "kmeans", "pca", "query_vector", "sample_vectors", "feature_dim"]
