"""scikit-learn estimators per pixel: lazy ``predict`` / ``predict_proba`` / ``transform``, and fit.

The features of a pixel are the values along ``feature_dims`` (default: the band dim); other
non-spatial dims (time...) are kept in predictions and give separate samples when fitting. Pass
``feature_dims=("time", "band")`` to classify with the whole time series of each pixel.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .. import _chunks
from .._attrs import finalize
from .._dims import require_band_dim, spatial_dims
from ..bands import to_array
from ..errors import DimensionError, ParameterError

_METHODS = ("predict", "predict_proba", "transform")


def _layout(
    cube: xr.DataArray | xr.Dataset, feature_dims: Sequence[Hashable] | None
) -> tuple[xr.DataArray, list[Hashable], list[Hashable]]:
    """The cube as ``(*other, *feature_dims, y, x)``."""
    da = to_array(cube)
    feats = list(feature_dims) if feature_dims is not None else [require_band_dim(da)]
    missing = [d for d in feats if d not in da.dims]
    if missing:
        raise DimensionError(f"feature_dims {missing} are not dims of the cube {tuple(da.dims)}.")
    ydim, xdim = spatial_dims(da)
    other = [d for d in da.dims if d not in (*feats, ydim, xdim)]
    return da.transpose(*other, *feats, ydim, xdim), feats, other


def _pixels(block: np.ndarray, n_other: int, n_feat: int) -> tuple[np.ndarray, tuple]:
    """``(*o, *f, y, x)`` block -> ``(pixels, features)`` table and the output shape."""
    o = block.shape[:n_other]
    f = int(np.prod(block.shape[n_other : n_other + n_feat]))
    ny, nx = block.shape[-2:]
    table = block.reshape(int(np.prod(o)), f, ny * nx).transpose(0, 2, 1).reshape(-1, f)
    return table, (*o, ny, nx)


def _class_names(estimator: Any) -> list[str] | None:
    """Names that predicted codes index.

    The label raster's ``classes`` attr seen by :func:`fit` (``eoxr_classes_``), else the
    estimator's own non-numeric ``classes_``.
    """
    names = getattr(estimator, "eoxr_classes_", None)
    if names is not None:
        return list(names)
    classes = getattr(estimator, "classes_", None)
    if classes is not None and not np.issubdtype(np.asarray(classes).dtype, np.number):
        return [str(c) for c in classes]
    return None


def _encode(pred: np.ndarray, names: list[str] | None) -> np.ndarray:
    """Class labels as float32: numeric labels as they are, names as codes into ``names``."""
    if names is None:
        return pred.astype(np.float32)
    lookup = {n: i for i, n in enumerate(names)}
    return np.array([lookup.get(str(p), np.nan) for p in pred], dtype=np.float32)


def _input_dtype(estimator: Any) -> np.dtype:
    """The float dtype the estimator was fitted with.

    Some Cython kernels (KMeans) accept only that one; float64 when the estimator does not tell
    (trees cast to float32 themselves).
    """
    for attr in ("cluster_centers_", "components_", "coef_", "means_", "mean_"):
        arr = getattr(estimator, attr, None)
        if isinstance(arr, np.ndarray) and np.issubdtype(arr.dtype, np.floating):
            return arr.dtype
    return np.dtype(np.float64)


def _kernel(
    block: np.ndarray, *, estimator: Any, method: str, n_other: int, n_feat: int, k: int | None
) -> np.ndarray:
    table, shape = _pixels(block, n_other, n_feat)
    valid = ~np.isnan(table).any(axis=1)
    width = () if k is None else (k,)
    out = np.full((table.shape[0], *width), np.nan, np.float32)
    if valid.any():
        res = getattr(estimator, method)(table[valid].astype(_input_dtype(estimator)))
        if method == "predict":
            res = _encode(np.asarray(res), _class_names(estimator))
        out[valid] = res
    return out.reshape(*shape, *width)


def _check_features(estimator: Any, n: int) -> None:
    want = getattr(estimator, "n_features_in_", None)
    if want is not None and want != n:
        raise ParameterError(
            f"the estimator was fitted on {want} features but the cube gives {n} per pixel: use "
            "the same bands (and feature_dims) as when fitting."
        )


def apply_estimator(
    cube: xr.DataArray | xr.Dataset,
    estimator: Any,
    *,
    method: str = "predict",
    feature_dims: Sequence[Hashable] | None = None,
    output_dim: str | None = None,
    name: str | None = None,
) -> xr.DataArray:
    """Run a fitted scikit-learn estimator on every pixel, lazily.

    ``predict`` gives a float32 map (class labels; string labels become codes into the
    ``classes`` attr); ``predict_proba`` adds a ``class`` dim, ``transform`` a ``component`` dim.
    NaN in any feature -> NaN out. The estimator is one dask graph key shared by all tasks.

    Examples
    --------
    >>> import numpy as np, eoxr.testing as et
    >>> from sklearn.cluster import KMeans
    >>> cube = et.make_cube(times=None)
    >>> km = KMeans(2, n_init=1, random_state=0).fit(np.random.default_rng(0).random((50, 4)))
    >>> apply_estimator(cube, km).dims
    ('y', 'x')
    """
    if method not in _METHODS or not hasattr(estimator, method):
        raise ParameterError(
            f"method={method!r}: the estimator has no such method; use one of "
            f"{[m for m in _METHODS if hasattr(estimator, m)]}."
        )
    da, feats, other = _layout(cube, feature_dims)
    n_feat = int(np.prod([da.sizes[d] for d in feats]))
    _check_features(estimator, n_feat)
    k = None
    if method != "predict":
        k = int(np.asarray(getattr(estimator, method)(np.zeros((1, n_feat)))).shape[1])
    shared = _chunks.shared(estimator, lazy=_chunks.is_dask(da))
    out_dim = output_dim or ("class" if method == "predict_proba" else "component")
    data = _chunks.map_blocks(
        _kernel,
        da,
        dtype=np.float32,
        whole=feats,
        drop_dims=feats,
        new_dims={out_dim: k} if k else None,
        kwargs=dict(estimator=shared, method=method, n_other=len(other), n_feat=len(feats), k=k),
    )
    ydim, xdim = spatial_dims(da)
    dims = (*other, ydim, xdim, *((out_dim,) if k else ()))
    coords = {d: da[d] for d in (*other, ydim, xdim) if d in da.coords}
    if k:
        labels = getattr(estimator, "classes_", None) if method == "predict_proba" else None
        coords[out_dim] = np.asarray(labels) if labels is not None else np.arange(k)
    out = xr.DataArray(data, dims=dims, coords=coords)
    if k:
        out = out.transpose(*other, out_dim, ydim, xdim)
    attrs = {}
    names = _class_names(estimator)
    if method == "predict" and names is not None:
        attrs["classes"] = names
    return finalize(
        out,
        cube,
        name=name or method,
        long_name=f"{type(estimator).__name__} {method}",
        units="1",
        attrs=attrs,
        history=f"apply_estimator({type(estimator).__name__}, method={method!r}, "
        f"feature_dims={feats})",
    )


def training_table(
    cube: xr.DataArray | xr.Dataset,
    labels: Any,
    *,
    column: str | None = None,
    feature_dims: Sequence[Hashable] | None = None,
) -> tuple[np.ndarray, np.ndarray, list | None]:
    """Features ``(n, F)``, labels ``(n,)`` and class names of every labelled pixel without NaN.

    ``labels`` is a GeoDataFrame (points or polygons, class in ``column``; reprojected to the
    cube's CRS) or a label DataArray on the cube's grid (NaN = unlabelled); a ``classes`` attr
    on it (codes -> names) makes the labels names. Only the labelled pixels are computed.
    """
    da, feats, other = _layout(cube, feature_dims)
    ydim, xdim = spatial_dims(da)
    if isinstance(labels, xr.DataArray):
        lab = labels
        if lab.dims != (ydim, xdim) or lab.shape != (da.sizes[ydim], da.sizes[xdim]):
            raise ParameterError(
                f"the label DataArray has dims {lab.dims} {lab.shape}; expected "
                f"({ydim!r}, {xdim!r}) {(da.sizes[ydim], da.sizes[xdim])}."
            )
        classes = lab.attrs.get("classes")
    else:
        from .vector import rasterize

        lab = rasterize(da, labels, column)
        classes = lab.attrs.get("classes")
    lab_np = np.asarray(lab.values, dtype=np.float64)
    rows, cols = np.nonzero(~np.isnan(lab_np))
    if rows.size == 0:
        raise ParameterError(
            "no labelled pixel falls on the cube's grid: check the labels' extent and CRS."
        )
    pts = da.isel({ydim: xr.DataArray(rows, dims="_px"), xdim: xr.DataArray(cols, dims="_px")})
    vals = np.asarray(pts.transpose(*other, "_px", *feats).values)
    table = vals.reshape(-1, int(np.prod([da.sizes[d] for d in feats])))
    y = np.tile(lab_np[rows, cols], int(np.prod([da.sizes[d] for d in other])))
    keep = ~np.isnan(table).any(axis=1)
    y = y[keep]
    if classes is not None:
        y = np.asarray([str(c) for c in classes], dtype=object)[y.astype(int)]
    elif np.all(y == np.round(y)):
        y = y.astype(np.int64)
    return table[keep], y, classes


def fit(
    cube: xr.DataArray | xr.Dataset,
    estimator: Any,
    labels: Any,
    *,
    column: str | None = None,
    feature_dims: Sequence[Hashable] | None = None,
) -> Any:
    """Fit ``estimator`` on the labelled pixels of the cube and return it.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> cube = et.make_cube(times=None)
    >>> labels = (cube.sel(band="B08") > 0.3).astype("float32")
    >>> fit(cube, DecisionTreeClassifier(random_state=0), labels).n_features_in_
    4
    """
    table, y, names = training_table(cube, labels, column=column, feature_dims=feature_dims)
    if table.shape[0] == 0:
        raise ParameterError("every labelled pixel has NaN features: nothing to fit on.")
    estimator = estimator.fit(table, y)
    if names is not None:  # predictions become codes into the label raster's own class list
        estimator.eoxr_classes_ = list(names)
    return estimator
