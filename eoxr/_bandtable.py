"""The band vocabulary as data: common names, aliases, sensor tables (``eoxr/data/bands.json``).

Loading and looking up the tables, splitting a label into product prefix and band, and reading a
label with a given sensor's table (:func:`canonical_name`). Reading a cube's labels is
:mod:`eoxr.bands` (which re-exports these); finding the sensor is :mod:`eoxr._sensors`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import xarray as xr

from ._dims import band_dim, spatial_dims

Cube = xr.DataArray | xr.Dataset

#: Meaning given to the quality / mask layers of a sensor table.
QUALITY = "quality layer"


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


def normalise_label(label: str) -> str:
    """Upper-case and zero-pad Sentinel-style numbers: ``b4`` -> ``B04``, ``b8a`` -> ``B8A``."""
    s = str(label).strip().upper()
    return f"B0{s[1]}" if re.fullmatch(r"B\d", s) else s


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
    #: Instrument family matched by ``instruments`` attrs: ``"sentinel-2"``, ``"oli"``, ``"tm"``.
    family: str = ""
    #: Processing level of the label scheme (``"l1"``, ``"l2"``; ``""`` for both).
    level: str = ""
    #: Labels compare with Sentinel-2 zero padding (``B4`` = ``B04``).
    pad_numbers: bool = False

    def meaning(self, label: str) -> str | None:
        """Common name of one label of this sensor (:data:`QUALITY` for QA layers), else None."""
        key = normalise_label(label) if self.pad_numbers else str(label).upper()
        return meanings_table(self.name).get(key)


@cache
def meanings_table(name: str) -> dict[str, str]:
    """Upper-case label -> meaning, for one sensor (built once)."""
    sensor = table().sensors[name]
    out = {q.upper(): QUALITY for q in sensor.quality_bands}
    for key, (common, _, _) in sensor.bands.items():
        out[normalise_label(key) if sensor.pad_numbers else key.upper()] = common
    return out


@dataclass(frozen=True)
class BandTable:
    """The whole vocabulary, loaded once from ``eoxr/data/bands.json``."""

    common: Mapping[str, CommonBand]
    aliases: Mapping[str, str]
    sensors: Mapping[str, Sensor]
    symbol_fallbacks: Mapping[str, tuple[str, ...]]
    #: Band-set rules that narrow the sensors a label set may come from.
    narrow_rules: tuple[Mapping[str, Any], ...]
    quality_names: frozenset[str] = field(default_factory=frozenset)

    @property
    def symbols(self) -> dict[str, str]:
        """ASI symbol -> canonical common name."""
        return {b.symbol: b.name for b in self.common.values() if b.symbol}

    @property
    def platforms(self) -> list[str]:
        """Every STAC platform name some band table is for."""
        return sorted({p for s in self.sensors.values() for p in s.platforms})


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
            v.get("family", ""),
            v.get("level", ""),
            bool(v.get("pad_numbers", False)),
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
        narrow_rules=tuple(raw["narrow_rules"]),
        quality_names=frozenset(n.lower() for n in raw["quality_band_names"]),
    )


@lru_cache(maxsize=1)
def sensor_labels() -> frozenset[str]:
    """Every label (upper-case, both paddings) that some sensor table knows."""
    out: set[str] = set()
    for s in table().sensors.values():
        out |= set(meanings_table(s.name))
    return frozenset(out | {f"B{k[2:]}" for k in out if re.fullmatch(r"B0\d", k)})


def band_labels(cube: Cube) -> list[str]:
    """The cube's own band labels, in order.

    For a Dataset these are the data variables that have the spatial dimensions.
    """
    if isinstance(cube, xr.Dataset):
        ydim, xdim = spatial_dims(cube)
        return [str(k) for k, v in cube.data_vars.items() if ydim in v.dims and xdim in v.dims]
    dim = band_dim(cube)
    return labels_of(None if dim is None else cube[dim].values, cube.name)


def labels_of(values: Iterable[Hashable] | None, name: Hashable | None) -> list[str]:
    """A DataArray's band labels from its band coordinate's ``values``.

    ``values=None`` (no band dim): the array's ``name`` is its one label.
    """
    if values is None:
        return [str(name)] if name is not None else []
    return [str(v) for v in values]


@lru_cache(maxsize=4096)
def split_label(label: str) -> tuple[str, str]:
    """Split a product / file prefix off a band label: ``l8_B4`` -> ``("l8", "B4")``.

    Labels made from file names carry the product (``LC08_L2SP_..._SR_B4``); the band part is the
    longest tail that some sensor table knows. A label without such a tail comes back whole.

    Examples
    --------
    >>> split_label("l8_B4"), split_label("SR_B4"), split_label("T33UVP_20200101T100031_B8A_20m")
    (('l8', 'B4'), ('', 'SR_B4'), ('T33UVP_20200101T100031', 'B8A'))
    """
    text = str(label).strip()
    up = text.upper()
    known = sensor_labels()
    if up in known:
        return "", up
    core = re.sub(r"[_-]\d{2,3}M$", "", up)  # Sentinel-2 granule files: B8A_20m
    if core in known:
        return "", core
    for i, ch in enumerate(core):
        if ch in "_-. " and core[i + 1 :] in known:
            return text[:i], core[i + 1 :]
    return "", text


# ------------------------------------------------------------------ reading labels by name
def _sensor_band(label: str, sensor: Sensor) -> str | None:
    meaning = sensor.meaning(split_label(label)[1])
    return None if meaning == QUALITY else meaning


def canonical_name(label: Hashable, sensor: str | None = None) -> str | None:
    """Map one band label or alias to its canonical common name (``None`` if unknown).

    Parameters
    ----------
    label : str
        A band label (``"B8A"``, ``"l8_B5"``), common name, alias or ASI symbol.
    sensor : str, optional
        Band table to read sensor labels with; without it only names and aliases are known.

    Returns
    -------
    str or None

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
    core = split_label(str(label))[1]
    if sensor and tab.sensors[sensor].meaning(core) == QUALITY:
        return True
    return str(label).lower() in tab.quality_names or any(
        s.meaning(core) == QUALITY for s in tab.sensors.values()
    )


def label_mapping(labels: Iterable[str], sensor: str | None) -> dict[str, str]:
    """Canonical common name -> label, reading labels with ``sensor`` (no detection).

    Examples
    --------
    >>> label_mapping(["SR_B4", "SR_B5"], "landsat-tm-l2")
    {'nir': 'SR_B4', 'swir16': 'SR_B5'}
    """
    out: dict[str, str] = {}
    for label in labels:
        name = canonical_name(label, sensor)
        if name is not None and name not in out:
            out[name] = label
    return out


def candidates(name: str, sensor: str | None) -> list[str]:
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


__all__ = [
    "Cube",
    "QUALITY",
    "CommonBand",
    "Sensor",
    "BandTable",
    "table",
    "normalise_label",
    "meanings_table",
    "sensor_labels",
    "band_labels",
    "labels_of",
    "split_label",
    "canonical_name",
    "is_quality_band",
    "label_mapping",
    "candidates",
    "aliases_of",
]
