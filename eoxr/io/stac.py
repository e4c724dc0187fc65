"""Lazy loading of STAC items through odc-stac, with scale/offset and nodata applied.

odc-stac reads pixels and fuses items onto one grid but neither applies ``raster:bands``
scale/offset nor maps nodata to NaN (it drops those fields). This module reads them from the items
and applies them lazily, per item group, so digital numbers become float32 physical values.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .. import bands as _bands
from .. import radiometry as _radiometry
from .._attrs import append_history
from ..errors import BandNotFoundError, ParameterError, ReadError
from .remote import Signer, gdal_options, is_url, worker_error

#: Sentinel-2 digital numbers are reflectance x 10000 when the item does not say otherwise.
S2_DEFAULT_SCALE = 1.0 / _radiometry.S2_QUANTIFICATION
#: ESA processing baseline 04.00 (2022-01-25) adds 1000 to every L1C/L2A digital number.
S2_BASELINE_OFFSET_DN = _radiometry.S2_BASELINE_OFFSET_DN


def _as_items(items: Any) -> list:
    """Accept Items, an ItemCollection, a Catalog/Collection, or a path to a catalog JSON."""
    import pystac

    if isinstance(items, str | os.PathLike):
        path = Path(items)
        if not path.exists():
            raise ReadError(
                f"STAC catalog {str(path)!r} does not exist; pass a path to a "
                "catalog.json/collection.json/item JSON or pystac objects."
            )
        try:
            items = pystac.read_file(str(path))
        except Exception as err:  # JSONDecodeError, STACTypeError, KeyError...
            raise ReadError(
                f"{str(path)!r} is not a readable STAC catalog/collection/item JSON ({err})."
            ) from err
    if isinstance(items, pystac.Item):
        return [items]
    if isinstance(items, pystac.Catalog):  # Collection is a Catalog
        return list(items.get_items(recursive=True))
    out = list(items)
    if not out:
        raise ReadError("no STAC items to load: the collection/search returned nothing.")
    bad = [type(i).__name__ for i in out if not isinstance(i, pystac.Item)]
    if bad:
        raise ReadError(
            f"expected pystac.Item objects, got {sorted(set(bad))}; convert dicts "
            "with pystac.Item.from_dict(d) (items need a self link for relative hrefs)."
        )
    return out


def _asset_common_names(item: Any) -> dict[str, str]:
    """Asset key -> common name from the asset's ``eo:bands``/``bands`` metadata."""
    out = {}
    for key, asset in item.assets.items():
        for field in ("eo:bands", "bands"):
            meta = asset.extra_fields.get(field)
            if meta and isinstance(meta, list) and meta[0].get("common_name"):
                out[key] = meta[0]["common_name"]
                break
        if key not in out and "eo:common_name" in asset.extra_fields:
            out[key] = asset.extra_fields["eo:common_name"]
    return out


def _resolve_assets(items: list, bands: Sequence[str] | None) -> list[str]:
    """Map requested band names (asset keys, common names or aliases) to asset keys."""
    first = items[0]
    keys = [k for k, a in first.assets.items() if _is_raster(a)]
    if bands is None:
        return keys
    common = _asset_common_names(first)
    # strict=False: asset eo:common_name fields name the bands even where the keys alone are
    # ambiguous between sensors
    sensor = _bands.detect_sensor(
        keys, {"platform": first.properties.get("platform", "")}, strict=False
    )
    out = []
    for name in bands:
        if name in first.assets:
            out.append(name)
            continue
        want = _bands.canonical_name(name, sensor) or _bands.canonical_name(name)
        hit = [
            k
            for k in keys
            if want and (common.get(k) == want or _bands.canonical_name(k, sensor) == want)
        ]
        if not hit:
            tried = [name] + (_bands.aliases_of(want) if want else [])
            raise BandNotFoundError(
                name, keys, tried, hint="Pass one of the asset keys present (see item.assets)."
            )
        out.append(hit[0])
    return out


