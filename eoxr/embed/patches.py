"""Embedding cubes: one encoder vector per patch, on the grid of patch centres.

Patches tile the cube from its first pixel with a fixed ``stride`` and only whole patches are
used (like a "valid" convolution): the last ``(size - patch) % stride`` rows and columns are not
covered. The patches are cut and run by :func:`eoxr.ml.apply_model`'s per-patch path on the
cube cropped to the covered extent, so no patch ever sees padding, every patch is run exactly
once on any chunking, and the result is lazy for a dask cube.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import xarray as xr

from .._attrs import append_history
from .._resolved import ResolvedBands, resolve_cube
from ..errors import ParameterError
from ..models.encoder import Encoder, check_dtype, select_resolved
from ..radiometry import for_model


def patch_geometry(n: int, patch: int, stride: int, dim: Hashable) -> tuple[int, int]:
    """Number of whole patches along an axis of ``n`` pixels and the length they cover."""
    if patch > n:
        raise ParameterError(
            f"patch={patch} is larger than the cube along {dim!r} ({n} px): use patch <= {n} "
            "or a larger cube."
        )
    count = (n - patch) // stride + 1
    return count, (count - 1) * stride + patch


def centre_coords(coord: xr.DataArray, count: int, patch: int, stride: int) -> np.ndarray:
    """The mean of each patch's pixel coordinates (exactly ``np.mean`` over the patch)."""
    v = np.asarray(coord.values, dtype=np.float64)
    windows = np.lib.stride_tricks.sliding_window_view(v, patch)[::stride][:count]
    return windows.mean(axis=1)


def _check_encoder(enc: Any) -> Encoder:
    if not isinstance(enc, Encoder):
        raise ParameterError(
            f"embed needs an eoxr.embed.Encoder, got {type(enc).__name__}: wrap the model with "
            "its preprocessing, e.g. eoxr.embed.encoder(model, bands=[...], mean=[...], "
            "std=[...]), or use eoxr.embed.encoder('rcf', bands=[...])."
        )
    return enc


def _run_patches(
    da: xr.DataArray,
    rb: ResolvedBands,
    enc: Encoder,
    patch: int,
    stride: int,
    batch_size: int,
    device: str | None,
) -> xr.DataArray:
    """``apply_model`` per patch with the encoder's preprocessing (bands already selected)."""
    from ..ml.apply import apply_resolved

    ydim, xdim = da.dims[-2:]
    dims, over = {ydim: patch, xdim: patch}, {ydim: patch - stride, xdim: patch - stride}
    kw: dict = dict(batch_size=batch_size, device=device, output_dim="feature", name="embedding")
    if enc.pipeline is None:
        kw.update(mean=list(enc.mean), std=list(enc.std), scale=enc.scale)
    else:  # scaling, normalization, resizing... per batch of patches
        kw.update(transform=enc.pipeline)
    return apply_resolved(da, rb, enc.eoxr_model, input_dims=dims, input_overlap=over, **kw)


