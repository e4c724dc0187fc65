"""Per-block patch kernels shared by every model backend (torch, ONNX).

A backend is a *runner*: a callable taking a ``(N, C, H, W)`` float32 batch and returning a
contiguous float32 numpy array it owns, ``(N, K, H, W)`` (dense) or ``(N, K)`` (one vector per
patch), with an attribute ``channels`` (input channels the model expects, ``None`` when it cannot
tell). Nothing here imports torch or onnxruntime.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from ..errors import ModelError, ParameterError
from ._geometry import AxisTiling


def probe(
    runner: Any, channels: int, patch: tuple[int, int], transform: Any = None
) -> tuple[int, bool, int | None]:
    """Run the model once on two random patches: ``(K, dense, receptive radius)``.

    The second patch differs from the first in its centre pixel only; for a dense model the
    output differs within the receptive radius of that pixel, which is returned (``None`` for a
    per-patch model). ``transform`` (see :func:`patch_block`) runs on the patches first. Raises
    a :class:`ParameterError` saying what the model expects.
    """
    want = getattr(runner, "channels", None)
    given = getattr(transform, "channels", channels)
    if want is not None and want != given:
        raise ParameterError(
            f"the model expects {want} input channels but "
            f"{'the cube gives' if transform is None else 'the preprocessing gives'} {given} "
            "bands: pick "
            f"{want} bands with `bands=[...]` (or check the band dimension)."
        )
    cy, cx = patch[0] // 2, patch[1] // 2
    x = np.repeat(np.random.default_rng(0).random((1, channels, *patch), np.float32), 2, axis=0)
    x[1, :, cy, cx] += 1.0
    try:
        out = runner(x if transform is None else transform(x))
    except Exception as err:
        raise ParameterError(
            f"the model failed on a (2, {channels}, {patch[0]}, {patch[1]}) test batch "
            f"({channels} bands from the cube; model expects {want or 'an unknown number of'} "
            f"channels): {type(err).__name__}: {err}"
        ) from err
    if out.ndim == 2 and out.shape[0] == 2:
        return out.shape[1], False, None
    if out.ndim == 4 and transform is not None and out.shape[2:] != tuple(patch):
        raise ParameterError(
            f"the model returned dense maps of shape {out.shape} for {patch[0]} x {patch[1]} "
            "patches resized before it: a resizing encoder must return one vector per patch "
            "(end the model with pooling, e.g. torch.nn.AdaptiveAvgPool2d(1) + Flatten)."
        )
    if out.ndim == 4 and out.shape[0] == 2 and out.shape[2:] == tuple(patch):
        return out.shape[1], True, _radius(np.abs(out[1] - out[0]).max(axis=0), cy, cx)
    raise ParameterError(
        f"the model returned shape {out.shape} for input (2, {channels}, {patch[0]}, "
        f"{patch[1]}); expected (2, K, {patch[0]}, {patch[1]}) (dense) or (2, K) (per patch)."
    )


def _radius(diff: np.ndarray, cy: int, cx: int) -> int:
    """Chebyshev distance from ``(cy, cx)`` to the farthest pixel that changed.

    Changes below a millionth of the largest are rounding (tiled convolution algorithms round
    a whole output tile differently when one of its inputs changes), not reach.
    """
    peak = float(diff.max()) if diff.size else 0.0
    if not np.isfinite(peak) or peak == 0.0:
        return 0 if peak == 0.0 else max(diff.shape)
    iy, ix = np.nonzero(diff > 1e-6 * peak)
    return int(max(np.abs(iy - cy).max(), np.abs(ix - cx).max()))


def owned(origin: int, core: int, tiling: AxisTiling) -> range:
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
    """``(l, ky, kx, local_y, local_x)`` of every patch with at least one valid pixel.

    ``valid=None`` means that all pixels are valid.
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
    runner: Any,
    x: np.ndarray,
    batch: list,
    ty: AxisTiling,
    tx: AxisTiling,
    lead_index: Sequence[tuple],
) -> np.ndarray:
    try:
        return runner(x)
    except Exception as err:
        # Re-run patch by patch to name the culprit (a batch-level failure names the batch).
        bad = batch
        for n, item in enumerate(batch):
            try:
                runner(x[n : n + 1])
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


