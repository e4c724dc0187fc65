"""Opening GeoTIFF / COG / ENVI files with rioxarray, lazily, as eoxr cubes."""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from .._attrs import append_history
from ..errors import GridMismatchError, ParameterError, ReadError

PathLike = str | os.PathLike


def read_envi_header(path: PathLike) -> dict[str, Any]:
    """Parse an ENVI ``.hdr`` file into a dict (lists for ``{...}`` values, lower-case keys)."""
    text = Path(path).read_text(errors="replace")
    out: dict[str, Any] = {}
    for m in re.finditer(r"^\s*([^=\n]+?)\s*=\s*(\{[^}]*\}|[^\n]*)", text, flags=re.M):
        key, val = m.group(1).strip().lower(), m.group(2).strip()
        if val.startswith("{"):
            out[key] = [v.strip() for v in val[1:-1].replace("\n", " ").split(",") if v.strip()]
        else:
            out[key] = val
    return out


def _envi_header_for(path: Path) -> Path | None:
    for cand in (
        path.with_suffix(".hdr"),
        path.with_suffix(".HDR"),
        Path(str(path) + ".hdr"),
        Path(str(path) + ".HDR"),
    ):
        if cand.exists():
            return cand
    return None


def _to_float(values: Sequence[str]) -> np.ndarray | None:
    try:
        return np.array([float(v) for v in values])
    except ValueError:
        return None


def _spectral_coords(path: Path, da: xr.DataArray) -> xr.DataArray:
    """Band labels and ``wavelength``/``fwhm`` coords from an ENVI header or GDAL descriptions."""
    n = da.sizes["band"]
    labels: list[str] = [str(i + 1) for i in range(n)]
    desc = da.attrs.get("long_name")
    if isinstance(desc, str) and n == 1:
        desc = (desc,)
    if isinstance(desc, tuple | list) and len(desc) == n and all(desc) and len(set(desc)) == n:
        labels = [str(d) for d in desc]
    hdr = _envi_header_for(path)
    if hdr is not None:
        meta = read_envi_header(hdr)
        names = meta.get("band names")
        if isinstance(names, list) and len(names) == n:
            labels = names
        for key in ("wavelength", "fwhm"):
            vals = meta.get(key)
            arr = _to_float(vals) if isinstance(vals, list) and len(vals) == n else None
            if arr is not None:
                units = str(meta.get("wavelength units", "nanometers")).lower()
                if units.startswith("micro"):  # ENVI allows micrometres; eoxr uses nm
                    arr = arr * 1000.0
                da = da.assign_coords({key: ("band", arr)})
    da = da.assign_coords(band=labels)
    if "wavelength" in da.coords:
        da["wavelength"].attrs["units"] = "nm"
    return da


def _masked_float(da: xr.DataArray, masked: bool) -> xr.DataArray:
    """Nodata -> NaN lazily; integers and float32 become float32 (float64 stays float64)."""
    nodata = da.rio.nodata
    if not masked:
        return da
    if nodata is None and np.issubdtype(da.dtype, np.floating):
        return da
    if nodata is None:
        return da  # integer data without nodata: keep codes (masks, DN) as they are
    dtype = "float64" if da.dtype == np.float64 else "float32"
    out = da.astype(dtype).where(da != nodata)
    out.attrs = {k: v for k, v in da.attrs.items() if k not in ("_FillValue",)}
    out = out.rio.write_nodata(np.nan, encoded=False)
    return out


_DATE_PATTERNS = (
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})"), "%Y-%m-%d"),
    (re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"), "%Y%m%d"),
    # Landsat pre-collection scene ids: LE7 PPPRRR YYYY DDD
    (re.compile(r"L[CTEOM]\d{7}(\d{4})(\d{3})"), "%Y%j"),
)


def date_from_name(name: str) -> pd.Timestamp | None:
    """A date found in a file name (``2020-05-01``, ``20200501`` or a Landsat scene id)."""
    for rx, fmt in _DATE_PATTERNS:
        m = rx.search(name)
        if m:
            try:
                return pd.Timestamp(
                    _dt.datetime.strptime("".join(m.groups()), fmt.replace("-", ""))
                )
            except ValueError:
                continue
    return None


def _open_one(path: Path, chunks: Any, masked: bool) -> xr.DataArray:
    import rioxarray

    if not path.exists():
        raise ReadError(f"file {str(path)!r} does not exist.")
    if chunks == "auto":  # rioxarray warns on its own tuple form of "auto"
        chunks = {"band": -1, "y": "auto", "x": "auto"}
    try:
        da = rioxarray.open_rasterio(
            path, chunks=chunks, mask_and_scale=False, default_name=path.stem
        )
    except Exception as err:  # rasterio raises RasterioIOError, CPLE_* ...
        raise ReadError(
            f"cannot read {str(path)!r} as a raster ({err}); check that it is a "
            "GeoTIFF/COG/ENVI file and not truncated."
        ) from err
    if isinstance(da, list):
        raise ReadError(f"{str(path)!r} holds several subdatasets; open one of them by name.")
    da = _spectral_coords(path, da)
    return _masked_float(da, masked)


