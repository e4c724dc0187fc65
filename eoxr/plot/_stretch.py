"""Display limits of a view: per-band stretches read from one bounded, strided sample."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import xarray as xr

from .. import bands as _bands
from .._dask.stats import compute
from .._dims import spatial_dims
from ..errors import ParameterError
from ._style import plain

Stretch = Literal["percentile", "minmax", "gamma"]
STRETCHES: tuple[str, ...] = ("percentile", "minmax", "gamma")
#: Samples for the stretch: at most this many pixels per side and this many time steps.
SAMPLE_SIDE = 512
SAMPLE_TIMES = 8


def check_stretch(stretch: str, percentiles: Sequence[float], gamma: float) -> tuple[float, float]:
    if stretch not in STRETCHES:
        raise ParameterError(f"stretch={stretch!r} is not known; use one of {list(STRETCHES)}.")
    try:
        lo, hi = (float(p) for p in percentiles)
    except (TypeError, ValueError) as err:
        raise ParameterError(
            f"percentiles={percentiles!r} must be two numbers (low, high), e.g. (2, 98)."
        ) from err
    if not 0 <= lo < hi <= 100:
        raise ParameterError(
            f"percentiles={percentiles!r} must satisfy 0 <= low < high <= 100, e.g. (2, 98)."
        )
    if not gamma > 0:
        raise ParameterError(f"gamma={gamma!r} must be a positive number, e.g. 1.8.")
    return lo, hi


def sample(da: xr.DataArray) -> xr.DataArray:
    """A strided sample: at most SAMPLE_SIDE px per side and SAMPLE_TIMES time steps."""
    ydim, xdim = spatial_dims(da)
    steps = {d: max(1, -(-da.sizes[d] // SAMPLE_SIDE)) for d in (ydim, xdim)}
    if "time" in da.dims:
        steps["time"] = max(1, -(-da.sizes["time"] // SAMPLE_TIMES))
    return da.isel({d: slice(None, None, s) for d, s in steps.items()})


def stretch_limits(
    layers: Sequence[xr.DataArray],
    *,
    stretch: Stretch = "percentile",
    percentiles: Sequence[float] = (2, 98),
) -> list[tuple[float, float]]:
    """Per-layer display limits ``(low, high)`` from a bounded sample, in one pass.

    Parameters
    ----------
    layers : sequence of DataArray
        Layers with spatial dims (lazy or not).
    stretch : {"percentile", "minmax", "gamma"}
        ``"minmax"`` uses the sample's range; the others its ``percentiles``.
    percentiles : (float, float)
        Low and high percentiles (0-100).

    Returns
    -------
    list of (float, float)
        One pair per layer; ``(0, 1)`` for a layer without any finite value.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> cube = et.make_cube(times=None)
    >>> lo, hi = stretch_limits([cube.isel(band=0)], stretch="minmax")[0]
    >>> lo < hi
    True
    """
    lo_p, hi_p = check_stretch(stretch, percentiles, 1.0)
    if stretch == "minmax":
        lo_p, hi_p = 0.0, 100.0
    samples = compute(*[sample(layer).data for layer in layers])
    out = []
    for s in samples:
        v = np.asarray(s, dtype=np.float64)
        v = v[np.isfinite(v)]
        if v.size == 0:
            out.append((0.0, 1.0))
            continue
        lo, hi = np.percentile(v, [lo_p, hi_p])
        out.append((float(lo), float(hi) if hi > lo else float(lo) + 1e-12))
    return out


def to_rgba(
    layers: Sequence[xr.DataArray], limits: Sequence[tuple[float, float]], gamma: float
) -> xr.Dataset:
    """Lazy R, G, B (0-1) and A (0 where any band is NaN: transparent)."""
    out = {}
    valid = None
    for name, layer, (lo, hi) in zip("RGB", layers, limits):
        v = ((layer.astype("float32") - lo) / (hi - lo)).clip(0, 1)
        if gamma != 1:
            v = v ** (1 / gamma)
        ok = layer.notnull()
        valid = ok if valid is None else valid & ok
        out[name] = v.fillna(0).astype("float32")
    out["A"] = valid.astype("float32")
    return xr.Dataset(out)


def stretched(
    cube: xr.DataArray | xr.Dataset,
    bands: Sequence[str],
    stretch: Stretch = "percentile",
    percentiles: Sequence[float] = (2, 98),
    gamma: float = 1.8,
) -> tuple[xr.Dataset, list[str]]:
    """Lazy RGBA of three bands, stretched with limits from one sampled pass; band labels."""
    if len(bands) != 3:
        raise ParameterError(f"bands={bands!r}: give exactly three bands (red, green, blue).")
    check_stretch(stretch, percentiles, gamma)
    layers = [plain(_bands.select_band(cube, b)) for b in bands]
    limits = stretch_limits(layers, stretch=stretch, percentiles=percentiles)
    rgba = to_rgba(layers, limits, gamma if stretch == "gamma" else 1.0)
    return rgba, [str(layer.name) for layer in layers]
