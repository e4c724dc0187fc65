"""Metadata: the only module of eoxr that restores coords, CRS and attrs after an operation.

Every public operation ends with :func:`finalize`, which copies coordinates and the CRS
(rioxarray's ``spatial_ref`` grid-mapping coordinate) from the input, keeps the input's attrs
that remain true, sets ``long_name``/``units`` and appends a line to the ``history`` attr.

Like xarray, the input's attrs are kept unless ``xr.set_options(keep_attrs=False)`` is in force;
then only what the operation itself writes (``long_name``, ``units``, its own attrs) and the
``history`` chain remain.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
from collections.abc import Hashable, Mapping
from typing import Any

import rioxarray  # noqa: F401  (registers .rio, used for CRS)
import xarray as xr

from ._version import __version__

# Attributes that describe the *values* of the input and are wrong once values change.
_VALUE_ATTRS = (
    "units",
    "long_name",
    "standard_name",
    "scale_factor",
    "add_offset",
    "_FillValue",
    "nodata",
    "valid_range",
    "valid_min",
    "valid_max",
    "flag_values",
    "flag_meanings",
)


def history_line(text: str) -> str:
    """One history entry: ``"<UTC timestamp> eoxr <version>: <text>"``."""
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{now} eoxr {__version__}: {text}"


def append_history(attrs: Mapping[str, Any], text: str) -> dict[str, Any]:
    """Return a copy of ``attrs`` with ``text`` appended to its ``history``."""
    out = dict(attrs)
    prev = out.get("history")
    out["history"] = f"{prev}\n{history_line(text)}" if prev else history_line(text)
    return out


def crs_of(obj: xr.DataArray | xr.Dataset) -> Any:
    """The CRS of ``obj`` (via rioxarray) or ``None``."""
    try:
        return obj.rio.crs
    except Exception:  # rioxarray raises on objects without spatial dims
        return None


def keep_attrs() -> bool:
    """Whether results keep the input's attrs: xarray's ``keep_attrs`` option, default True.

    Examples
    --------
    >>> import xarray as xr
    >>> keep_attrs()
    True
    >>> with xr.set_options(keep_attrs=False):
    ...     keep_attrs()
    False
    """
    option = xr.get_options()["keep_attrs"]
    return True if option == "default" else bool(option)


def _base_attrs(like: xr.DataArray | xr.Dataset, keep_values: bool) -> dict[str, Any]:
    """The input's attrs that stay true on the result, under the ``keep_attrs`` option."""
    if keep_attrs():
        drop = () if keep_values else _VALUE_ATTRS
        return {k: v for k, v in like.attrs.items() if k not in drop}
    # provenance always stays; the quantity's name/units stay when the operation keeps them
    kept = ("history", "units", "long_name") if keep_values else ("history",)
    return {k: v for k, v in like.attrs.items() if k in kept}


def _grid_coords(like: xr.DataArray | xr.Dataset, dims: tuple[Hashable, ...]) -> dict:
    """Coords of ``like`` whose dims all lie in ``dims`` (plus the CRS coordinate)."""
    out = {}
    for name, c in like.coords.items():
        if set(c.dims) <= set(dims):
            out[name] = c
    return out


def finalize(
    result: xr.DataArray,
    like: xr.DataArray | xr.Dataset,
    *,
    name: str | None = None,
    long_name: str | None = None,
    units: str | None = None,
    history: str | None = None,
    keep_value_attrs: bool = False,
    attrs: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Restore metadata of ``like`` on ``result`` after an operation.

    Parameters
    ----------
    result : DataArray
        The freshly computed array (its own coords are kept; missing ones are taken from ``like``).
    like : DataArray or Dataset
        The input the result was computed from.
    name, long_name, units : str, optional
        Name and CF attributes of the result.
    history : str, optional
        Text appended to the ``history`` attr (what was computed, with which parameters).
    keep_value_attrs : bool
        Keep ``units``/``long_name``/scale attrs of ``like`` (true for operations that do not
        change the physical quantity, e.g. a speckle filter).
    attrs : mapping, optional
        Extra attributes to set.

    Returns
    -------
    DataArray
        ``result`` with the grid coords and CRS of ``like``, its attrs (all of them unless
        ``xr.set_options(keep_attrs=False)``; the ``history`` chain always), the given
        ``long_name``/``units``/``attrs`` and a new ``history`` line.

    Examples
    --------
    >>> import xarray as xr
    >>> like = xr.DataArray([1.0, 2.0], dims="x", attrs={"title": "t", "units": "m"})
    >>> out = finalize(like * 2, like, units="m", history="doubled")
    >>> sorted(out.attrs)
    ['history', 'title', 'units']
    >>> with xr.set_options(keep_attrs=False):
    ...     sorted(finalize(like * 2, like, units="m", history="doubled").attrs)
    ['history', 'units']
    """
    coords = {
        k: v for k, v in _grid_coords(like, tuple(result.dims)).items() if k not in result.coords
    }
    out = result.assign_coords(coords) if coords else result
    base = _base_attrs(like, keep_value_attrs and isinstance(like, xr.DataArray))
    base.update(attrs or {})
    if long_name is not None:
        base["long_name"] = long_name
    if units is not None:
        base["units"] = units
    if history:
        base = append_history(base, history)
    out.attrs = base
    out.encoding = {}
    crs = crs_of(like)
    if crs is not None and crs_of(out) is None:
        # a result without spatial dims (e.g. a per-band statistic) cannot carry a CRS
        with contextlib.suppress(Exception):
            out = out.rio.write_crs(crs)
    if name is not None:
        out = out.rename(name)
    return out


def finalize_dataset(
    result: xr.Dataset, like: xr.DataArray | xr.Dataset, *, history: str | None = None
) -> xr.Dataset:
    """Dataset version of :func:`finalize`: coords, CRS and history; variables keep their attrs."""
    coords = {
        k: v for k, v in _grid_coords(like, tuple(result.dims)).items() if k not in result.coords
    }
    out = result.assign_coords(coords) if coords else result
    base = _base_attrs(like, False)
    out.attrs = append_history(base, history) if history else base
    crs = crs_of(like)
    if crs is not None and crs_of(out) is None:
        with contextlib.suppress(Exception):
            out = out.rio.write_crs(crs)
    return out


__all__ = [
    "history_line",
    "append_history",
    "crs_of",
    "keep_attrs",
    "finalize",
    "finalize_dataset",
]
