"""Dual-polarisation helpers: cross/co-pol ratio and the dual-pol radar vegetation index."""

from __future__ import annotations

import xarray as xr

from .._attrs import finalize
from ..bands import select_band
from ._validate import check_sar, domain, with_dataset_units
from .convert import as_linear


def _pols(cube: xr.DataArray | xr.Dataset, co: str, cross: str):
    vv, vh = select_band(cube, co), select_band(cube, cross)
    if isinstance(cube, xr.Dataset):
        vv, vh = with_dataset_units(vv, cube), with_dataset_units(vh, cube)
    for band in (vv, vh):
        check_sar(band, what="dual-pol index")
    return vv, vh


def dual_pol_ratio(
    cube: xr.DataArray | xr.Dataset, *, co: str = "VV", cross: str = "VH"
) -> xr.DataArray:
    """Cross- over co-polarised backscatter, ``VH / VV``; ``VH - VV`` in dB for dB input.

    Parameters
    ----------
    cube : DataArray or Dataset
        Dual-pol backscatter: a band dim with both polarisations, or one variable each.
    co, cross : str
        Band names of the co- and cross-polarised channels.

    Returns
    -------
    DataArray
        The ratio, ``units="1"`` (linear input) or ``"dB"`` (both channels in dB); lazy.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> dual_pol_ratio(synthetic_s1(shape=(32, 32)).truth).max().item() <= 1.0
    True
    """
    vv, vh = _pols(cube, co, cross)
    db = domain(vv)[0] == "dB" and domain(vh)[0] == "dB"
    out = (
        vh - vv
        if db
        else as_linear(vh, what="dual-pol index") / as_linear(vv, what="dual-pol index")
    )
    return finalize(
        out,
        cube,
        name=f"{cross}_{co}_ratio",
        units="dB" if db else "1",
        long_name=f"{cross}/{co} backscatter ratio",
        history=f"dual_pol_ratio {cross}/{co}",
    )


def dual_pol_rvi(
    cube: xr.DataArray | xr.Dataset, *, co: str = "VV", cross: str = "VH"
) -> xr.DataArray:
    """Dual-pol radar vegetation index ``4 VH / (VV + VH)`` (linear power; Trudel et al. 2012).

    Parameters
    ----------
    cube : DataArray or Dataset
        Dual-pol backscatter (linear or dB, converted): a band dim or one variable per channel.
    co, cross : str
        Band names of the co- and cross-polarised channels.

    Returns
    -------
    DataArray
        The index in [0, 4] (``units="1"``); lazy for dask input.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_s1
    >>> rvi = dual_pol_rvi(synthetic_s1(shape=(32, 32)).truth)
    >>> bool(((rvi >= 0) & (rvi <= 4)).all())
    True
    """
    vv, vh = (as_linear(b, what="dual-pol index") for b in _pols(cube, co, cross))
    out = vh * vv.dtype.type(4.0) / (vv + vh)
    return finalize(
        out,
        cube,
        name="rvi",
        units="1",
        long_name="dual-pol radar vegetation index",
        history=f"dual_pol_rvi 4*{cross}/({co}+{cross})",
    )


__all__ = ["dual_pol_ratio", "dual_pol_rvi"]