def _is_raster(asset: Any) -> bool:
    roles = asset.roles or []
    media = (asset.media_type or "").lower()
    return (
        "data" in roles
        or "tiff" in media
        or "raster:bands" in asset.extra_fields
        or "eo:bands" in asset.extra_fields
    ) and "thumbnail" not in roles


def _is_s2(item: Any) -> bool:
    return str(item.properties.get("platform", "")).lower().startswith("sentinel-2") or (
        str(item.collection_id or "").lower().startswith("sentinel-2")
    )


def _baseline(item: Any) -> float | None:
    for key in ("s2:processing_baseline", "processing:version", "processing_baseline"):
        if key in item.properties:
            try:
                return float(item.properties[key])
            except (TypeError, ValueError):
                return None
    return None


def scale_offset(item: Any, key: str) -> tuple[float, float, float | None]:
    """(scale, offset, nodata) of one asset, with Sentinel-2 defaults where the item is silent.

    Sentinel-2 assets without ``raster:bands`` scale get 1e-4; with processing baseline >= 04.00
    and no explicit offset, the -1000 DN radiometric offset is applied (L1C and L2A alike).
    """
    asset = item.assets[key]
    rb = (asset.extra_fields.get("raster:bands") or [{}])[0]
    scale = rb.get("scale")
    offset = rb.get("offset")
    nodata = rb.get("nodata", asset.extra_fields.get("nodata"))
    if _is_s2(item) and not _bands.is_quality_band(key):
        if scale is None:
            scale = S2_DEFAULT_SCALE
        if offset is None:
            base = _baseline(item)
            new = base is not None and base >= _radiometry.S2_OFFSET_BASELINE
            offset = S2_BASELINE_OFFSET_DN * scale if new else 0.0
    return float(1.0 if scale is None else scale), float(0.0 if offset is None else offset), nodata


def _apply(
    da: xr.DataArray, scale: float, offset: float, nodata: Any, units: str = "1"
) -> xr.DataArray:
    """Lazily: nodata -> NaN, then value * scale + offset, as float32."""
    out = da.astype("float32")
    if nodata is not None and not (isinstance(nodata, float) and np.isnan(nodata)):
        out = out.where(da != nodata)
    if scale != 1.0 or offset != 0.0:
        out = out * np.float32(scale) + np.float32(offset)
    out.attrs = {"units": units, "scale_applied": scale, "offset_applied": offset}
    return out


def _units(key: str, item: Any) -> str:
    """Physical units after scaling: kelvin for thermal bands, reflectance ("1") otherwise."""
    sensor = _bands.detect_sensor(
        [key], {"platform": item.properties.get("platform", "")}, strict=False
    )
    common = _asset_common_names(item).get(key) or _bands.canonical_name(key, sensor) or ""
    return "K" if common.startswith("lwir") else "1"


