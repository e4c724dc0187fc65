"""Reading platform, instrument and product-ID strings into STAC platform names.

Metadata spells the same satellite many ways: ``landsat-8`` (STAC), ``LANDSAT_8`` (Landsat MTL
``SPACECRAFT_ID``), ``Landsat 8``, ``LC08_L2SP_...`` (product ID), ``LE70350322008118EDC00``
(pre-collection scene ID), ``l8`` (a file prefix), ``Sentinel-2A``, ``S2B``, ``S2A_MSIL1C_...``.
This module turns each into the STAC form (``landsat-8``, ``sentinel-2a``) or a family
(``landsat``, ``sentinel-2``); :mod:`eoxr.bands` maps those to band tables. It knows no bands.
"""

from __future__ import annotations

import re
from pathlib import PurePath

#: A recognised platform: the STAC name (``"landsat-8"``, ``"sentinel-2a"``), a family
#: (``"landsat"``, ``"sentinel-2"``), and a processing level hint (``"l1"``, ``"l2"`` or ``""``).
Platform = tuple[str, str]

_SEP = re.compile(r"[\s_/]+")
_S2 = re.compile(r"(?:sentinel-?2|s2)(?P<unit>[a-d])?(?:-.*)?")
_LANDSAT = re.compile(r"(?:landsat-?|l[comte]?0?)(?P<n>\d)(?:-.*|\d{6}.*)?")
_LANDSAT_FAMILY = re.compile(r"landsat(?:-[a-z].*)?")
_LEVEL = re.compile(r"(?:^|-)(?:c\d)?l([12])[a-z]{0,4}(?:-|$)|msil([12])")
#: Product / scene identifiers found anywhere in a string (paths, titles, tags).
_IDS = (
    re.compile(r"(?<![a-z0-9])(s2[a-d]_msil(?:1c|2a))"),
    re.compile(r"(?<![a-z0-9])(l[comte]0\d_l[12])"),
    re.compile(r"(?<![a-z0-9])(l[comte][4-9]\d{13})"),
)
#: Sentinel-2 granule file prefix, e.g. ``T33UVP_20200101T100031``.
_S2_TILE = re.compile(r"(?<![a-z0-9])t\d{2}[a-z]{3}_\d{8}t\d{6}")
_INSTRUMENTS = {
    "msi": "sentinel-2",
    "oli": "oli",
    "oli-tirs": "oli",
    "tirs": "oli",
    "oli-2": "oli",
    "tm": "tm",
    "etm": "tm",
    "etm+": "tm",
}


def _level(text: str) -> str:
    m = _LEVEL.search(text)
    if not m:
        return ""
    return "l" + (m.group(1) or m.group(2))


def parse_platform(text: object) -> Platform | None:
    """STAC platform name and level hint of a platform, collection or ID string, or ``None``.

    Examples
    --------
    >>> parse_platform("LANDSAT_8"), parse_platform("S2B"), parse_platform("landsat-c2-l2")
    (('landsat-8', ''), ('sentinel-2b', ''), ('landsat', 'l2'))
    >>> parse_platform("LC08_L1TP_044034_20200101_20200101_01_T1")
    ('landsat-8', 'l1')
    """
    s = _SEP.sub("-", str(text).strip().lower())
    if not s:
        return None
    level = _level(s)
    m = _S2.fullmatch(s)
    if m:
        return f"sentinel-2{m.group('unit') or ''}", level
    m = _LANDSAT.fullmatch(s)
    if m:
        return f"landsat-{m.group('n')}", level
    if _LANDSAT_FAMILY.fullmatch(s):
        return "landsat", level
    return None


def find_product_id(text: object) -> Platform | None:
    """Platform of the first Landsat / Sentinel-2 product or scene ID inside ``text``.

    Paths are searched too (``.../LC08_L2SP_..._SR_B4.TIF``).

    Examples
    --------
    >>> find_product_id("/data/S2A_MSIL1C_20200101T100031_N0208_R122_T33UVP.SAFE/B04.jp2")
    ('sentinel-2a', 'l1')
    """
    low = str(text).lower()
    for pattern in _IDS:
        m = pattern.search(low)
        if m:
            return parse_platform(m.group(1))
    if _S2_TILE.search(low):
        return "sentinel-2", ""
    return None


def file_stem(text: object) -> str:
    """File name without folders and extensions (``/a/l8_B4.TIF`` -> ``l8_B4``)."""
    name = PurePath(str(text)).name
    return name.split(".")[0] if name else str(text)


def parse_instrument(text: object) -> str | None:
    """Instrument family (``"sentinel-2"``, ``"oli"``, ``"tm"``) of an instrument name.

    Examples
    --------
    >>> parse_instrument("OLI_TIRS"), parse_instrument("etm+"), parse_instrument("SAR")
    ('oli', 'tm', None)
    """
    return _INSTRUMENTS.get(_SEP.sub("-", str(text).strip().lower()))


__all__ = ["Platform", "parse_platform", "find_product_id", "file_stem", "parse_instrument"]
