"""Torch side of model application: model preparation, probing and the per-block patch kernels.

Everything here imports torch, so only :mod:`eoxr.ml.apply` imports this module, inside the
function that needs it.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch

from ..errors import ModelError, ParameterError
from ._geometry import AxisTiling


def pick_device(device: str | torch.device | None) -> torch.device:
    """``None`` -> CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def prepare_model(model: torch.nn.Module, device: str) -> torch.nn.Module:
    """The model in eval mode on ``device``, copied only when the caller's one would change.

    Called once per worker (it is one dask graph key), so the weights travel once.
    """
    dev = torch.device(device)
    params = list(model.parameters()) + list(model.buffers())
    on_device = all(p.device == dev for p in params)
    if model.training or not on_device:
        model = copy.deepcopy(model).to(dev)
        model.eval()
    return model


def expected_channels(model: torch.nn.Module) -> int | None:
    """Input channels the model's first layer expects (``None`` when it cannot tell)."""
    for m in model.modules():
        for attr in ("in_channels", "in_features"):
            n = getattr(m, attr, None)
            if isinstance(n, int):
                return n
    return None


def _autocast(device: torch.device, autocast: bool | torch.dtype) -> Any:
    if not autocast:
        return contextlib.nullcontext()
    dtype = (
        autocast
        if isinstance(autocast, torch.dtype)
        else (torch.float16 if device.type == "cuda" else torch.bfloat16)
    )
    return torch.autocast(device_type=device.type, dtype=dtype)


def forward(
    model: torch.nn.Module,
    batch: np.ndarray,
    device: torch.device,
    autocast: bool | torch.dtype = False,
) -> np.ndarray:
    """One forward pass of a ``(N, C, H, W)`` float32 batch; float32 numpy out."""
    x = torch.from_numpy(np.ascontiguousarray(batch)).to(device, non_blocking=True)
    with torch.inference_mode(), _autocast(device, autocast):
        y = model(x)
    # contiguous and owned: the kernels weigh predictions in place (an expanded output of
    # stride 0 would otherwise be written several times over)
    return np.ascontiguousarray(y.float().cpu().numpy())


def probe(
    model: torch.nn.Module,
    channels: int,
    patch: tuple[int, int],
    device: torch.device,
    autocast: bool | torch.dtype,
) -> tuple[int, bool]:
    """Run the model once on zeros: return ``(K, dense)`` or raise a clear error."""
    want = expected_channels(model)
    if want is not None and want != channels:
        raise ParameterError(
            f"the model expects {want} input channels but the cube gives {channels} bands: pick "
            f"{want} bands with `bands=[...]` (or check the band dimension)."
        )
    try:
        out = forward(model, np.zeros((1, channels, *patch), np.float32), device, autocast)
    except Exception as err:
        raise ParameterError(
            f"the model failed on a (1, {channels}, {patch[0]}, {patch[1]}) test batch "
            f"({channels} bands from the cube; model expects {want or 'an unknown number of'} "
            f"channels): {type(err).__name__}: {err}"
        ) from err
    if out.ndim == 2:
        return out.shape[1], False
    if out.ndim == 4 and out.shape[2:] == tuple(patch):
        return out.shape[1], True
    raise ParameterError(
        f"the model returned shape {out.shape} for input (1, {channels}, {patch[0]}, "
        f"{patch[1]}); expected (N, K, {patch[0]}, {patch[1]}) (dense) or (N, K) (per patch)."
    )


