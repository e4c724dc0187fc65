"""ENVI headers: band names, numeric wavelengths in nm, FWHM and the bad-band list ``bbl``."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..errors import ReadError

__all__ = ["read_envi_header", "envi_header_for", "spectral_coords", "to_nanometres"]

#: Factor from an ENVI ``wavelength units`` value to nanometres.
_UNIT_TO_NM = {
    "nanometers": 1.0, "nanometer": 1.0, "nanometres": 1.0, "nm": 1.0,
    "micrometers": 1e3, "micrometer": 1e3, "micrometres": 1e3, "microns": 1e3, "micron": 1e3,
    "um": 1e3, "µm": 1e3, "millimeters": 1e6, "mm": 1e6,
}  # fmt: skip
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
# Header keys GDAL copies into the attrs that eoxr turns into coordinates (or that only describe
# the binary layout): left in attrs they would contradict the coordinates after a selection.
_ENVI_LAYOUT_KEYS = {
    "samples", "lines", "bands", "header_offset", "file_type", "data_type", "interleave",
    "byte_order", "wavelength", "wavelength_units", "fwhm", "bbl", "band_names",
}  # fmt: skip


def read_envi_header(path: str | os.PathLike) -> dict[str, Any]:
    """Parse an ENVI ``.hdr`` file into a dict (lists for ``{...}`` values, lower-case keys).

    Parameters
    ----------
    path : str or path
        The ``.hdr`` file.

    Returns
    -------
    dict
        Header keys (lower case) to strings, or lists of strings for ``{...}`` values.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> hdr = pathlib.Path(tempfile.mkdtemp()) / "x.hdr"
    >>> _ = hdr.write_text(chr(10).join(["ENVI", "bands = 2", "bbl = {1, 0}"]))
    >>> read_envi_header(hdr)["bbl"]
    ['1', '0']
    """
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as err:
        raise ReadError(f"cannot read the ENVI header {str(path)!r}: {err}") from err
    out: dict[str, Any] = {}
    for m in re.finditer(r"^\s*([^=\n]+?)\s*=\s*(\{[^}]*\}|[^\n]*)", text, flags=re.M):
        key, val = m.group(1).strip().lower(), m.group(2).strip()
        if val.startswith("{"):
            out[key] = [v.strip() for v in val[1:-1].replace("\n", " ").split(",") if v.strip()]
        else:
            out[key] = val
    return out


def envi_header_from_tags(tags: dict[str, str]) -> dict[str, Any]:
    """The header dict of :func:`read_envi_header` from GDAL's ``ENVI`` metadata domain.

    GDAL keeps every header key there with ``_`` for spaces (``wavelength_units``): for a
    remote file, whose ``.hdr`` is read by GDAL and not by eoxr.

    Examples
    --------
    >>> envi_header_from_tags({"wavelength_units": "Micrometers", "bbl": "{ 1, 0}"})
    {'wavelength units': 'Micrometers', 'bbl': ['1', '0']}
    """
    out: dict[str, Any] = {}
    for key, val in tags.items():
        val = val.strip()
        if val.startswith("{") and val.endswith("}"):
            out[key.replace("_", " ").lower()] = [
                v.strip() for v in val[1:-1].replace("\n", " ").split(",") if v.strip()
            ]
        else:
            out[key.replace("_", " ").lower()] = val
    return out


def envi_header_for(path: Path) -> Path | None:
    """The ``.hdr`` beside an ENVI data file (``x.hdr``, ``x.HDR``, ``x.img.hdr``), if any."""
    for cand in (
        path.with_suffix(".hdr"),
        path.with_suffix(".HDR"),
        Path(str(path) + ".hdr"),
        Path(str(path) + ".HDR"),
    ):
        if cand.exists() and cand != path:
            return cand
    return None


def to_nanometres(values: Sequence[str], units: str | None) -> np.ndarray | None:
    """Wavelength strings (``"346.3"``, ``"346.3 Nanometers"``, ``"0.48 um"``) as float nm.

    ``units`` is the header's ``wavelength units``; a unit written inside a value wins. Without
    any unit, values all below 30 are taken as micrometres (no optical band lies below 30 nm).
    Returns ``None`` if a value holds no number or the unit is not a length (e.g. an index).

    Examples
    --------
    >>> to_nanometres(["0.48", "0.56"], "Micrometers").tolist()
    [480.0, 560.0]
    >>> to_nanometres(["346.2995778 Nanometers"], None).tolist()
    [346.2995778]
    """
    nums, factors = [], []
    default = (units or "").strip().lower()
    for v in values:
        m = _NUMBER.search(str(v))
        if m is None:
            return None
        nums.append(float(m.group()))
        inline = str(v)[m.end() :].strip().lower()
        factors.append(inline or default)
    arr = np.array(nums, dtype="float64")
    if all(f in ("", "unknown") for f in factors):
        return arr * 1e3 if arr.size and np.nanmax(arr) < 30 else arr
    if any(f not in _UNIT_TO_NM for f in factors):
        return None  # wavenumbers, "Index", ...: not a wavelength eoxr can use
    return arr * np.array([_UNIT_TO_NM[f] for f in factors])


_WAVELENGTH_ONLY = re.compile(r"^\s*" + _NUMBER.pattern + r"\s*[A-Za-zµ]*\s*$")
_WAVELENGTH_SUFFIX = re.compile(r"\s*\(\s*" + _NUMBER.pattern + r"\s*[A-Za-zµ]*\s*\)\s*$")


def _clean_description(text: str) -> str:
    """A band description as a label: GDAL's ENVI ``"name (346.3 Nanometers)"`` -> ``"name"``.

    A description that is only a wavelength (``"346.3 Nanometers"``) is no label: ``""``.
    """
    if _WAVELENGTH_ONLY.match(text):
        return ""
    return _WAVELENGTH_SUFFIX.sub("", text).strip()


def _labels(da: xr.DataArray, meta: dict[str, Any]) -> list[str]:
    n = da.sizes["band"]
    names = meta.get("band names")
    if isinstance(names, list) and len(names) == n:
        return [str(x) for x in names]
    desc = da.attrs.get("long_name")
    if isinstance(desc, str):
        desc = (desc,)
    if isinstance(desc, tuple | list) and len(desc) == n:
        clean = [_clean_description(str(d)) if d else "" for d in desc]
        if all(clean) and len(set(clean)) == n:
            return clean
    return [str(i + 1) for i in range(n)]


def spectral_coords(
    path: Path | None, da: xr.DataArray, header: dict[str, Any] | None = None
) -> xr.DataArray:
    """Band labels and ``wavelength`` (nm) / ``fwhm`` / ``bbl`` coords of a freshly opened file.

    Labels come from ENVI ``band names``, else from the file's band descriptions (GeoTIFF
    ``descriptions``), else ``"1"``, ``"2"``...; ``bbl`` (1 good, 0 bad band) is int8.
    ``path`` None: a remote file, whose ENVI header (``header``, from GDAL's metadata, see
    :func:`envi_header_from_tags`) is given instead of looked for beside it.
    """
    hdr = envi_header_for(path) if path is not None else None
    meta = read_envi_header(hdr) if hdr is not None else dict(header or {})
    if header:
        hdr = "the ENVI header"
    n = da.sizes["band"]
    coords: dict[str, Any] = {"band": _labels(da, meta)}
    for key in ("wavelength", "fwhm"):
        vals = meta.get(key)
        arr = None
        if isinstance(vals, list) and len(vals) == n:
            arr = to_nanometres(vals, meta.get("wavelength units"))
        if arr is not None:
            coords[key] = ("band", arr)
        elif key in da.coords:  # GDAL's guess without usable units: not a trustworthy nm value
            da = da.drop_vars(key)
    bbl = meta.get("bbl")
    if isinstance(bbl, list) and len(bbl) == n:
        try:
            flags = np.array([float(b) for b in bbl]) != 0
        except ValueError as err:
            raise ReadError(f"{hdr}: bbl must be a list of 0/1 flags, got {bbl}") from err
        coords["bbl"] = ("band", flags.astype("int8"))
    da = da.assign_coords(coords)
    for key in ("wavelength", "fwhm"):
        if key in da.coords:
            da[key].attrs["units"] = "nm"
    if "bbl" in da.coords:
        da["bbl"].attrs["long_name"] = "ENVI bad-band list: 1 = good, 0 = bad"
    if hdr is not None:
        da.attrs = {
            k: v
            for k, v in da.attrs.items()
            if k not in _ENVI_LAYOUT_KEYS and not re.fullmatch(r"Band_\d+", k)
        }
    if isinstance(da.attrs.get("long_name"), tuple | list) or hdr is not None:
        da.attrs.pop("long_name", None)  # the descriptions are now the band labels
    return da
