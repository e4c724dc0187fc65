"""Band names: the only module of eoxr that knows them.

Every form of band label a cube may carry (Sentinel-2 ``B04``, Landsat ``SR_B4``, STAC common
names such as ``red``, colloquial aliases such as ``swir1`` or ``NIR``) is mapped to one canonical
vocabulary, the STAC ``eo:bands`` common names, and from there to the Awesome Spectral Indices
symbols (``R``, ``N``, ``S1``...) used by index formulas. The tables are data
(``eoxr/data/bands.json``), not code.

A cube is either a DataArray with a band dimension (``band`` or ``wavelength``) or a Dataset with
one variable per band (as :func:`odc.stac.load` returns).
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import xarray as xr

from ._dims import band_dim, require_band_dim, spatial_dims
from .errors import BandNotFoundError, DimensionError, GridMismatchError

Cube = xr.DataArray | xr.Dataset


@dataclass(frozen=True)
class CommonBand:
    """One entry of the canonical vocabulary."""

    #: STAC ``eo:bands`` common name, e.g. ``"swir16"``.
    name: str
    #: Awesome Spectral Indices symbol, e.g. ``"S1"`` (``None`` if the catalog has none).
    symbol: str | None
    #: Typical centre wavelength in nanometres (``None`` for SAR polarisations).
    center_wavelength: float | None
    #: Human-readable description.
    description: str


@dataclass(frozen=True)
class Sensor:
    """A sensor's band table."""

    #: Key such as ``"sentinel-2"``.
    name: str
    description: str
    #: STAC ``platform`` values that identify the sensor.
    platforms: tuple[str, ...]
    #: Band label -> (common name, centre wavelength nm, FWHM nm).
    bands: Mapping[str, tuple[str, float, float]]
    #: Labels of quality / mask layers (not spectral).
    quality_bands: tuple[str, ...] = ()


@dataclass(frozen=True)
class BandTable:
    """The whole vocabulary, loaded once from ``eoxr/data/bands.json``."""

    common: Mapping[str, CommonBand]
    aliases: Mapping[str, str]
    sensors: Mapping[str, Sensor]
    symbol_fallbacks: Mapping[str, tuple[str, ...]]
    detect_rules: tuple[Mapping[str, Any], ...]
    quality_names: frozenset[str] = field(default_factory=frozenset)

    @property
    def symbols(self) -> dict[str, str]:
        """ASI symbol -> canonical common name."""
        return {b.symbol: b.name for b in self.common.values() if b.symbol}


@lru_cache(maxsize=1)
def table() -> BandTable:
    """Load (once) and return the band vocabulary."""
    raw = json.loads(resources.files("eoxr.data").joinpath("bands.json").read_text())
    common = {
        k: CommonBand(k, v["symbol"], v["center_wavelength"], v["description"])
        for k, v in raw["common_names"].items()
    }
    sensors = {
        k: Sensor(
            k,
            v["description"],
            tuple(v["platforms"]),
            {
                b: (d["common_name"], d["center_wavelength"], d["fwhm"])
                for b, d in v["bands"].items()
            },
            tuple(v.get("quality_bands", ())),
        )
        for k, v in raw["sensors"].items()
    }
    for s in sensors.values():
        unknown = {c for c, _, _ in s.bands.values()} - set(common)
        if unknown:  # the data file is ours: fail loudly if it is inconsistent
            raise ValueError(f"bands.json: sensor {s.name} uses unknown common names {unknown}")
    return BandTable(
        common=common,
        aliases={k.lower(): v for k, v in raw["aliases"].items()},
        sensors=sensors,
        symbol_fallbacks={k: tuple(v) for k, v in raw["symbol_fallbacks"].items()},
        detect_rules=tuple(raw["detect_rules"]),
        quality_names=frozenset(n.lower() for n in raw["quality_band_names"]),
    )


# ----------------------------------------------------------------------------------- labels
def band_labels(cube: Cube) -> list[str]:
    """The cube's own band labels, in order.

    For a Dataset these are the data variables that have the spatial dimensions.
    """
    if isinstance(cube, xr.Dataset):
        ydim, xdim = spatial_dims(cube)
        return [str(k) for k, v in cube.data_vars.items() if ydim in v.dims and xdim in v.dims]
    dim = band_dim(cube)
    if dim is None:
        return [str(cube.name)] if cube.name is not None else []
    return [str(v) for v in cube[dim].values]


def _normalise(label: str) -> str:
    """Upper-case and zero-pad Sentinel-style numbers: ``b4`` -> ``B04``, ``b8a`` -> ``B8A``."""
    s = str(label).strip().upper()
    m = re.fullmatch(r"B(\d)(A?)", s)
    return f"B0{m.group(1)}{m.group(2)}" if m else s


def _sensor_band(label: str, sensor: Sensor) -> str | None:
    up = str(label).strip().upper()
    for key, (common, _, _) in sensor.bands.items():
        if key.upper() == up or (sensor.name == "sentinel-2" and _normalise(key) == _normalise(up)):
            return common
    return None


