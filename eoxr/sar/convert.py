"""Decibel <-> linear power conversion with honest ``units`` attrs (``"dB"`` / ``"1"``)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._attrs import finalize
from .._dask.blockwise import map_blocks
from ._validate import (
    SarCube,
    check_sar,
    checked,
    declared_domain,
    domain,
    per_variable,
    raise_if_negative,
)


def _db_kernel(block: np.ndarray, declared: bool) -> np.ndarray:
    raise_if_negative(block, "to_db", declared)
    # log10 of 0 or of a negative value (noise-subtracted sigma0) has no dB value: NaN, not -inf.
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(np.where(block > 0, block, np.nan).astype(block.dtype, copy=False))
    return out * block.dtype.type(10.0)


def _linear_kernel(block: np.ndarray) -> np.ndarray:
    ten = block.dtype.type(10.0)
    return np.power(ten, block / ten)


def _wrap(data: object, like: xr.DataArray) -> xr.DataArray:
    return like.copy(data=data)


@per_variable
def to_db(cube: SarCube) -> SarCube:
    """Linear power (``units="1"``) to decibels: ``10 log10(x)``, lazily.

    Values <= 0 have no dB value and become NaN. Data already declared ``units="dB"`` are
    returned unchanged. Without a ``units`` attr the data are taken as linear, and a negative
    value raises :class:`~eoxr.errors.UnitsError` (only dB can be negative); data declared
    linear may hold small negative values (thermal noise subtraction) but a value <= -1 raises
    it too (dB labelled linear). A Dataset is
    converted variable by variable (its own ``units`` attr applies to variables without one).

    Parameters
    ----------
    cube : DataArray or Dataset
        Linear power (``units="1"``, or no units), or data already in dB.

    Returns
    -------
    DataArray or Dataset
        Decibels, ``units="dB"``, same dtype; lazy for dask input.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.array([[1.0, 0.1]], "float32"), dims=("y", "x"), attrs={"units": "1"})
    >>> to_db(da).values.tolist(), to_db(da).attrs["units"]
    ([[0.0, -10.0]], 'dB')
    """
    check_sar(cube, what="to_db")
    dom, inferred = domain(cube)
    if dom == "dB":
        return cube
    out = _wrap(map_blocks(_db_kernel, cube, kwargs={"declared": not inferred}), cube)
    return finalize(
        out,
        cube,
        units="dB",
        long_name=_long_name(cube, "dB"),
        keep_value_attrs=True,
        history="to_db: 10*log10(linear power)",
    )


@per_variable
def to_linear(cube: SarCube) -> SarCube:
    """Decibels to linear power (``units="1"``): ``10 ** (x / 10)``, lazily.

    Data declared linear (``units="1"``) are returned unchanged; without a ``units`` attr the
    input is taken to be dB (that is what calling this function states).

    Parameters
    ----------
    cube : DataArray or Dataset
        Decibels (``units="dB"``, or no units), or data already linear.

    Returns
    -------
    DataArray or Dataset
        Linear power, ``units="1"``, same dtype; lazy for dask input.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.array([[0.0, -10.0]], "float32"), dims=("y", "x"),
    ...                   attrs={"units": "dB"})
    >>> to_linear(da).values.astype(float).round(6).tolist(), to_linear(da).attrs["units"]
    ([[1.0, 0.1]], '1')
    """
    check_sar(cube, what="to_linear")
    if declared_domain(cube) == "linear":
        return cube
    out = _wrap(map_blocks(_linear_kernel, cube), cube)
    return finalize(
        out,
        cube,
        units="1",
        long_name=_long_name(cube, "linear"),
        keep_value_attrs=True,
        history="to_linear: 10**(dB/10)",
    )


def as_linear(cube: xr.DataArray, *, what: str = "this SAR function") -> xr.DataArray:
    """``cube`` as linear power, validated, for code that reads SAR intensity (metrics, looks).

    dB input (``units="dB"``) is converted; linear input is returned with the check of
    :func:`~eoxr.sar._validate.raise_if_negative` attached lazily (it raises when the data are
    read: undeclared data with a negative value, or data declared linear that hold dB values).

    Parameters
    ----------
    cube : DataArray
        SAR intensity, ``units="1"``, ``"dB"`` or none (taken as linear).
    what : str
        Name of the caller, for error messages.

    Returns
    -------
    DataArray
        Linear power; lazy for dask input.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> da = xr.DataArray(np.array([[-10.0]], "float32"), dims=("y", "x"), attrs={"units": "dB"})
    >>> round(float(as_linear(da)[0, 0]), 6)
    0.1
    """
    check_sar(cube, what=what)
    dom, inferred = domain(cube)
    if dom == "dB":
        return to_linear(cube)
    return checked(cube, what, declared=not inferred)


def _long_name(cube: xr.DataArray, dom: str) -> str:
    base = str(cube.attrs.get("long_name", "backscatter"))
    for suffix in (" (dB)", " (linear)"):
        base = base.removesuffix(suffix)
    return f"{base} ({dom})"


__all__ = ["to_db", "to_linear", "as_linear"]
