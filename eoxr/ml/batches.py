"""Training patches: a patch sequence in xbatcher's layout and a torch ``Dataset``.

Patches are cut as ``xbatcher.BatchGenerator(input_dims=..., input_overlap=...)`` cuts them
(patches that fit entirely, stride ``size - overlap``, one per step of the other dims), from our
own patch grid (:func:`eoxr.ml._geometry.patch_starts`), so that patches can be filtered (nodata)
without touching xbatcher's private state.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from .._dask import stats
from .._dims import spatial_dims
from ..bands import band_labels
from ..errors import ParameterError
from ..radiometry import model_input
from ._geometry import patch_starts
from ._kernels import prepare_block
from .preprocess import band_stats, select_channels
from .sklearn import check_label_grid


class Patches:
    """A sequence of patches of a cube: ``len``, integer indexing and iteration.

    Item ``i`` is ``obj.isel(selectors[i])``: a DataArray (or a Dataset with ``image`` and
    ``label``) of ``(*other, band, y, x)`` with length 1 along the other dims (time...), as an
    ``xbatcher.BatchGenerator`` item.

    Attributes
    ----------
    obj : DataArray or Dataset
        The cube (and labels) the patches are cut from.
    selectors : list of dict
        ``isel`` selectors, one per patch: other dims first, then rows, then columns.
    input_dims, input_overlap : dict
        Patch size and overlap per spatial dim.
    """

    def __init__(
        self,
        obj: xr.DataArray | xr.Dataset,
        selectors: list[dict[Hashable, slice]],
        input_dims: Mapping[Hashable, int],
        input_overlap: Mapping[Hashable, int],
        preload: bool = True,
    ) -> None:
        self.obj = obj
        self.selectors = selectors
        self.input_dims = dict(input_dims)
        self.input_overlap = dict(input_overlap)
        self.preload = preload

    def __len__(self) -> int:
        return len(self.selectors)

    def __getitem__(self, idx: int) -> xr.DataArray | xr.Dataset:
        n = len(self.selectors)
        if not -n <= int(idx) < n:
            raise IndexError(f"patch {idx} out of range ({n} patches)")
        patch = self.obj.isel(self.selectors[int(idx)])
        return patch.load() if self.preload else patch

    def __iter__(self) -> Iterator[xr.DataArray | xr.Dataset]:
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"<Patches: {len(self)} of {self.input_dims}, overlap {self.input_overlap}>"


class PatchBatches:
    """Groups of ``batch_size`` patches of a :class:`Patches`, stacked along ``patch``.

    Attributes
    ----------
    generator : Patches
        The underlying one-patch-per-item sequence.
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


def _selectors(
    da: xr.DataArray, size: Mapping[Hashable, int], overlap: Mapping[Hashable, int]
) -> list[dict[Hashable, slice]]:
    ydim, xdim = spatial_dims(da)
    other = list(da.dims[:-3])
    axes = [[slice(i, i + 1) for i in range(da.sizes[d])] for d in other]
    for d in (ydim, xdim):
        starts = patch_starts(da.sizes[d], size[d], overlap.get(d, 0))
        axes.append([slice(s, s + size[d]) for s in starts])
    return [dict(zip([*other, ydim, xdim], sel)) for sel in itertools.product(*axes)]


def _nodata_fraction_ok(
    selectors: list[dict], nodata: xr.DataArray, limit: float, progress: bool | None
) -> list[dict]:
    """The selectors whose patch has at most ``limit`` nodata pixels (one pass for the mask)."""
    (mask,) = stats.compute(nodata.data, progress=progress)
    mask = np.asarray(mask)
    dims = list(nodata.dims)
    kept = []
    for sel in selectors:
        part = mask[tuple(sel.get(d, slice(None)) for d in dims)]
        if part.size and part.mean() <= limit:
            kept.append(sel)
    return kept


