"""Multilooking: NaN-aware block averaging of intensity, with coordinates and transform updated."""

from __future__ import annotations

from collections.abc import Mapping

import xarray as xr

from .._attrs import finalize
from ..errors import ParameterError
from ._validate import check_sar, domain
from .looks import looks_from_attrs

LOOKS_ATTR = "eoxr:looks"


def _check_factors(cube: xr.DataArray, looks: Mapping[str, int] | int,
                   ydim: str, xdim: str) -> dict[str, int]:
    factors = {ydim: looks, xdim: looks} if isinstance(looks, int) else dict(looks)
    for dim, f in factors.items():
        if dim not in (ydim, xdim):
            raise ParameterError(f"multilook looks={looks!r}: {dim!r} is not a spatial dim of the "
                                 f"cube (use {ydim!r} and/or {xdim!r}).")
        if not isinstance(f, int) or f < 1 or f > cube.sizes[dim]:
            raise ParameterError(f"multilook factor {dim}={f!r} must be an integer in "
                                 f"[1, {cube.sizes[dim]}] (the dim's size), e.g. {{'{dim}': 2}}.")
    return factors


def multilook(cube: xr.DataArray, looks: Mapping[str, int] | int = 2) -> xr.DataArray:
    """Average ``looks`` pixels along y and x (NaN-aware), lazily.

    Averaging is done in linear power (dB input is converted and back); NaN pixels are ignored
    and a block without valid pixels gives NaN. Trailing pixels that do not fill a whole block
    are dropped. Coordinates become the block centres and the CRS transform is rewritten; an
    ``eoxr:looks`` attr of the input is multiplied by the number of pixels averaged (nominal
    looks, assuming independent pixels).

    Parameters
    ----------
    looks : int or mapping
        Block size, e.g. ``{"y": 2, "x": 2}`` (or ``2`` for both).

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> multilook(synthetic_s1(shape=(64, 64)).cube, {"y": 2, "x": 4}).shape
    (2, 2, 32, 16)
    """
    from .convert import to_db, to_linear

    ydim, xdim = check_sar(cube, what="multilook")
    factors = _check_factors(cube, looks, ydim, xdim)
    dom, _ = domain(cube)
    lin = to_linear(cube) if dom == "dB" else cube
    out = lin.coarsen(factors, boundary="trim", coord_func="mean").mean()  # NaN-skipping for floats
    out = out.astype(cube.dtype)
    if dom == "dB":
        out.attrs = {"units": "1"}
        out = to_db(out)
    attrs = {}
    n_in = looks_from_attrs(cube)
    if n_in is not None:
        attrs[LOOKS_ATTR] = round(n_in * factors.get(ydim, 1) * factors.get(xdim, 1), 4)
    out = finalize(out, cube, keep_value_attrs=True, attrs=attrs,
                   history=f"multilook {factors} (mean in linear power)")
    if "spatial_ref" in out.coords and out.sizes[ydim] > 1 and out.sizes[xdim] > 1:
        out = out.rio.write_transform(out.rio.transform(recalc=True))
    return out


__all__ = ["multilook"]
