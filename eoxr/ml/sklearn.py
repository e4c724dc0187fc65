"""scikit-learn estimators per pixel: lazy ``predict`` / ``predict_proba`` / ``transform``, and fit.

The features of a pixel are the values along ``feature_dims`` (default: the band dim); other
non-spatial dims (time...) are kept in predictions and give separate samples when fitting. Pass
``feature_dims=("time", "band")`` to classify with the whole time series of each pixel.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._attrs import crs_of, finalize
from .._dask import lazy, stats
from .._dask.blockwise import map_blocks
from .._dask.chunking import is_dask
from .._dims import require_band_dim, spatial_dims
from ..bands import band_labels, resolve_band, to_array
from ..errors import BandNotFoundError, DimensionError, GridMismatchError, ParameterError

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


def _call(estimator: Any, method: str, table: np.ndarray) -> np.ndarray:
    """``estimator.<method>(table)``, quiet about feature names.

    The bands were matched by name in :func:`_match_bands` before the table was built.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        return np.asarray(getattr(estimator, method)(table))


def default_output_dim(estimator: Any, method: str) -> str:
    """Name of the output dim: what it holds.

    ``"class"`` for class scores (``predict_proba``, ``decision_function`` of a classifier),
    ``"feature"`` for transformers (``transform``), ``"target"`` for the several outputs of a
    multi-output ``predict``.
    """
    from sklearn.base import is_classifier

    if method == "transform":
        return "feature"
    if method == "predict":
        return "target"
    return "class" if is_classifier(estimator) or method == "predict_proba" else "target"


def _kernel(
    block: np.ndarray, *, estimator: Any, method: str, n_other: int, n_feat: int, k: int | None
) -> np.ndarray:
    table, shape = _pixels(block, n_other, n_feat)
    valid = ~np.isnan(table).any(axis=1)
    width = () if k is None else (k,)
    out = np.full((table.shape[0], *width), np.nan, np.float32)
    if valid.any():
        res = _call(estimator, method, table[valid].astype(_input_dtype(estimator)))
        if method == "predict" and k is None:
            res = _encode(np.asarray(res), _class_names(estimator))
        out[valid] = res
    return out.reshape(*shape, *width)


def fitted_bands(estimator: Any, feats: Sequence[Hashable], bdim: Hashable) -> list[str] | None:
    """Band names the estimator was fitted on, in order, when it records them.

    :func:`fit` stores them as ``eoxr_bands_``; an estimator fitted on a pandas DataFrame has
    ``feature_names_in_`` (used when the features are the bands alone).
    """
    names = getattr(estimator, "eoxr_bands_", None)
    if names is None and list(feats) == [bdim]:
        names = getattr(estimator, "feature_names_in_", None)
    return None if names is None else [str(n) for n in names]