def embed(
    cube: xr.DataArray | xr.Dataset,
    enc: Encoder,
    *,
    patch: int | None = None,
    stride: int | None = None,
    batch_size: int = 64,
    device: str | None = None,
) -> xr.DataArray:
    """Embed every patch of a cube with an encoder: a lazy cube of feature vectors.

    Parameters
    ----------
    cube : DataArray or Dataset
        Float reflectance with the encoder's bands (picked by name, any order); extra dims
        (time...) are kept. Digital numbers of a product :func:`eoxr.radiometry.to_reflectance`
        knows (Sentinel-2, Landsat C2 L2) are converted first when the encoder's constants are
        in reflectance; other DN raise :class:`~eoxr.errors.UnitsError`, and so do float values
        in the thousands, when computed.
    enc : Encoder
        From :func:`eoxr.embed.encoder`; its model maps ``(N, C, patch, patch)`` to ``(N, K)``
        (``(N, C, input_size, input_size)`` for an encoder that resizes its patches: they are
        cut at ``patch`` pixels and resized to the model's size after normalization).
    patch : int, optional
        Patch size in pixels (default the encoder's, else 32).
    stride : int, optional
        Step between patches (default ``patch``); ``stride < patch`` gives overlapping patches.
    batch_size : int
        Patches per forward pass.
    device : str, optional
        Torch device (default CUDA when available).

    Returns
    -------
    DataArray
        float32 ``(feature, y, x)`` plus the cube's extra dims (the band dim's place is taken by
        ``feature``), ``y``/``x`` at the patch centres (the mean of each patch's pixel
        coordinates), CRS kept, attrs naming the encoder and its preprocessing. Patches without
        a valid pixel are NaN; NaN pixels inside a patch are set to the band mean (0 after
        standardisation; 0 after any other normalization) before resizing. Lazy for a dask
        cube, identical on any chunking.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> from eoxr.embed import encoder
    >>> enc = encoder("rcf", bands=["red", "nir"], features=8, size=3)
    >>> emb = embed(et.make_cube(ny=40, nx=40, times=None), enc, patch=16, stride=8)
    >>> emb.sizes["feature"], emb.sizes["y"], emb.sizes["x"]
    (8, 4, 4)
    """
    enc = _check_encoder(enc)
    p = int(patch or enc.patch or 32)
    s = int(stride or p)
    if p < 1 or not 1 <= s <= p:
        raise ParameterError(
            f"patch={patch!r}, stride={stride!r}: expected 1 <= stride <= patch (stride > patch "
            "would skip pixels); e.g. patch=32, stride=16."
        )
    if batch_size < 1:
        raise ParameterError(f"batch_size={batch_size} must be >= 1.")
    # the encoder's constants say whether it takes reflectance or DN (eoxr.radiometry)
    what = f"embed with encoder {enc.name!r}"
    read = enc.bands if enc.pipeline is None else enc.pipeline.read_bands
    units = (enc.mean, enc.scale) if enc.pipeline is None else (enc.pipeline.mean, enc.scale)
    rb = resolve_cube(cube)  # once: the selection and apply_model read it
    cube, rb = for_model(cube, rb, mean=units[0], scale=units[1], bands=read, what=what)
    da, rb = select_resolved(cube, rb, read)
    check_dtype(da, enc)
    ydim, xdim = da.dims[-2:]
    cy, ly = patch_geometry(da.sizes[ydim], p, s, ydim)
    cx, lx = patch_geometry(da.sizes[xdim], p, s, xdim)
    covered = da.isel({ydim: slice(0, ly), xdim: slice(0, lx)})
    out = _run_patches(covered, rb, enc, p, s, batch_size, device)
    if out.sizes[ydim] != cy or out.sizes[xdim] != cx:
        raise ParameterError(
            f"the model of encoder {enc.name!r} returns dense maps, not one vector per patch: end "
            "it with pooling, e.g. torch.nn.Sequential(model, torch.nn.AdaptiveAvgPool2d(1), "
            "torch.nn.Flatten())."
        )
    out = out.assign_coords(
        {
            ydim: centre_coords(da[ydim], cy, p, s),
            xdim: centre_coords(da[xdim], cx, p, s),
        }
    )
    res = [_spacing(da[d]) for d in (ydim, xdim)]
    attrs = dict(out.attrs)
    attrs.update(enc.describe())
    attrs.update(
        long_name="embedding", units="1", patch=p, stride=s, pixel_size=res, band_dim=da.dims[-3]
    )
    hist = f"embed(encoder={enc.name!r}, patch={p}, stride={s}, bands={list(enc.bands)}"
    if enc.pipeline is not None:
        hist += f", model input {enc.pipeline.output_size(p)} px"
    hist += ")"
    out.attrs = append_history(attrs, hist)
    return out.rename("embedding")


def _spacing(coord: xr.DataArray) -> float:
    """Signed pixel spacing of a regular coordinate (1 for a single sample)."""
    v = np.asarray(coord.values, dtype=np.float64)
    return float((v[-1] - v[0]) / (len(v) - 1)) if len(v) > 1 else 1.0


__all__ = ["embed", "centre_coords", "patch_geometry"]