def load_stac(
    items: Any,
    *,
    bands: Sequence[str] | None = None,
    chunks: Mapping[str, int] | None = None,
    common_names: bool = False,
    scale: bool = True,
    groupby: str = "solar_day",
    sign: Signer | None = None,
    **odc_kwargs: Any,
) -> xr.Dataset:
    """Load STAC items lazily into a Dataset with physical values (odc-stac underneath).

    Parameters
    ----------
    items : pystac Item, ItemCollection, Catalog/Collection, iterable of Items, or path
        What to load; a path is read as a STAC catalog/collection/item JSON (local catalogs work).
    bands : str or sequence of str, optional
        Asset keys, common names or aliases (``"red"``, ``"swir1"``, ``"B04"``...). Default: all
        raster assets of the first item.
    chunks : mapping, optional
        Dask chunks, default ``{"x": 1024, "y": 1024}`` (the result is always lazy).
    common_names : bool
        Rename spectral variables to STAC common names (``B04`` -> ``red``).
    scale : bool
        Apply ``raster:bands`` scale/offset and map nodata to NaN (float32). Quality layers (SCL,
        QA_PIXEL, fmask...) keep their integer codes.
    groupby : str
        odc-stac grouping of items into time steps (default one step per solar day).
    sign : callable, optional
        ``sign(href) -> href`` for asset URLs with expiring signatures (e.g.
        ``planetary_computer.sign``), called on the worker each time it opens an asset, so the
        lazy result still reads after the tokens of graph-building time expired (odc-stac's
        ``patch_url`` signs only once, when the graph is built).
    **odc_kwargs
        Passed to :func:`odc.stac.load` (``crs``, ``resolution``, ``bbox``, ``geobox``,
        ``resampling``...).

    Returns
    -------
    Dataset
        One variable per band, dims ``(time, y, x)``, CRS in ``spatial_ref``, lazy.

    Notes
    -----
    Asset hrefs may be ``http(s)://``, ``s3://``, ``gs://`` or ``az://`` URLs: they are read
    with range requests, configured by the standard ``AWS_*`` / ``GS_*`` / ``AZURE_*``
    environment variables and ``AWS_ENDPOINT_URL``, under the GDAL options of
    :mod:`eoxr.io.remote`, set on the worker at each read. A read that fails after GDAL's
    retries raises :class:`~eoxr.errors.ReadError` naming the asset URL.

    Examples
    --------
    >>> import eoxr, eoxr.datasets
    >>> ds = eoxr.load_stac(eoxr.datasets.catalog_path("landsat_colorado"), bands=["red", "nir"])
    >>> ds.red.dtype
    dtype('float32')
    """
    import odc.stac

    items = _as_items(items)
    if isinstance(bands, str):  # one band by name, not a sequence of one-letter names
        bands = [bands]
    keys = _resolve_assets(items, bands)
    quality = [k for k in keys if _bands.is_quality_band(k)]
    spectral = [k for k in keys if k not in quality]
    chunks = dict(chunks or {"x": 1024, "y": 1024})
    kw = {"chunks": chunks, "groupby": groupby, **odc_kwargs}
    if sign is not None and not callable(sign):
        raise ParameterError(
            f"sign must be a callable href -> signed href (e.g. planetary_computer.sign), got "
            f"{type(sign).__name__}."
        )
    if sign is not None and "driver" in odc_kwargs:
        raise ParameterError(
            "sign= signs the hrefs in eoxr's reader driver and cannot work with your driver=: "
            "drop one of them."
        )
    if "driver" not in odc_kwargs and (sign is not None or _remote(items, keys)):
        kw["driver"] = RemoteDriver(sign)
    try:
        if not scale:
            ds = odc.stac.load(items, bands=keys, **kw)
        else:
            ds = _load_scaled(items, spectral, quality, kw)
    except (OSError, RuntimeError) as err:
        raise ReadError(f"odc-stac could not read the items: {err}") from err
    platform = items[0].properties.get("platform")
    if platform:
        ds.attrs["platform"] = platform
    sensor = _bands.detect_sensor(spectral, {"platform": platform or ""}, strict=False)
    if sensor:
        ds.attrs["eoxr:sensor"] = sensor
    if common_names:
        ds = _bands.rename_to_common(ds, sensor=sensor)
        ds.attrs.pop("eoxr:sensor", None)
    ds.attrs = append_history(
        ds.attrs,
        f"load_stac: {len(items)} items, bands {keys}, "
        f"scale={'applied' if scale else 'not applied'}",
    )
    return ds


