"""What a cube's numbers are: digital numbers, reflectance, linear power or dB.

This module is the one place where eoxr decides what a cube holds. Verbs that need reflectance
(spectral indices, the csmask cloud model, encoders and models with declared preprocessing) and
verbs that need SAR linear power or dB ask it; none reads ``units`` on its own.

Attrs are a hint, not the truth: xarray arithmetic keeps or drops them without knowing what they
mean (``cube * 1e-4`` keeps ``units="DN"``). So the decision is made in two steps:

1. at call time, from dtype, ``units`` and the product metadata (:func:`classify`,
   :func:`optical_evidence`, :func:`product_scaling`), never computing anything;
2. inside the graph, a cheap check of the values each block actually holds
   (:func:`check_block`, :func:`checked`): a block whose typical value is in the thousands is
   not reflectance, one whose typical value is below 2 is not digital numbers. It raises
   :class:`~eoxr.errors.UnitsError` when the block is computed, so verbs stay lazy.

The check reads a strided sample of a block (about 16 rows, every 4th column; all of it when the
sample holds no positive value) and compares the *median* of its positive values with the limits
(by counting, not sorting), so one saturated pixel or a fill value does not trip it, and it costs
microseconds per block.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
import pandas as pd
import xarray as xr

from . import _attrs
from ._bandtable import band_labels
from ._dask.blockwise import map_blocks
from .errors import ParameterError, UnitsError

Cube = xr.DataArray | xr.Dataset
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

#: A block whose median positive value exceeds this is not reflectance (DN are in the 100s+).
REFLECTANCE_LIMIT = 10.0
#: A block whose median positive value is at most this is not digital numbers.
DN_LIMIT = 2.0
#: The value check reads about ``_STRIDE`` rows of a block, every ``_COL_STRIDE``-th column.
_STRIDE = 16
_COL_STRIDE = 4

_SAR_LABELS = frozenset({"vv", "vh", "hh", "hv"})
_SAR_WORDS = ("backscatter", "sigma0", "sigma_0", "gamma0", "gamma_0", "beta0", "sentinel-1")
_BASELINE_KEYS = (
    "s2:processing_baseline",
    "processing_baseline",
    "processing:version",
    "processing_baseline_version",
)
_OFFSET_KEYS = ("boa_add_offset", "radio_add_offset", "s2:boa_add_offset")


def _norm(value: object) -> str:
    return str(value).strip().lower()


def _sources(cube: Cube, labels: list[str] | None = None) -> list[Mapping]:
    """The attrs that describe the values: the cube's and, for a Dataset, its band variables'.

    ``labels``: the cube's band labels when already known (a Dataset's are read otherwise).
    """
    if isinstance(cube, xr.Dataset):
        return [cube.attrs, *(cube[v].attrs for v in _spectral_vars(cube, labels))]
    return [cube.attrs]


def _spectral_vars(ds: xr.Dataset, labels: list[str] | None = None) -> list[str]:
    from .bands import is_quality_band

    return [v for v in (band_labels(ds) if labels is None else labels) if not is_quality_band(v)]


def _dtypes(cube: Cube, labels: list[str] | None = None) -> list[np.dtype]:
    if isinstance(cube, xr.Dataset):
        return [np.dtype(cube[v].dtype) for v in _spectral_vars(cube, labels)]
    return [np.dtype(cube.dtype)]


def declared_units(cube: Cube) -> str | None:
    """The ``units`` attr (lower case) of the cube, or of its band variables when they agree."""
    found = {_norm(a["units"]) for a in _sources(cube) if "units" in a}
    if isinstance(cube, xr.Dataset) and "units" in cube.attrs and len(found) > 1:
        found.discard(_norm(cube.attrs["units"]))  # the variables' own units win
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
    from .bands import resolve_sensor

    return kind_of(cube, band_labels(cube), lambda: resolve_sensor(cube).sensor, context=context)


def kind_of(
    cube: Cube, labels: list[str], sensor: Callable[[], str | None], *, context: bool = True
) -> Kind:
    """:func:`classify` with the cube's band ``labels`` and ``sensor`` already resolved.

    ``sensor`` is called (only when the attrs leave the question to the band labels) for the
    sensor the labels are read with (``None``: unknown or ambiguous).
    """
    kinds = {np.dtype(d).kind for d in _dtypes(cube, labels)}
    if kinds & set("iu"):
        return "dn"
    attrs = _sources(cube, labels)
    units = {_norm(a["units"]) for a in attrs if "units" in a}
    if units & DN_UNITS:
        return "dn"
    if units & DB_UNITS:
        return "dB"
    if units & REFLECTANCE_UNITS or any("scale_applied" in a for a in attrs):
        return "reflectance"
    if units & LINEAR_UNITS:
        return "linear"
    if any(_number(a.get("scale_factor", 1.0)) != 1.0 for a in attrs):
        return "dn"  # rioxarray leaves scale_factor=1.0 on every file: only another value counts
    if context and units & DIMENSIONLESS_UNITS:
        if _optical_evidence(cube, labels, sensor):
            return "reflectance"
        if _sar_evidence(cube, labels):
            return "linear"
    return "unknown"


def _number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def sar_evidence(cube: Cube) -> bool:
    """True when the metadata say SAR: ``eoxr:kind="sar"``, polarisation labels, dB, S1."""
    return _sar_evidence(cube, band_labels(cube))


def _sar_evidence(cube: Cube, labels: list[str]) -> bool:
    if _norm(cube.attrs.get("eoxr:kind", "")) == "sar":
        return True
    names = [_norm(lab) for lab in labels]
    if names and all(lab in _SAR_LABELS for lab in names):
        return True
    sources = _sources(cube, labels)
    units = {_norm(a.get("units", "")) for a in sources}
    if units & DB_UNITS:
        return True
    text = " ".join(_norm(a.get(k, "")) for a in sources for k in ("long_name", "platform"))
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
    from .bands import resolve_sensor

    return _optical_evidence(cube, band_labels(cube), lambda: resolve_sensor(cube).sensor)


def _optical_evidence(cube: Cube, labels: list[str], sensor: Callable[[], str | None]) -> str:
    if _sar_evidence(cube, labels):
        return ""
    kind = _norm(cube.attrs.get("eoxr:kind", ""))
    if kind in ("optical", "hyperspectral"):
        return f"eoxr:kind={kind!r}"
    for a in _sources(cube, labels):
        units = _norm(a.get("units", ""))
        if units in DN_UNITS or units in REFLECTANCE_UNITS:
            return f"units {a['units']!r}"
        if "reflectance" in _norm(a.get("long_name", "")):
            return f"units {a.get('units', '')!r} with long_name {a['long_name']!r}"
        if "scale_applied" in a:
            return "scale_applied (eoxr.load_stac reflectance)"
    from .bands import canonical_name

    read_with = sensor()
    if read_with is not None:
        shown = ", ".join(labels[:4]) + (", ..." if len(labels) > 4 else "")
        return f"band labels of {read_with}: {shown}"
    optical = [lab for lab in labels if canonical_name(lab) is not None]
    if optical and len(optical) == len(labels):
        return f"optical band names {optical[:4]}"
    return ""


# --------------------------------------------------------------------------- products


@dataclass(frozen=True)
class Scaling:
    """How digital numbers become reflectance: ``DN * scale + offset``; ``nodata`` DN -> NaN."""

    scale: float
    offset: float
    nodata: tuple[float, ...]
    #: The product (or ``"scale= / offset= given"``) and what decided the offset.
    source: str


def _attr(cube: Cube, keys: tuple[str, ...], labels: list[str] | None = None) -> Any:
    for a in _sources(cube, labels):
        low = {str(k).lower(): v for k, v in a.items()}
        for k in keys:
            if k in low and low[k] is not None and str(low[k]).strip():
                return low[k]
    return None


def _product_ids(cube: Cube, labels: list[str] | None = None) -> list[str]:
    keys = ("product_id", "product_uri", "productid", "title", "id", "source", "granule_id")
    out = []
    for a in _sources(cube, labels):
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
    if value is not None and np.isfinite(_number(value)):
        return _number(value)
    for text in _product_ids(cube, labels):
        m = re.search(r"MSIL(?:1C|2A)_\d{8}T\d{6}_N(\d{2})(\d{2})", text, re.I)
        if m:
            return int(m.group(1)) + int(m.group(2)) / 100
    return None


def _s2_offset(cube: Cube, labels: list[str]) -> tuple[float, str]:
    """The Sentinel-2 DN offset and why; raises when it cannot be known."""
    explicit = _attr(cube, _OFFSET_KEYS, labels)
    if explicit is not None and np.isfinite(_number(explicit)):
        return _number(explicit), f"offset attr {explicit}"
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
    from .bands import resolve_sensor

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
class _CubeFacts:
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
        from ._dims import band_dim

        return band_dim(self.cube)

    def product(self) -> Scaling | None:
        return product_scaling(self.cube)

    def as_reflectance(self) -> _CubeFacts:
        return self


# --------------------------------------------------------------------------- the value check


def _sample(block: np.ndarray) -> np.ndarray:
    """A strided view of about 16 rows x 1/4 of the columns of ``block`` (no copy)."""
    if block.ndim < 2:
        return block[::_COL_STRIDE]
    step = max(_STRIDE, block.shape[-2] // _STRIDE)
    return block[..., ::step, ::_COL_STRIDE]


def typical_value(block: np.ndarray) -> float:
    """Median of the positive finite values of a sample of ``block`` (all of it if none).

    ``nan`` when the block holds no positive value (nodata, all zero): nothing can be told.
    """
    for part in (_sample(block), block):
        pos = part[(part > 0) & (part < np.inf)]
        if pos.size:
            return float(np.median(pos))
    return float("nan")


def _contradicts(block: np.ndarray, expect: str) -> bool:
    """Whether most positive values of a sample of ``block`` contradict ``expect``.

    Counting, not sorting: ``median > limit`` is ``more than half the values > limit``. The
    sample is a strided view (about 16 rows, every 4th column), so the check costs a few
    microseconds per block; the whole block is read only when the sample has no positive value.
    """
    for part in (_sample(block), block):
        n = np.count_nonzero(part > 0)
        if n:
            if expect == "dB":
                # backscatter in dB is mostly negative (sigma0 < 1); linear power never is
                return not np.count_nonzero(part < 0) and 2 * np.count_nonzero(part <= 1.5) > n
            if expect == "reflectance":
                return 2 * np.count_nonzero(part > REFLECTANCE_LIMIT) > n
            return 2 * np.count_nonzero((part > 0) & (part <= DN_LIMIT)) > n
    return False


def check_block(block: np.ndarray, *, expect: str, what: str, fix: str = "") -> None:
    """Raise :class:`~eoxr.errors.UnitsError` when a block's values contradict ``expect``.

    ``expect="reflectance"``: the typical value (median of the positive values of a sample,
    :func:`typical_value`) must not exceed :data:`REFLECTANCE_LIMIT`; ``expect="dn"``: it must
    exceed :data:`DN_LIMIT`. Integer blocks pass ``expect="dn"`` unread (integers are DN).
    """
    if not block.size or (expect == "dn" and block.dtype.kind in "iu"):
        return
    if not _contradicts(block, expect):
        return
    v = typical_value(block)
    if expect == "dB":
        raise UnitsError(
            f"{what} takes backscatter in dB but the data hold no negative value and values "
            f"around {v:.4g}: they are linear power, whatever the attrs say. "
            + (fix or "Convert them first: `cube.eo.to_db()`.")
        )
    if expect == "reflectance":
        raise UnitsError(
            f"{what} needs reflectance (about 0-1) but the data hold values around {v:.4g}: "
            "they are digital numbers, whatever the attrs say. "
            + (
                fix
                or "Convert them first: `cube.eo.to_reflectance()` (Sentinel-2, Landsat "
                "Collection 2 Level-2), or with the product's scale, e.g. "
                "`cube.eo.to_reflectance(scale=1e-4)`."
            )
        )
    raise UnitsError(
        f"{what} scales digital numbers but the data hold values around {v:.4g}: they are "
        "reflectance already (scaled by hand? xarray arithmetic keeps `units` unchanged), "
        "and scaling them again would shrink every value. "
        + (fix or "Drop scale=/offset= and set `cube.attrs['units'] = '1'`.")
    )


def _checked_block(block: np.ndarray, expect: str, what: str, fix: str) -> np.ndarray:
    check_block(block, expect=expect, what=what, fix=fix)
    return block


def checked(cube: xr.DataArray, *, expect: str, what: str, fix: str = "") -> xr.DataArray:
    """``cube`` with :func:`check_block` run on every block when it is computed (lazy).

    On numpy data the check runs now (reading a sample of the values).
    """
    kwargs = {"expect": expect, "what": what, "fix": fix}
    return cube.copy(data=map_blocks(_checked_block, cube, kwargs=kwargs))


# --------------------------------------------------------------------------- conversion


def _dn_kernel(
    block: np.ndarray, *, scale: float, offset: float, nodata: tuple[float, ...], check: bool
) -> np.ndarray:
    if check:
        check_block(
            block,
            expect="dn",
            what="to_reflectance",
            fix="Use the cube as it is (set `cube.attrs['units'] = '1'`).",
        )
    x = block.astype(np.float64)
    bad = ~np.isfinite(x)
    for v in nodata:
        bad |= x == v
    q = 1.0 / scale
    if q == round(q) and offset * q == round(offset * q):
        # a quantification value (Sentinel-2: 10000): (DN + offset DN) / q, as the product
        # specification writes it, so that the float32 result is the correctly rounded quotient
        out = ((x + round(offset * q)) / round(q)).astype(np.float32)
    else:
        out = (x * scale + offset).astype(np.float32)
    out[bad] = np.nan
    return out


def _file_nodata(cube: xr.DataArray) -> tuple[float, ...]:
    for key in ("_FillValue", "nodata"):
        for src in (cube.attrs, cube.encoding):
            v = _number(src.get(key, float("nan")))
            if np.isfinite(v):
                return (v,)
    try:
        v = cube.rio.nodata
    except Exception:  # rioxarray needs spatial dims
        v = None
    return (float(v),) if v is not None and np.isfinite(v) else ()


def _nodata_values(given: float | None, product: Scaling | None, cube: xr.DataArray) -> tuple:
    out = list(_file_nodata(cube))
    if given is not None:
        out.append(float(given))
    elif product is not None:
        out += list(product.nodata)
    return tuple(dict.fromkeys(out))


def _not_reflective(label: object) -> bool:
    """A quality layer (SCL, QA_PIXEL...) or a thermal band (Landsat ST_B10...)."""
    from .bands import canonical_name, is_quality_band

    return is_quality_band(str(label)) or (canonical_name(str(label)) or "").startswith("lwir")


def _refuse_non_reflective(facts: Facts) -> None:
    dim = facts.band_dim
    bad = [lab for lab in facts.labels if _not_reflective(lab)] if dim else []
    if bad:
        raise ParameterError(
            f"to_reflectance: bands {bad} are quality layers or thermal bands, not reflectance; "
            f"drop them first: `cube.drop_sel({dim}={bad}).eo.to_reflectance()` (a Dataset keeps "
            "such variables unchanged)."
        )


def to_reflectance(
    cube: Cube,
    *,
    scale: float | None = None,
    offset: float | None = None,
    nodata: float | None = None,
) -> Cube:
    """Digital numbers to float32 reflectance (``units="1"``), lazily, from what the product says.

    Known products (see :func:`product_scaling`): Sentinel-2 L1C and L2A (DN / 10000, with the
    -1000 DN offset of processing baseline 04.00 and later when the attrs or product id give
    the baseline; a cube acquired on/after 2022-01-25 without it raises) and Landsat
    Collection 2 Level-2 surface reflectance (DN * 2.75e-5 - 0.2). Anything else (Landsat
    Level-1, hyperspectral DN...) needs ``scale=`` (and ``offset=``). DN 0 of the known products,
    the file's nodata value and ``nodata`` become NaN.

    The values are checked when computed: a block whose typical value is below 2 is already
    reflectance (scaled by hand while the attrs still say DN) and raises
    :class:`~eoxr.errors.UnitsError` instead of being scaled twice. A cube declared reflectance
    (``units="1"`` on an optical product, ``scale_applied``) is returned unchanged.

    Parameters
    ----------
    cube : DataArray or Dataset
        Digital numbers (integers, or floats with ``units="DN"``). A Dataset keeps its quality
        layers (SCL, QA_PIXEL...) and thermal bands unchanged.
    scale, offset : float, optional
        ``reflectance = DN * scale + offset``, for products eoxr does not know (e.g. the
        ``REFLECTANCE_MULT_BAND_x`` / ``REFLECTANCE_ADD_BAND_x`` of a Landsat Level-1 MTL file).
    nodata : float, optional
        A DN that means no data (default: the product's, 0 for Sentinel-2 and Landsat C2 L2).

    Returns
    -------
    DataArray or Dataset
        float32 reflectance, ``units="1"``, ``scale_applied`` / ``offset_applied`` attrs and a
        ``history`` line naming the product; lazy for dask input.

    Raises
    ------
    UnitsError
        The product is unknown and ``scale=`` is not given; the cube is SAR data or already
        reflectance and ``scale=`` is given; a Sentinel-2 baseline cannot be known.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> dn = xr.DataArray(np.array([[[0, 1000, 2500]]], "uint16"), dims=("band", "y", "x"),
    ...                   coords={"band": ["B04"]}, attrs={"platform": "sentinel-2a"})
    >>> to_reflectance(dn).values.tolist()
    [[[nan, 0.10000000149011612, 0.25]]]
    >>> new = to_reflectance(dn.assign_attrs(processing_baseline="04.00"))
    >>> np.round(new.values.astype(float), 4).tolist()
    [[[nan, 0.0, 0.15]]]
    """
    if isinstance(cube, xr.Dataset):
        return _dataset_to_reflectance(cube, scale=scale, offset=offset, nodata=nodata)
    return _to_reflectance(cube, _CubeFacts(cube), scale, offset, nodata)


def _to_reflectance(
    cube: xr.DataArray,
    facts: Facts,
    scale: float | None,
    offset: float | None,
    nodata: float | None,
) -> xr.DataArray:
    kind = facts.kind
    given = scale is not None or offset is not None
    if kind in ("dB", "linear"):
        raise UnitsError(
            f"to_reflectance converts optical digital numbers, but the cube is SAR backscatter "
            f"({kind}, from its attrs); keep it as it is (`cube.eo.to_db()` / "
            "`cube.eo.to_linear()` switch its domain)."
        )
    if kind == "reflectance":
        if given:
            raise UnitsError(
                f"the cube is already reflectance ({optical_evidence(cube) or 'its attrs'}): "
                f"scale={scale} would scale it twice. Drop scale=/offset=, or if the values "
                "really are digital numbers, say so with `cube.attrs['units'] = 'DN'`."
            )
        return cube
    _refuse_non_reflective(facts)
    product = None
    if scale is None:
        if offset is not None:
            raise ParameterError(f"offset={offset} without scale=: pass both, e.g. scale=1e-4.")
        product = facts.product()
        if product is None:
            raise UnitsError(
                "to_reflectance cannot tell the product of this cube (not Sentinel-2 L1C/L2A, "
                "not Landsat Collection 2 Level-2 from its band labels and attrs), so it cannot "
                "know the scale. Pass it: `cube.eo.to_reflectance(scale=2e-5, offset=-0.1)` "
                "(e.g. REFLECTANCE_MULT_BAND_x / REFLECTANCE_ADD_BAND_x of a Landsat Level-1 "
                "MTL file), or declare the platform: `cube.attrs['platform'] = 'sentinel-2a'`."
            )
        s, o, source = product.scale, product.offset, product.source
    else:
        s, o = float(scale), float(0.0 if offset is None else offset)
        if not (np.isfinite(s) and s > 0 and np.isfinite(o)):
            raise ParameterError(f"scale={scale!r}, offset={offset!r}: give finite numbers, >0.")
        source = f"scale={s:g}, offset={o:g} given"
    nd = _nodata_values(nodata, product, cube)
    kw = {"scale": s, "offset": o, "nodata": nd, "check": np.dtype(cube.dtype).kind == "f"}
    data = map_blocks(_dn_kernel, cube, dtype=np.float32, kwargs=kw)
    out = _attrs.finalize(
        cube.copy(data=data),
        cube,
        long_name="reflectance",
        units="1",
        attrs={"scale_applied": s, "offset_applied": o},
        history=f"to_reflectance: reflectance = DN * {s:g} + {o:g}, nodata {list(nd)} -> NaN "
        f"({source})",
    )
    return out


def _dataset_to_reflectance(ds: xr.Dataset, **kw: Any) -> xr.Dataset:
    out = {}
    for name, var in ds.data_vars.items():
        if _not_reflective(name) or name not in band_labels(ds):
            out[name] = var
            continue
        attrs = {**ds.attrs, **var.attrs}
        out[name] = to_reflectance(var.assign_attrs(attrs), **kw)
    res = xr.Dataset(out, attrs=dict(ds.attrs))
    return _attrs.finalize_dataset(res, ds, history="to_reflectance on each band variable")


# --------------------------------------------------------------------------- for verbs


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
    return as_reflectance(cube, _CubeFacts(cube), what=what)[0]


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
                f"({', '.join(sorted({str(d) for d in _dtypes(cube)}))}"
                f"{', units ' + repr(declared_units(cube)) if declared_units(cube) else ''}) "
                f"of a product eoxr cannot read the scale of. Convert first: "
                "`cube.eo.to_reflectance(scale=1e-4)` with the product's scale and offset "
                "(reflectance = DN * scale + offset)."
            )
        if isinstance(cube, xr.Dataset):
            return to_reflectance(cube), facts.as_reflectance()
        return _to_reflectance(cube, facts, None, None, None), facts.as_reflectance()
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
    facts = _CubeFacts(cube)
    return for_model(cube, facts, mean=mean, scale=scale, bands=bands, what=what)[0]


def for_model(
    cube: Cube, facts: Facts, *, mean: Any, scale: float, bands: Any = None, what: str
) -> tuple[Cube, Facts]:
    """:func:`model_input` with the cube's :class:`Facts` resolved by the verb.

    Returns the cube made fit for the model and its facts.
    """
    expect = expected_input(mean, scale)
    names = [bands] if isinstance(bands, str) else list(bands or [])
    sar_bands = bool(names) and all(_norm(b) in _SAR_LABELS for b in names)
    if sar_bands or _sar_evidence(cube, list(facts.labels)):
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
        if units is not None and _norm(units) in DB_UNITS:
            return v
        if units is not None and _norm(units) in LINEAR_UNITS | DIMENSIONLESS_UNITS:
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
    u = _norm(units)
    if u in DB_UNITS:
        return "dB", False
    if u in DIMENSIONLESS_UNITS or u in LINEAR_UNITS:
        return "linear", False
    raise UnitsError(
        f"units={units!r} is not a SAR backscatter unit eoxr knows. Declare the domain with "
        "`cube.attrs['units'] = 'dB'` (decibels) or `cube.attrs['units'] = '1'` (linear power)."
    )


__all__ = [
    "Kind",
    "Scaling",
    "classify",
    "optical_evidence",
    "sar_evidence",
    "declared_units",
    "product_scaling",
    "s2_baseline",
    "to_reflectance",
    "require_reflectance",
    "sar_domain",
    "expected_input",
    "model_input",
    "check_block",
    "checked",
    "typical_value",
]