def _match_bands(da: xr.DataArray, estimator: Any, feats: Sequence[Hashable]) -> xr.DataArray:
    """The cube's bands reordered (and subset) by name to the order seen in ``fit``.

    Positions mean nothing: a cube whose bands come in another order would otherwise be
    classified silently wrong.
    """
    bdim = require_band_dim(da)
    names = fitted_bands(estimator, feats, bdim)
    if names is None or bdim not in feats:
        return da
    present = band_labels(da)
    try:
        labels = [resolve_band(da, n) for n in names]
    except BandNotFoundError as err:
        raise BandNotFoundError(
            err.band,
            present,
            err.tried,
            hint=f"The estimator was fitted on bands {names} (in that order) and the cube has "
            f"{present}: give the cube those bands (any alias eoxr.bands knows is matched).",
        ) from None
    return da if labels == present else da.sel({bdim: labels})


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
    response_method: str = "predict",
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
    if response_method not in _METHODS or not hasattr(estimator, response_method):
        raise ParameterError(
            f"response_method={response_method!r}: the estimator has no such method; use one of "
            f"{[m for m in _METHODS if hasattr(estimator, m)]}."
        )
    da, feats, other = _layout(cube, feature_dims)
    da = _match_bands(da, estimator, feats)
    n_feat = int(np.prod([da.sizes[d] for d in feats]))
    _check_features(estimator, n_feat)
    probe = _call(estimator, response_method, np.zeros((1, n_feat), _input_dtype(estimator)))
    k = int(probe.shape[1]) if probe.ndim == 2 else None
    shared = lazy.shared(estimator, lazy=is_dask(da))
    out_dim = output_dim or default_output_dim(estimator, response_method)
    data = map_blocks(
        _kernel,
        da,
        dtype=np.float32,
        whole=feats,
        drop_dims=feats,
        new_dims={out_dim: k} if k else None,
        kwargs=dict(
            estimator=shared, method=response_method, n_other=len(other), n_feat=len(feats), k=k
        ),
    )
    ydim, xdim = spatial_dims(da)
    dims = (*other, ydim, xdim, *((out_dim,) if k else ()))
    coords = {d: da[d] for d in (*other, ydim, xdim) if d in da.coords}
    if k:
        labels = (
            getattr(estimator, "classes_", None) if response_method == "predict_proba" else None
        )
        coords[out_dim] = np.asarray(labels) if labels is not None else np.arange(k)
    out = xr.DataArray(data, dims=dims, coords=coords)
    if k:
        out = out.transpose(*other, out_dim, ydim, xdim)
    attrs = {}
    names = _class_names(estimator)
    if response_method == "predict" and names is not None:
        attrs["classes"] = names
    return finalize(
        out,
        cube,
        name=name or response_method,
        long_name=f"{type(estimator).__name__} {response_method}",
        units="1",
        attrs=attrs,
        history=f"apply_estimator({type(estimator).__name__}, "
        f"response_method={response_method!r}, "
        f"feature_dims={feats})",
    )


def _grid_text(obj: xr.DataArray, ydim: Hashable, xdim: Hashable) -> str:
    """``y 5000000..4999690 step -10, x ... (EPSG:32633)``: a grid in one line, for messages."""
    parts = []
    for d in (ydim, xdim):
        v = np.asarray(obj[d].values, dtype=np.float64)
        step = f" step {v[1] - v[0]:.6g}" if v.size > 1 else ""
        parts.append(f"{d} {v[0]:.10g}..{v[-1]:.10g}{step} ({v.size} px)")
    return ", ".join(parts) + f" ({crs_of(obj) or 'no CRS'})"


def check_label_grid(labels: xr.DataArray, da: xr.DataArray) -> xr.DataArray:
    """The label raster as ``(y, x)`` on the cube's grid, or a :class:`GridMismatchError`.

    Coordinates (where the labels have them) must match the cube's to a hundredth of a pixel,
    and CRS must agree: a label raster on a shifted grid would pair each label with the wrong
    pixel.
    """
    ydim, xdim = spatial_dims(da)
    if set(labels.dims) != {ydim, xdim}:
        raise DimensionError(
            f"the label DataArray has dims {labels.dims}; expected ({ydim!r}, {xdim!r}): one "
            "label per pixel of the cube (select a single time/band first)."
        )
    lab = labels.transpose(ydim, xdim)
    same = lab.shape == (da.sizes[ydim], da.sizes[xdim])
    for d in (ydim, xdim):
        if same and d in lab.coords and d in da.coords:
            a = np.asarray(lab[d].values, dtype=np.float64)
            b = np.asarray(da[d].values, dtype=np.float64)
            tol = 0.01 * (abs(b[1] - b[0]) if b.size > 1 else 1.0)
            same = bool(np.all(np.abs(a - b) <= tol))
    crs_l, crs_c = crs_of(lab), crs_of(da)
    if same and crs_l is not None and crs_c is not None and crs_l != crs_c:
        same = False
    if not same:
        raise GridMismatchError(
            f"the labels are not on the cube's grid: labels {_grid_text(lab, ydim, xdim)} vs "
            f"cube {_grid_text(da, ydim, xdim)}. Put them on the cube's grid first, e.g. "
            "`labels.rio.reproject_match(cube, resampling=Resampling.nearest)`."
        )
    return lab


