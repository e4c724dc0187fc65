"""Apply a model over a cube: torch / ONNX models in blended patches, estimators per pixel.

Patch models run through a backend *runner* (:mod:`eoxr.models.torch_runner`,
:mod:`eoxr.models.onnx_runner`) and
the backend-neutral kernels of :mod:`eoxr.ml._kernels`. The tiling covers the *global* pixel
grid (see :mod:`eoxr.ml._geometry`), runs every patch exactly once and blends overlaps with
global weights, so the result is the same for a numpy cube and for any dask chunking:

1. the cube is reflect-padded to the patch grid, the padding joining the first and last chunk
   (the caller's block boundaries are kept; blocks shorter than the patches' reach into them
   are re-chunked on multiples of the stride, :func:`eoxr._dask.patches.stride_chunks`);
2. each block runs the patches that *start* in it, seeing as many samples of the next block as
   its last patch reaches into (:func:`eoxr.ml._geometry.reach`; ``overlap`` on a stride grid)
   (:func:`eoxr._dask.patches.map_halo_blocks`; the runner is one graph key shared by all tasks: a
   torch model travels once, an ONNX model as its file, opened once per worker process), and
   returns weighted predictions over its own extent plus the reach it spills over;
3. spills are added onto the next blocks (:func:`eoxr._dask.patches.overlap_add`) and divided by the
   global sum of weights; the padding is cropped and the caller's chunks restored.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._attrs import finalize
from .._dask.chunking import is_dask
from .._dask.lazy import delayed, shared
from .._dask.overlap import pad_edges
from .._dask.patches import map_halo_blocks, overlap_add, stride_chunks
from .._dims import require_band_dim
from .._resolved import ResolvedBands, resolve_cube
from ..errors import ParameterError
from ..radiometry import for_model
from . import _kernels
from ._geometry import Blend, caller_chunks, make_tiling, reach, weight_sum, window_1d
from .preprocess import band_stats, resolved_channels, select_channels, unwrap_model

_DEFAULT_SIZE = 256


def _patch_size(
    da: xr.DataArray, spatial: tuple, input_dims: Mapping | None, fixed: tuple | None
) -> dict:
    """Patch size per spatial dim.

    ``input_dims``, else the model's fixed input size, else ``min(256, image size)``.
    """
    ydim, xdim = spatial
    if input_dims is None:
        if fixed is not None:
            return {ydim: fixed[0], xdim: fixed[1]}
        return {d: min(_DEFAULT_SIZE, da.sizes[d]) for d in (ydim, xdim)}
    unknown = set(input_dims) - {ydim, xdim}
    if unknown:
        raise ParameterError(
            f"input_dims names {sorted(unknown)}; patches are cut along the "
            f"spatial dims ({ydim!r}, {xdim!r}) only."
        )
    size = {d: input_dims.get(d, da.sizes[d]) for d in (ydim, xdim)}
    if fixed is not None and (size[ydim], size[xdim]) != tuple(fixed):
        raise ParameterError(
            f"input_dims={size} but the ONNX model takes fixed {fixed[0]} x {fixed[1]} patches: "
            "leave input_dims out (or give exactly that size)."
        )
    return size


def default_overlap(patch: int, radius: int | None, blend: str) -> int:
    """Overlap that leaves no seams for a dense model of receptive ``radius`` (pixels).

    The cosine taper is exact when ``radius <= overlap // 4`` and crop when ``radius <=
    overlap // 2`` (see :func:`eoxr.ml._geometry.window_1d`), so the overlap is ``4 * radius``
    (``2 * radius`` for crop), rounded up to even, at most half the patch. A model that sees
    the whole patch (radius >= half the patch: attention, global pooling) gets a quarter of the
    patch, blended. Per-patch models (``radius=None``) get 0.

    Examples
    --------
    >>> default_overlap(256, 2, "cosine"), default_overlap(256, 200, "cosine")
    (8, 64)
    """
    if radius is None:
        return 0
    if 2 * radius >= patch:
        return patch // 4
    want = (2 if blend == "crop" else 4) * radius
    return min(want + want % 2, patch // 2)


def _tilings(
    da: xr.DataArray,
    spatial: tuple,
    size: Mapping,
    overlap: Mapping | None,
    dense: bool,
    radius: int | None,
    blend: str,
) -> tuple:
    """Tilings of both spatial axes; ``overlap=None`` means :func:`default_overlap`."""
    ydim, xdim = spatial
    if overlap is None:
        over = {d: default_overlap(int(size[d]), radius if dense else None, blend) for d in size}
    else:
        over = {d: overlap.get(d, 0) for d in (ydim, xdim)}
    return tuple(make_tiling(d, da.sizes[d], size[d], over[d], dense=dense) for d in (ydim, xdim))


def _runner(model: Any, device: str | None, autocast: Any, lazy: bool) -> tuple[Any, Any, str]:
    """A local runner (probing, numpy input), the one shipped to dask tasks, and a label."""
    from ..models.onnx_runner import OnnxRunner, is_onnx

    if is_onnx(model):
        runner = OnnxRunner.from_model(model, device)
        return runner, shared(runner, lazy=lazy), "onnx"
    from ..models import torch_runner

    dev = str(torch_runner.pick_device(device))
    local = torch_runner.prepare_runner(model, dev, autocast)
    if not lazy:
        return local, local, "torch"
    key = torch_runner.runner_key(model, dev, autocast)
    shipped = delayed(torch_runner.prepare_runner, model, dev, autocast, dask_key_name=key)
    return local, shipped, "torch"


def _is_patch_model(model: Any) -> bool:
    """A torch module (TorchScript included; checked without importing torch) or ONNX model."""
    from ..models.onnx_runner import is_onnx

    torch_module = any(
        c.__name__ == "Module" and c.__module__.startswith("torch.nn") for c in type(model).__mro__
    )
    return torch_module or is_onnx(model)


def apply_model(
    cube: xr.DataArray | xr.Dataset,
    model: Any,
    *,
    input_dims: Mapping[Hashable, int] | None = None,
    input_overlap: Mapping[Hashable, int] | None = None,
    bands: Sequence[str] | None = None,
    mean: float | Sequence[float] | None = None,
    std: float | Sequence[float] | None = None,
    scale: float | None = None,
    batch_size: int = 16,
    device: str | None = None,
    blend: Blend = "cosine",
    output_dim: str | None = None,
    output_coords: Sequence | None = None,
    autocast: bool | Any = False,
    transform: Any = None,
    response_method: str = "predict",
    feature_dims: Sequence[Hashable] | None = None,
    name: str | None = None,
) -> xr.DataArray:
    """Run a torch or ONNX model in blended patches, or a scikit-learn estimator per pixel, lazily.

    Parameters
    ----------
    cube : DataArray or Dataset
        Reflectance cube with a band dim (or one variable per band); extra dims (time...) are
        kept and looped over.
    model : torch.nn.Module, onnxruntime.InferenceSession, path to a .onnx file, estimator
        Patch models (torch, TorchScript, ONNX) map ``(N, C, H, W)`` float32 to
        ``(N, K, H, W)`` (dense) or ``(N, K)`` (one value per patch, giving a coarser grid at
        the patch centres). ONNX runs with onnxruntime (``pip install onnxruntime``); its
        session is opened once per worker process, never pickled. A fitted scikit-learn
        estimator runs per pixel (:func:`eoxr.ml.sklearn.apply_estimator`:
        ``response_method``, ``feature_dims``), its bands matched by name to those it was fitted on.
        **Encoder protocol** (duck typing): an object with an attribute ``eoxr_model`` runs
        ``model.eoxr_model``, and its ``eoxr_preprocess`` dict (keys ``bands``, ``mean``,
        ``std``, ``scale``) gives the defaults of those keyword arguments. A plain model may
        carry the same dict as ``eoxr_meta``.
    input_dims, input_overlap : mapping
        Patch size and overlap per spatial dim, as in xbatcher. ``input_dims`` defaults to the
        ONNX model's fixed input size, else ``min(256, image size)``. ``input_overlap``
        defaults to an overlap that leaves no seams for dense models: the model's receptive
        radius ``r`` is measured on one probe batch (how far a change of the centre pixel
        reaches) and the overlap is ``4 r`` (cosine; ``2 r`` for crop), at most half the patch,
        or a quarter of the patch for models that see the whole patch
        (:func:`default_overlap`); per-patch models default to 0.
    bands : sequence of str, optional
        Input bands in the model's order, picked from the cube BY NAME (any alias
        :func:`eoxr.bands.resolve_band` knows; never by position); a missing band raises
        :class:`~eoxr.errors.BandNotFoundError`. Default: the model's ``eoxr_preprocess`` /
        ``eoxr_meta`` bands, else all bands of the cube in its order.
    mean, std : float or sequence of float, optional
        Per-band statistics in the order of ``bands``; the model receives
        ``(value * scale - mean) / std``. NaN pixels are set to 0 after that (the band mean)
        before the model and are NaN again in the output; patches without a valid pixel are
        not run.
    scale : float, optional
        Factor applied first (e.g. ``1e-4`` for digital numbers); default 1.
    batch_size : int
        Patches per forward pass.
    device : str, optional
        ``None`` picks CUDA when available, else CPU (an InferenceSession passed in keeps its
        own execution providers).
    blend : {"cosine", "mean", "crop"}
        Overlap blending: partition-of-unity cosine taper, plain mean, or keep patch centres.
    output_dim : str, optional
        Name of the output's channel dim. Default for patch models: ``"class"`` for dense
        outputs (per-pixel scores), ``"feature"`` for per-patch outputs (embeddings); for
        estimators: ``"class"`` (``predict_proba``), ``"feature"`` (``transform``), ``"target"``
        (multi-output ``predict``).
    output_coords : sequence, optional
        Labels of the model's output channels.
    autocast : bool or torch.dtype
        torch only: mixed precision (float16 on CUDA, bfloat16 on CPU when ``True``).
    transform : callable, optional
        Patch models only: called on every batch of patches ``(N, C, h, w)`` float32 after
        ``scale``/``mean``/``std``, with NaN kept, it returns the model's input (and fills NaN):
        an encoder's :class:`eoxr.models.pipeline.Pipeline` (resize, crop, per-patch stretch,
        padded bands), which the encoder protocol passes as ``eoxr_preprocess["transform"]``.
        A transform that resizes needs a model returning one vector per patch.
    response_method, feature_dims, name : str, sequence, str
        The estimator's method to call (``"predict"``, ``"predict_proba"``, ``"transform"``;
        scikit-learn's name for this choice), the dims whose values are a pixel's features
        (estimators), and the name of the result.

    Returns
    -------
    DataArray
        float32 on the cube's grid (dense) or on the patch-centre grid (per-patch models), dims
        in the input's order with ``output_dim`` in place of the band dim (Dataset input:
        ``(*other, output_dim, y, x)``); lazy for dask input, with the input's spatial chunks.

    Examples
    --------
    >>> import torch, eoxr.testing as et
    >>> net = torch.nn.Conv2d(2, 3, 3, padding=1).eval()
    >>> cube = et.make_cube(ny=40, nx=40, times=None)
    >>> out = apply_model(
    ...     cube, net, input_dims={"y": 16, "x": 16}, bands=["nir", "red"], mean=0.3, std=0.2
    ... )
    >>> out.dims, "overlap=(4, 4)" in out.attrs["history"]  # 4 x the receptive radius 1
    (('class', 'y', 'x'), True)
    """
    return _apply(
        cube,
        resolve_cube(cube),
        model,
        input_dims=input_dims,
        input_overlap=input_overlap,
        bands=bands,
        mean=mean,
        std=std,
        scale=scale,
        batch_size=batch_size,
        device=device,
        blend=blend,
        output_dim=output_dim,
        output_coords=output_coords,
        autocast=autocast,
        transform=transform,
        response_method=response_method,
        feature_dims=feature_dims,
        name=name,
    )


def apply_resolved(
    cube: xr.DataArray | xr.Dataset, rb: ResolvedBands, model: Any, **options: Any
) -> xr.DataArray:
    """:func:`apply_model` on a cube whose bands the calling verb resolved once (``rb``).

    ``options`` are the keyword arguments of :func:`apply_model`.
    """
    return _apply(cube, rb, model, **options)


def _apply(
    cube: xr.DataArray | xr.Dataset,
    rb: ResolvedBands,
    model: Any,
    *,
    input_dims: Mapping[Hashable, int] | None = None,
    input_overlap: Mapping[Hashable, int] | None = None,
    bands: Sequence[str] | None = None,
    mean: float | Sequence[float] | None = None,
    std: float | Sequence[float] | None = None,
    scale: float | None = None,
    batch_size: int = 16,
    device: str | None = None,
    blend: Blend = "cosine",
    output_dim: str | None = None,
    output_coords: Sequence | None = None,
    autocast: bool | Any = False,
    transform: Any = None,
    response_method: str = "predict",
    feature_dims: Sequence[Hashable] | None = None,
    name: str | None = None,
) -> xr.DataArray:
    what = f"apply_model({name or getattr(model, 'name', None) or type(model).__name__})"
    model, meta = unwrap_model(model)
    bands = bands if bands is not None else meta.get("bands")
    mean = mean if mean is not None else meta.get("mean")
    std = std if std is not None else meta.get("std")
    scale = float(scale if scale is not None else meta.get("scale", 1.0))
    transform = transform if transform is not None else meta.get("transform")
    if not _is_patch_model(model):
        from .sklearn import apply_estimator

        if not any(hasattr(model, m) for m in ("predict", "predict_proba", "transform")):
            raise ParameterError(
                f"model of type {type(model).__name__} is none of: torch.nn.Module, "
                "onnxruntime.InferenceSession, path to a .onnx file, fitted scikit-learn "
                "estimator, or an encoder with `eoxr_model`."
            )

        if mean is not None or std is not None or scale != 1.0 or transform is not None:
            raise ParameterError(
                "mean/std/scale/transform apply to patch models (torch, ONNX); for an estimator "
                "put the scaling in a scikit-learn Pipeline (e.g. StandardScaler) before fitting."
            )
        return apply_estimator(
            cube if bands is None else select_channels(cube, bands),
            model,
            response_method=response_method,
            feature_dims=feature_dims,
            output_dim=output_dim,
            name=name,
        )
    if blend not in ("cosine", "mean", "crop"):
        raise ParameterError(f"blend={blend!r}: expected 'cosine', 'mean' or 'crop'.")
    if batch_size < 1:
        raise ParameterError(f"batch_size={batch_size} must be >= 1.")
    # units expected: from mean/scale, else from the transform's own (an encoder's pipeline)
    units = (mean, scale) if mean is not None or transform is None else _units(transform)
    cube, rb = for_model(cube, rb, mean=units[0], scale=units[1], bands=bands, what=what)
    da, labels = resolved_channels(cube, rb, bands)
    spatial = (str(da.dims[-2]), str(da.dims[-1]))  # (*other, band, y, x)
    mean_a, std_a = band_stats(mean, "mean", labels), band_stats(std, "std", labels)
    runner, shipped, kind = _runner(model, device, autocast, is_dask(da.data))
    fixed = runner.fixed_patch() if kind == "onnx" and transform is None else None
    size = _patch_size(da, spatial, input_dims, fixed)
    ydim, xdim = spatial
    for d in (ydim, xdim):  # validate before the probe runs the model
        make_tiling(d, da.sizes[d], size[d], 0, dense=True)
    patch = (int(size[ydim]), int(size[xdim]))
    k, dense, radius = _kernels.probe(runner, da.shape[-3], patch, transform)
    ty, tx = _tilings(da, spatial, size, input_overlap, dense, radius, blend)
    kw = dict(
        runner=shipped,
        k=k,
        ty=ty,
        tx=tx,
        batch_size=int(batch_size),
        mean=mean_a,
        std=std_a,
        scale=scale,
        transform=transform,
    )
    padded, hy, hx = _padded_grid(da, spatial, ty, tx)
    kw["halo"] = (hy, hx)
    data = _dense(padded, da, kw, blend) if dense else _per_patch(padded, kw)
    out_dim = output_dim or ("class" if dense else "feature")
    hist = (
        f"apply_model(input_dims=({ty.patch}, {tx.patch}), overlap=({ty.overlap}, "
        f"{tx.overlap}), blend={blend!r}, bands={labels}, {kind})"
    )
    out = _wrap(data, da, cube, k, dense, ty, tx, out_dim, output_coords, name, hist)
    return _input_order(out, cube, rb.band_dim, out_dim)


def _units(transform: Any) -> tuple[Any, float]:
    """``(mean, scale)`` a transform declares for the units check (``(None, 1)``: none)."""
    return getattr(transform, "mean", None), float(getattr(transform, "scale", 1.0))


def _input_order(
    out: xr.DataArray, cube: Any, band_dim: str | None, output_dim: str
) -> xr.DataArray:
    """Put the output dim where the band dim was; the other dims keep their order.

    A Dataset has no band position: its result is ``(*other, output_dim, y, x)``.
    """
    if not isinstance(cube, xr.DataArray):
        return out
    bdim = band_dim or require_band_dim(cube)
    order = [output_dim if d == bdim else d for d in cube.dims]
    return out.transpose(*order) if set(order) == set(out.dims) else out


def _padded_grid(da: xr.DataArray, spatial: tuple, ty: Any, tx: Any) -> tuple[Any, int, int]:
    """Reflect-pad to the patch grid; the blocks and how far their patches reach past them.

    The caller's chunks are kept where every block is at least as long as that reach (the
    padding joins the first and last chunk), else the grid is re-chunked on multiples of the
    stride (reach = overlap). Keeping them matters for memory: a re-chunk onto boundaries that
    do not line up holds a row of blocks, growing with the image width.
    """
    nd = da.ndim
    data = pad_edges(da.data, {nd - 2: (ty.lead, ty.trail), nd - 1: (tx.lead, tx.trail)}, "reflect")
    if not is_dask(data):
        return data, 0, 0
    ydim, xdim = spatial
    ch = list(data.chunks)
    for ax, d, t in ((-2, ydim, ty), (-1, xdim, tx)):
        kept = caller_chunks(t, da.data.chunks[ax])
        ch[ax] = kept or stride_chunks(t.padded, t.stride, max(da.chunksizes[d]), minimum=t.overlap)
    return data.rechunk(tuple(ch)), reach(ty, ch[-2]), reach(tx, ch[-1])


def _dense(padded: Any, da: xr.DataArray, kw: dict, blend: Blend) -> Any:
    ty, tx, k = kw["ty"], kw["tx"], kw["k"]
    hy, hx = kw["halo"]
    wy, wx = window_1d(ty, blend), window_1d(tx, blend)
    nd = padded.ndim
    out_chunks = None
    if is_dask(padded):
        ch = padded.chunks
        out_chunks = (
            *ch[:-3],
            (k + 1,),
            tuple(c + hy for c in ch[-2]),
            tuple(c + hx for c in ch[-1]),
        )
    stage = map_halo_blocks(
        _kernels.dense_block,
        padded,
        halo={nd - 2: hy, nd - 1: hx},
        out_chunks=out_chunks,
        dtype=np.float32,
        kwargs=dict(kw, wy=wy, wx=wx, crop=blend == "crop"),
    )
    summed = overlap_add(
        stage,
        {nd - 2: hy, nd - 1: hx},
        post=_divide,
        inplace=True,
        kwargs=dict(sy=weight_sum(ty, wy), sx=weight_sum(tx, wx)),
    )
    out = summed[..., :k, ty.lead : ty.lead + ty.size, tx.lead : tx.lead + tx.size]
    return _restore_chunks(out, da)


def _divide(block: np.ndarray, *, origin: tuple, sy: np.ndarray, sx: np.ndarray) -> np.ndarray:
    """Normalise by the global weight sums; NaN where the validity channel (last) is 0."""
    oy, ox = origin[-2:]
    ny, nx = block.shape[-2:]
    pred = block[..., :-1, :, :]
    pred /= sy[oy : oy + ny, None] * sx[None, ox : ox + nx]
    np.copyto(pred, np.nan, where=block[..., -1:, :, :] == 0)
    return block


def _restore_chunks(out: Any, da: xr.DataArray) -> Any:
    if not is_dask(out):
        return out
    return out.rechunk((*out.chunks[:-2], *da.data.chunks[-2:]))


def _per_patch(padded: Any, kw: dict) -> Any:
    ty, tx, k = kw["ty"], kw["tx"], kw["k"]
    nd = padded.ndim
    out_chunks = None
    if is_dask(padded):
        ch = padded.chunks
        counts = [
            tuple(
                len(_kernels.owned(int(s), int(c), t))
                for s, c in zip(np.cumsum((0,) + ch[a][:-1]), ch[a])
            )
            for a, t in ((-2, ty), (-1, tx))
        ]
        out_chunks = (*ch[:-3], (k,), *counts)
    return map_halo_blocks(
        _kernels.patch_block,
        padded,
        halo={nd - 2: kw["halo"][0], nd - 1: kw["halo"][1]},
        out_chunks=out_chunks,
        dtype=np.float32,
        kwargs=kw,
    )


def _centre_coords(coord: xr.DataArray, centres: np.ndarray) -> np.ndarray:
    """Coordinates at fractional pixel indices, extrapolating the grid's regular spacing."""
    v = np.asarray(coord.values, dtype=np.float64)
    step = (v[-1] - v[0]) / (len(v) - 1) if len(v) > 1 else 1.0
    return v[0] + centres * step


def _wrap(
    data: Any,
    da: xr.DataArray,
    cube: Any,
    k: int,
    dense: bool,
    ty: Any,
    tx: Any,
    output_dim: str,
    output_coords: Sequence | None,
    name: str | None,
    history: str,
) -> xr.DataArray:
    ydim, xdim = da.dims[-2:]
    other = list(da.dims[:-3])
    if output_coords is not None and len(output_coords) != k:
        raise ParameterError(
            f"output_coords has {len(output_coords)} labels but the model returns {k} channels."
        )
    coords: dict = {d: da[d] for d in other if d in da.coords}
    coords[output_dim] = list(output_coords) if output_coords is not None else np.arange(k)
    if dense:
        coords[ydim], coords[xdim] = da[ydim], da[xdim]
    else:
        coords[ydim] = _centre_coords(da[ydim], ty.centres())
        coords[xdim] = _centre_coords(da[xdim], tx.centres())
    out = xr.DataArray(data, dims=(*other, output_dim, ydim, xdim), coords=coords)
    like = da if dense else da.isel({ydim: slice(0, 0), xdim: slice(0, 0)})
    return finalize(
        out,
        cube if dense else like,
        name=name or "prediction",
        long_name="model output",
        units="1",
        history=history,
    )
