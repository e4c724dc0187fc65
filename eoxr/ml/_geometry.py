"""Patch tiling on the global pixel grid, shared by model application and its tests.

The tiling follows xbatcher's ``input_dims`` / ``input_overlap`` meaning (patch size ``P``, overlap
``O``, stride ``S = P - O``) but is anchored on the *padded* global grid, so patch positions never
depend on dask chunks. Dense models pad the image by ``lead = O // 2`` before its first pixel, so
that the centre ("crop") part of patch ``k``, ``[k*S + lead, (k+1)*S + lead)`` in padded indices,
tiles the image exactly; patch-level models use ``lead = 0`` (patches start at pixel 0, like
xbatcher). The far edge is reflect-padded so that no pixel is dropped (xbatcher #43).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from ..errors import ParameterError

Blend = Literal["cosine", "mean", "crop"]


@dataclass(frozen=True)
class AxisTiling:
    """Patch tiling of one spatial axis."""

    #: Image length (pixels).
    size: int
    #: Patch length ``P``.
    patch: int
    #: Overlap ``O`` between neighbouring patches.
    overlap: int
    #: Dense (pixel) output: pad by ``overlap // 2`` first; else patches start at pixel 0.
    dense: bool

    @property
    def lead(self) -> int:
        """Samples of reflect padding before the first pixel."""
        return self.overlap // 2 if self.dense else 0

    @property
    def stride(self) -> int:
        return self.patch - self.overlap

    @property
    def count(self) -> int:
        """Number of patches: enough to cover the image (dense: with their centre parts)."""
        if self.dense:
            return math.ceil(self.size / self.stride)
        return max(1, math.ceil((self.size - self.overlap) / self.stride))

    @property
    def padded(self) -> int:
        """Length of the padded grid: ``count * stride + overlap``."""
        return self.count * self.stride + self.overlap

    @property
    def trail(self) -> int:
        """Samples of reflect padding after the last pixel."""
        return self.padded - self.lead - self.size

    def centres(self) -> np.ndarray:
        """Patch centres in (fractional) image pixel indices."""
        return np.arange(self.count) * self.stride - self.lead + (self.patch - 1) / 2


def make_tiling(name: str, size: int, patch: int, overlap: int, *, dense: bool) -> AxisTiling:
    """Validate one axis' patch geometry and return its tiling."""
    if not isinstance(patch, int | np.integer) or patch < 1:
        raise ParameterError(f"input_dims[{name!r}]={patch!r}: expected a positive integer.")
    if patch > size:
        raise ParameterError(
            f"patch size {patch} along {name!r} is larger than the image ({size} px): use "
            f"input_dims={{{name!r}: {size}}} or smaller, or pad the cube first."
        )
    if not isinstance(overlap, int | np.integer) or overlap < 0 or overlap >= patch:
        raise ParameterError(
            f"input_overlap[{name!r}]={overlap!r} must be an integer in [0, {patch}) (less than "
            f"the patch size {patch}), e.g. input_overlap={{{name!r}: {patch // 8}}}."
        )
    return AxisTiling(int(size), int(patch), int(overlap), bool(dense))


def reach(tiling: AxisTiling, chunks: tuple[int, ...]) -> int:
    """How far past its end a block's patches reach, at most, on a chunking of the padded grid.

    A block runs the patches that start in it; the last one starts at the largest multiple of
    the stride before the block's end and ends ``reach`` samples into the next block (the halo
    it reads and the spill it adds there). ``overlap`` on a stride-aligned grid, up to
    ``patch - 1`` on any other; 0 for a single block.

    Examples
    --------
    >>> t = make_tiling("x", 4096, 256, 16, dense=True)  # stride 240, padded 4336
    >>> reach(t, (1032, 1024, 1024, 1256)), reach(t, (960, 960, 960, 960, 496))
    (184, 16)
    """
    ends = np.cumsum(chunks)[:-1]
    if ends.size == 0:
        return 0
    last = np.minimum((ends - 1) // tiling.stride, tiling.count - 1) * tiling.stride
    return int(max(0, (last + tiling.patch - ends).max()))


def caller_chunks(tiling: AxisTiling, chunks: tuple[int, ...]) -> tuple[int, ...] | None:
    """The caller's chunks of one axis on the padded grid, or None when they cannot be used.

    The padding goes into the first and the last chunk, so the interior block boundaries stay
    where the caller's are and the result needs no re-chunking (a re-chunk onto a grid that
    does not line up holds a whole row of blocks in memory, growing with the image width).
    None when a block is shorter than the patches' reach past a block end.
    """
    out = list(chunks)
    out[0] += tiling.lead
    out[-1] += tiling.trail
    out = tuple(out)
    h = reach(tiling, out)
    return out if min(out) >= h else None  # dask's halos need it of every block


def window_1d(tiling: AxisTiling, blend: Blend) -> np.ndarray:
    """Blending weights along one patch axis (float32).

    ``cosine`` gives zero weight to the outer quarter of the overlap (where a network's zero
    padding distorts its output) and ramps in over the middle half with ``sin^2`` (out with
    ``cos^2``), so that the weights of neighbouring patches add up to exactly one everywhere (a
    partition-of-unity Tukey taper): a model whose receptive radius is at most ``overlap // 4``
    gives the same result as one pass over the whole image. ``mean`` weighs every sample 1;
    ``crop`` keeps only the centre part ``[lead, lead + stride)`` (exact for receptive radius up
    to ``overlap // 2``).
    """
    p, o, lead = tiling.patch, tiling.overlap, tiling.lead
    w = np.ones(p, dtype=np.float64)
    if blend == "crop":
        w[:] = 0.0
        w[lead : lead + tiling.stride] = 1.0
    elif blend == "cosine" and o > 0:
        margin = o // 4
        width = o - 2 * margin
        ramp = np.zeros(o)
        ramp[margin : o - margin] = np.sin(0.5 * np.pi * (np.arange(width) + 0.5) / width) ** 2
        ramp[o - margin :] = 1.0
        w[:o] = ramp
        w[p - o :] = np.minimum(w[p - o :], ramp[::-1])
    elif blend not in ("cosine", "mean"):
        raise ParameterError(f"blend={blend!r}: expected 'cosine', 'mean' or 'crop'.")
    return w.astype(np.float32)


def weight_sum(tiling: AxisTiling, window: np.ndarray) -> np.ndarray:
    """Sum of the windows of all patches at each padded index (float32; 1 where none covers)."""
    total = np.zeros(tiling.padded, dtype=np.float64)
    for k in range(tiling.count):
        total[k * tiling.stride : k * tiling.stride + tiling.patch] += window
    total[total == 0] = 1.0
    return total.astype(np.float32)


def patch_starts(size: int, patch: int, overlap: int = 0) -> range:
    """Starts of the patches that fit entirely in ``size`` samples, stride ``patch - overlap``.

    The slicing of ``xbatcher.BatchGenerator`` (training patches: no padding, the remainder at
    the far edge is left out).

    Examples
    --------
    >>> list(patch_starts(48, 16, 4))
    [0, 12, 24]
    """
    return range(0, size - patch + 1, patch - overlap)
