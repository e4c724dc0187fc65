"""What a cube's numbers are, decided at call time from dtype and attrs, never computing anything.

Digital numbers, reflectance, linear power or dB (:func:`classify`), and the signs of an optical
(:func:`optical_evidence`) or a SAR (:func:`sar_evidence`) product. Attrs are a hint, not the
truth: the values themselves are checked inside the graph (:mod:`eoxr.radiometry.checks`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import xarray as xr

from .._bandtable import band_labels
from ._metadata import Cube, as_number, norm, value_attrs, value_dtypes

#: What a cube's numbers are. ``"unknown"``: nothing says (no ``units``, or ``units="1"`` with no
#: sign of an optical or SAR product).
Kind = Literal["dn", "reflectance", "linear", "dB", "unknown"]

#: ``units`` values that say the numbers are raw digital numbers.
DN_UNITS = frozenset({"dn", "counts", "count", "digital number", "digital numbers"})
#: ``units`` values that name reflectance.
REFLECTANCE_UNITS = frozenset(
    {"reflectance", "surface reflectance", "toa reflectance", "top-of-atmosphere reflectance"}
)
#: Dimensionless ``units``: reflectance or linear power, the rest of the metadata decides.
DIMENSIONLESS_UNITS = frozenset({"1", ""})
#: ``units`` values of SAR backscatter in decibels.
DB_UNITS = frozenset({"db", "decibel", "decibels"})
#: ``units`` values of SAR backscatter as linear power (besides the dimensionless ones).
LINEAR_UNITS = frozenset({"linear", "intensity", "power", "m2/m2", "m2 m-2", "amplitude^2"})

#: Band labels of SAR polarisations (lower case).
SAR_LABELS = frozenset({"vv", "vh", "hh", "hv"})
_SAR_WORDS = ("backscatter", "sigma0", "sigma_0", "gamma0", "gamma_0", "beta0", "sentinel-1")


def declared_units(cube: Cube) -> str | None:
    """The ``units`` attr (lower case) of the cube, or of its band variables when they agree."""
    found = {norm(a["units"]) for a in value_attrs(cube) if "units" in a}
    if isinstance(cube, xr.Dataset) and "units" in cube.attrs and len(found) > 1:
        found.discard(norm(cube.attrs["units"]))  # the variables' own units win
    return found.pop() if len(found) == 1 else None


def classify(cube: Cube, *, context: bool = True) -> Kind:
    """What the cube's numbers are, from dtype and attrs only (nothing is computed).

    Integers are digital numbers whatever ``units`` says. ``units`` then decides: DN, dB,
    reflectance by name, linear power by name; ``scale_applied`` (written by
    :func:`eoxr.load_stac`) means reflectance; a file ``scale_factor`` other than 1 that was left
    unapplied means digital numbers. Dimensionless ``units="1"`` is reflectance on an optical
    product (:func:`optical_evidence`), linear power on a SAR one, else ``"unknown"``.

    Parameters
    ----------
    cube : DataArray or Dataset
        The cube (a Dataset: its band variables, quality layers left out).
    context : bool
        Read the rest of the metadata to tell dimensionless units apart (``False``: they are
        ``"unknown"``; faster, for callers that only need to know whether the values are DN).

    Returns
    -------
    {"dn", "reflectance", "linear", "dB", "unknown"}

    Examples
    --------
    >>> import eoxr.testing as et
    >>> classify(et.make_cube()), classify(et.make_cube(dtype="uint16"))
    ('reflectance', 'dn')
    >>> classify((et.make_cube(dtype="uint16") * 1e-4))  # attrs cannot tell; values will
    'dn'
    """
    from ..bands import resolve_sensor

    return kind_of(cube, band_labels(cube), lambda: resolve_sensor(cube).sensor, context=context)


def kind_of(
    cube: Cube, labels: list[str], sensor: Callable[[], str | None], *, context: bool = True
) -> Kind:
    """:func:`classify` with the cube's band ``labels`` and ``sensor`` already resolved.

    ``sensor`` is called (only when the attrs leave the question to the band labels) for the
    sensor the labels are read with (``None``: unknown or ambiguous).
    """
    kinds = {np.dtype(d).kind for d in value_dtypes(cube, labels)}
    if kinds & set("iu"):
        return "dn"
    attrs = value_attrs(cube, labels)
    units = {norm(a["units"]) for a in attrs if "units" in a}
    if units & DN_UNITS:
        return "dn"
    if units & DB_UNITS:
        return "dB"
    if units & REFLECTANCE_UNITS or any("scale_applied" in a for a in attrs):
        return "reflectance"
    if units & LINEAR_UNITS:
        return "linear"
    if any(as_number(a.get("scale_factor", 1.0)) != 1.0 for a in attrs):
        return "dn"  # rioxarray leaves scale_factor=1.0 on every file: only another value counts
    if context and units & DIMENSIONLESS_UNITS:
        if _optical_evidence(cube, labels, sensor):
            return "reflectance"
        if sar_evidence_of(cube, labels):
            return "linear"
    return "unknown"


def sar_evidence(cube: Cube) -> bool:
    """True when the metadata say SAR: ``eoxr:kind="sar"``, polarisation labels, dB, S1."""
    return sar_evidence_of(cube, band_labels(cube))


def sar_evidence_of(cube: Cube, labels: list[str]) -> bool:
    """:func:`sar_evidence` with the cube's band ``labels`` already resolved."""
    if norm(cube.attrs.get("eoxr:kind", "")) == "sar":
        return True
    names = [norm(lab) for lab in labels]
    if names and all(lab in SAR_LABELS for lab in names):
        return True
    sources = value_attrs(cube, labels)
    units = {norm(a.get("units", "")) for a in sources}
    if units & DB_UNITS:
        return True
    text = " ".join(norm(a.get(k, "")) for a in sources for k in ("long_name", "platform"))
    return any(w in text for w in _SAR_WORDS)