def prepare_block(
    block: np.ndarray,
    mean: np.ndarray | None,
    std: np.ndarray | None,
    scale: float = 1.0,
    fill: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Flatten leading dims, compute ``(value * scale - mean) / std``, fill NaN with 0.

    Returns the model input and the pixel validity mask, ``None`` when every pixel is valid.
    ``mean``/``std`` ``None`` stand for 0 and 1. NaN become 0 after normalisation (the band
    mean). The input is copied only when it must change: the patches are copied into the batch
    anyway, and for a cheap model a whole-block copy is a large part of the run time.
    """
    c, yb, xb = block.shape[-3:]
    x = block.reshape(-1, c, yb, xb).astype(np.float32, copy=False)
    # One summing pass finds NaN-free blocks (the common case) without a full-size bool mask;
    # a non-finite sum may also come from +-inf, so only then is the mask computed.
    valid = None if np.isfinite(x.sum()) else ~np.isnan(x).any(axis=1)
    changed = scale != 1.0 or mean is not None or std is not None
    if changed:
        x = x * np.float32(scale)  # the one copy of the block
        if mean is not None:
            x -= mean.reshape(1, c, 1, 1)
        if std is not None:
            x /= std.reshape(1, c, 1, 1)
    if fill and valid is not None and not valid.all():
        if not changed and np.may_share_memory(x, block):
            x = x.copy()
        np.copyto(x, 0.0, where=np.isnan(x))  # NaN only: +-inf are data, not nodata
    return x, valid


def interior(w: np.ndarray) -> tuple[int, int]:
    """``[a, b)`` where the window is exactly 1: there a weighted add is a plain add."""
    ones = np.flatnonzero(w == 1.0)
    if ones.size == 0 or not np.all(w[ones[0] : ones[-1] + 1] == 1.0):
        return 0, 0
    return int(ones[0]), int(ones[-1]) + 1


def weigh(pred: np.ndarray, w2: np.ndarray, iy: tuple[int, int], ix: tuple[int, int]) -> None:
    """``pred *= w2`` in place, skipping the interior where ``w2 == 1``.

    The result is bit-identical: there ``wy * wx == 1`` exactly; the interior is two thirds of a
    256 px patch at overlap 32.
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
    x: np.ndarray,
    batch: list,
    buf: np.ndarray,
    ty: AxisTiling,
    tx: AxisTiling,
    transform: Any = None,
) -> np.ndarray:
    """The batch's patches copied into a reused buffer (no fresh pages per batch).

    ``transform`` (a callable on the ``(N, C, h, w)`` batch, NaN kept) then makes the model input.
    """
    out = buf[: len(batch)]
    for n, (l, _, _, ly, lx) in enumerate(batch):
        out[n] = x[l, :, ly : ly + ty.patch, lx : lx + tx.patch]
    return out if transform is None else transform(out)


def dense_block(
    block: np.ndarray,
    *,
    origin: tuple,
    core: tuple,
    runner: Any,
    k: int,
    ty: AxisTiling,
    tx: AxisTiling,
    wy: np.ndarray,
    wx: np.ndarray,
    crop: bool,
    batch_size: int,
    mean: np.ndarray | None,
    std: np.ndarray | None,
    scale: float,
    halo: tuple[int, int],
    transform: Any = None,
) -> np.ndarray:
    """Weighted predictions of the patches a block owns, over ``core + halo``.

    ``halo`` is how far the block's patches reach past its end per spatial axis (its input
    carries that much of the next block; the predictions there are spilled onto it).

    Channel ``k`` (the last) carries the block's own validity mask on its core and zeros in the
    spill, so that after the overlap-add it is exactly the nodata mask of the output (the input
    is then read by this one task only, not again by a separate masking pass).
    """
    lead = block.shape[:-3]
    x, valid = prepare_block(block, mean, std, scale, fill=transform is None)
    oy, ox = origin[-2:]
    cy, cx = core[-2:]
    out = np.zeros((x.shape[0], k + 1, cy + halo[0], cx + halo[1]), np.float32)
    out[:, k, :cy, :cx] = 1.0 if valid is None else valid[:, :cy, :cx]
    w2 = wy[:, None] * wx[None, :]
    iy, ix = interior(wy), interior(wx)
    lead_index = list(np.ndindex(*lead)) if lead else [()]
    buf = np.empty((batch_size, x.shape[1], ty.patch, tx.patch), np.float32)
    todo = _patches(valid, x.shape[0], oy, ox, owned(oy, cy, ty), owned(ox, cx, tx), ty, tx)
    for batch in _batches(todo, batch_size):
        xb = _stacked(x, batch, buf, ty, tx, transform)
        pred = _run_checked(runner, xb, batch, ty, tx, lead_index)
        if not crop:
            weigh(pred, w2, iy, ix)
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
    runner: Any,
    k: int,
    ty: AxisTiling,
    tx: AxisTiling,
    batch_size: int,
    mean: np.ndarray | None,
    std: np.ndarray | None,
    scale: float,
    halo: tuple[int, int],
    transform: Any = None,
) -> np.ndarray:
    """One ``K``-vector per owned patch (NaN for patches without a valid pixel).

    The block carries ``halo`` samples of the next block per spatial axis (the reach of its
    last patches), as in :func:`dense_block`. ``transform``, when given, gets each batch of
    patches after ``scale``/``mean``/``std`` with NaN kept, and returns the model's input
    (:class:`eoxr.models.pipeline.Pipeline`: resizing, per-patch stretches...).
    """
    lead = block.shape[:-3]
    x, valid = prepare_block(block, mean, std, scale, fill=transform is None)
    oy, ox = origin[-2:]
    ky, kx = owned(oy, core[-2], ty), owned(ox, core[-1], tx)
    out = np.full((x.shape[0], k, len(ky), len(kx)), np.nan, np.float32)
    lead_index = list(np.ndindex(*lead)) if lead else [()]
    buf = np.empty((batch_size, x.shape[1], ty.patch, tx.patch), np.float32)
    for batch in _batches(_patches(valid, x.shape[0], oy, ox, ky, kx, ty, tx), batch_size):
        xb = _stacked(x, batch, buf, ty, tx, transform)
        pred = _run_checked(runner, xb, batch, ty, tx, lead_index)
        for n, (l, i, j, _, _) in enumerate(batch):
            out[l, :, i - ky.start, j - kx.start] = pred[n]
    return out.reshape(*lead, k, len(ky), len(kx))
