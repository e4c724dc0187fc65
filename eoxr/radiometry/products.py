"""The DN -> reflectance scaling of the products eoxr knows (Sentinel-2, Landsat C2 L2).

Read at call time from the band labels, the sensor and the product metadata
(:func:`product_scaling`), and the :class:`Facts` about a cube that a verb resolves once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from .._bandtable import band_labels
from ..errors import UnitsError
from ._metadata import Cube, as_number, value_attrs
from .kinds import Kind, classify

#: Sentinel-2 L1C/L2A quantification value: reflectance = DN / 10000.
S2_QUANTIFICATION = 10000.0
#: ESA processing baseline 04.00 (in production from 2022-01-25) adds 1000 to every L1C/L2A DN.
S2_BASELINE_OFFSET_DN = -1000.0
#: First processing baseline with the offset, and the first day every new product had it.
S2_OFFSET_BASELINE = 4.0
S2_OFFSET_SINCE = pd.Timestamp("2022-01-25")
#: Landsat Collection 2 Level-2 surface reflectance: reflectance = DN * 2.75e-5 - 0.2.
LANDSAT_C2_L2_SCALE = 2.75e-5
LANDSAT_C2_L2_OFFSET = -0.2

_BASELINE_KEYS = (
    "s2:processing_baseline",
    "processing_baseline",
    "processing:version",
    "processing_baseline_version",
)
_OFFSET_KEYS = ("boa_add_offset", "radio_add_offset", "s2:boa_add_offset")


@dataclass(frozen=True)
class Scaling:
    """How digital numbers become reflectance: ``DN * scale + offset``; ``nodata`` DN -> NaN."""

    scale: float
    offset: float
    nodata: tuple[float, ...]
    #: The product (or ``"scale= / offset= given"``) and what decided the offset.
    source: str


def _attr(cube: Cube, keys: tuple[str, ...], labels: list[str] | None = None) -> Any:
    for a in value_attrs(cube, labels):
        low = {str(k).lower(): v for k, v in a.items()}
        for k in keys:
            if k in low and low[k] is not None and str(low[k]).strip():
                return low[k]
    return None


def _product_ids(cube: Cube, labels: list[str] | None = None) -> list[str]:
    keys = ("product_id", "product_uri", "productid", "title", "id", "source", "granule_id")
    out = []
    for a in value_attrs(cube, labels):
        for k, v in a.items():
            if str(k).lower() in keys and isinstance(v, str):
                out.append(v)
    return out


def s2_baseline(cube: Cube) -> float | None:
    """The Sentinel-2 processing baseline from attrs or a product id (``_N0400_``), else None.

    Examples
    --------
    >>> import xarray as xr
    >>> s2_baseline(xr.DataArray(0, attrs={"processing_baseline": "04.00"}))
    4.0
    >>> s2_baseline(xr.DataArray(0, attrs={"product_id": "S2B_MSIL2A_20230101T100000_N0509_R"}))
    5.09
    """
    return _s2_baseline(cube, None)


def _s2_baseline(cube: Cube, labels: list[str] | None) -> float | None:
    value = _attr(cube, _BASELINE_KEYS, labels)
    if value is not None and np.isfinite(as_number(value)):
        return as_number(value)
    for text in _product_ids(cube, labels):
        m = re.search(r"MSIL(?:1C|2A)_\d{8}T\d{6}_N(\d{2})(\d{2})", text, re.I)
        if m:
            return int(m.group(1)) + int(m.group(2)) / 100
    return None


def _s2_offset(cube: Cube, labels: list[str]) -> tuple[float, str]:
    """The Sentinel-2 DN offset and why; raises when it cannot be known."""
    explicit = _attr(cube, _OFFSET_KEYS, labels)
    if explicit is not None and np.isfinite(as_number(explicit)):
        return as_number(explicit), f"offset attr {explicit}"
    applied = _attr(cube, ("earthsearch:boa_offset_applied",), labels)
    if applied is not None and str(applied).lower() in ("true", "1"):
        return 0.0, "earthsearch:boa_offset_applied (offset already removed)"
    base = _s2_baseline(cube, labels)
    if base is not None:
        off = S2_BASELINE_OFFSET_DN if base >= S2_OFFSET_BASELINE else 0.0
        return off, f"processing baseline {base:05.2f}"
    times = _times(cube)
    if times is not None and (times >= S2_OFFSET_SINCE).any():
        raise UnitsError(
            "Sentinel-2 digital numbers acquired on or after 2022-01-25 carry the -1000 offset "
            "of processing baseline >= 04.00 unless the provider removed it (harmonised "
            "collections), and the cube's attrs do not say which. Declare it: "
            "`cube.eo.to_reflectance(scale=1e-4, offset=-0.1)` for ESA products (baseline >= "
            "04.00), `cube.eo.to_reflectance(scale=1e-4, offset=0)` for harmonised ones, or set "
            "`cube.attrs['processing_baseline'] = '04.00'`."
        )
    return 0.0, "no processing baseline in the attrs: taken as < 04.00 (no offset)"


def _times(cube: Cube) -> pd.DatetimeIndex | None:
    if "time" not in cube.coords:
        return None
    try:
        return pd.DatetimeIndex(np.atleast_1d(cube["time"].values))
    except (TypeError, ValueError):
        return None


def product_scaling(cube: Cube) -> Scaling | None:
    """The DN -> reflectance scaling of the product the cube comes from, or ``None``.

    Known products:

    * Sentinel-2 L1C and L2A (band labels ``B01``...``B12``, ``B8A`` or a Sentinel-2 platform):
      reflectance = (DN + offset) / 10000, offset -1000 for processing baseline >= 04.00 (from
      ``processing_baseline`` / ``s2:processing_baseline`` attrs, a ``BOA_ADD_OFFSET`` /
      ``RADIO_ADD_OFFSET`` attr or a ``_Nxxxx_`` product id), 0 before; DN 0 is nodata.
    * Landsat Collection 2 Level-2 surface reflectance (``SR_B*`` labels, Landsat 4-9):
      reflectance = DN * 2.75e-5 - 0.2; DN 0 is nodata.

    Raises
    ------
    UnitsError
        A Sentinel-2 cube acquired on or after 2022-01-25 whose attrs do not give the
        processing baseline (the offset may or may not have been removed by the provider).

    Examples
    --------
    >>> import eoxr.testing as et
    >>> product_scaling(et.make_cube(bands=["SR_B4", "SR_B5"], dtype="uint16")).scale
    2.75e-05
    >>> product_scaling(et.make_cube(bands=["B4", "B5"], dtype="uint16")) is None  # Landsat L1
    True
    """
    from ..bands import resolve_sensor

    res = resolve_sensor(cube)
    return scaling_of(cube, band_labels(cube), res.sensor, res.candidates)


def scaling_of(
    cube: Cube, labels: list[str], sensor: str | None, candidates: tuple[str, ...]
) -> Scaling | None:
    """:func:`product_scaling` with the cube's band ``labels`` and sensor already resolved.

    ``sensor`` and ``candidates`` are those of :func:`eoxr.bands.resolve_sensor`.
    """
    products = {sensor} if sensor else set(candidates)
    if not products:
        return None
    if products == {"sentinel-2"}:
        offset, why = _s2_offset(cube, labels)
        return Scaling(
            1.0 / S2_QUANTIFICATION,
            offset / S2_QUANTIFICATION,
            (0.0,),
            f"Sentinel-2 L1C/L2A: quantification 10000, {why}",
        )
    if products <= {"landsat-oli-l2", "landsat-tm-l2"}:
        return Scaling(
            LANDSAT_C2_L2_SCALE,
            LANDSAT_C2_L2_OFFSET,
            (0.0,),
            "Landsat Collection 2 Level-2 surface reflectance",
        )
    return None


class Facts(Protocol):
    """What the radiometry of a verb reads about its cube, resolved once.

    :class:`eoxr._resolved.ResolvedBands` (:func:`eoxr._resolved.resolve_cube`) is the value a
    verb passes down; :func:`to_reflectance`, :func:`require_reflectance` and
    :func:`model_input` called on their own read the cube as they go.
    """

    @property
    def labels(self) -> tuple[str, ...]: ...

    @property
    def band_dim(self) -> str | None: ...

    @property
    def kind(self) -> Kind: ...

    def product(self) -> Scaling | None:
        """The product's DN scaling (:func:`product_scaling`; raises as it does)."""
        ...

    def as_reflectance(self) -> Facts:
        """The facts of the cube once converted to reflectance."""
        ...


@dataclass(frozen=True)
class CubeFacts:
    """:class:`Facts` read from the cube as needed (the public functions called on their own)."""

    cube: Cube

    @property
    def kind(self) -> Kind:
        return classify(self.cube)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(band_labels(self.cube))

    @property
    def band_dim(self) -> str | None:
        from .._dims import band_dim

        return band_dim(self.cube)

    def product(self) -> Scaling | None:
        return product_scaling(self.cube)

    def as_reflectance(self) -> CubeFacts:
        return self


__all__ = ["Scaling", "product_scaling", "s2_baseline"]
