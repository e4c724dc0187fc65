"""Preprocessing pipelines of pretrained encoders: an ordered list of steps run per patch.

A pipeline turns a batch of patches ``(N, C, h, w)`` as cut from the cube (float reflectance,
NaN for nodata) into the model's input, in a fixed order of at most one step of each kind:

1. ``pad``: bands the cube lacks (e.g. ``B10`` of an L1C model fed L2A) inserted as a constant
   reflectance at their place in the model's band order;
2. ``scale``: multiply by a factor (reflectance to the constants' units, e.g. 10000);
3. ``clip``: clip to ``[min, max]`` in those units;
4. one normalization: ``standardize`` (per-band ``(x - mean) / std``), ``divide`` (divide by a
   constant and clip, e.g. ``/3000`` clipped to ``[0, 1]``) or ``stretch`` (per patch and band,
   the ``lower``-``upper`` percentiles of the valid pixels mapped to 0-1 and clipped; 0 and 100
   give a min-max stretch);
5. ``resize``: to ``size`` x ``size`` pixels, ``bilinear``, ``bicubic`` or ``nearest``, with or
   without ``antialias``: the same numbers as :func:`torch.nn.functional.interpolate` with
   ``align_corners=False`` (computed here in numpy, one axis after the other, so the ONNX path
   needs no torch);
6. ``crop``: the central ``size`` x ``size`` pixels (offset ``round((h - size) / 2)``, as
   torchvision's ``CenterCrop``).

NaN pixels are 0 after the normalization (the band mean for ``standardize``), before any
spatial step, so resizing never spreads NaN; patches without a valid pixel are not run at all
(:mod:`eoxr.ml._kernels`). Steps are plain dicts (``{"op": "resize", "size": 224}``), the form
they have in ``eoxr/embed/data/specs.json``. Numpy only.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import ParameterError

#: The step kinds in the order a pipeline runs them (normalizations share one place).
ORDER = ("pad", "scale", "clip", "normalize", "resize", "crop")
NORMALIZATIONS = ("standardize", "divide", "stretch")
RESIZE_MODES = ("bilinear", "bicubic", "nearest")
_KEYS = {
    "pad": {"bands"},
    "scale": {"by"},
    "clip": {"min", "max"},
    "standardize": {"mean", "std"},
    "divide": {"by", "min", "max"},
    "stretch": {"lower", "upper"},
    "resize": {"size", "mode", "antialias"},
    "crop": {"size"},
}


def _place(op: str) -> int:
    return ORDER.index("normalize" if op in NORMALIZATIONS else op)


def _positive_int(v: Any, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1:
        raise ParameterError(f"{what}={v!r} must be a positive integer (pixels).")
    return int(v)


def _check_step(step: Mapping, bands: Sequence[str]) -> dict:
    """One validated step as a plain dict with every key filled in."""
    if not isinstance(step, Mapping) or step.get("op") not in _KEYS:
        raise ParameterError(
            f"preprocessing step {step!r}: expected a dict with 'op' one of {sorted(_KEYS)}, "
            "e.g. {'op': 'resize', 'size': 224}."
        )
    op = step["op"]
    extra = set(step) - _KEYS[op] - {"op"}
    if extra:
        raise ParameterError(f"step {op!r} takes {sorted(_KEYS[op])}, not {sorted(extra)}.")
    n = len(bands)
    if op == "pad":
        pad = {str(b): float(v) for b, v in dict(step.get("bands") or {}).items()}
        unknown = [b for b in pad if b not in bands]
        if not pad or unknown:
            raise ParameterError(
                f"pad={pad!r}: name bands of the encoder ({list(bands)}) with the constant "
                "reflectance to feed in their place, e.g. pad={'B10': 0.0}."
            )
        return {"op": op, "bands": pad}
    if op in ("scale", "divide"):
        by = float(step.get("by", 1.0))
        if not (np.isfinite(by) and by > 0):
            raise ParameterError(f"{op} by={step.get('by')!r} must be a positive number.")
        if op == "scale":
            return {"op": op, "by": by}
    if op in ("clip", "divide"):
        lo, hi = float(step.get("min", -np.inf)), float(step.get("max", np.inf))
        if not lo < hi:
            raise ParameterError(f"{op}: min={lo!r} must be below max={hi!r}.")
        if op == "clip":
            return {"op": op, "min": lo, "max": hi}
        return {"op": op, "by": by, "min": lo, "max": hi}
    if op == "standardize":
        mean = np.broadcast_to(np.asarray(step.get("mean", 0.0), np.float64).ravel(), (n,))
        std = np.broadcast_to(np.asarray(step.get("std", 1.0), np.float64).ravel(), (n,))
        if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
            raise ParameterError(f"standardize: mean {mean} and std {std} must be finite, std > 0.")
        return {"op": op, "mean": tuple(map(float, mean)), "std": tuple(map(float, std))}
    if op == "stretch":
        lo, hi = float(step.get("lower", 0.0)), float(step.get("upper", 100.0))
        if not 0 <= lo < hi <= 100:
            raise ParameterError(
                f"stretch lower={lo!r}, upper={hi!r}: percentiles with 0 <= lower < upper <= 100 "
                "(0 and 100 give a min-max stretch)."
            )
        return {"op": op, "lower": lo, "upper": hi}
    if op == "resize":
        mode = step.get("mode", "bilinear")
        if mode not in RESIZE_MODES:
            raise ParameterError(f"resize mode={mode!r}: expected one of {list(RESIZE_MODES)}.")
        aa = step.get("antialias", False)
        if not isinstance(aa, bool) or (aa and mode == "nearest"):
            raise ParameterError(
                f"antialias={aa!r}: True or False (False for mode='nearest', as in torch)."
            )
        return {"op": op, "size": _positive_int(step.get("size"), "resize size"), "mode": mode,
                "antialias": aa}  # fmt: skip
    return {"op": op, "size": _positive_int(step.get("size"), "crop size")}


def check_steps(steps: Sequence[Mapping], bands: Sequence[str]) -> tuple[dict, ...]:
    """Validate an ordered list of steps for an encoder with ``bands``.

    Raises :class:`~eoxr.errors.ParameterError` for an unknown step, a bad constant, a step
    out of order (see :data:`ORDER`) or two steps of one kind.

    Examples
    --------
    >>> [s["op"] for s in check_steps([{"op": "scale", "by": 1e4}, {"op": "resize",
    ...     "size": 224}], ["red", "nir"])]
    ['scale', 'resize']
    """
    out = tuple(_check_step(s, bands) for s in steps)
    places = [_place(s["op"]) for s in out]
    if places != sorted(set(places)):
        raise ParameterError(
            f"steps {[s['op'] for s in out]}: at most one of each kind, in the order "
            f"{list(ORDER)} (normalize = one of {list(NORMALIZATIONS)})."
        )
    return out


@lru_cache(maxsize=64)
def resize_matrix(n_in: int, n_out: int, mode: str, antialias: bool) -> np.ndarray:
    """``(n_out, n_in)`` float32 weights of a 1-D resize, as torch's ``interpolate``.

    ``align_corners=False``. Without antialias: bilinear and bicubic (``A = -0.75``) sample at
    ``(i + 0.5) * n_in / n_out - 0.5`` (bilinear clamped at 0, bicubic taps clamped to the
    edge); nearest takes ``floor(i * n_in / n_out)``. With antialias (Pillow's scheme, as torch):
    a triangle or cubic (``a = -0.5``) filter widened by the downscale factor, weights
    normalised to sum to 1.

    Examples
    --------
    >>> resize_matrix(2, 4, "bilinear", False).tolist()
    [[1.0, 0.0], [0.75, 0.25], [0.25, 0.75], [0.0, 1.0]]
    """
    f = np.float32  # torch computes the weights in the input's precision: so do we
    scale = f(n_in) / f(n_out)
    w = np.zeros((n_out, n_in), np.float32)
    rows = np.arange(n_out)
    if mode == "nearest":
        src = np.minimum(np.floor(rows.astype(f) * scale).astype(int), n_in - 1)
        w[rows, src] = 1.0
        return w
    if antialias:
        taps = f(2 if mode == "bilinear" else 4)
        support = taps * f(0.5) * scale if scale >= 1 else taps * f(0.5)
        inv = f(1.0) / scale if scale >= 1 else f(1.0)
        for i in range(n_out):
            centre = scale * (f(i) + f(0.5))
            lo = max(int(centre - support + f(0.5)), 0)
            hi = min(int(centre + support + f(0.5)), n_in)
            k = _filter(mode, (np.arange(lo, hi).astype(f) - centre + f(0.5)) * inv)
            total = k.sum(dtype=f)
            w[i, lo:hi] = k / total if total != 0 else k
        return w
    # one rounding of the exact product (a fused multiply-add), as torch's kernels
    src = (np.float64(scale) * (rows + 0.5) - 0.5).astype(f)
    if mode == "bilinear":
        src = np.maximum(src, f(0.0))
        i0 = np.minimum(src.astype(int), n_in - 1)
        lam = src - i0.astype(f)
        np.add.at(w, (rows, i0), f(1.0) - lam)
        np.add.at(w, (rows, np.minimum(i0 + 1, n_in - 1)), lam)
        return w
    i0 = np.floor(src).astype(int)
    t = src - i0.astype(f)
    a = f(-0.75)
    coef = [
        ((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
        ((a + 2) * t - (a + 3)) * t * t + 1,
        ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1,
        ((a * (2 - t) - 5 * a) * (2 - t) + 8 * a) * (2 - t) - 4 * a,
    ]
    for k, c in enumerate(coef):
        np.add.at(w, (rows, np.clip(i0 - 1 + k, 0, n_in - 1)), c.astype(f))
    return w


def _filter(mode: str, x: np.ndarray) -> np.ndarray:
    """The antialias filters: triangle (bilinear) and Keys cubic with ``a = -0.5`` (bicubic)."""
    x = np.abs(x).astype(np.float32)
    if mode == "bilinear":
        return np.maximum(np.float32(1.0) - x, np.float32(0.0))
    a = np.float32(-0.5)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = (((x - 5) * x + 8) * x - 4) * a
    return np.where(x < 1, near, np.where(x < 2, far, np.float32(0.0))).astype(np.float32)


def resize(x: np.ndarray, size: int, mode: str = "bilinear", antialias: bool = False) -> np.ndarray:
    """Resize the last two axes of ``x`` to ``size`` x ``size`` (see :func:`resize_matrix`).

    Examples
    --------
    >>> resize(np.arange(4, dtype="float32").reshape(1, 1, 2, 2), 4)[0, 0, 0].tolist()
    [0.0, 0.25, 0.75, 1.0]
    """
    h, w = x.shape[-2:]
    if (h, w) == (size, size):
        return x
    if mode == "nearest":
        iy = resize_matrix(h, size, mode, False).argmax(axis=1)
        ix = resize_matrix(w, size, mode, False).argmax(axis=1)
        return np.ascontiguousarray(x[..., iy, :][..., ix])
    x = _along(x, -2, *_taps(h, size, mode, antialias))
    return _along(x, -1, *_taps(w, size, mode, antialias))


@lru_cache(maxsize=64)
def _taps(n_in: int, n_out: int, mode: str, antialias: bool) -> tuple[np.ndarray, np.ndarray]:
    """The nonzero weights of :func:`resize_matrix` as ``(index, weight)``, ``(n_out, k)``."""
    w = resize_matrix(n_in, n_out, mode, antialias)
    k = max(int((w != 0).sum(axis=1).max()), 1)
    index = np.zeros((n_out, k), np.intp)
    weight = np.zeros((n_out, k), np.float32)
    for i, row in enumerate(w):
        j = np.flatnonzero(row)
        index[i, : j.size], weight[i, : j.size] = j, row[j]
    return index, weight


def _along(x: np.ndarray, axis: int, index: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``sum_k weight[:, k] * x[index[:, k]]`` along ``axis``: a resize as a few gathers.

    Plain numpy on one thread, no BLAS: a matrix product would start BLAS threads whose
    busy-waiting competes with the model's own threads (a tenth of a ResNet's time).
    """
    shape = (-1, 1) if axis == -2 else (-1,)
    out = np.take(x, index[:, 0], axis=axis)
    out *= weight[:, 0].reshape(shape)
    for k in range(1, index.shape[1]):
        part = np.take(x, index[:, k], axis=axis)
        part *= weight[:, k].reshape(shape)
        out += part
    return out


def center_crop(x: np.ndarray, size: int) -> np.ndarray:
    """The central ``size`` x ``size`` pixels (offset ``round((h - size) / 2)``)."""
    h, w = x.shape[-2:]
    if size > min(h, w):
        raise ParameterError(
            f"crop size {size} is larger than the {h} x {w} patch: resize first (a 'resize' "
            "step before 'crop') or crop less."
        )
    top, left = int(round((h - size) / 2.0)), int(round((w - size) / 2.0))
    return np.ascontiguousarray(x[..., top : top + size, left : left + size])


def stretch(x: np.ndarray, lower: float, upper: float) -> np.ndarray:
    """Per patch and band: ``(x - p_lower) / (p_upper - p_lower)`` clipped to [0, 1].

    The percentiles (linear interpolation, as ``np.nanpercentile``) ignore NaN; a band that is
    constant over a patch (or has one valid pixel) gives 0.
    """
    n, c = x.shape[:2]
    flat = x.reshape(n, c, -1)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN bands: patches not run
        lo, hi = np.nanpercentile(flat, [lower, upper], axis=-1)
    span = (hi - lo).astype(np.float32)
    ok = np.isfinite(span) & (span > 0)
    span = np.where(ok, span, 1.0)
    out = (x - lo[..., None, None].astype(np.float32)) / span[..., None, None]
    out = np.where(ok[..., None, None], out, np.where(np.isnan(x), np.nan, 0.0))
    return np.clip(out, 0.0, 1.0).astype(np.float32)


@dataclass(frozen=True, eq=False)
class Pipeline:
    """Validated steps for an encoder's ``bands``: a callable on ``(N, C_read, h, w)`` batches.

    ``C_read`` counts the bands read from the cube (:attr:`read_bands`: all but the padded
    ones); the output has one channel per band of ``bands``, float32, without NaN.
    """

    bands: tuple[str, ...]
    steps: tuple[dict, ...]

    @classmethod
    def build(cls, bands: Sequence[str], steps: Sequence[Mapping]) -> Pipeline:
        """Check ``steps`` for ``bands`` (see :func:`check_steps`)."""
        return cls(tuple(bands), check_steps(steps, bands))

    def step(self, op: str) -> dict | None:
        """The step of kind ``op`` (a normalization's own name), if any."""
        return next((s for s in self.steps if s["op"] == op), None)

    @property
    def read_bands(self) -> tuple[str, ...]:
        """The bands read from the cube, in model order (padded ones left out)."""
        pad = self.step("pad")
        return tuple(b for b in self.bands if pad is None or b not in pad["bands"])

    @property
    def channels(self) -> int:
        """Channels of the model's input."""
        return len(self.bands)

    def output_size(self, size: int) -> int:
        """Side of the model's input for patches of ``size`` pixels."""
        for s in self.steps:
            if s["op"] in ("resize", "crop"):
                size = s["size"]
        return size

    @property
    def mean(self) -> tuple[float, ...] | None:
        """The ``standardize`` means (``None`` without: the input units are not told)."""
        s = self.step("standardize")
        return None if s is None else s["mean"]

    @property
    def scale(self) -> float:
        """Product of the ``scale`` step (1 without one)."""
        s = self.step("scale")
        return 1.0 if s is None else s["by"]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Run the steps on a float32 batch ``(N, C_read, h, w)`` (NaN: nodata)."""
        x = np.asarray(x, np.float32)
        filled = False
        for s in self.steps:
            op = s["op"]
            if _place(op) > ORDER.index("normalize") and not filled:
                x, filled = _fill(x), True
            x = _STEPS[op](x, s, self)
        return x if filled else _fill(x)

    def describe(self) -> list:
        """The steps as plain JSON-able dicts (for result attrs)."""
        return [dict(s) for s in self.steps]


def _fill(x: np.ndarray) -> np.ndarray:
    """NaN to 0 (nodata after normalization: the band mean for ``standardize``)."""
    return np.where(np.isnan(x), np.float32(0.0), x) if np.isnan(x).any() else x


def _pad(x: np.ndarray, s: dict, p: Pipeline) -> np.ndarray:
    out = np.empty((x.shape[0], len(p.bands), *x.shape[2:]), np.float32)
    k = 0
    for i, b in enumerate(p.bands):
        if b in s["bands"]:
            out[:, i] = s["bands"][b]
        else:
            out[:, i], k = x[:, k], k + 1
    return out


def _per_band(values: Sequence[float]) -> np.ndarray:
    return np.asarray(values, np.float32)[:, None, None]


_STEPS = {
    "pad": _pad,
    "scale": lambda x, s, p: x if s["by"] == 1.0 else x * np.float32(s["by"]),
    "clip": lambda x, s, p: np.clip(x, np.float32(s["min"]), np.float32(s["max"])),
    "standardize": lambda x, s, p: (x - _per_band(s["mean"])) / _per_band(s["std"]),
    "divide": lambda x, s, p: np.clip(
        x / np.float32(s["by"]), np.float32(s["min"]), np.float32(s["max"])
    ),
    "stretch": lambda x, s, p: stretch(x, s["lower"], s["upper"]),
    "resize": lambda x, s, p: resize(x, s["size"], s["mode"], s["antialias"]).astype(
        np.float32, copy=False
    ),
    "crop": lambda x, s, p: center_crop(x, s["size"]),
}


__all__ = [
    "ORDER",
    "NORMALIZATIONS",
    "RESIZE_MODES",
    "Pipeline",
    "check_steps",
    "resize",
    "resize_matrix",
    "center_crop",
    "stretch",
]