def open_raster(
    paths: PathLike | Sequence[PathLike],
    *,
    chunks: Any = "auto",
    stack: Literal["time", "band"] | None = None,
    names: Sequence[str] | None = None,
    times: Sequence[Any] | None = None,
    masked: bool = True,
) -> xr.DataArray:
    """Open one or several rasters lazily as a ``(band, y, x)`` or ``(time, band, y, x)`` cube.

    Parameters
    ----------
    paths : path or sequence of paths
        GeoTIFF, COG or ENVI files (anything GDAL reads).
    chunks : dict, "auto" or None
        Dask chunks (``None`` reads into memory).
    stack : {"time", "band"}, optional
        How to combine several files: along a new ``time`` dim (dates from ``times`` or parsed
        from the file names) or as bands (one band per file, labels from ``names`` or file stems).
    names : sequence of str, optional
        Band labels (replace those from the file / ENVI header).
    times : sequence, optional
        Timestamps for ``stack="time"``.
    masked : bool
        Map the file's nodata value to NaN (float32; float64 files stay float64).

    Returns
    -------
    DataArray
        Lazy cube with ``y``/``x`` coords, CRS, band labels and, for ENVI headers that have them,
        ``wavelength`` (nm) and ``fwhm`` coordinates along ``band``.

    Examples
    --------
    >>> import eoxr, eoxr.datasets
    >>> files = sorted(eoxr.datasets.data_dir("s2_chesapeake").glob("*/B0[48].tif"))
    >>> eoxr.open_raster(files, stack="band", names=["red", "nir"]).sizes["band"]
    2
    """
    many = not isinstance(paths, str | os.PathLike)
    plist = [Path(p) for p in (paths if many else [paths])]
    if many and len(plist) > 1 and stack is None:
        raise ParameterError(
            f"{len(plist)} files given: say how to combine them with stack='time' or stack='band'."
        )
    arrays = [_open_one(p, chunks, masked) for p in plist]
    _check_same_grid(arrays, plist)
    if stack == "band":
        da = xr.concat(arrays, dim="band", coords="minimal", compat="override", join="override")
        labels = list(names) if names else [p.stem for p in plist]
        if len(labels) != da.sizes["band"]:
            raise ParameterError(f"{len(labels)} names for {da.sizes['band']} bands.")
        da = da.assign_coords(band=labels)
    elif stack == "time" or (many and len(plist) > 1):
        stamps = list(times) if times is not None else [date_from_name(p.name) for p in plist]
        if any(t is None for t in stamps):
            missing = [p.name for p, t in zip(plist, stamps) if t is None]
            raise ParameterError(f"no date in file names {missing}: pass times=[...].")
        da = xr.concat(
            arrays,
            dim=pd.Index(pd.to_datetime(stamps), name="time"),
            coords="minimal",
            compat="override",
            join="override",
        )
        if names:
            da = da.assign_coords(band=list(names))
    else:
        da = arrays[0]
        if names:
            if len(names) != da.sizes["band"]:
                raise ParameterError(f"{len(names)} names for {da.sizes['band']} bands.")
            da = da.assign_coords(band=list(names))
    da.attrs = append_history(da.attrs, f"open_raster: {[p.name for p in plist]}")
    return da


def _check_same_grid(arrays: list[xr.DataArray], paths: list[Path]) -> None:
    ref = arrays[0]
    for da, p in zip(arrays[1:], paths[1:]):
        same = (
            da.sizes["y"] == ref.sizes["y"]
            and da.sizes["x"] == ref.sizes["x"]
            and da.rio.crs == ref.rio.crs
            and np.allclose(da.rio.transform()[:6], ref.rio.transform()[:6])
        )
        if not same:
            raise GridMismatchError(
                f"{p.name} is on another grid than {paths[0].name}: shape "
                f"{(da.sizes['y'], da.sizes['x'])} vs {(ref.sizes['y'], ref.sizes['x'])}, CRS "
                f"{da.rio.crs} vs {ref.rio.crs}. Reproject first, e.g. "
                "`other.rio.reproject_match(first)`, or load through a STAC catalog with "
                "eoxr.load_stac, which resamples onto one grid."
            )


__all__ = ["open_raster", "read_envi_header", "date_from_name"]