def detect_sensor(cube_or_labels: Cube | Iterable[str], attrs: Mapping | None = None) -> str | None:
    """Guess the sensor of a cube from its attrs (``platform``/``eoxr:sensor``) or labels.

    Returns a key of the band table (e.g. ``"sentinel-2"``, ``"landsat-oli-l2"``) or ``None``.

    Examples
    --------
    >>> detect_sensor(["SR_B4", "SR_B5", "ST_B10"])
    'landsat-oli-l2'
    """
    if isinstance(cube_or_labels, xr.DataArray | xr.Dataset):
        attrs = {**cube_or_labels.attrs, **(attrs or {})}
        labels = band_labels(cube_or_labels)
    else:
        labels = [str(x) for x in cube_or_labels]
    tab = table()
    attrs = attrs or {}
    declared = attrs.get("eoxr:sensor") or attrs.get("sensor")
    if declared in tab.sensors:
        return str(declared)
    raw = {str(x).upper() for x in labels}
    ups = {_normalise(x) for x in labels} | raw
    platform = str(attrs.get("platform", "")).lower()
    if platform:
        candidates = [s for s in tab.sensors.values() if platform in s.platforms]
        for s in candidates:  # among sensors of this platform, the one whose labels match best
            if ups & {k.upper() for k in s.bands}:
                return s.name
    for rule in tab.detect_rules:
        all_of = {x.upper() for x in rule.get("all_of", [])}
        any_of = {x.upper() for x in rule.get("any_of", [])}
        none_of = {x.upper() for x in rule.get("none_of", [])}
        if all_of and not all_of <= ups:
            continue
        if any_of and not any_of & ups:
            continue
        if none_of & raw:
            continue
        return str(rule["sensor"])
    return None


def canonical_name(label: Hashable, sensor: str | None = None) -> str | None:
    """Map one band label or alias to its canonical common name (``None`` if unknown).

    Examples
    --------
    >>> canonical_name("B8A", "sentinel-2"), canonical_name("SWIR1"), canonical_name("N")
    ('nir08', 'swir16', 'nir')
    """
    tab = table()
    text = str(label).strip()
    low = text.lower()
    if sensor is not None:
        hit = _sensor_band(text, tab.sensors[sensor])
        if hit:
            return hit
    if low in tab.common:
        return low
    if low in tab.aliases:
        return tab.aliases[low]
    if text in tab.symbols:  # ASI symbols are case-sensitive (S1 vs s1 alias agree anyway)
        return tab.symbols[text]
    return None


def is_quality_band(label: Hashable, sensor: str | None = None) -> bool:
    """True for mask / QA layers (SCL, QA_PIXEL, fmask...), which are not reflectance."""
    tab = table()
    up = str(label).upper()
    if sensor and up in {q.upper() for q in tab.sensors[sensor].quality_bands}:
        return True
    return str(label).lower() in tab.quality_names or any(
        up in {q.upper() for q in s.quality_bands} for s in tab.sensors.values()
    )


def band_mapping(cube: Cube, sensor: str | None = None) -> dict[str, str]:
    """Canonical common name -> the cube's own label, for every recognised band.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> band_mapping(et.make_cube(bands=["B04", "B08"]))
    {'red': 'B04', 'nir': 'B08'}
    """
    labels = band_labels(cube)
    sensor = sensor or detect_sensor(cube)
    out: dict[str, str] = {}
    for label in labels:
        name = canonical_name(label, sensor)
        if name is not None and name not in out:
            out[name] = label
    return out


def _candidates(name: str, sensor: str | None) -> list[str]:
    """Canonical names that may stand for ``name``, preferred first."""
    tab = table()
    canon = canonical_name(name, sensor) or canonical_name(name)
    if canon is None:
        return []
    out = [canon]
    symbol = tab.common[canon].symbol
    if symbol:
        out += list(tab.symbol_fallbacks.get(symbol, ()))
    return out


def aliases_of(canon: str) -> list[str]:
    """Every spelling that maps to a canonical name (aliases, symbol, sensor labels)."""
    tab = table()
    out = [canon] + [a for a, c in tab.aliases.items() if c == canon]
    if tab.common[canon].symbol:
        out.append(tab.common[canon].symbol)
    for s in tab.sensors.values():
        out += [k for k, (c, _, _) in s.bands.items() if c == canon]
    return list(dict.fromkeys(out))


def resolve_band(cube: Cube, name: str, sensor: str | None = None) -> str:
    """Return the cube's own label for ``name`` (a label, common name, alias or ASI symbol).

    Raises
    ------
    BandNotFoundError
        Listing the labels present and every alias tried.
    """
    labels = band_labels(cube)
    if name in labels:
        return name
    sensor = sensor or detect_sensor(cube)
    mapping = band_mapping(cube, sensor)
    cands = _candidates(name, sensor)
    for canon in cands:
        if canon in mapping:
            return mapping[canon]
    tried = [name] + [a for c in cands for a in aliases_of(c)]
    raise BandNotFoundError(name, labels, tried)


