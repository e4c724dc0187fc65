"""What the file names of delivered products tell: band label, platform, acquisition time.

Sentinel-2 and Landsat deliver one file per band, named after the product. The band label is
kept as written in the file name (``B02``, ``B4``, ``SR_B4``, ``QA_PIXEL``); mapping labels to
common names is :mod:`eoxr.bands`' job, helped by the STAC-style ``platform`` found here.
"""

from __future__ import annotations

import datetime as _dt
import re
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

import pandas as pd

__all__ = [
    "ProductName",
    "parse_product_name",
    "date_from_name",
    "platform_from_tags",
    "s2_processing_baseline",
]


@dataclass(frozen=True)
class ProductName:
    """What a product file name says (``None`` where it is silent)."""

    #: Band label as written in the name, e.g. ``"B02"``, ``"SR_B4"``, ``"BQA"``.
    label: str | None = None
    #: STAC ``platform``, e.g. ``"sentinel-2a"``, ``"sentinel-2"`` (unit unknown), ``"landsat-8"``.
    platform: str | None = None
    #: Acquisition time (Sentinel-2: sensing start; Landsat: acquisition date).
    time: pd.Timestamp | None = None
    #: Product / scene identifier the label was cut from.
    product_id: str | None = None


# Landsat Collection 1/2: LXSS_LLLL_PPPRRR_YYYYMMDD_yyyymmdd_CC_TX[_BAND]
_LANDSAT_COLL = re.compile(
    r"^(?P<id>L[COTEM](?P<sat>0[4-9])_(?:L1TP|L1GT|L1GS|L2SP|L2SR)_\d{6}_(?P<date>\d{8})_\d{8}"
    r"_\d{2}_(?:T1|T2|RT))(?:_(?P<label>\w+))?$",
    re.I,
)
# Landsat pre-collection scene id: LXS PPPRRR YYYY DDD GSI VV[_BAND]
_LANDSAT_PRE = re.compile(
    r"^(?P<id>L[COTEM](?P<sat>[4-9])\d{6}(?P<date>\d{7})[A-Z]{3}\d{2})(?:_(?P<label>\w+))?$", re.I
)
# Sentinel-2 granule band file (SAFE IMG_DATA): T33UUU_20170216T102101_B02[_10m]
_S2_GRANULE = re.compile(
    r"^(?P<id>T\d{2}[A-Z]{3}_(?P<date>\d{8}T\d{6}))_(?P<label>[A-Z0-9]+?)(?:_\d{2}m)?$", re.I
)
# Sentinel-2 SAFE product folder: S2A_MSIL1C_20170216T102101_N0204_R065_T33UUU_20170216T102204
_S2_PRODUCT = re.compile(
    r"^(?P<id>(?P<sat>S2[A-D])_MSIL(?:1C|2A)_(?P<date>\d{8}T\d{6})_N\d{4}_R\d{3}_T\d{2}[A-Z]{3}"
    r"_\d{8}T\d{6})(?:\.SAFE)?(?:_(?P<label>\w+))?$",
    re.I,
)
# Sentinel-2 pre-2016 tile file: S2A_OPER_MSI_L1C_TL_SGS__20160101T...__T33UUU_B02
_S2_OLD = re.compile(
    r"^(?P<id>(?P<sat>S2[A-D])_OPER_MSI_L1C_TL_\w*?_(?P<date>\d{8}T\d{6})\w*?_T\d{2}[A-Z]{3})"
    r"_(?P<label>B\d[\dA])$",
    re.I,
)
# Cloud-optimised archives (Element 84): S2B_33UUU_20200501_0_L2A/B04.tif
_S2_COG = re.compile(
    r"^(?P<id>(?P<sat>S2[A-D])_\d{1,2}[A-Z]{3}_(?P<date>\d{8})_\d+_L(?:1C|2A))(?:_(?P<label>\w+))?$",
    re.I,
)


def _platform(kind: str, sat: str | None) -> str:
    if kind == "landsat":
        return f"landsat-{int(sat or 0)}"
    return f"sentinel-{sat[1:].lower()}" if sat else "sentinel-2"


def _stamp(text: str) -> pd.Timestamp | None:
    fmt = {7: "%Y%j", 8: "%Y%m%d", 15: "%Y%m%dT%H%M%S"}.get(len(text))
    try:
        return pd.Timestamp(_dt.datetime.strptime(text, fmt)) if fmt else None
    except ValueError:
        return None


_PATTERNS = (
    (_LANDSAT_COLL, "landsat"),
    (_LANDSAT_PRE, "landsat"),
    (_S2_GRANULE, "sentinel"),
    (_S2_PRODUCT, "sentinel"),
    (_S2_OLD, "sentinel"),
    (_S2_COG, "sentinel"),
)


def _match(stem: str) -> ProductName | None:
    for rx, kind in _PATTERNS:
        m = rx.match(stem)
        if m:
            g = m.groupdict()
            return ProductName(
                label=g.get("label"),
                platform=_platform(kind, g.get("sat")),
                time=_stamp(g["date"].upper()),
                product_id=g["id"],
            )
    return None


