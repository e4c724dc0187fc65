"""Multilooking: NaN-aware block averaging of intensity, with coordinates and transform updated."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from .._attrs import finalize
from ..errors import ParameterError
from ._validate import SarCube, check_sar, checked, domain, per_variable
from .convert import to_db, to_linear
from .looks import LOOKS_ATTR, looks_from_attrs


def _check_factors(
    cube: xr.DataArray, factors: Mapping[str, int] | int, ydim: str, xdim: str
) -> dict[str, int]:
    whole = isinstance(factors, int | np.integer) and not isinstance(factors, bool)
    if not whole and not isinstance(factors, Mapping):
        raise ParameterError(
            f"multilook factors={factors!r} must be an integer or a mapping such as "
            f"{{'{ydim}': 2, '{xdim}': 2}}."
        )
    given = factors
    factors = {ydim: factors, xdim: factors} if whole else dict(factors)
    for dim, f in factors.items():
        if dim not in (ydim, xdim):
            raise ParameterError(
                f"multilook factors={given!r}: {dim!r} is not a spatial dim of the "
                f"cube (use {ydim!r} and/or {xdim!r})."
            )
        integer = isinstance(f, int | np.integer) and not isinstance(f, bool)
        if not integer or not 1 <= f <= cube.sizes[dim]:
            raise ParameterError(
                f"multilook factor {dim}={f!r} must be an integer in "
                f"[1, {cube.sizes[dim]}] (the dim's size), e.g. {{'{dim}': 2}}."
            )
    return factors


@per_variable
def multilook(cube: SarCube, *, factors: Mapping[str, int] | int = 2) -> SarCube:
    """Average blocks of ``factors`` pixels along y and x (NaN-aware), lazily.

    Averaging is done in linear power (dB input is converted and back); NaN pixels are ignored
    and a block without valid pixels gives NaN. Trailing pixels that do not fill a whole block
    are dropped. Coordinates become the block centres and the CRS transform is rewritten; an
    ``eoxr:looks`` attr of the input is multiplied by the number of pixels averaged (nominal
    looks, assuming independent pixels). A Dataset is multilooked variable by variable.

    Parameters
    ----------
    cube : DataArray or Dataset
        Intensity, ``units="1"`` (linear; also assumed without units) or ``units="dB"``.
    factors : int or {dim: int}
        Block size in pixels per spatial dim, e.g. ``{"y": 2, "x": 4}`` (or ``2`` for both);
        each in ``[1, dim size]``.

    Returns
    -------
    DataArray or Dataset
        The block means, in the input's units and dtype, on the coarser grid.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> multilook(synthetic_s1(shape=(64, 64)).cube, factors={"y": 2, "x": 4}).shape
    (2, 2, 32, 16)
    """
    ydim, xdim = check_sar(cube, what="multilook")
    factors = {d: int(f) for d, f in _check_factors(cube, factors, ydim, xdim).items()}
    dom, inferred = domain(cube)
    lin = to_linear(cube) if dom == "dB" else cube
    if dom == "linear":  # averaging dB values as power would be silently wrong: check lazily
        lin = checked(lin, "multilook", declared=not inferred)
    out = lin.coarsen(factors, boundary="trim", coord_func="mean").mean()  # NaN-skipping for floats
    out = out.astype(cube.dtype)
    if dom == "dB":
        out.attrs = {"units": "1"}
        out = to_db(out)
    attrs = {}
    n_in = looks_from_attrs(cube)
    if n_in is not None:
        attrs[LOOKS_ATTR] = round(n_in * factors.get(ydim, 1) * factors.get(xdim, 1), 4)
    out = finalize(
        out,
        cube,
        keep_value_attrs=True,
        attrs=attrs,
        history=f"multilook {factors} (mean in linear power)",
    )
    return _write_transform(out, cube, factors.get(xdim, 1), factors.get(ydim, 1))


def _write_transform(out: xr.DataArray, cube: xr.DataArray, fx: int, fy: int) -> xr.DataArray:
    """Scale the input's affine transform by the block size.

    The origin stays (trailing pixels are trimmed). Derived from the input rather than
    recomputed from the output's coords, which cannot give a resolution once a dim is a single
    block.
    """
    if "spatial_ref" not in out.coords:
        return out
    try:
        transform = cube.rio.transform()
    except Exception:  # no usable grid on the input (e.g. a 1-pixel dim): leave it alone
        return out
    if transform.is_identity:
        return out
    from affine import Affine

    return out.rio.write_transform(transform * Affine.scale(fx, fy))


__all__ = ["multilook"]