def training_table(
    cube: xr.DataArray | xr.Dataset,
    labels: Any,
    *,
    column: str | None = None,
    feature_dims: Sequence[Hashable] | None = None,
    progress: bool | None = None,
) -> tuple[np.ndarray, np.ndarray, list | None]:
    """Features ``(n, F)``, labels ``(n,)`` and class names of every labelled pixel without NaN.

    ``labels`` is a GeoDataFrame (points or polygons, class in ``column``; reprojected to the
    cube's CRS) or a label DataArray on the cube's grid (NaN = unlabelled; checked by
    :func:`check_label_grid`); a ``classes`` attr on it (codes -> names) makes the labels
    names. Only the labelled pixels are computed (two passes: labels, then their pixels).
    """
    da, feats, other = _layout(cube, feature_dims)
    ydim, xdim = spatial_dims(da)
    if isinstance(labels, xr.DataArray):
        lab = check_label_grid(labels, da)
    else:
        from .vector import rasterize

        lab = rasterize(da, labels, column=column)
    classes = lab.attrs.get("classes")
    (lab_np,) = stats.compute(lab.data, progress=progress)
    lab_np = np.asarray(lab_np, dtype=np.float64)
    rows, cols = np.nonzero(~np.isnan(lab_np))
    if rows.size == 0:
        raise ParameterError(
            "no labelled pixel falls on the cube's grid: check the labels' extent and CRS."
        )
    pts = da.isel({ydim: xr.DataArray(rows, dims="_px"), xdim: xr.DataArray(cols, dims="_px")})
    (vals,) = stats.compute(pts.transpose(*other, "_px", *feats).data, progress=progress)
    table = np.asarray(vals).reshape(-1, int(np.prod([da.sizes[d] for d in feats])))
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
    progress: bool | None = None,
) -> Any:
    """Fit ``estimator`` on the labelled pixels of the cube and return it.

    This verb computes (the labels, then the labelled pixels, each in one pass) and shows a
    progress bar where ``progress`` allows. The band names and their order are stored on the
    estimator (``eoxr_bands_``), so that :func:`eoxr.ml.apply_model` later picks the same bands
    by name from any cube.

    Parameters
    ----------
    cube : DataArray or Dataset
        Cube with a band dim (or one variable per band).
    estimator : scikit-learn estimator
        Unfitted (or to be refitted) estimator; fitted in place and returned.
    labels : DataArray or GeoDataFrame
        A label raster on the cube's grid (NaN = unlabelled; ``classes`` attr: names of the
        codes), or points/polygons with the class in ``column`` (reprojected to the cube's CRS).
    column : str, optional
        Column of the GeoDataFrame that holds the class.
    feature_dims : sequence of str, optional
        Dims whose values are a pixel's features (default the band dim; e.g.
        ``("time", "band")`` for the whole time series of each pixel). Other dims give
        separate samples.
    progress : bool, optional
        Progress bar: ``None`` shows it in interactive sessions only.

    Returns
    -------
    estimator
        The fitted estimator, with ``eoxr_bands_`` (and ``eoxr_classes_`` for named labels).

    Raises
    ------
    GridMismatchError
        When a label raster is not on the cube's grid (coordinates or CRS).

    Examples
    --------
    >>> import eoxr.testing as et
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> cube = et.make_cube(times=None)
    >>> labels = (cube.sel(band="B08") > 0.3).astype("float32")
    >>> tree = fit(cube, DecisionTreeClassifier(random_state=0), labels, progress=False)
    >>> tree.n_features_in_, tree.eoxr_bands_
    (4, ['B02', 'B03', 'B04', 'B08'])
    """
    table, y, names = training_table(
        cube, labels, column=column, feature_dims=feature_dims, progress=progress
    )
    if table.shape[0] == 0:
        raise ParameterError("every labelled pixel has NaN features: nothing to fit on.")
    estimator = estimator.fit(table, y)
    if names is not None:  # predictions become codes into the label raster's own class list
        estimator.eoxr_classes_ = list(names)
    da, feats, _ = _layout(cube, feature_dims)
    bdim = require_band_dim(da)
    if bdim in feats:
        estimator.eoxr_bands_ = band_labels(da)
    return estimator