def parse_product_name(path: str | PurePath) -> ProductName:
    """Band label, platform and time from a Sentinel-2 or Landsat file name (and its folders).

    The file's own name is read first; folders above it (a ``.SAFE`` product, a Landsat scene
    folder) fill in what the file name does not say, such as the Sentinel-2 unit (A/B/C) of a
    granule file ``T33UUU_..._B02.jp2``.

    Parameters
    ----------
    path : str or path
        File path; only the names are read, the file need not exist.

    Returns
    -------
    ProductName
        All fields ``None`` when the name follows no known product scheme.

    Examples
    --------
    >>> p = parse_product_name("LC08_L2SP_044034_20200105_20200823_02_T1_SR_B4.TIF")
    >>> p.label, p.platform, str(p.time.date())
    ('SR_B4', 'landsat-8', '2020-01-05')
    >>> p = parse_product_name("S2B_MSIL1C_20170216T102101_N0204_R065_T33UUU_20170216T102204.SAFE"
    ...                        "/GRANULE/L1C_T33UUU/IMG_DATA/T33UUU_20170216T102101_B8A.jp2")
    >>> p.label, p.platform, str(p.time)
    ('B8A', 'sentinel-2b', '2017-02-16 10:21:01')
    """
    path = PurePath(path)
    own = _match(_stem(path.name))
    parents = (_match(_stem(part)) for part in reversed(path.parent.parts))
    above = next((p for p in parents if p is not None), None)
    if own is None and above is None:
        return ProductName()
    if own is None:  # S2B_33UUU_20200501_0_L2A/B04.tif: the band is the whole file stem
        return ProductName(_stem(path.name), above.platform, above.time, above.product_id)
    platform = own.platform
    if above is not None and platform == "sentinel-2" and above.platform != "sentinel-2":
        platform = above.platform
    return ProductName(own.label, platform, own.time, own.product_id)


_S2_BASELINE = re.compile(r"S2[A-D]_MSIL(?:1C|2A)_\d{8}T\d{6}_N(\d{2})(\d{2})_", re.I)


def s2_processing_baseline(path: str | PurePath) -> str | None:
    """The Sentinel-2 processing baseline (``"04.00"``) in a SAFE product name on the path.

    Baseline 04.00 and later add 1000 to every digital number (:mod:`eoxr.radiometry`).

    Examples
    --------
    >>> safe = "S2A_MSIL2A_20220301T100031_N0400_R122_T33UVP_20220301T120000.SAFE"
    >>> s2_processing_baseline(safe + "/GRANULE/L2A_T33UVP/IMG_DATA/R10m/T33UVP_B04_10m.jp2")
    '04.00'
    >>> s2_processing_baseline("T33UVP_20170216T102101_B04.jp2") is None
    True
    """
    m = _S2_BASELINE.search(str(path))
    return f"{m.group(1)}.{m.group(2)}" if m else None


def _stem(name: str) -> str:
    """File name without its extension(s) (``.TIF``, ``.jp2``, ``.SAFE``...)."""
    return name.split(".", 1)[0] if not name.startswith(".") else name


_DATE_PATTERNS = (
    re.compile(r"(\d{4})-(\d{2})-(\d{2})"),
    re.compile(r"(?<!\d)(\d{4})(\d{2})(\d{2})(?!\d)"),
)


def date_from_name(name: str) -> pd.Timestamp | None:
    """A date in a file name: a product id's, else ``2020-05-01`` or ``20200501``.

    Examples
    --------
    >>> str(date_from_name("LE70350322008118EDC00_b3.tif").date())
    '2008-04-27'
    """
    product = parse_product_name(name)
    if product.time is not None:
        return product.time
    stem = Path(name).name
    for rx in _DATE_PATTERNS:
        m = rx.search(stem)
        hit = _stamp("".join(m.groups())) if m else None
        if hit is not None:
            return hit
    return None


_SPACECRAFT = re.compile(r"^(LANDSAT|SENTINEL)[_-]?(\d)([A-D])?$", re.I)


def platform_from_tags(tags: dict[str, Any]) -> str | None:
    """STAC ``platform`` from GeoTIFF/MTL tags (``SPACECRAFT_ID``, ``LANDSAT_PRODUCT_ID``...).

    Examples
    --------
    >>> platform_from_tags({"SPACECRAFT_ID": "LANDSAT_8"})
    'landsat-8'
    """
    craft = str(tags.get("SPACECRAFT_ID") or tags.get("SPACECRAFT_NAME") or "").strip()
    m = _SPACECRAFT.match(craft.replace("Sentinel-", "SENTINEL"))
    if m:
        return f"{m.group(1).lower()}-{m.group(2)}{(m.group(3) or '').lower()}"
    for key in ("LANDSAT_PRODUCT_ID", "PRODUCT_ID", "LANDSAT_SCENE_ID", "PRODUCT_URI"):
        if tags.get(key):
            found = parse_product_name(str(tags[key]).strip().strip('"'))
            if found.platform:
                return found.platform
    # ENVI ``sensor type``: only ETM(+) names one satellite (TM flew on Landsat 4 and 5, OLI on
    # 8 and 9), and a wrong platform is worse than none.
    sensor = str(tags.get("sensor_type") or tags.get("SENSOR_ID") or "").strip().upper()
    if sensor in ("LANDSAT ETM", "LANDSAT ETM+", "ETM", "ETM+"):
        return "landsat-7"
    return None