def batches(
    cube: xr.DataArray | xr.Dataset,
    input_dims: Mapping[Hashable, int],
    *,
    input_overlap: Mapping[Hashable, int] | None = None,
    labels: xr.DataArray | None = None,
    batch_size: int | None = None,
    bands: Sequence[str] | None = None,
    max_nodata_fraction: float | None = None,
    preload_batch: bool = True,
    progress: bool | None = None,
) -> Patches | PatchBatches:
    """Training patches of ``(band, y, x)``, one per grid position and step of other dims.

    Parameters
    ----------
    cube : DataArray or Dataset
        Cube with a band dim (or one variable per band).
    input_dims : mapping
        Patch size per spatial dim (xbatcher's name), e.g. ``{"y": 64, "x": 64}``.
    input_overlap : mapping, optional
        Overlap of neighbouring patches per spatial dim (default 0).
    labels : DataArray, optional
        A label raster on the cube's grid: patches become Datasets with ``image`` and ``label``.
    batch_size : int, optional
        Group the patches in batches stacked along a new ``patch`` dim (:class:`PatchBatches`).
    bands : sequence of str, optional
        Bands to keep, picked by name in that order (any alias :mod:`eoxr.bands` knows).
    max_nodata_fraction : float, optional
        Skip patches whose fraction of nodata pixels (NaN in any band) exceeds this; the nodata
        mask is computed once (this verb then computes, with a progress bar).
    preload_batch : bool
        Load each patch into memory when it is taken.
    progress : bool, optional
        Progress bar of the nodata pass: ``None`` shows it in interactive sessions only.

    Returns
    -------
    Patches or PatchBatches
        A sequence (``len``, integer indexing, iteration) of patches laid out as xbatcher's
        ``BatchGenerator`` items. On a dask cube each patch is its own small compute:
        ``.persist()`` or ``.load()`` the cube first when it fits in memory.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> gen = batches(et.make_cube(ny=32, nx=32, times=None), {"y": 16, "x": 16})
    >>> len(gen), gen[0].dims
    (4, ('band', 'y', 'x'))
    """
    da = select_channels(cube, bands)
    ydim, xdim = spatial_dims(da)
    unknown = set(input_dims) - {ydim, xdim}
    if unknown:
        raise ParameterError(
            f"input_dims names {sorted(unknown)}; patches are cut along the spatial dims "
            f"({ydim!r}, {xdim!r}) only."
        )
    size = {d: int(input_dims.get(d, da.sizes[d])) for d in (ydim, xdim)}
    overlap = {d: int(v) for d, v in dict(input_overlap or {}).items()}
    for d in (ydim, xdim):
        if size[d] > da.sizes[d]:
            raise ParameterError(
                f"patch size {size[d]} along {d!r} is larger than the image ({da.sizes[d]} px): "
                f"use input_dims={{{d!r}: {da.sizes[d]}}} or smaller."
            )
        if not 0 <= overlap.get(d, 0) < size[d]:
            raise ParameterError(
                f"input_overlap[{d!r}]={overlap.get(d)} must be in [0, {size[d]}) (less than the "
                "patch size)."
            )
    obj: xr.DataArray | xr.Dataset = da
    if labels is not None:
        lab = check_label_grid(labels, da).reset_coords(drop=True)
        obj = xr.Dataset({"image": da, "label": lab})
    selectors = _selectors(da, size, overlap)
    if max_nodata_fraction is not None:
        nodata = da.isnull().any(da.dims[-3])
        selectors = _nodata_fraction_ok(selectors, nodata, float(max_nodata_fraction), progress)
    patches = Patches(obj, selectors, size, overlap, preload=preload_batch)
    if batch_size is not None:
        if batch_size < 1:
            raise ParameterError(f"batch_size={batch_size} must be >= 1.")
        return PatchBatches(patches, batch_size)
    return patches


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
    progress: bool | None = None,
) -> Any:
    """A torch ``Dataset`` of ``(C, H, W)`` float32 patches (and ``(H, W)`` int64 labels).

    Built on :func:`batches`; use it with a ``DataLoader``. Inputs are prepared exactly as
    :func:`eoxr.ml.apply_model` prepares them, so that a net trained on this dataset is applied
    with the same ``bands``, ``mean``, ``std`` and ``scale``.

    Parameters
    ----------
    cube : DataArray or Dataset
        Cube with a band dim (or one variable per band).
    labels : DataArray, optional
        Label raster on the cube's grid (NaN = unlabelled).
    input_dims, input_overlap : mapping, optional
        Patch size (default 64 px) and overlap per spatial dim.
    bands : sequence of str, optional
        Bands picked by name, in the model's order.
    mean, std : float or sequence of float, optional
        Per-band statistics in the order of ``bands``: patches become
        ``(value * scale - mean) / std``, then NaN -> 0.
    scale : float
        Factor applied first (e.g. ``1e-4`` for digital numbers).
    max_nodata_fraction : float, optional
        Skip patches with a larger fraction of nodata pixels (default 0.5).
    ignore_index : int
        Label of unlabelled pixels (the default of ``torch.nn.CrossEntropyLoss``).
    progress : bool, optional
        Progress bar of the nodata pass: ``None`` shows it in interactive sessions only.

    Returns
    -------
    torch.utils.data.Dataset
        Items ``x`` or ``(x, y)``: ``(C, H, W)`` float32 and ``(H, W)`` int64 tensors.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> ds = torch_dataset(et.make_cube(ny=32, nx=32), input_dims={"y": 16, "x": 16})
    >>> tuple(ds[0].shape)
    (4, 16, 16)
    """
    import torch

    # the radiometry apply_model gives the model (eoxr.radiometry.model_input), so that training
    # and inference see the same values
    cube = model_input(cube, mean=mean, scale=scale, bands=bands, what="torch_dataset")
    labels_ = band_labels(select_channels(cube, bands))
    mean_a, std_a = band_stats(mean, "mean", labels_), band_stats(std, "std", labels_)
    gen = batches(
        cube,
        input_dims or {"y": 64, "x": 64},
        input_overlap=input_overlap,
        labels=labels,
        bands=bands,
        max_nodata_fraction=max_nodata_fraction,
        progress=progress,
    )

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