def symbol_mapping(cube: Cube, sensor: str | None = None) -> dict[str, str]:
    """ASI symbol (``R``, ``N``, ``S1``...) -> the cube's own label, for every band it can fill.

    A fallback (e.g. ``N`` from ``nir08`` on Landsat 8/9) is used only when the primary band is
    absent, and a band used by a fallback is not reused under its own symbol.
    """
    tab = table()
    mapping = band_mapping(cube, sensor)
    out: dict[str, str] = {}
    for canon, label in mapping.items():
        sym = tab.common[canon].symbol
        if sym:
            out[sym] = label
    for sym, fallbacks in tab.symbol_fallbacks.items():
        if sym in out:
            continue
        for fb in fallbacks:
            if fb in mapping:
                out[sym] = mapping[fb]
                fb_sym = tab.common[fb].symbol
                if fb_sym and out.get(fb_sym) == mapping[fb]:
                    del out[fb_sym]
                break
    return out


# ------------------------------------------------------------------------------ selection
def select_band(cube: Cube, name: str, sensor: str | None = None) -> xr.DataArray:
    """One band as a DataArray (named by its label, without the band coordinate).

    Examples
    --------
    >>> import eoxr.testing as et
    >>> select_band(et.make_cube(bands=["B04", "B08"]), "nir").name
    'B08'
    """
    label = resolve_band(cube, name, sensor)
    if isinstance(cube, xr.Dataset):
        return cube[label]
    dim = band_dim(cube)
    if dim is None:
        return cube
    idx = band_labels(cube).index(label)
    out = cube.isel({dim: idx}, drop=True)
    return out.rename(label)


def select_bands(cube: Cube, names: Iterable[str], sensor: str | None = None) -> list[xr.DataArray]:
    """Several bands, each as in :func:`select_band`."""
    return [select_band(cube, n, sensor) for n in names]


def to_array(cube: Cube, dim: str = "band") -> xr.DataArray:
    """A cube as a DataArray with a band dimension (lazy, keeps attrs and CRS coordinate).

    Variables without the spatial dims (e.g. ``spatial_ref``) stay as coordinates.
    A ``wavelength`` coordinate is added from the band table when the sensor is known.
    """
    if isinstance(cube, xr.DataArray):
        if band_dim(cube) is None:
            return cube.expand_dims({dim: [str(cube.name or "band")]})
        return cube
    labels = band_labels(cube)
    if not labels:
        raise DimensionError(
            f"the Dataset has no variable with spatial dims: {list(cube.data_vars)}"
        )
    grids = {tuple(cube[v].dims) for v in labels}
    if len(grids) > 1:
        raise GridMismatchError(
            f"band variables have different dims {sorted(grids)}; reproject/align them first "
            "(e.g. load with one resolution)."
        )
    da = cube[labels].to_dataarray(dim=dim)
    da.attrs = dict(cube.attrs)
    wl = wavelengths_of(labels, detect_sensor(cube))
    if all(w is not None for w in wl):
        da = da.assign_coords(wavelength=(dim, [float(w) for w in wl]))
    return da.transpose(
        *[d for d in cube[labels[0]].dims if d not in spatial_dims(cube)], dim, *spatial_dims(cube)
    )


def to_dataset(cube: Cube) -> xr.Dataset:
    """A cube as a Dataset with one variable per band (lazy)."""
    if isinstance(cube, xr.Dataset):
        return cube
    dim = require_band_dim(cube)
    coords_along = [c for c in cube.coords if cube[c].dims == (dim,) and c != dim]
    ds = cube.drop_vars(coords_along).to_dataset(dim=dim)
    ds = ds.rename({k: str(k) for k in ds.data_vars})
    ds.attrs = dict(cube.attrs)
    return ds


def wavelengths_of(labels: Iterable[str], sensor: str | None = None) -> list[float | None]:
    """Centre wavelength (nm) of each label, from the sensor table or the common-name table."""
    tab = table()
    out: list[float | None] = []
    for label in labels:
        w = None
        if sensor:
            row = tab.sensors[sensor].bands
            for k, (_, cw, _) in row.items():
                if _normalise(k) == _normalise(label):
                    w = cw
        if w is None:
            canon = canonical_name(label, sensor)
            w = tab.common[canon].center_wavelength if canon else None
        out.append(w)
    return out


def rename_to_common(cube: Cube, sensor: str | None = None) -> Cube:
    """Relabel bands with their canonical common names (unknown labels are kept)."""
    sensor = sensor or detect_sensor(cube)
    mapping = {lab: canonical_name(lab, sensor) or lab for lab in band_labels(cube)}
    if isinstance(cube, xr.Dataset):
        return cube.rename({k: v for k, v in mapping.items() if k != v})
    dim = band_dim(cube)
    if dim is None:
        return cube
    return cube.assign_coords({dim: [mapping[str(v)] for v in cube[dim].values]})


__all__ = [
    "BandTable",
    "CommonBand",
    "Sensor",
    "table",
    "band_labels",
    "detect_sensor",
    "canonical_name",
    "is_quality_band",
    "band_mapping",
    "aliases_of",
    "resolve_band",
    "symbol_mapping",
    "select_band",
    "select_bands",
    "to_array",
    "to_dataset",
    "wavelengths_of",
    "rename_to_common",
]
