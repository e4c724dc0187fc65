"""Apply a model over a cube: torch models in blended patches, scikit-learn estimators per pixel.

The torch path tiles the *global* pixel grid (see :mod:`eoxr.ml._geometry`), runs every patch
exactly once and blends overlaps with global weights, so the result is the same for a numpy cube
and for any dask chunking:

1. the cube is reflect-padded to the patch grid and re-chunked on multiples of the stride
   (:func:`eoxr._chunks.stride_chunks`);
2. each block runs the patches that *start* in it, seeing ``overlap`` samples of the next block
   (:func:`eoxr._chunks.map_halo_blocks`, the model is one graph key shared by all tasks), and
   returns weighted predictions over its own extent plus the ``overlap`` it spills over;
3. spills are added onto the next blocks (:func:`eoxr._chunks.overlap_add`) and divided by the
   global sum of weights; the padding is cropped and the caller's chunks restored.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import dask
import numpy as np
import xarray as xr

from .. import _chunks
from .._attrs import finalize
from .._dims import require_band_dim, spatial_dims
from ..bands import band_labels, resolve_band, to_array
from ..errors import ParameterError
from ._geometry import Blend, make_tiling, weight_sum, window_1d


def _is_torch_module(model: Any) -> bool:
    return any(
        c.__name__ == "Module" and c.__module__.startswith("torch.nn") for c in type(model).__mro__
    )


def model_metadata(model: Any) -> dict:
    """Metadata a model carries (``eoxr_meta`` or ``meta`` dict: ``bands``, ``mean``, ``std``)."""
    for attr in ("eoxr_meta", "meta", "metadata"):
        meta = getattr(model, attr, None)
        if isinstance(meta, Mapping):
            return dict(meta)
    return {}


def select_channels(cube: xr.DataArray | xr.Dataset, bands: Sequence[str] | None) -> xr.DataArray:
    """The cube as ``(*other, band, y, x)`` float DataArray with the requested bands in order."""
    da = to_array(cube)
    bdim = require_band_dim(da)
    if bands is not None:
        labels = [resolve_band(da, b) for b in bands]
        da = da.sel({bdim: labels})
    ydim, xdim = spatial_dims(da)
    other = [d for d in da.dims if d not in (bdim, ydim, xdim)]
    da = da.transpose(*other, bdim, ydim, xdim)
    if not np.issubdtype(da.dtype, np.floating):
        da = da.astype(np.float32)
    return _chunks.rechunk_whole(da, [bdim])


def _normalize_arrays(
    normalize: Any, meta: Mapping, n: int
) -> tuple[np.ndarray | None, np.ndarray | None]:
    if normalize is None and "mean" in meta and "std" in meta:
        normalize = (meta["mean"], meta["std"])
    if normalize is None or normalize is False:
        return None, None
    mean, std = (np.broadcast_to(np.asarray(v, np.float32), (n,)).copy() for v in normalize)
    if (std <= 0).any():
        raise ParameterError(f"normalize std must be positive, got {std.tolist()}.")
    return mean, std


def _patch_axes(
    da: xr.DataArray, input_dims: Mapping | None, input_overlap: Mapping | None, dense: bool
) -> tuple:
    ydim, xdim = spatial_dims(da)
    dims = dict(input_dims or {ydim: 256, xdim: 256})
    unknown = set(dims) - {ydim, xdim}
    if unknown:
        raise ParameterError(
            f"input_dims names {sorted(unknown)}; patches are cut along the "
            f"spatial dims ({ydim!r}, {xdim!r}) only."
        )
    over = dict(input_overlap or {})
    return tuple(
        make_tiling(d, da.sizes[d], int(dims.get(d, da.sizes[d])), int(over.get(d, 0)), dense=dense)
        for d in (ydim, xdim)
    )


def apply_model(
    cube: xr.DataArray | xr.Dataset,
    model: Any,
    input_dims: Mapping[Hashable, int] | None = None,
    input_overlap: Mapping[Hashable, int] | None = None,
    *,
    batch_size: int = 16,
    device: str | None = None,
    blend: Blend = "cosine",
    normalize: tuple[Sequence[float], Sequence[float]] | None = None,
    output_dim: str = "class",
    output_coords: Sequence | None = None,
    bands: Sequence[str] | None = None,
    autocast: bool | Any = False,
    method: str = "predict",
    feature_dims: Sequence[Hashable] | None = None,
    name: str | None = None,
) -> xr.DataArray:
    """Run a torch model in blended patches, or a scikit-learn estimator per pixel, lazily.

    Parameters
    ----------
    cube : DataArray or Dataset
        Reflectance cube with a band dim (or one variable per band); extra dims (time...) are
        kept and looped over.
    model : torch.nn.Module, TorchScript module or fitted scikit-learn estimator
        Torch: ``(N, C, H, W) -> (N, K, H, W)`` (dense) or ``(N, K)`` (one value per patch,
        giving a coarser grid at the patch centres). Estimators go to
        :func:`eoxr.ml.sklearn.apply_estimator` (``method``, ``feature_dims``).
    input_dims, input_overlap : mapping
        Patch size and overlap per spatial dim, as in xbatcher (default 256 and 0).
    batch_size : int
        Patches per forward pass.
    device : str, optional
        ``None`` picks CUDA when available, else CPU.
    blend : {"cosine", "mean", "crop"}
        Overlap blending: partition-of-unity cosine taper, plain mean, or keep patch centres.
    normalize : (mean, std), optional
        Per-band statistics; default from the model's ``eoxr_meta``/``meta`` dict if present.
        NaN pixels are set to 0 *after* normalisation (i.e. to the band mean) before the model,
        and are NaN again in the output; patches without a valid pixel are not run.
    output_dim, output_coords : str, sequence
        Name and labels of the model's output channels.
    bands : sequence of str, optional
        Input bands in the model's order (any alias :func:`eoxr.bands.resolve_band` knows);
        default the model metadata's ``bands``, else the cube's band order.
    autocast : bool or torch.dtype
        Mixed precision (float16 on CUDA, bfloat16 on CPU when ``True``).

    Returns
    -------
    DataArray
        float32 on the cube's grid (dense) or on the patch-centre grid (per-patch models), dims
        in the input's order with ``output_dim`` in place of the band dim (Dataset input:
        ``(*other, output_dim, y, x)``); lazy for dask input, with the input's spatial chunks.

    Examples
    --------
    >>> import torch, eoxr.testing as et
    >>> net = torch.nn.Conv2d(4, 2, 3, padding=1).eval()
    >>> cube = et.make_cube(ny=40, nx=40, times=None)
    >>> apply_model(cube, net, {"y": 16, "x": 16}, {"y": 4, "x": 4}).dims
    ('class', 'y', 'x')
    """
    if not _is_torch_module(model):
        from .sklearn import apply_estimator

        return apply_estimator(
            cube,
            model,
            method=method,
            feature_dims=feature_dims,
            output_dim=output_dim if output_dim != "class" else None,
            name=name,
        )
    from . import _torch

    if blend not in ("cosine", "mean", "crop"):
        raise ParameterError(f"blend={blend!r}: expected 'cosine', 'mean' or 'crop'.")
    if batch_size < 1:
        raise ParameterError(f"batch_size={batch_size} must be >= 1.")
    meta = model_metadata(model)
    da = select_channels(cube, bands if bands is not None else meta.get("bands"))
    dev = _torch.pick_device(device)
    c = da.shape[-3]
    ty, tx = _patch_axes(da, input_dims, input_overlap, dense=True)
    k, dense = _torch.probe(
        _torch.prepare_model(model, str(dev)), c, (ty.patch, tx.patch), dev, autocast
    )
    if not dense:
        ty, tx = _patch_axes(da, input_dims, input_overlap, dense=False)
    mean, std = _normalize_arrays(normalize, meta, c)
    shared = dask.delayed(_torch.prepare_model, pure=True)(model, str(dev))
    kw = dict(
        model=shared,
        k=k,
        ty=ty,
        tx=tx,
        batch_size=int(batch_size),
        device=str(dev),
        autocast=autocast,
        mean=mean,
        std=std,
    )
    padded = _padded_grid(da, ty, tx)
    data = _dense(padded, da, kw, blend) if dense else _per_patch(padded, kw)
    out = _wrap(data, da, cube, k, dense, ty, tx, output_dim, output_coords, name, blend)
    return _input_order(out, cube, output_dim)


def _input_order(out: xr.DataArray, cube: Any, output_dim: str) -> xr.DataArray:
    """A DataArray's dims keep their order, the output dim where its band dim was (a Dataset
    has no band position: ``(*other, output_dim, y, x)``).
    """
    if not isinstance(cube, xr.DataArray):
        return out
    bdim = require_band_dim(cube)
    order = [output_dim if d == bdim else d for d in cube.dims]
    return out.transpose(*order) if set(order) == set(out.dims) else out


def _padded_grid(da: xr.DataArray, ty: Any, tx: Any) -> Any:
    """Reflect-pad to the patch grid and chunk on multiples of the stride."""
    nd = da.ndim
    data = _chunks.pad_edges(
        da.data, {nd - 2: (ty.lead, ty.trail), nd - 1: (tx.lead, tx.trail)}, "reflect"
    )
    if not _chunks.is_dask(data):
        return data
    ydim, xdim = spatial_dims(da)
    target = {d: max(da.chunksizes[d]) for d in (ydim, xdim)}
    ch = list(data.chunks)
    ch[-2] = _chunks.stride_chunks(ty.padded, ty.stride, target[ydim], minimum=ty.overlap)
    ch[-1] = _chunks.stride_chunks(tx.padded, tx.stride, target[xdim], minimum=tx.overlap)
    return data.rechunk(tuple(ch))


def _dense(padded: Any, da: xr.DataArray, kw: dict, blend: Blend) -> Any:
    from . import _torch

    ty, tx, k = kw["ty"], kw["tx"], kw["k"]
    wy, wx = window_1d(ty, blend), window_1d(tx, blend)
    nd = padded.ndim
    out_chunks = None
    if _chunks.is_dask(padded):
        ch = padded.chunks
        out_chunks = (
            *ch[:-3],
            (k + 1,),
            tuple(c + ty.overlap for c in ch[-2]),
            tuple(c + tx.overlap for c in ch[-1]),
        )
    stage = _chunks.map_halo_blocks(
        _torch.dense_block,
        padded,
        halo={nd - 2: ty.overlap, nd - 1: tx.overlap},
        out_chunks=out_chunks,
        dtype=np.float32,
        kwargs=dict(kw, wy=wy, wx=wx, crop=blend == "crop"),
    )
    summed = _chunks.overlap_add(
        stage,
        {nd - 2: ty.overlap, nd - 1: tx.overlap},
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
    if not _chunks.is_dask(out):
        return out
    return out.rechunk((*out.chunks[:-2], *da.data.chunks[-2:]))


def _per_patch(padded: Any, kw: dict) -> Any:
    from . import _torch

    ty, tx, k = kw["ty"], kw["tx"], kw["k"]
    nd = padded.ndim
    out_chunks = None
    if _chunks.is_dask(padded):
        ch = padded.chunks
        counts = [
            tuple(
                len(_torch._owned(int(s), int(c), t))
                for s, c in zip(np.cumsum((0,) + ch[a][:-1]), ch[a])
            )
            for a, t in ((-2, ty), (-1, tx))
        ]
        out_chunks = (*ch[:-3], (k,), *counts)
    return _chunks.map_halo_blocks(
        _torch.patch_block,
        padded,
        halo={nd - 2: ty.overlap, nd - 1: tx.overlap},
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
    blend: str,
) -> xr.DataArray:
    ydim, xdim = spatial_dims(da)
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
    hist = (
        f"apply_model(input_dims=({ty.patch}, {tx.patch}), overlap=({ty.overlap}, "
        f"{tx.overlap}), blend={blend!r}, bands={band_labels(da)})"
    )
    like = da if dense else da.isel({ydim: slice(0, 0), xdim: slice(0, 0)})
    return finalize(
        out,
        cube if dense else like,
        name=name or "prediction",
        long_name="model output",
        units="1",
        history=hist,
    )
