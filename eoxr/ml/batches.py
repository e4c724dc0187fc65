"""Training batches with xbatcher: patch generators and a torch ``Dataset`` for a ``DataLoader``."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._dims import spatial_dims
from ..bands import band_labels
from ..errors import ParameterError
from ._kernels import prepare_block
from .apply import band_stats, select_channels


def _keep_patches(gen: Any, nodata: xr.DataArray, limit: float) -> None:
    """Drop the generator's patches whose nodata fraction exceeds ``limit`` (in place).

    The per-pixel nodata mask is computed once (one pass over the cube).
    """
    mask = np.asarray(nodata.values)
    dims = list(nodata.dims)
    kept = []
    for sel in gen._batch_selectors.selectors.values():
        part = mask[tuple(sel[0].get(d, slice(None)) for d in dims)]
        if part.size and part.mean() <= limit:
            kept.append(sel)
    gen._batch_selectors.selectors = dict(enumerate(kept))


class PatchBatches:
    """Groups of ``batch_size`` patches of an xbatcher generator, stacked along ``patch``.

    Attributes
    ----------
    generator : xbatcher.BatchGenerator
        The underlying one-patch-per-item generator.
    """

    def __init__(self, generator: Any, batch_size: int) -> None:
        self.generator = generator
        self.batch_size = int(batch_size)

    def __len__(self) -> int:
        return -(-len(self.generator) // self.batch_size)

    def __getitem__(self, idx: int) -> xr.DataArray | xr.Dataset:
        if not 0 <= idx < len(self):
            raise IndexError(f"batch {idx} out of range (0..{len(self) - 1})")
        stop = min(len(self.generator), (idx + 1) * self.batch_size)
        items = [
            self.generator[i].reset_coords(drop=True) for i in range(idx * self.batch_size, stop)
        ]
        return xr.concat(items, dim="patch", coords="minimal", compat="override", join="override")

    def __iter__(self) -> Any:
        return (self[i] for i in range(len(self)))


def batches(
    cube: xr.DataArray | xr.Dataset,
    input_dims: Mapping[Hashable, int],
    input_overlap: Mapping[Hashable, int] | None = None,
    labels: xr.DataArray | None = None,
    *,
    batch_size: int | None = None,
    bands: Sequence[str] | None = None,
    max_nodata_fraction: float | None = None,
    preload_batch: bool = True,
) -> Any:
    """An xbatcher ``BatchGenerator`` of ``(band, y, x)`` patches, one per step of other dims.

    With ``batch_size`` the patches come in groups stacked along a new ``patch`` dim
    (:class:`PatchBatches`, wrapping the generator: xbatcher's own ``concat_input_dims`` is
    unusable for DataArrays).

    With ``labels`` (a DataArray on the cube's grid) patches are Datasets with ``image`` and
    ``label``. Patches whose fraction of nodata pixels (NaN in any band) exceeds
    ``max_nodata_fraction`` are skipped. On a dask cube each patch is its own small compute:
    ``.persist()`` or ``.load()`` the cube first when it fits in memory.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> gen = batches(et.make_cube(ny=32, nx=32, times=None), {"y": 16, "x": 16})
    >>> len(gen), gen[0].dims
    (4, ('band', 'y', 'x'))
    """
    import xbatcher

    da = select_channels(cube, bands)
    ydim, xdim = spatial_dims(da)
    bdim = da.dims[-3]
    other = [d for d in da.dims[:-3]]
    dims = {bdim: da.sizes[bdim], **{d: int(v) for d, v in input_dims.items()}}
    for d in (ydim, xdim):
        if dims.get(d, 0) > da.sizes[d]:
            raise ParameterError(
                f"patch size {dims[d]} along {d!r} is larger than the image ({da.sizes[d]} px)."
            )
    obj: xr.DataArray | xr.Dataset = da
    if labels is not None:
        obj = xr.Dataset({"image": da, "label": labels.reset_coords(drop=True)})
    gen = xbatcher.BatchGenerator(
        obj,
        input_dims=dims,
        input_overlap=dict(input_overlap or {}),
        batch_dims={d: 1 for d in other},
        preload_batch=preload_batch,
    )
    if max_nodata_fraction is not None:
        _keep_patches(gen, da.isnull().any(bdim), float(max_nodata_fraction))
    if batch_size is not None:
        if batch_size < 1:
            raise ParameterError(f"batch_size={batch_size} must be >= 1.")
        return PatchBatches(gen, batch_size)
    return gen


def _squeeze(a: np.ndarray, ndim: int) -> np.ndarray:
    return a.reshape(a.shape[-ndim:]) if a.ndim > ndim else a


def torch_dataset(
    cube: xr.DataArray | xr.Dataset,
    labels: xr.DataArray | None = None,
    *,
    input_dims: Mapping[Hashable, int] | None = None,
    input_overlap: Mapping[Hashable, int] | None = None,
    bands: Sequence[str] | None = None,
    mean: float | Sequence[float] | None = None,
    std: float | Sequence[float] | None = None,
    scale: float = 1.0,
    max_nodata_fraction: float | None = 0.5,
    ignore_index: int = -100,
) -> Any:
    """A torch ``Dataset`` of ``(C, H, W)`` float32 patches (and ``(H, W)`` int64 labels).

    Inputs become ``(value * scale - mean) / std`` and NaN are set to 0 (as in
    :func:`eoxr.ml.apply_model`); NaN labels become ``ignore_index`` (the default of
    ``torch.nn.CrossEntropyLoss``). Built on :func:`batches`; use it with a ``DataLoader``.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> ds = torch_dataset(et.make_cube(ny=32, nx=32), input_dims={"y": 16, "x": 16})
    >>> tuple(ds[0].shape)
    (4, 16, 16)
    """
    import torch

    gen = batches(
        cube,
        input_dims or {"y": 64, "x": 64},
        input_overlap,
        labels,
        bands=bands,
        max_nodata_fraction=max_nodata_fraction,
    )
    labels_ = band_labels(select_channels(cube, bands))
    mean_a, std_a = band_stats(mean, "mean", labels_), band_stats(std, "std", labels_)

    class _PatchDataset(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(gen)

        def __getitem__(self, idx: int) -> Any:
            item = gen[int(idx)]
            img = item["image"] if labels is not None else item
            x = _squeeze(np.asarray(img.values, dtype=np.float32), 3)[None]
            # the same (value * scale - mean) / std and NaN -> 0 as apply_model; owned copy
            x = prepare_block(x, mean_a, std_a, scale)[0][0].copy()
            x = torch.from_numpy(x)
            if labels is None:
                return x
            y = _squeeze(np.asarray(item["label"].values, dtype=np.float64), 2)
            y = np.where(np.isnan(y), ignore_index, y).astype(np.int64)
            return x, torch.from_numpy(y)

    return _PatchDataset()
