"""From names to a kernel plan: band mapping, constants, kernel terms, expression constants.

Bands are mapped only through :func:`eoxr.bands.symbol_mapping` (ASI symbol -> the cube's own
label) and :func:`eoxr.bands.resolve_band` (band names written in custom formulas).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import xarray as xr

from .. import bands as _bands
from .._resolved import ResolvedBands
from ..errors import BandNotFoundError, CatalogError, ParameterError
from . import _catalog, _expr

Cube = xr.DataArray | xr.Dataset
ConstantValue = float | int | str


@dataclass
class Resolved:
    """One requested index, ready for code generation."""

    #: Output variable name.
    name: str
    #: The formula as written (catalog or user).
    formula: str
    #: Tree after kernel terms and expression constants are substituted.
    tree: ast.expr
    #: Band name in the tree -> the cube's label.
    band_labels: dict[str, str] = field(default_factory=dict)
    #: Scalar constant name -> value.
    constants: dict[str, float] = field(default_factory=dict)
    #: Every name the formula and its expression constants refer to.
    used: set[str] = field(default_factory=set)
    entry: _catalog.SpectralIndex | None = None


@dataclass(frozen=True)
class CubeBands:
    """What a cube offers: symbol -> label, labels, sensor."""

    symbols: Mapping[str, str]
    labels: tuple[str, ...]
    sensor: str | None

    @classmethod
    def of(cls, cube: Cube) -> CubeBands:
        labels = tuple(_bands.band_labels(cube))
        sensor = _bands.detect_sensor(cube)
        return cube_bands_of(labels, sensor)

    def wavelength(self, symbol: str) -> float | None:
        """Centre wavelength (nm) of the band filling ``symbol`` (for ``lambda*`` constants)."""
        label = self.symbols.get(symbol)
        if label is None:
            return None
        w = _bands.wavelengths_of([label], self.sensor)[0]
        return None if w is None else float(w)


@lru_cache(maxsize=64)
def cube_bands_of(labels: tuple[str, ...], sensor: str | None) -> CubeBands:
    """Symbol mapping of a band list (cached: it depends on the labels and sensor only)."""
    return CubeBands(_bands.label_symbols(labels, sensor), labels, sensor)


def constant_default(name: str, cb: CubeBands | None) -> float | None:
    """Catalog default of a constant; ``lambdaX`` defaults to the wavelength of band ``X``."""
    const = _catalog.asi().constants.get(name)
    if const is not None and const.default is not None:
        return const.default
    if name.startswith("lambda") and cb is not None:
        return cb.wavelength(name[len("lambda") :])
    return None


def computable(
    cb: CubeBands, entries: Iterable[_catalog.SpectralIndex] | None = None, kernel: str = "RBF"
) -> list[str]:
    """Short names of the indices whose bands and constants the cube can supply."""
    params = _catalog.asi().kernels[kernel]["parameters"]
    out = []
    for e in entries if entries is not None else _catalog.all_indices().values():
        consts = list(e.constants) + (list(params) if e.kernel_terms else [])
        if set(e.bands) <= set(cb.symbols) and all(
            constant_default(c, cb) is not None for c in consts
        ):
            out.append(e.short_name)
    return out


def _kernel_tree(kernel: str, a: str, b: str) -> ast.expr:
    spec = _catalog.asi().kernels.get(kernel)
    if spec is None:
        raise ParameterError(f"kernel={kernel!r} is not one of {sorted(_catalog.asi().kernels)}")
    if kernel == "RBF" and a == b:
        # k(a, a) = exp(0) = 1 exactly: skip one exp per pixel (kNN of kNDVI, kGG of kVARI);
        # "a - a" keeps NaN in -> NaN out.
        return _expr.parse(f"({a} - {a}) + 1.0")
    tree = _expr.parse(spec["formula"])
    return _expr.substitute(tree, {"a": ast.Name(a, ast.Load()), "b": ast.Name(b, ast.Load())})


def _tree_of(text: str) -> tuple[ast.expr, _catalog.SpectralIndex | None, str]:
    """Parse a name or formula; return (tree, catalog entry or None, formula)."""
    entry = _catalog.lookup(text)
    if entry is not None:
        return _expr.parse(entry.formula), entry, entry.formula
    if str(text).strip().isidentifier():
        raise _catalog.unknown_index_error(text)
    return _expr.parse(text), None, str(text)


def _substitute_kernels(tree: ast.expr, kernel: str) -> ast.expr:
    cat = _catalog.asi()
    known = set(cat.bands) | set(cat.constants)
    terms = {}
    for nm in _expr.names(tree):
        if nm in known:
            continue
        pair = _catalog.kernel_pair(nm, known)
        if pair is not None:
            terms[nm] = _kernel_tree(kernel, *pair)
    return _expr.substitute(tree, terms) if terms else tree


def _substitute_expressions(tree: ast.expr, user: Mapping[str, ConstantValue]) -> ast.expr:
    """Inline constants given as formula strings (e.g. ``sigma="0.5 * (N + R)"``)."""
    for _ in range(8):  # expression constants may refer to each other, not in a cycle
        found = {
            k: _expr.parse(v)
            for k, v in user.items()
            if isinstance(v, str) and k in _expr.names(tree)
        }
        if not found:
            return tree
        tree = _expr.substitute(tree, found)
        _expr.check_depth(tree, f"{ast.unparse(tree)[:60]} (with {sorted(found)} substituted)")
    raise ParameterError(f"constants {sorted(found)} refer to each other in a cycle")


def _missing_bands_error(
    name: str, missing: list[str], cb: CubeBands, cube: Cube, sensors: list[str | None]
) -> BandNotFoundError:
    cat = _catalog.asi()
    canon = [_bands.canonical_name(m) for m in missing]
    described = [
        f"{m} ({cat.bands[m].get('common_name', '?')})" if m in cat.bands else m for m in missing
    ]
    ok = computable(cb)
    shown = ", ".join(ok[:25]) + (f", ... ({len(ok)} in all)" if len(ok) > 25 else "")
    hint = f"Index {name!r} needs {', '.join(described)}. "
    known = [c for c in canon if c is not None]
    unread = _bands.unread_labels_hint(cube, cb.sensor)
    if known and not unread:
        hint += _bands.missing_band_hint(cube, known, sensors) + " "
    hint += (
        f"Computable on this cube: [{shown or 'none'}]; see "
        "eoxr.indices.catalog(bands_available=cube)."
    ) + unread
    tried = [t for m in missing for s in sensors for t in _bands.tried_names(m, s)]
    return BandNotFoundError(", ".join(missing), cb.labels, tried, hint=hint)


def resolve_requests(
    cube: Cube,
    rb: ResolvedBands,
    requests: Iterable[tuple[str | None, str]],
    user: Mapping[str, ConstantValue],
    kernel: str,
) -> tuple[CubeBands, list[Resolved]]:
    """The cube's bands (resolved once by the verb: ``rb``) and every request read with them.

    When the labels are ambiguous (several sensors read them differently) and no sensor they may
    come from has the bands, the error is a :class:`BandNotFoundError`; when some have them, it
    is an :class:`~eoxr.errors.AmbiguousBandsError` that says which.
    """
    requests = list(requests)
    res, labels = rb.sensors, rb.labels
    if not res.ambiguous:
        cb = cube_bands_of(labels, res.sensor)
        return cb, [resolve(t, n, cb, cube, user, kernel, [cb.sensor]) for n, t in requests]
    sensors = list(res.candidates)
    outcome: dict[str, str] = {}
    first_error: BandNotFoundError | None = None
    for s in sensors:
        cb = cube_bands_of(labels, s)
        try:
            done = [resolve(t, n, cb, cube, user, kernel, sensors) for n, t in requests]
        except BandNotFoundError as err:
            first_error = first_error or err
            missing = err.band.split(", ")
            common = [_catalog.asi().bands.get(b, {}).get("common_name") for b in missing]
            named = ", ".join(
                f"{b} ({c})" if c else b for b, c in zip(missing, common, strict=True)
            )
            outcome[s] = f"{s} has no {named} band"
        else:
            outcome[s] = f"{s} reads " + "; ".join(
                ", ".join(f"{k}={v}" for k, v in sorted(r.band_labels.items())) for r in done
            )
    if first_error is not None and all(" has no " in o for o in outcome.values()):
        raise first_error
    note = "For the requested indices " + "; ".join(outcome.values()) + "."
    raise _bands.ambiguity_error(res, note=note)


def resolve(
    text: str,
    name: str | None,
    cb: CubeBands,
    cube: Cube,
    user: Mapping[str, ConstantValue],
    kernel: str,
    sensors: list[str | None] | None = None,
) -> Resolved:
    """Resolve one index name or formula against a cube (``sensors``: for the error message)."""
    tree, entry, formula = _tree_of(text)
    tree = _substitute_kernels(tree, kernel)
    used = _expr.names(tree)
    tree = _substitute_expressions(tree, user)
    used |= _expr.names(tree)
    cat = _catalog.asi()
    res = Resolved(
        name or (entry.short_name if entry else formula), formula, tree, used=used, entry=entry
    )
    missing: list[str] = []
    for nm in sorted(_expr.names(tree)):
        if nm in cat.constants or nm in user:
            value = user.get(nm, constant_default(nm, cb))
            if value is None:
                desc = cat.constants[nm].description if nm in cat.constants else ""
                raise ParameterError(
                    f"index {res.name!r} needs the constant {nm!r} ({desc}), which has no "
                    f"default: pass it, e.g. `cube.eo.index({res.name!r}, {nm}=...)`."
                )
            res.constants[nm] = float(value)
        elif nm in cat.bands:
            if nm in cb.symbols:
                res.band_labels[nm] = cb.symbols[nm]
            else:
                missing.append(nm)
        else:  # a band written by name in a custom formula: label, common name or alias
            try:
                res.band_labels[nm] = _bands.resolve_band(cube, nm, sensor=cb.sensor)
            except BandNotFoundError:
                missing.append(nm)
    if missing:
        raise _missing_bands_error(res.name, missing, cb, cube, sensors or [cb.sensor])
    return res


def check_user_constants(user: Mapping[str, ConstantValue], used: Iterable[str]) -> None:
    """Reject keyword arguments that are neither catalog constants nor used by a formula."""
    cat = _catalog.asi()
    unknown = sorted(set(user) - set(cat.constants) - set(used))
    if unknown:
        raise ParameterError(
            f"unknown constants {unknown}: the requested formulas use none of them and the ASI "
            f"constants table has no such name. Known constants: {sorted(cat.constants)}."
        )
    bad = {
        k: v for k, v in user.items() if not isinstance(v, int | float | str) or isinstance(v, bool)
    }
    if bad:
        raise ParameterError(f"constants must be numbers or formula strings, got {bad}")


def check_kernel(kernel: str) -> None:
    """Reject an unknown kernel name even when no requested index uses a kernel."""
    known = sorted(_catalog.asi().kernels)
    if kernel not in known:
        raise ParameterError(f"kernel={kernel!r} is not one of {known}")


def check_names(requests: Iterable[str]) -> None:
    """Reject empty or non-string requests early with a clear message."""
    for r in requests:
        if not isinstance(r, str):
            raise CatalogError(f"an index must be a name or a formula string, got {r!r}")


__all__ = [
    "Resolved",
    "CubeBands",
    "cube_bands_of",
    "resolve",
    "resolve_requests",
    "computable",
    "constant_default",
    "check_user_constants",
    "check_kernel",
    "check_names",
]
