"""Which sensor a cube comes from: declaration, metadata clues and band set (no guessing).

See the "Which sensor?" section of :mod:`eoxr.bands`. A sensor is a band table of
``eoxr/data/bands.json`` (``"landsat-oli-l2"``...); platform strings are read by
:mod:`eoxr._platforms`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache

import xarray as xr

from ._bandtable import Cube, band_labels, sensor_labels, split_label, table
from ._platforms import Platform, file_stem, find_product_id, parse_instrument, parse_platform
from .errors import AmbiguousBandsError, ParameterError

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
    pairs = _sensor_pairs(labels)
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
    return _settle(chosen, pairs, used, note)


def _settle(
    chosen: Iterable[str], pairs: list[tuple[str, str]], used: Iterable[str], note: str
) -> SensorResolution:
    """The resolution among the sensors ``chosen``: one sensor when they read the labels alike."""
    tab = table()
    chosen = set(chosen)
    order = [s for s in tab.sensors if s in chosen]
    meanings = {
        s: {lab: tab.sensors[s].meaning(core) or "not a band of this sensor" for lab, core in pairs}
        for s in order
    }
    clues = tuple(dict.fromkeys(used))
    if len({tuple(m.items()) for m in meanings.values()}) == 1:
        return SensorResolution(order[0], tuple(order), meanings, clues, note)
    return SensorResolution(None, tuple(order), meanings, clues, note)


def _sensor_pairs(labels: Iterable[str]) -> list[tuple[str, str]]:
    """(label, band part) of every label that looks like a sensor band number."""
    pairs = [(lab, split_label(lab)[1]) for lab in labels]
    return [(lab, core) for lab, core in pairs if core.upper() in sensor_labels()]


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


def _declare_example(names: list[str]) -> str:
    """A platform to declare for a group of sensor tables (the shortest STAC name of the first)."""
    return min(table().sensors[names[0]].platforms, key=lambda p: (len(p), p))


def ambiguity_error(res: SensorResolution, *, note: str = "") -> AmbiguousBandsError:
    """The error for an ambiguous resolution: each meaning and the one line that settles it.

    ``note`` (e.g. what a requested band would be on each sensor) goes before the meanings.
    """
    tab = table()
    groups: dict[tuple, list[str]] = {}
    for s, m in res.meanings.items():
        groups.setdefault(tuple(m.items()), []).append(s)
    lines, fixes = [], []
    for key, names in groups.items():
        platforms = [p for s in names for p in tab.sensors[s].platforms]
        lines.append(
            " / ".join(f"{s} ({', '.join(tab.sensors[s].platforms)})" for s in names)
            + ": "
            + ", ".join(f"{lab}={meaning}" for lab, meaning in key)
        )
        fixes.append(
            f"`cube = cube.eo.declare_sensor({_declare_example(names)!r})` for "
            + ", ".join(dict.fromkeys(platforms))
        )
    hint = (
        f"{note + ' ' if note else ''}{'; '.join(lines)}. "
        f"{res.note + '. ' if res.note else ''}"
        f"Declare the sensor in one line: {'; or '.join(fixes)}. The declaration is kept in "
        "attrs: an operation that drops attrs (keep_attrs=False, an array rebuilt from values) "
        "drops it too."
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
        raise ambiguity_error(res)
    return res.sensor


def _declared_tables(text: str) -> tuple[list[str], str | None]:
    """Band tables a declared sensor string allows, and its STAC platform (``None``: a family).

    A band-table key, a platform in any spelling (``"LANDSAT_5"``, ``"LT05"``, ``"S2B"``), an
    instrument (``"TM"``, ``"OLI_TIRS"``) or both (``"Landsat TM"``).
    """
    tab = table()
    if text in tab.sensors:
        return [text], None
    plat = parse_platform(text)
    families = {parse_instrument(t) for t in [text, *re.split(r"[\s_/-]+", text)]} - {None}
    allowed = _platform_sensors(plat) if plat is not None else list(tab.sensors)
    if plat is None and not families:
        allowed = []
    if families:
        allowed = [s for s in allowed if tab.sensors[s].family in families]
    specific = plat is not None and plat[0] not in ("landsat", "sentinel-2")
    return allowed, (plat[0] if specific else None)


def declare_sensor(cube: Cube, sensor: str) -> Cube:
    """Say which sensor a cube comes from (a band-table key or a platform in any spelling).

    The declaration settles the sensor whatever the other metadata say: it is the user's word.

    Parameters
    ----------
    cube : DataArray or Dataset
        The cube; it is not modified.
    sensor : str
        A key of the band table (``"landsat-oli-l2"``, ``"landsat-tm-l1"``, ``"sentinel-2"``), a
        platform (``"landsat-5"``, ``"LANDSAT_5"``, ``"Landsat 5"``, ``"LT05"``,
        ``"Sentinel-2A"``, ``"S2B"``) or an instrument (``"TM"``, ``"Landsat OLI"``).

    Returns
    -------
    Same type as ``cube``
        A shallow copy (lazy data shared) with ``attrs["eoxr:sensor"]`` set to the band table
        and, when a satellite was named, ``attrs["platform"]`` in STAC form. The declaration lives
        in attrs, which xarray keeps through arithmetic, reductions and concatenation by default;
        an operation that drops attrs (``keep_attrs=False``, an array rebuilt from values) drops
        it too, and an ambiguous cube then raises again, naming this fix.

    Raises
    ------
    ParameterError
        ``sensor`` is neither a band-table key nor a platform eoxr has a table for, or its
        tables do not know the cube's sensor-style labels.
    AmbiguousBandsError
        ``sensor`` names a family (``"landsat"``) whose members read the labels differently.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> cube = et.make_cube(bands=["SR_B3", "SR_B4", "SR_B5"], times=None)
    >>> declare_sensor(cube, "landsat-8").eo.band("nir").name
    'SR_B5'
    >>> declare_sensor(cube, "LT05").eo.band("nir").name
    'SR_B4'
    """
    tab = table()
    allowed, platform = _declared_tables(str(sensor))
    if not allowed:
        raise ParameterError(
            f"unknown sensor or platform {sensor!r}: use a band-table key {sorted(tab.sensors)} "
            f"or a platform {tab.platforms} (spellings such as 'LANDSAT_8' or 'S2A' work too)."
        )
    pairs = _sensor_pairs(band_labels(cube))
    cores = [c for _, c in pairs]
    fits = _label_sensors(cores) if cores else set(allowed)
    chosen = [s for s in allowed if s in fits]
    if not chosen:
        raise ParameterError(
            f"the cube's labels {cores} are not all bands of {sensor!r} (band tables {allowed}); "
            f"the tables that know them all: {sorted(fits) or 'none'}. Declare the sensor the "
            "data come from, or relabel the bands with common names (red, nir...)."
        )
    res = _settle(chosen, pairs, [f"declared {sensor!r}"], "")
    if res.ambiguous:
        raise ambiguity_error(res, note=f"{sensor!r} fits several band tables.")
    attrs = {"eoxr:sensor": res.sensor} | ({"platform": platform} if platform else {})
    return cube.assign_attrs(attrs)


__all__ = [
    "SensorResolution",
    "resolve_sensor",
    "detect_sensor",
    "declare_sensor",
    "ambiguity_error",
]