def optical_evidence(cube: Cube) -> str:
    """Why the cube looks like an optical product (DN or reflectance), or ``""``.

    Signs: ``eoxr:kind`` optical/hyperspectral, ``units`` naming DN or reflectance,
    ``scale_applied``, a ``long_name`` with "reflectance", or band labels of a known optical
    sensor (Sentinel-2, Landsat) or optical common names (``red``, ``nir``...). A cube declared
    SAR (``eoxr:kind="sar"``, polarisation labels, dB) never looks optical.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> optical_evidence(et.make_cube(bands=["B04", "B08"]))
    "units '1' with long_name 'surface reflectance'"
    >>> optical_evidence(et.make_cube(bands=["VV", "VH"]).drop_attrs())
    ''
    """
    from ..bands import resolve_sensor

    return _optical_evidence(cube, band_labels(cube), lambda: resolve_sensor(cube).sensor)


def _optical_evidence(cube: Cube, labels: list[str], sensor: Callable[[], str | None]) -> str:
    if sar_evidence_of(cube, labels):
        return ""
    kind = norm(cube.attrs.get("eoxr:kind", ""))
    if kind in ("optical", "hyperspectral"):
        return f"eoxr:kind={kind!r}"
    for a in value_attrs(cube, labels):
        units = norm(a.get("units", ""))
        if units in DN_UNITS or units in REFLECTANCE_UNITS:
            return f"units {a['units']!r}"
        if "reflectance" in norm(a.get("long_name", "")):
            return f"units {a.get('units', '')!r} with long_name {a['long_name']!r}"
        if "scale_applied" in a:
            return "scale_applied (eoxr.load_stac reflectance)"
    from ..bands import canonical_name

    read_with = sensor()
    if read_with is not None:
        shown = ", ".join(labels[:4]) + (", ..." if len(labels) > 4 else "")
        return f"band labels of {read_with}: {shown}"
    optical = [lab for lab in labels if canonical_name(lab) is not None]
    if optical and len(optical) == len(labels):
        return f"optical band names {optical[:4]}"
    return ""


__all__ = ["Kind", "classify", "optical_evidence", "sar_evidence", "declared_units"]
