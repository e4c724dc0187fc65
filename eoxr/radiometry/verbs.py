"""What the verbs ask of eoxr.radiometry: reflectance for optical verbs, model inputs, SAR domains.

Verbs that need reflectance (spectral indices, the csmask cloud model, encoders and models with
declared preprocessing) and verbs that need SAR linear power or dB ask these functions; none
reads ``units`` on its own.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr

from ..errors import UnitsError
from ._metadata import Cube, norm, value_dtypes
from .checks import DN_LIMIT, REFLECTANCE_LIMIT, checked
from .convert import convert_dn, to_reflectance
from .kinds import (
    DB_UNITS,
    DIMENSIONLESS_UNITS,
    LINEAR_UNITS,
    SAR_LABELS,
    declared_units,
    optical_evidence,
    sar_evidence_of,
)
from .products import CubeFacts, Facts


def require_reflectance(cube: Cube, *, what: str) -> Cube:
    """``cube`` as reflectance for a verb that needs it (``what`` names the verb in errors).

    Digital numbers of a known product are converted (:func:`to_reflectance`); digital numbers
    of an unknown product and SAR data are refused with a :class:`~eoxr.errors.UnitsError`.
    Float data that are not declared DN get the lazy value check: a block whose typical value
    is in the thousands raises when computed.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> dn = et.make_cube(bands=["B04", "B08"], dtype="uint16", times=None)
    >>> float(require_reflectance(dn, what="demo").max()) < 1
    True
    """
    return as_reflectance(cube, CubeFacts(cube), what=what)[0]


def as_reflectance(cube: Cube, facts: Facts, *, what: str) -> tuple[Cube, Facts]:
    """:func:`require_reflectance` with the cube's :class:`Facts` resolved by the verb.

    Returns the cube as reflectance and its facts.
    """
    kind = facts.kind
    if kind in ("dB", "linear"):
        raise UnitsError(
            f"{what} needs optical reflectance, but the cube is SAR backscatter ({kind}, from "
            "its attrs). Select optical bands, or set `cube.attrs['units'] = '1'` if this is "
            "reflectance mislabelled."
        )
    if kind == "dn":
        product = facts.product()
        if product is None:
            raise UnitsError(
                f"{what} needs reflectance, but the cube holds digital numbers "
                f"({', '.join(sorted({str(d) for d in value_dtypes(cube)}))}"
                f"{', units ' + repr(declared_units(cube)) if declared_units(cube) else ''}) "
                f"of a product eoxr cannot read the scale of. Convert first: "
                "`cube.eo.to_reflectance(scale=1e-4)` with the product's scale and offset "
                "(reflectance = DN * scale + offset)."
            )
        if isinstance(cube, xr.Dataset):
            return to_reflectance(cube), facts.as_reflectance()
        return convert_dn(cube, facts, None, None, None), facts.as_reflectance()
    if isinstance(cube, xr.Dataset):
        labels = facts.labels
        out = cube.map(
            lambda v: (
                checked(v, expect="reflectance", what=what)
                if np.dtype(v.dtype).kind == "f" and v.name in labels
                else v
            ),
            keep_attrs=True,
        )
        return out, facts
    return checked(cube, expect="reflectance", what=what), facts


def expected_input(mean: Any, scale: float) -> Literal["dn", "reflectance"] | None:
    """What a model's declared preprocessing ``(value * scale - mean) / std`` expects as values.

    The constants tell: inputs are of the size of ``mean / scale``. Above
    :data:`REFLECTANCE_LIMIT` they are digital numbers (e.g. ``scale=1e-4, mean=0.3``, or an
    encoder fitted on DN); at most :data:`DN_LIMIT` reflectance (e.g. ``scale=10000,
    mean=1500``, or the csmask statistics in reflectance); ``None`` when the constants are all 0
    or in between.

    Examples
    --------
    >>> expected_input([0.3, 0.25], 1e-4), expected_input([1500.0], 10000), expected_input(0, 1)
    ('dn', 'reflectance', None)
    """
    if mean is None:
        return None
    m = float(np.max(np.abs(np.asarray(mean, dtype=np.float64)))) / float(scale)
    if not np.isfinite(m) or m == 0:
        return None
    if m > REFLECTANCE_LIMIT:
        return "dn"
    return "reflectance" if m <= DN_LIMIT else None


def model_input(
    cube: Cube, *, mean: Any, scale: float, bands: Any = None, what: str = "the model"
) -> Cube:
    """``cube`` made fit for a model with declared preprocessing (see :func:`expected_input`).

    A model whose constants are in reflectance gets reflectance (:func:`require_reflectance`:
    DN of a known product converted, other DN refused, float values checked lazily); a model
    whose constants are in DN gets its float values checked lazily (reflectance, e.g. scaled by
    hand while the attrs still say DN, would be scaled twice). SAR inputs (polarisation bands)
    and models without constants are left alone.
    """
    facts = CubeFacts(cube)
    return for_model(cube, facts, mean=mean, scale=scale, bands=bands, what=what)[0]


def for_model(
    cube: Cube, facts: Facts, *, mean: Any, scale: float, bands: Any = None, what: str
) -> tuple[Cube, Facts]:
    """:func:`model_input` with the cube's :class:`Facts` resolved by the verb.

    Returns the cube made fit for the model and its facts.
    """
    expect = expected_input(mean, scale)
    names = [bands] if isinstance(bands, str) else list(bands or [])
    sar_bands = bool(names) and all(norm(b) in SAR_LABELS for b in names)
    if sar_bands or sar_evidence_of(cube, list(facts.labels)):
        return _sar_model_input(cube, mean=mean, what=what), facts
    if expect is None:
        return cube, facts
    if expect == "reflectance":
        return as_reflectance(cube, facts, what=what)
    fix = (
        f"Drop the model's scale={scale:g} for these values (pass scale=1), or give digital "
        "numbers."
    )
    if isinstance(cube, xr.Dataset):
        out = cube.map(
            lambda v: (
                checked(v, expect="dn", what=what, fix=fix) if np.dtype(v.dtype).kind == "f" else v
            ),
            keep_attrs=True,
        )
        return out, facts
    if np.dtype(cube.dtype).kind != "f":
        return cube, facts
    return checked(cube, expect="dn", what=what, fix=fix), facts


def _sar_model_input(cube: Cube, *, mean: Any, what: str) -> Cube:
    """SAR ``cube`` made fit for a model whose constants are in dB.

    Constants in dB have all means negative (SSL4EO-S12 S1, SoftCon S1). Linear power declared
    in the attrs is refused; undeclared values are checked lazily (no negative value: linear).
    """
    means = np.atleast_1d(np.asarray(mean if mean is not None else 0.0, dtype="float64"))
    if not (means.size and np.all(means < 0)):
        return cube  # constants not in dB (or none): nothing to tell
    fix = "Convert them first: `cube.eo.to_db()`."

    def one(v: xr.DataArray) -> xr.DataArray:
        units = v.attrs.get("units", cube.attrs.get("units"))
        if units is not None and norm(units) in DB_UNITS:
            return v
        if units is not None and norm(units) in LINEAR_UNITS | DIMENSIONLESS_UNITS:
            raise UnitsError(
                f"{what} takes backscatter in dB (its constants are means of dB values, e.g. "
                f"{means[0]:g}) but the cube says units={units!r} (linear power). {fix}"
            )
        return checked(v, expect="dB", what=what, fix=fix)

    if isinstance(cube, xr.Dataset):
        return cube.map(one, keep_attrs=True)
    return one(cube)


def sar_domain(cube: xr.DataArray, *, what: str) -> tuple[Literal["dB", "linear"], bool]:
    """The domain (dB or linear power) for a SAR verb: ``(domain, inferred)``; optical refused.

    The ``units`` attr decides (dB; ``"1"`` or a linear-power name). Without it the data are
    taken as linear with ``inferred=True`` (the SAR kernels then refuse negative values).

    Raises
    ------
    UnitsError
        The cube looks like optical reflectance or DN (:func:`optical_evidence`), or its units
        are no SAR backscatter unit.
    """
    why = optical_evidence(cube)
    if why:
        raise UnitsError(
            f"{what} is for SAR intensity (linear power or dB), but this cube looks like "
            f"optical reflectance or digital numbers ({why}). Speckle filters and dB "
            "conversion do not apply to optical data; if it really is SAR backscatter, declare "
            "it: `cube.attrs['eoxr:kind'] = 'sar'`."
        )
    units = cube.attrs.get("units")
    if units is None:
        return "linear", True
    u = norm(units)
    if u in DB_UNITS:
        return "dB", False
    if u in DIMENSIONLESS_UNITS or u in LINEAR_UNITS:
        return "linear", False
    raise UnitsError(
        f"units={units!r} is not a SAR backscatter unit eoxr knows. Declare the domain with "
        "`cube.attrs['units'] = 'dB'` (decibels) or `cube.attrs['units'] = '1'` (linear power)."
    )


__all__ = ["require_reflectance", "sar_domain", "expected_input", "model_input"]
