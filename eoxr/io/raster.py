"""Opening GeoTIFF / COG / JPEG2000 / ENVI / netCDF files lazily as eoxr cubes.

Files of delivered products (Sentinel-2 SAFE granules, Landsat Collection 1/2 scenes) open as
delivered: band labels, ``platform`` and acquisition ``time`` come from the file names
(:mod:`eoxr.io.names`), and bands of different resolutions can be brought onto one grid lazily.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePath
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from xarray.core.indexing import LazilyIndexedArray

from .._attrs import append_history
from ..errors import GridMismatchError, ParameterError, ReadError, UnitsError
from ._options import RESAMPLINGS, RESOLUTIONS, STACKS, Resampling, Resolution, Stack, check_choice
from .envi import envi_header_from_tags, read_envi_header, spectral_coords
from .grid import nodata_to_nan, onto_one_grid, pixel_size, same_grid, target_geobox
from .names import (
    ProductName,
    date_from_name,
    parse_product_name,
    platform_from_tags,
    s2_processing_baseline,
)
from .netcdf import NETCDF_SUFFIXES, is_netcdf, open_netcdf
from .remote import RemoteRaster, Signer, gdal_options, gdal_path, is_url, open_error, url_path

PathLike = str | os.PathLike
#: What is opened: a local path, or a URL kept as the string given.
Source = Path | str


def _masked_float(da: xr.DataArray, masked: bool) -> xr.DataArray:
    """Nodata -> NaN lazily; integers and float32 become float32 (float64 stays float64)."""
    nodata = da.rio.nodata
    if not masked or nodata is None:
        return da  # integer data without nodata: keep codes (masks, DN) as they are
    if np.issubdtype(da.dtype, np.floating) and np.isnan(nodata):
        return da
    out = nodata_to_nan(da)
    if np.issubdtype(da.dtype, np.integer) and "units" not in out.attrs:
        # Integer pixels made float for NaN are still digital numbers: say so, so that
        # index(scale=...) accepts them and reflectance verbs know they need a scale.
        out.attrs["units"] = "DN"
    return out


def _open_one(
    src: Source,
    chunks: Any,
    masked: bool,
    variable: str | None,
    sign: Signer | None = None,
    overview_level: int | None = None,
) -> xr.DataArray:
    import rioxarray

    if chunks == "auto":  # rioxarray warns on its own tuple form of "auto"
        chunks = {"band": -1, "y": "auto", "x": "auto"}
    ovr = {} if overview_level is None else {"overview_level": overview_level}
    if is_url(src) and url_path(src).suffix.lower() in NETCDF_SUFFIXES:
        # fsspec keeps one file object for the lazy reads: signed once, here
        url = src if sign is None else sign(src)
        return open_netcdf(url, chunks=chunks, masked=masked, variable=variable)
    if is_url(src):
        return _masked_float(_open_url(src, chunks, sign, ovr), masked)
    path = Path(src)
    if not path.exists():
        raise ReadError(f"file {str(path)!r} does not exist.")
    if path.is_dir():
        raise ReadError(
            f"{str(path)!r} is a folder; pass the band files in it, e.g. "
            f"sorted(Path({str(path)!r}).glob('*.tif')), with stack='band'."
        )
    if is_netcdf(path):
        return open_netcdf(path, chunks=chunks, masked=masked, variable=variable)
    try:
        da = rioxarray.open_rasterio(
            path, chunks=chunks, mask_and_scale=False, default_name=path.stem, **ovr
        )
    except Exception as err:  # rasterio raises RasterioIOError, CPLE_* ...
        raise ReadError(
            f"cannot read {str(path)!r} as a raster ({err}); check that it is a "
            "GeoTIFF/COG/JPEG2000/ENVI/netCDF file and not truncated."
        ) from err
    if isinstance(da, list):
        raise ReadError(f"{str(path)!r} holds several subdatasets; open one of them by name.")
    da = spectral_coords(path, da)
    return _masked_float(da, masked)


def _open_url(url: str, chunks: Any, sign: Signer | None, ovr: dict) -> xr.DataArray:
    """A remote raster: metadata read once now, pixels read by :class:`RemoteRaster` later.

    rioxarray reads the metadata (and lays out the chunks on the file's tiles); its pixel reader
    is then replaced by one that signs the URL and sets the remote GDAL options at each read,
    on whichever worker runs it. A file GDAL does not recognise without its sidecar files (an
    ENVI ``.hdr``) is opened again with GDAL looking for them.
    """
    import rasterio

    signed = url if sign is None else sign(url)
    try:
        meta, header = _open_meta(url, signed, chunks, ovr, {})
        extra: dict[str, str] = {}
    except rasterio.errors.RasterioError as err:
        if "not recognized" not in str(err):
            raise open_error(url, err, signed=signed) from err
        extra = {"GDAL_DISABLE_READDIR_ON_OPEN": "YES"}  # probe x.hdr, x.aux.xml...
        try:
            meta, header = _open_meta(url, signed, chunks, ovr, extra)
        except rasterio.errors.RasterioError as err2:
            raise open_error(url, err2, signed=signed) from err2
    if isinstance(meta, list):
        raise ReadError(f"{url!r} holds several subdatasets; open one of them by name.")
    pixels = RemoteRaster(
        url,
        meta.shape,
        meta.dtype,
        sign=sign,
        overview_level=ovr.get("overview_level"),
        options=extra,
    )
    da = meta.copy(data=LazilyIndexedArray(pixels))
    if meta.chunks is not None:
        da = da.chunk(dict(zip(meta.dims, meta.chunks)))
    return spectral_coords(None, da, header)


def _open_meta(url: str, signed: str, chunks: Any, ovr: dict, extra: dict):
    """The lazy array rioxarray opens for a URL (pixel reader unused) and its ENVI header."""
    import rasterio
    import rioxarray

    with rasterio.Env(**{**gdal_options(), **extra}):
        meta = rioxarray.open_rasterio(
            gdal_path(signed),
            chunks=chunks,
            cache=False,
            mask_and_scale=False,
            default_name=url_path(url).stem,
            **ovr,
        )
        header = {}
        if extra and not isinstance(meta, list):  # files with sidecars: ENVI's header
            with rasterio.open(gdal_path(signed)) as src:
                header = envi_header_from_tags(src.tags(ns="ENVI"))
    return meta, header


def _as_sources(paths: PathLike | Sequence[PathLike]) -> list[Source]:
    """Local paths as ``Path``; URLs kept as given (``Path`` would fold ``//`` into ``/``)."""
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    try:
        out = [p if is_url(p) else Path(p) for p in paths]
    except TypeError as err:
        raise ParameterError(
            f"paths must be a path or a sequence of paths, got {type(paths).__name__}."
        ) from err
    if not out:
        raise ParameterError("open_raster got an empty list of paths: pass at least one file.")
    return out


def _name_path(src: Source) -> PurePath:
    """The path whose name tells the product, band and date (a URL's path part)."""
    return url_path(src) if is_url(src) else src


def _check_resolution(resolution: Any) -> float | str | None:
    if resolution is None or isinstance(resolution, str):
        return None if resolution is None else check_choice(resolution, RESOLUTIONS, "resolution")
    if isinstance(resolution, bool) or not isinstance(resolution, int | float | np.number):
        raise ParameterError(
            f"resolution={resolution!r} is not valid; give a pixel size in CRS units (e.g. 10) "
            f"or one of {list(RESOLUTIONS)}."
        )
    if not resolution > 0:
        raise ParameterError(f"resolution must be a positive pixel size, got {resolution}.")
    return float(resolution)


def _short_stems(plist: list[Path]) -> dict[Path, str]:
    """File stems without the prefix they all share up to a separator (``s2_B04`` -> ``B04``)."""
    stems = [p.stem for p in plist]
    common = os.path.commonprefix(stems) if len(stems) > 1 else ""
    cut = max(common.rfind("_"), common.rfind("-")) + 1
    short = [s[cut:] for s in stems]
    if cut and all(short) and len(set(short)) == len(short):
        return dict(zip(plist, short))
    return dict(zip(plist, stems))


def _band_labels(arrays: list[xr.DataArray], products: list[ProductName], plist: list[Path]):
    """One label per band: the product's band, else the file's description, else its stem."""
    stems = _short_stems(plist)
    labels: list[str] = []
    for da, prod, p in zip(arrays, products, plist):
        own = [str(b) for b in da["band"].values]
        if da.sizes["band"] > 1:
            labels.extend(f"{stems[p]}_{b}" for b in own)
        elif prod.label:
            labels.append(prod.label)
        else:
            labels.append(own[0] if own[0] != "1" else stems[p])
    return labels


def _stack_bands(arrays, products, plist, names) -> xr.DataArray:
    arrays = [
        a if "band" in a.dims else a.expand_dims(band=[p.stem]) for a, p in zip(arrays, plist)
    ]
    labels = list(names) if names else _band_labels(arrays, products, plist)
    da = xr.concat(arrays, dim="band", coords="minimal", compat="override", join="override")
    if len(labels) != da.sizes["band"]:
        raise ParameterError(f"{len(labels)} names for {da.sizes['band']} bands.")
    if len(set(labels)) != len(labels):
        raise ParameterError(f"band labels are not unique: {labels}; pass names=[...].")
    return da.assign_coords(band=labels)


def _stack_times(arrays, products, plist, names, times) -> xr.DataArray:
    if times is not None:
        stamps = list(times)
        if len(stamps) != len(plist):
            raise ParameterError(f"{len(stamps)} times for {len(plist)} files.")
    else:
        stamps = [prod.time or date_from_name(str(p)) for prod, p in zip(products, plist)]
        missing = [p.name for p, t in zip(plist, stamps) if t is None]
        if missing:
            raise ParameterError(f"no date in file names {missing}: pass times=[...].")
    one_band = all(a.sizes.get("band") == 1 for a in arrays)
    labels = {prod.label for prod in products}
    if one_band and not names and len(labels) == 1 and None not in labels:
        arrays = [a.assign_coords(band=[prod.label]) for a, prod in zip(arrays, products)]
    da = xr.concat(
        arrays,
        dim=pd.Index(pd.to_datetime(stamps), name="time"),
        coords="minimal",
        compat="override",
        join="override",
    )
    platforms = [prod.platform for prod in products]
    if len(set(platforms)) > 1 and None not in platforms:  # e.g. Landsat 5 and 7 in one series
        da = da.assign_coords(platform=("time", platforms))
    if names:
        if len(names) != da.sizes["band"]:
            raise ParameterError(f"{len(names)} names for {da.sizes['band']} bands.")
        da = da.assign_coords(band=list(names))
    return da


#: attrs that say what the values are; a stack carries them only when every file agrees.
_VALUE_KEYS = ("units", "scale_factor", "add_offset")


def _value_attrs(arrays: list[xr.DataArray]) -> list[dict[str, Any]]:
    """Per file, the attrs saying what its values are; integer pixels are digital numbers."""
    out = []
    for a in arrays:
        attrs = {k: a.attrs[k] for k in _VALUE_KEYS if k in a.attrs}
        if "units" not in attrs and np.issubdtype(a.dtype, np.integer):
            attrs["units"] = "DN"
        out.append(attrs)
    return out


def _stack_value_attrs(da: xr.DataArray, per_file: list[dict[str, Any]], plist: list[Path]):
    """The stack's ``units`` (and file scale) from ALL files, not from the first one.

    Files that declare different units are refused (a stack of DN and reflectance can be right
    for no verb); when some files say nothing, the stack says nothing (and the value checks of
    :mod:`eoxr.radiometry` decide when it is used).
    """
    units = {str(a["units"]).strip().lower() for a in per_file if "units" in a}
    if len(units) > 1:
        listed = ", ".join(f"{p.name}: {a.get('units', 'none')!r}" for p, a in zip(plist, per_file))
        raise UnitsError(
            f"the files do not hold the same kind of values (units {listed}); a stack of them "
            "would be right for no verb. Open each group on its own and bring them to one "
            "radiometry first, e.g. `eoxr.open_raster(dn_files, stack='band', "
            "resolution=10).eo.to_reflectance()`, then `xr.concat([...], dim='band')`."
        )
    for key in _VALUE_KEYS:
        values = [a.get(key) for a in per_file]
        if all(v is not None for v in values) and len({str(v) for v in values}) == 1:
            da.attrs[key] = values[0]
        else:
            da.attrs.pop(key, None)
    return da


def _product_metadata(da: xr.DataArray, products: list[ProductName], stacked_time: bool):
    """``platform`` attr and scalar ``time`` coord where every file agrees on them."""
    platforms = {p.platform for p in products}
    platform = platforms.pop() if len(platforms) == 1 else None
    if platforms == set() and platform in (None, "sentinel-2"):
        # no product names, or a granule name that does not say A/B/C: the tags may
        platform = platform_from_tags(da.attrs) or platform
    if platform:
        da.attrs["platform"] = platform
    stamps = {p.time for p in products}
    if not stacked_time and len(stamps) == 1 and None not in stamps and "time" not in da.dims:
        da = da.assign_coords(time=stamps.pop())
    return da


def open_raster(
    paths: PathLike | Sequence[PathLike],
    *,
    chunks: Any = "auto",
    stack: Stack | None = None,
    names: Sequence[str] | None = None,
    times: Sequence[Any] | None = None,
    masked: bool = True,
    resolution: float | Resolution | None = None,
    resampling: Resampling = "nearest",
    variable: str | None = None,
    sign: Signer | None = None,
) -> xr.DataArray:
    """Open one or several rasters lazily as a ``(band, y, x)`` or ``(time, band, y, x)`` cube.

    Product files open as delivered: band labels, ``attrs["platform"]`` (STAC style,
    ``"sentinel-2a"``, ``"landsat-8"``...) and the acquisition ``time`` are read from Sentinel-2
    (``T33UUU_20170216T102101_B02.jp2``, ``..._B02_10m.jp2``, ``S2B_MSIL1C_...SAFE/...``) and
    Landsat (``LC08_L1TP_..._T1_B4.TIF``, ``LC08_L2SP_..._SR_B4.TIF``, ``..._QA_PIXEL.TIF``,
    pre-collection ``LC80440342017005LGN00_B4.TIF``) file names. Labels are kept as written
    (``B02``, ``SR_B4``); :mod:`eoxr.bands` maps them to common names using the platform.

    Parameters
    ----------
    paths : path, URL, or sequence of them
        GeoTIFF, COG, JPEG2000, ENVI or netCDF files (anything GDAL reads; netCDF via xarray).
        ``http(s)://``, ``s3://``, ``gs://`` and ``az://`` URLs of rasters are read with range
        requests through GDAL (:mod:`eoxr.io.remote`), configured by the standard ``AWS_*`` /
        ``GS_*`` / ``AZURE_*`` environment variables and ``AWS_ENDPOINT_URL``.
    chunks : dict, "auto" or None
        Dask chunks (``None``: no dask, pixels are read on access).
    stack : {"time", "band"}, optional
        How to combine several files: along a new ``time`` dim (dates from ``times`` or the
        file names) or as bands (labels from ``names``, the product file names, the files' band
        descriptions or their stems). Required with more than one file.
    names : sequence of str, optional
        Band labels (replace those from the file names / descriptions / ENVI header).
    times : sequence, optional
        Timestamps for ``stack="time"``.
    masked : bool
        Map the file's nodata value to NaN (float32; float64 files stay float64).
    resolution : float or {"finest", "coarsest"}, optional
        Bring files of different grids (Sentinel-2's 10/20/60 m bands) onto one grid, lazily:
        the grid of a file with this pixel size (CRS units), or of the finest / coarsest file.
        Pixels outside a file's footprint are nodata (NaN when ``masked``; integer files
        without nodata get 0, declared as their nodata value). Resampled integer files become
        float32 unless ``resampling`` picks input values (nearest, mode, min, max, med, q1, q3).
        A file with finer pixels is read from its coarsest overview that is not coarser than
        the target (as ``gdalwarp`` does), so a coarse read of a COG fetches its overview tiles,
        not the full-resolution ones; the values are then those of the overview.
    resampling : str
        Resampling used with ``resolution``: one of ``"nearest"`` (default; right for quality
        and class layers), ``"bilinear"``, ``"cubic"``, ``"cubic_spline"``, ``"lanczos"``,
        ``"average"``, ``"mode"``, ``"min"``, ``"max"``, ``"med"``, ``"q1"``, ``"q3"``,
        ``"sum"``, ``"rms"``.
    variable : str, optional
        netCDF variable to read when the file holds several.
    sign : callable, optional
        ``sign(url) -> url`` for URLs with expiring signatures (e.g.
        ``planetary_computer.sign``): called when the file is opened and again at every read,
        on the worker that reads, so a lazy cube computed after the first token expired still
        reads. netCDF URLs (read through one fsspec file object) are signed once, when opened.

    Returns
    -------
    DataArray
        Lazy cube with ``y``/``x`` coords, CRS, band labels, ``attrs["platform"]`` and a
        ``time`` coordinate where the file names tell them, GeoTIFF tags (``SPACECRAFT_ID``...)
        in attrs, and for ENVI headers ``wavelength`` (nm), ``fwhm`` and ``bbl`` (1 good,
        0 bad band) coordinates along ``band``.

    Raises
    ------
    ReadError
        A file is missing or unreadable (a remote one also after GDAL's retries); the message
        names the file or URL.
    GridMismatchError
        Files lie on different grids and ``resolution`` is not given.
    ParameterError
        Empty ``paths``, several files without ``stack``, or an invalid option value.

    Examples
    --------
    >>> import eoxr, eoxr.datasets
    >>> files = sorted(eoxr.datasets.data_dir("s2_chesapeake").glob("*/B0[48].tif"))
    >>> eoxr.open_raster(files, stack="band").band.values.tolist()
    ['B04', 'B08']
    """
    sources = _as_sources(paths)
    plist = [_name_path(src) for src in sources]
    if isinstance(chunks, str) and chunks != "auto":
        raise ParameterError(f"chunks={chunks!r} is not valid; use 'auto', None or a dict.")
    if stack is not None:
        check_choice(stack, STACKS, "stack")
    resampling = check_choice(resampling, RESAMPLINGS, "resampling")
    res = _check_resolution(resolution)
    _check_sign(sign, sources)
    if len(plist) > 1 and stack is None:
        raise ParameterError(
            f"{len(plist)} files given: say how to combine them with stack='time' or stack='band'."
        )
    arrays = [_open_one(src, chunks, masked, variable, sign) for src in sources]
    per_file = _value_attrs(arrays)
    overviews: dict[str, int] = {}
    if res is not None:
        gbox = target_geobox(arrays, res)
        for i, src in enumerate(sources):
            level = _overview_level(src, sign, pixel_size(arrays[i]), abs(gbox.resolution.x))
            if level is not None:
                arrays[i] = _open_one(src, chunks, masked, variable, sign, level)
                overviews[plist[i].name] = level
        warped = onto_one_grid(arrays, res, resampling, geobox=gbox)
        arrays = [_masked_float(a, masked) for a in warped]
    else:
        _check_same_grid(arrays, plist)
    products = [parse_product_name(p) for p in plist]
    if stack == "band":
        da = _stack_bands(arrays, products, plist, names)
    elif stack == "time":
        da = _stack_times(arrays, products, plist, names, times)
    else:
        da = arrays[0]
        if "band" in da.dims and da.sizes["band"] == 1 and products[0].label and not names:
            da = da.assign_coords(band=[products[0].label])
        if names:
            if "band" not in da.dims or len(names) != da.sizes["band"]:
                raise ParameterError(f"{len(names)} names for {da.sizes.get('band', 0)} bands.")
            da = da.assign_coords(band=list(names))
    if stack is not None:
        da = _stack_value_attrs(da, per_file, plist)
        if masked and np.issubdtype(da.dtype, np.floating):  # NaN is the nodata of every file
            da = da.rio.write_nodata(np.nan, encoded=False)
    baselines = {s2_processing_baseline(p) for p in plist}
    if len(baselines) == 1 and None not in baselines:
        da.attrs["processing_baseline"] = baselines.pop()  # the S2 DN offset depends on it
    da = _product_metadata(da, products, stack == "time")
    read = f"open_raster: {[p.name for p in plist]}"
    if overviews:
        read += f", read from overviews (0 = first) {overviews}"
    da.attrs = append_history(da.attrs, read)
    return da


def _check_sign(sign: Any, sources: list[Source]) -> None:
    if sign is None:
        return
    if not callable(sign):
        raise ParameterError(
            f"sign must be a callable url -> signed url (e.g. planetary_computer.sign), got "
            f"{type(sign).__name__}."
        )
    if not any(is_url(s) for s in sources):
        raise ParameterError(
            "sign= signs URLs, and every file given is local: drop sign=, or pass the URLs."
        )


def _overview_level(src: Source, sign: Signer | None, pixel: float, target: float) -> int | None:
    """The coarsest overview of a file whose pixels are not coarser than ``target`` (or None)."""
    import rasterio

    remote = is_url(src)
    if remote and url_path(src).suffix.lower() in NETCDF_SUFFIXES:
        return None
    if pixel >= target * (1 - 1e-6) or (not remote and is_netcdf(Path(src))):
        return None
    path = gdal_path(sign(src) if sign else src) if remote else src
    try:
        with rasterio.Env(**(gdal_options() if remote else {})), rasterio.open(path) as ds:
            factors = ds.overviews(1)
    except rasterio.errors.RasterioError as err:
        raise (
            open_error(src, err) if remote else ReadError(f"cannot read {src!r}: {err}")
        ) from err
    fits = [i for i, f in enumerate(factors) if pixel * f <= target * (1 + 1e-6)]
    return fits[-1] if fits else None


def _check_same_grid(arrays: list[xr.DataArray], paths: list[Path]) -> None:
    ref = arrays[0]
    for da, p in zip(arrays[1:], paths[1:]):
        if not same_grid(da, ref):
            raise GridMismatchError(
                f"{p.name} is on another grid than {paths[0].name}: shape "
                f"{da.rio.shape} vs {ref.rio.shape}, pixel size {pixel_size(da):g} vs "
                f"{pixel_size(ref):g}, CRS {da.rio.crs} vs {ref.rio.crs}. "
                "Pass resolution=10 (a pixel size), 'finest' or 'coarsest' (with e.g. "
                "resampling='bilinear') to bring all files onto one grid lazily, or load through "
                "a STAC catalog with eoxr.load_stac."
            )


__all__ = ["open_raster", "read_envi_header", "date_from_name"]
