"""Band names: the only module of eoxr that knows them.

Every form of band label a cube may carry (Sentinel-2 ``B04``, Landsat ``SR_B4``, STAC common
names such as ``red``, colloquial aliases such as ``swir1`` or ``NIR``) is mapped to one canonical
vocabulary, the STAC ``eo:bands`` common names, and from there to the Awesome Spectral Indices
symbols (``R``, ``N``, ``S1``...) used by index formulas. The tables are data
(``eoxr/data/bands.json``), not code.

A cube is either a DataArray with a band dimension (``band`` or ``wavelength``) or a Dataset with
one variable per band (as :func:`odc.stac.load` returns).

Which sensor?
-------------
The same label means different bands on different sensors (``SR_B4`` is red on Landsat 8/9 OLI
but NIR on Landsat 5/7 TM/ETM+; ``B5`` is NIR on OLI, SWIR on TM and red edge on Sentinel-2), so
labels are read through a sensor, which :func:`resolve_sensor` finds from every clue there is:

1. a declaration: ``attrs["eoxr:sensor"]`` naming a band table (:func:`declare_sensor`);
2. metadata: ``platform``, ``eo:platform``, ``SPACECRAFT_ID``, ``constellation``, ``collection``,
   ``instruments``/``SENSOR_ID``, product or scene IDs (``LANDSAT_PRODUCT_ID``, ``PRODUCT_ID``,
   ``S2A_MSIL1C_...``, ``LC08_L2SP_...``, ``LE70350322008118EDC00``) in the attrs of the cube or
   of a Dataset's variables, in ``source``/``filename`` paths, and prefixes of the band labels
   (``l8_B4``, ``LC08_..._SR_B4``); any common spelling (``LANDSAT_8``, ``Landsat 8``, ``S2B``);
3. the band set: a sensor must know every sensor-style label present (zero-padded ``B04``,
   ``B8A`` and ``B12`` exist only on Sentinel-2, ``SR_B6``/``ST_B10`` only on OLI, ``ST_B6`` only
   on TM/ETM+, ``BQA``/``QA_PIXEL`` only on Landsat, ``SCL`` only on Sentinel-2), plus the
   ``narrow_rules`` of the table (unpadded ``B9`` with ``B10``/``B11``: OLI/TIRS).

When the sensors still possible give the present labels different meanings,
:class:`~eoxr.errors.AmbiguousBandsError` lists each meaning and the one line that settles it;
eoxr never picks one silently. When they all agree, there is no error.
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

from ._dims import band_dim, require_band_dim, spatial_dims
from ._platforms import Platform, file_stem, find_product_id, parse_instrument, parse_platform
from .errors import (
    AmbiguousBandsError,
    BandNotFoundError,
    DimensionError,
    GridMismatchError,
    ParameterError,
)

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


def _normalise(label: str) -> str:
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
        key = _normalise(label) if self.pad_numbers else str(label).upper()
        return _meanings_table(self.name).get(key)


@cache
def _meanings_table(name: str) -> dict[str, str]:
    """Upper-case label -> meaning, for one sensor (built once)."""
    sensor = table().sensors[name]
    out = {q.upper(): QUALITY for q in sensor.quality_bands}
    for key, (common, _, _) in sensor.bands.items():
        out[_normalise(key) if sensor.pad_numbers else key.upper()] = common
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
def _sensor_labels() -> frozenset[str]:
    """Every label (upper-case, both paddings) that some sensor table knows."""
    out: set[str] = set()
    for s in table().sensors.values():
        out |= set(_meanings_table(s.name))
    return frozenset(out | {f"B{k[2:]}" for k in out if re.fullmatch(r"B0\d", k)})


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
    known = _sensor_labels()
    if up in known:
        return "", up
    core = re.sub(r"[_-]\d{2,3}M$", "", up)  # Sentinel-2 granule files: B8A_20m
    if core in known:
        return "", core
    for i, ch in enumerate(core):
        if ch in "_-. " and core[i + 1 :] in known:
            return text[:i], core[i + 1 :]
    return "", text


# ------------------------------------------------------------------------ sensor resolution
#: attrs naming the band table directly.
_DECLARED_KEYS = ("eoxr:sensor", "sensor")
#: attrs naming the satellite: a value eoxr cannot read stops labels being read as any sensor's.
_PLATFORM_KEYS = ("platform", "eo:platform", "eoxr:platform", "spacecraft_id", "spacecraft")
#: attrs that help when they are recognised and are ignored otherwise.
_HINT_KEYS = ("constellation", "collection", "mission", "satellite")
_INSTRUMENT_KEYS = ("instruments", "instrument", "eo:instrument", "sensor", "sensor_id")
_ID_KEYS = (
    "landsat_product_id",
    "landsat_scene_id",
    "product_id",
    "productid",
    "product_uri",
    "granule_id",
    "datatake_identifier",
    "id",
    "title",
    "source",
    "filename",
    "file",
    "path",
)
_CLUE_KEYS = frozenset(_DECLARED_KEYS + _PLATFORM_KEYS + _HINT_KEYS + _INSTRUMENT_KEYS + _ID_KEYS)


@dataclass(frozen=True)
class SensorResolution:
    """What the clues of a cube say about its sensor (see :func:`resolve_sensor`)."""

    #: The band table to read the labels with (``None``: labels are read as names/aliases only).
    sensor: str | None
    #: Sensors still possible, in table order.
    candidates: tuple[str, ...]
    #: For each candidate, the meaning of every sensor-style label present.
    meanings: Mapping[str, Mapping[str, str]]
    #: The clues that were used, in words.
    clues: tuple[str, ...] = ()
    #: Why the labels could not be read through a sensor, if so.
    note: str = ""

    @property
    def ambiguous(self) -> bool:
        """True when candidates give the present labels different meanings."""
        return self.sensor is None and len({tuple(m.items()) for m in self.meanings.values()}) > 1


def _clue_items(cube_or_attrs: Cube | Mapping | None) -> tuple[tuple[str, str], ...]:
    """(lower-case key, text) of every clue-bearing attr, of the cube and of its variables."""
    if cube_or_attrs is None:
        return ()
    sources: list[Mapping] = []
    if isinstance(cube_or_attrs, xr.Dataset | xr.DataArray):
        sources.append(cube_or_attrs.attrs)
        if isinstance(cube_or_attrs, xr.Dataset):
            sources += [v.attrs for v in cube_or_attrs.data_vars.values()]
    else:
        sources.append(cube_or_attrs)
    out: list[tuple[str, str]] = []
    for attrs in sources:
        for k, v in attrs.items():
            key = str(k).lower()
            if key not in _CLUE_KEYS:
                continue
            values = v if isinstance(v, list | tuple) else [v]
            out += [(key, str(x)) for x in values if isinstance(x, str) and x.strip()]
    return tuple(dict.fromkeys(out))


def _platform_sensors(plat: Platform) -> list[str]:
    name, level = plat
    sensors = table().sensors.values()
    if name == "landsat":
        hits = [s for s in sensors if any(p.startswith("landsat-") for p in s.platforms)]
    else:
        hits = [s for s in sensors if name in s.platforms]
        if not hits and name.startswith("sentinel-2"):
            hits = [s for s in sensors if s.family == "sentinel-2"]
    leveled = [s for s in hits if not level or not s.level or s.level == level]
    return [s.name for s in leveled or hits]


def _read_clue(key: str, value: str) -> tuple[list[str] | None, bool]:
    """(sensors the clue allows or None if unreadable, whether it names the satellite)."""
    if key in _PLATFORM_KEYS or key in _HINT_KEYS:
        plat = parse_platform(value) or find_product_id(value)
        return (None if plat is None else _platform_sensors(plat)), key in _PLATFORM_KEYS
    if key in _INSTRUMENT_KEYS:
        fam = parse_instrument(value)
        if fam is not None:
            return [s.name for s in table().sensors.values() if s.family == fam], False
    if key in _ID_KEYS:
        plat = find_product_id(value)
        if plat is None:
            prefix = split_label(file_stem(value))[0]
            plat = parse_platform(prefix) if prefix else None
        return (None if plat is None else _platform_sensors(plat)), False
    return None, False


def _metadata_sensors(
    clues: tuple[tuple[str, str], ...], labels: tuple[str, ...]
) -> tuple[set[str] | None, list[str], str]:
    """Sensors the metadata allows (None: metadata silent), the clues used, and a note."""
    sets: list[set[str]] = []
    used: list[str] = []
    unknown: list[str] = []
    for key, value in clues:
        allowed, names_satellite = _read_clue(key, value)
        if allowed:
            sets.append(set(allowed))
            used.append(f"{key}={value!r}")
        elif names_satellite or allowed == []:  # unreadable, or a satellite without a table
            unknown.append(value)
    for lab in labels:
        prefix = split_label(lab)[0]
        plat = (parse_platform(prefix) or find_product_id(prefix)) if prefix else None
        if plat is not None:
            sets.append(set(_platform_sensors(plat)))
            used.append(f"label prefix {prefix!r}")
    if sets:
        both = set.intersection(*sets)
        if both:
            return both, used, ""
        return set.union(*sets), used, f"the metadata disagree ({', '.join(used)})"
    if unknown:
        return (
            set(),
            [],
            f"platform {unknown[0]!r} has no band table in eoxr (known platforms: "
            f"{table().platforms}), so sensor band numbers are not read",
        )
    return None, [], ""


def _label_sensors(cores: list[str]) -> set[str]:
    """Sensors whose table knows every sensor-style label, narrowed by the band-set rules."""
    tab = table()
    fits = {s.name for s in tab.sensors.values() if all(s.meaning(c) for c in cores)}
    written = set(cores)
    for rule in tab.narrow_rules:
        if set(rule.get("all_of", ())) <= written and not set(rule.get("none_of", ())) & written:
            kept = fits & set(rule["keep"])
            fits = kept or fits
    return fits


@lru_cache(maxsize=512)
def _resolve(labels: tuple[str, ...], clues: tuple[tuple[str, str], ...]) -> SensorResolution:
    tab = table()
    for key, value in clues:
        if key in _DECLARED_KEYS and value in tab.sensors:
            return SensorResolution(value, (value,), {}, (f"{key}={value!r}",))
    meta, used, note = _metadata_sensors(clues, labels)
    pairs = [(lab, split_label(lab)[1]) for lab in labels]
    pairs = [(lab, core) for lab, core in pairs if core.upper() in _sensor_labels()]
    cores = [c for _, c in pairs]
    if cores:
        used.append(f"bands {cores}")
    fits = _label_sensors(cores) if cores else None
    if meta is None:
        chosen = fits or set()
        if cores and not fits:
            note = f"no sensor table has all of the bands {cores}"
    elif fits is None:
        chosen = meta
    else:
        chosen = meta & fits
        if meta and fits and not chosen:
            chosen, note = (
                meta | fits,
                f"the metadata ({', '.join(used[:-1])}) and {used[-1]} disagree",
            )
    order = [s for s in tab.sensors if s in chosen]
    meanings = {
        s: {lab: tab.sensors[s].meaning(core) or "not a band of this sensor" for lab, core in pairs}
        for s in order
    }
    if len({tuple(m.items()) for m in meanings.values()}) == 1:
        return SensorResolution(order[0], tuple(order), meanings, tuple(dict.fromkeys(used)), note)
    return SensorResolution(None, tuple(order), meanings, tuple(dict.fromkeys(used)), note)


def resolve_sensor(
    cube_or_labels: Cube | Iterable[str], attrs: Mapping | None = None
) -> SensorResolution:
    """Find the band table of a cube from its declaration, metadata and band set; never raises.

    Parameters
    ----------
    cube_or_labels : DataArray, Dataset or iterable of str
        A cube (its attrs and, for a Dataset, its variables' attrs are read) or band labels.
    attrs : mapping, optional
        More metadata, e.g. a STAC item's ``properties`` (``platform``, ``instruments``...).

    Returns
    -------
    SensorResolution
        ``sensor`` (a key of :func:`table`, or ``None``), the ``candidates`` still possible and
        their ``meanings`` for the labels present; ``ambiguous`` tells whether they disagree.

    Examples
    --------
    >>> r = resolve_sensor(["SR_B3", "SR_B4", "SR_B5"])
    >>> r.ambiguous, r.candidates
    (True, ('landsat-oli-l2', 'landsat-tm-l2'))
    >>> resolve_sensor(["SR_B3", "SR_B4"], {"platform": "LANDSAT_8"}).sensor
    'landsat-oli-l2'
    """
    if isinstance(cube_or_labels, xr.DataArray | xr.Dataset):
        labels = tuple(band_labels(cube_or_labels))
        clues = _clue_items(cube_or_labels) + _clue_items(attrs)
    else:
        labels = tuple(str(x) for x in cube_or_labels)
        clues = _clue_items(attrs)
    return _resolve(labels, tuple(dict.fromkeys(clues)))


def _ambiguity_error(res: SensorResolution) -> AmbiguousBandsError:
    tab = table()
    groups: dict[tuple, list[str]] = {}
    for s, m in res.meanings.items():
        groups.setdefault(tuple(m.items()), []).append(s)
    lines = [
        " / ".join(f"{s} ({', '.join(tab.sensors[s].platforms)})" for s in names)
        + ": "
        + ", ".join(f"{lab}={meaning}" for lab, meaning in key)
        for key, names in groups.items()
    ]
    example = res.candidates[0]
    hint = (
        f"{'; '.join(lines)}. {res.note + '. ' if res.note else ''}"
        f"Declare the sensor in one line: `cube = eoxr.bands.declare_sensor(cube, {example!r})` "
        f"(or a platform: `cube.attrs['platform'] = "
        f"{tab.sensors[example].platforms[0]!r}`)."
    )
    labels = list(next(iter(res.meanings.values())))
    return AmbiguousBandsError(labels, res.meanings, hint=hint)


def detect_sensor(
    cube_or_labels: Cube | Iterable[str], attrs: Mapping | None = None, *, strict: bool = True
) -> str | None:
    """The band table a cube's labels are read with (see :func:`resolve_sensor` for the clues).

    Parameters
    ----------
    cube_or_labels : DataArray, Dataset or iterable of str
        A cube or its band labels.
    attrs : mapping, optional
        More metadata (e.g. STAC item properties).
    strict : bool
        Raise when the labels mean different bands on the sensors still possible; with
        ``strict=False`` return ``None`` then (for callers that only label or describe).

    Returns
    -------
    str or None
        A key of the band table (``"sentinel-2"``, ``"landsat-oli-l2"``...) or ``None`` when the
        labels are plain names (``red``, ``nir``) or no table fits.

    Raises
    ------
    AmbiguousBandsError
        Several sensors fit with different meanings; the message lists them and how to declare.

    Examples
    --------
    >>> detect_sensor(["SR_B4", "SR_B5", "ST_B10"])
    'landsat-oli-l2'
    >>> detect_sensor(["B2", "B3", "B4"], {"platform": "Landsat 8"})
    'landsat-oli-l1'
    """
    res = resolve_sensor(cube_or_labels, attrs)
    if res.ambiguous and strict:
        raise _ambiguity_error(res)
    return res.sensor


def declare_sensor(cube: Cube, sensor: str) -> Cube:
    """Say which sensor a cube comes from (a band-table key or a platform in any spelling).

    Parameters
    ----------
    cube : DataArray or Dataset
        The cube; it is not modified.
    sensor : str
        A key of the band table (``"landsat-oli-l2"``, ``"landsat-tm-l1"``, ``"sentinel-2"``) or a
        platform (``"landsat-8"``, ``"LANDSAT_5"``, ``"Sentinel-2A"``, ``"S2B"``).

    Returns
    -------
    Same type as ``cube``
        A shallow copy (lazy data shared) with ``attrs["eoxr:sensor"]`` set to the band table
        and, when a platform was given, ``attrs["platform"]`` in STAC form.

    Raises
    ------
    ParameterError
        ``sensor`` is neither a band-table key nor a platform eoxr has a table for.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> cube = et.make_cube(bands=["SR_B3", "SR_B4", "SR_B5"], times=None)
    >>> declare_sensor(cube, "landsat-8").eo.band("nir").name
    'SR_B5'
    """
    tab = table()
    if sensor in tab.sensors:
        return cube.assign_attrs({"eoxr:sensor": sensor})
    plat = parse_platform(sensor)
    allowed = _platform_sensors(plat) if plat is not None else []
    if not allowed:
        raise ParameterError(
            f"unknown sensor or platform {sensor!r}: use a band-table key {sorted(tab.sensors)} "
            f"or a platform {tab.platforms} (spellings such as 'LANDSAT_8' or 'S2A' work too)."
        )
    out = cube.assign_attrs({"platform": plat[0]})
    out.attrs.pop("eoxr:sensor", None)
    res = resolve_sensor(out)
    if res.ambiguous:
        raise _ambiguity_error(res)
    return out.assign_attrs({"eoxr:sensor": res.sensor}) if res.sensor else out


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


def band_mapping(cube: Cube, *, sensor: str | None = None) -> dict[str, str]:
    """Canonical common name -> the cube's own label, for every recognised band.

    Parameters
    ----------
    cube : DataArray or Dataset
        The cube; its sensor is found as :func:`detect_sensor` finds it.
    sensor : str, optional
        Band table to use instead of detecting one.

    Returns
    -------
    dict
        ``{common name: label}`` (e.g. ``{"red": "B04"}``).

    Raises
    ------
    AmbiguousBandsError
        The labels mean different bands on several possible sensors.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> band_mapping(et.make_cube(bands=["B04", "B08"]))
    {'red': 'B04', 'nir': 'B08'}
    """
    return label_mapping(band_labels(cube), sensor or detect_sensor(cube))


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


def unread_labels_hint(cube: Cube, sensor: str | None = None) -> str:
    """Why sensor-style labels of a cube were not read as bands (``""`` when they were)."""
    if sensor is not None:
        return ""
    res = resolve_sensor(cube)
    if res.sensor is not None:
        return ""
    cores = [lab for lab in band_labels(cube) if split_label(lab)[1].upper() in _sensor_labels()]
    if not cores:
        return ""
    why = res.note or "no metadata says which sensor they come from"
    return (
        f" Labels {cores} look like sensor band numbers but were not read: {why}. Rename them "
        "to common names (`cube.eo.rename_to_common()` after declaring) or declare the sensor: "
        "`cube = eoxr.bands.declare_sensor(cube, 'landsat-8')`."
    )


def resolve_band(cube: Cube, name: str, *, sensor: str | None = None) -> str:
    """Return the cube's own label for ``name`` (a label, common name, alias or ASI symbol).

    Raises
    ------
    BandNotFoundError
        Listing the labels present and every alias tried.
    AmbiguousBandsError
        ``name`` is not a label and the labels mean different bands on several sensors.
    """
    labels = band_labels(cube)
    if name in labels:
        return name
    sensor = sensor or detect_sensor(cube)
    mapping = label_mapping(labels, sensor)
    cands = _candidates(name, sensor)
    for canon in cands:
        if canon in mapping:
            return mapping[canon]
    tried = [name] + [a for c in cands for a in aliases_of(c)]
    hint = unread_labels_hint(cube, sensor)
    if hint:
        hint = (
            "Rename the band (e.g. `cube.rename({'B8': 'nir'})`) or pass the cube's own label."
            + hint
        )
    raise BandNotFoundError(name, labels, tried, hint=hint)


def label_symbols(labels: Iterable[str], sensor: str | None) -> dict[str, str]:
    """ASI symbol -> label, reading labels with ``sensor`` (no detection).

    A fallback (e.g. ``N`` from ``nir08`` on Landsat 8/9) is used only when the primary band is
    absent, and a band used by a fallback is not reused under its own symbol.
    """
    tab = table()
    mapping = label_mapping(labels, sensor)
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


def symbol_mapping(cube: Cube, *, sensor: str | None = None) -> dict[str, str]:
    """ASI symbol (``R``, ``N``, ``S1``...) -> the cube's own label, for every band it can fill.

    See :func:`label_symbols` for the fallbacks (``N`` from ``nir08``).
    """
    return label_symbols(band_labels(cube), sensor or detect_sensor(cube))


# ------------------------------------------------------------------------------ selection
def select_band(cube: Cube, name: str, *, sensor: str | None = None) -> xr.DataArray:
    """One band as a DataArray (named by its label, without the band coordinate).

    Parameters
    ----------
    cube : DataArray or Dataset
        The cube.
    name : str
        The cube's label, a common name (``"nir"``), an alias (``"NIR"``, ``"swir1"``) or an ASI
        symbol (``"N"``).
    sensor : str, optional
        Band table to read the labels with instead of detecting one.

    Returns
    -------
    DataArray
        Lazy for dask cubes.

    Raises
    ------
    BandNotFoundError
        The band is absent (the message lists the labels present and the names tried).
    AmbiguousBandsError
        The labels mean different bands on several possible sensors.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> select_band(et.make_cube(bands=["B04", "B08"]), "nir").name
    'B08'
    """
    label = resolve_band(cube, name, sensor=sensor)
    if isinstance(cube, xr.Dataset):
        return cube[label]
    dim = band_dim(cube)
    if dim is None:
        return cube
    idx = band_labels(cube).index(label)
    out = cube.isel({dim: idx}, drop=True)
    return out.rename(label)


def select_bands(
    cube: Cube, names: Iterable[str], *, sensor: str | None = None
) -> list[xr.DataArray]:
    """Several bands, each as in :func:`select_band`."""
    return [select_band(cube, n, sensor=sensor) for n in names]


def to_array(cube: Cube, *, dim: str = "band") -> xr.DataArray:
    """A cube as a DataArray with a band dimension (lazy, keeps attrs and CRS coordinate).

    Variables without the spatial dims (e.g. ``spatial_ref``) stay as coordinates.
    A ``wavelength`` coordinate is added from the band table when the sensor is known.

    Parameters
    ----------
    cube : DataArray or Dataset
        A Dataset with one variable per band, or a DataArray (returned as is when it has a band
        dimension; a single band gets one).
    dim : str
        Name of the band dimension to create.

    Returns
    -------
    DataArray
        ``(..., band, y, x)``.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> ds = et.make_cube(bands=["B04", "B08"], times=None, as_dataset=True)
    >>> da = to_array(ds)
    >>> da.dims, da["wavelength"].values.tolist()
    (('band', 'y', 'x'), [664.6, 832.8])
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
    # A layout change must work on any cube: an unknown or ambiguous sensor only omits wavelength.
    wl = wavelengths_of(labels, detect_sensor(cube, strict=False))
    if all(w is not None for w in wl):
        da = da.assign_coords(wavelength=(dim, [float(w) for w in wl]))
    return da.transpose(
        *[d for d in cube[labels[0]].dims if d not in spatial_dims(cube)], dim, *spatial_dims(cube)
    )


def to_dataset(cube: Cube) -> xr.Dataset:
    """A cube as a Dataset with one variable per band (lazy).

    Parameters
    ----------
    cube : DataArray or Dataset
        A DataArray with a band dimension (a Dataset is returned as is).

    Returns
    -------
    Dataset
        One variable per band label, the cube's attrs kept.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> list(to_dataset(et.make_cube(bands=["B04", "B08"])).data_vars)
    ['B04', 'B08']
    """
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
            core = split_label(label)[1]
            for k, (_, cw, _) in tab.sensors[sensor].bands.items():
                if _normalise(k) == _normalise(core):
                    w = cw
        if w is None:
            canon = canonical_name(label, sensor)
            w = tab.common[canon].center_wavelength if canon else None
        out.append(w)
    return out


def rename_to_common(cube: Cube, sensor: str | None = None) -> Cube:
    """Relabel bands with their canonical common names (unknown labels are kept).

    Parameters
    ----------
    cube : DataArray or Dataset
        The cube.
    sensor : str, optional
        Band table to read the labels with instead of detecting one.

    Returns
    -------
    Same type as ``cube``
        With labels such as ``red``, ``nir08``; quality layers and unknown labels unchanged.

    Raises
    ------
    AmbiguousBandsError
        The labels mean different bands on several possible sensors.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> cube = et.make_cube(bands=["B02", "B8A", "SCL"], times=None)
    >>> rename_to_common(cube)["band"].values.tolist()
    ['blue', 'nir08', 'SCL']
    """
    sensor = sensor or detect_sensor(cube)
    mapping = {lab: canonical_name(lab, sensor) or lab for lab in band_labels(cube)}
    if isinstance(cube, xr.Dataset):
        return cube.rename({k: v for k, v in mapping.items() if k != v})
    dim = band_dim(cube)
    if dim is None:
        return cube
    return cube.assign_coords({dim: [mapping[str(v)] for v in cube[dim].values]})


__all__ = [
    "QUALITY",
    "BandTable",
    "CommonBand",
    "Sensor",
    "SensorResolution",
    "table",
    "band_labels",
    "split_label",
    "resolve_sensor",
    "detect_sensor",
    "declare_sensor",
    "canonical_name",
    "is_quality_band",
    "label_mapping",
    "band_mapping",
    "aliases_of",
    "unread_labels_hint",
    "resolve_band",
    "label_symbols",
    "symbol_mapping",
    "select_band",
    "select_bands",
    "to_array",
    "to_dataset",
    "wavelengths_of",
    "rename_to_common",
]