def _load_scaled(
    items: list, spectral: list[str], quality: list[str], kw: dict[str, Any]
) -> xr.Dataset:
    """Load per group of items sharing scale/offset/nodata, on one grid, then join on time."""
    import odc.stac

    groups: dict[tuple, list] = {}
    for it in items:
        sig = tuple(scale_offset(it, k) for k in spectral)
        groups.setdefault(sig, []).append(it)
    parts = []
    geobox = kw.pop("geobox", None)
    for sig, group in groups.items():
        raw = odc.stac.load(group, bands=spectral + quality, geobox=geobox, **kw)
        geobox = raw.odc.geobox
        out = raw[quality] if quality else xr.Dataset(coords=raw.coords)
        for key, (s, o, nd) in zip(spectral, sig):
            out[key] = _apply(raw[key], s, o, nd, _units(key, group[0]))
        out = out[spectral + quality]
        parts.append(out)
    ds = parts[0] if len(parts) == 1 else xr.concat(parts, dim="time").sortby("time")
    return ds


def _remote(items: list, keys: list[str]) -> bool:
    """Whether any asset to load lies behind a URL (then eoxr's remote options apply)."""
    return any(
        is_url(it.assets[k].get_absolute_href() or "")
        for it in items
        for k in keys
        if k in it.assets
    )


class RemoteDriver:
    """odc-stac's rasterio reader driver, with eoxr's remote options and ``sign=`` on the worker.

    odc-loader runs ``open`` and ``restore_env`` in the task that reads, so the URL is signed and
    :func:`eoxr.io.remote.gdal_options` (computed in the worker's environment) hold there, at
    compute time. A failed read raises :class:`~eoxr.errors.ReadError` naming the asset URL.

    Parameters
    ----------
    sign : callable, optional
        ``sign(href) -> href``, applied to URL hrefs at every open.
    """

    md_parser = None
    dask_reader = None
    aux_reader = None

    def __init__(self, sign: Signer | None = None) -> None:
        self.sign = sign

    @property
    def _rio(self) -> Any:
        from odc.loader import RioDriver

        return RioDriver()

    def new_load(self, geobox: Any, *, chunks: Any = None) -> Any:
        """Start a load (odc-loader's driver protocol)."""
        return self._rio.new_load(geobox, chunks=chunks)

    def finalise_load(self, load_state: Any) -> Any:
        """Finish a load (odc-loader's driver protocol)."""
        return self._rio.finalise_load(load_state)

    def capture_env(self) -> dict[str, Any]:
        """The rasterio environment of the graph-building process (odc-loader's protocol)."""
        return self._rio.capture_env()

    @contextmanager
    def restore_env(self, env: dict[str, Any], load_state: Any) -> Iterator[Any]:
        """That environment plus eoxr's remote options, on the worker (the worker's env wins)."""
        with self._rio.restore_env(gdal_options(env), load_state) as ctx:
            yield ctx

    def open(self, src: Any, ctx: Any) -> Any:
        """A reader of one asset band, its URL signed now (in the reading task)."""
        href = src.uri
        if self.sign is not None and is_url(href):
            src = src.patch(uri=self.sign(href))
        return _NamedReader(self._rio.open(src, ctx), href, src.uri)


class _NamedReader:
    """A reader whose failures name the asset URL (GDAL's messages do not)."""

    def __init__(self, reader: Any, href: str, signed: str) -> None:
        self.reader = reader
        self.href = href
        self.signed = signed

    def read(self, *args: Any, **kwargs: Any) -> Any:
        import rasterio

        try:
            return self.reader.read(*args, **kwargs)
        except rasterio.errors.RasterioError as err:
            if is_url(self.href):
                failure = worker_error(self.href, err, self.signed)
            else:
                failure = ReadError(f"cannot read pixels of {self.href!r}: {err}")
        raise failure  # outside the except block: see worker_error


def items_summary(items: Iterable[Any]) -> list[dict[str, Any]]:
    """Per item: id, datetime and per-asset (scale, offset, nodata) as eoxr will apply them."""
    out = []
    for it in _as_items(items):
        out.append(
            {
                "id": it.id,
                "datetime": it.datetime,
                "assets": {k: scale_offset(it, k) for k in it.assets if _is_raster(it.assets[k])},
            }
        )
    return out


__all__ = ["load_stac", "scale_offset", "items_summary"]