def _owned(origin: int, core: int, tiling: AxisTiling) -> range:
    """Indices of the patches whose first sample lies in ``[origin, origin + core)``."""
    s = tiling.stride
    return range(-(-origin // s), min(-(-(origin + core) // s), tiling.count))


def _patches(
    valid: np.ndarray | None,
    n_lead: int,
    oy: int,
    ox: int,
    ky: range,
    kx: range,
    ty: AxisTiling,
    tx: AxisTiling,
) -> Iterator[tuple[int, int, int, int, int]]:
    """``(l, ky, kx, local_y, local_x)`` of every patch that has at least one valid pixel
    (``valid=None``: all pixels are valid).
    """
    for l in range(n_lead):
        for i in ky:
            ly = i * ty.stride - oy
            for j in kx:
                lx = j * tx.stride - ox
                if valid is None or valid[l, ly : ly + ty.patch, lx : lx + tx.patch].any():
                    yield l, i, j, ly, lx


def _batches(items: Iterator, size: int) -> Iterator[list]:
    batch: list = []
    for it in items:
        batch.append(it)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _run_checked(
    model: torch.nn.Module,
    x: np.ndarray,
    batch: list,
    device: torch.device,
    autocast: bool | torch.dtype,
    ty: AxisTiling,
    tx: AxisTiling,
    lead_index: Sequence[tuple],
) -> np.ndarray:
    try:
        return forward(model, x, device, autocast)
    except Exception as err:
        # Re-run patch by patch to name the culprit (a batch-level failure names the batch).
        bad = batch
        for n, item in enumerate(batch):
            try:
                forward(model, x[n : n + 1], device, autocast)
            except Exception:
                bad = [item]
                break
        where = "; ".join(
            f"{'leading index ' + str(lead_index[l]) + ', ' if lead_index[l] else ''}"
            f"rows [{i * ty.stride - ty.lead}, {i * ty.stride - ty.lead + ty.patch}), "
            f"cols [{j * tx.stride - tx.lead}, {j * tx.stride - tx.lead + tx.patch})"
            for l, i, j, _, _ in bad[:4]
        )
        raise ModelError(
            f"the model raised {type(err).__name__}: {err} -- on patch(es) at image pixels "
            f"{where} (negative or past-the-end indices are reflect padding)."
        ) from err


def _prepare_block(
    block: np.ndarray, mean: np.ndarray | None, std: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Flatten leading dims, normalise, fill NaN with 0 (the band mean once normalised).

    Returns the model input and the pixel validity mask, ``None`` when every pixel is valid.
    The input is copied only when it must change: the patches are copied into the batch anyway,
    and for a cheap model a whole-block copy is a large part of the run time.
    """
    c, yb, xb = block.shape[-3:]
    x = block.reshape(-1, c, yb, xb).astype(np.float32, copy=False)
    # One summing pass finds NaN-free blocks (the common case) without a full-size bool mask;
    # a non-finite sum may also come from +-inf, so only then is the mask computed.
    valid = None if np.isfinite(x.sum()) else ~np.isnan(x).any(axis=1)
    if mean is not None:
        x = x - mean.reshape(1, c, 1, 1)
        x /= std.reshape(1, c, 1, 1)
    if valid is not None and not valid.all():
        if mean is None and np.may_share_memory(x, block):
            x = x.copy()
        np.copyto(x, 0.0, where=np.isnan(x))  # NaN only: +-inf are data, not nodata
    return x, valid


def _interior(w: np.ndarray) -> tuple[int, int]:
    """``[a, b)`` where the window is exactly 1: there a weighted add is a plain add."""
    ones = np.flatnonzero(w == 1.0)
    if ones.size == 0 or not np.all(w[ones[0] : ones[-1] + 1] == 1.0):
        return 0, 0
    return int(ones[0]), int(ones[-1]) + 1


def _weigh(pred: np.ndarray, w2: np.ndarray, iy: tuple[int, int], ix: tuple[int, int]) -> None:
    """``pred *= w2`` in place, skipping the interior where ``w2 == 1`` (bit-identical result:
    there ``wy * wx == 1`` exactly; the interior is two thirds of a 256 px patch at overlap 32).
    """
    (a, b), (c, d) = iy, ix
    if b <= a or d <= c:
        pred *= w2
        return
    pred[..., :a, :] *= w2[:a, :]
    pred[..., b:, :] *= w2[b:, :]
    pred[..., a:b, :c] *= w2[a:b, :c]
    pred[..., a:b, d:] *= w2[a:b, d:]


def _stacked(
    x: np.ndarray, batch: list, buf: np.ndarray, ty: AxisTiling, tx: AxisTiling
) -> np.ndarray:
    """The batch's patches copied into a reused buffer (no fresh pages per batch)."""
    out = buf[: len(batch)]
    for n, (l, _, _, ly, lx) in enumerate(batch):
        out[n] = x[l, :, ly : ly + ty.patch, lx : lx + tx.patch]
    return out


def dense_block(
    block: np.ndarray,
    *,
    origin: tuple,
    core: tuple,
    model: Any,
    k: int,
    ty: AxisTiling,
    tx: AxisTiling,
    wy: np.ndarray,
    wx: np.ndarray,
    crop: bool,
    batch_size: int,
    device: str,
    autocast: Any,
    mean: np.ndarray | None,
    std: np.ndarray | None,
) -> np.ndarray:
    """Weighted predictions of the patches a block owns, over ``core + overlap``.

    Channel ``k`` (the last) carries the block's own validity mask on its core and zeros in the
    spill, so that after the overlap-add it is exactly the nodata mask of the output (the input
    is then read by this one task only, not again by a separate masking pass).
    """
    lead = block.shape[:-3]
    x, valid = _prepare_block(block, mean, std)
    oy, ox = origin[-2:]
    cy, cx = core[-2:]
    out = np.zeros((x.shape[0], k + 1, cy + ty.overlap, cx + tx.overlap), np.float32)
    out[:, k, :cy, :cx] = 1.0 if valid is None else valid[:, :cy, :cx]
    w2 = wy[:, None] * wx[None, :]
    iy, ix = _interior(wy), _interior(wx)
    lead_index = list(np.ndindex(*lead)) if lead else [()]
    dev = torch.device(device)
    buf = np.empty((batch_size, x.shape[1], ty.patch, tx.patch), np.float32)
    todo = _patches(valid, x.shape[0], oy, ox, _owned(oy, cy, ty), _owned(ox, cx, tx), ty, tx)
    for batch in _batches(todo, batch_size):
        pred = _run_checked(
            model, _stacked(x, batch, buf, ty, tx), batch, dev, autocast, ty, tx, lead_index
        )
        if not crop:
            _weigh(pred, w2, iy, ix)
        for n, (l, _, _, ly, lx) in enumerate(batch):
            if crop:  # centre parts tile the grid: a plain copy, no multiply-add
                y0, x0 = ly + ty.lead, lx + tx.lead
                out[l, :k, y0 : y0 + ty.stride, x0 : x0 + tx.stride] = pred[
                    n, :, ty.lead : ty.lead + ty.stride, tx.lead : tx.lead + tx.stride
                ]
            else:
                out[l, :k, ly : ly + ty.patch, lx : lx + tx.patch] += pred[n]
        # free before the next forward pass, so that it reuses these (warm) pages
        del pred
    return out.reshape(*lead, k + 1, out.shape[-2], out.shape[-1])


def patch_block(
    block: np.ndarray,
    *,
    origin: tuple,
    core: tuple,
    model: Any,
    k: int,
    ty: AxisTiling,
    tx: AxisTiling,
    batch_size: int,
    device: str,
    autocast: Any,
    mean: np.ndarray | None,
    std: np.ndarray | None,
) -> np.ndarray:
    """One ``K``-vector per owned patch (NaN for patches without a valid pixel)."""
    lead = block.shape[:-3]
    x, valid = _prepare_block(block, mean, std)
    oy, ox = origin[-2:]
    ky, kx = _owned(oy, core[-2], ty), _owned(ox, core[-1], tx)
    out = np.full((x.shape[0], k, len(ky), len(kx)), np.nan, np.float32)
    lead_index = list(np.ndindex(*lead)) if lead else [()]
    dev = torch.device(device)
    buf = np.empty((batch_size, x.shape[1], ty.patch, tx.patch), np.float32)
    for batch in _batches(_patches(valid, x.shape[0], oy, ox, ky, kx, ty, tx), batch_size):
        pred = _run_checked(
            model, _stacked(x, batch, buf, ty, tx), batch, dev, autocast, ty, tx, lead_index
        )
        for n, (l, i, j, _, _) in enumerate(batch):
            out[l, :, i - ky.start, j - kx.start] = pred[n]
    return out.reshape(*lead, k, len(ky), len(kx))
