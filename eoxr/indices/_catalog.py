"""The index catalog: the vendored Awesome Spectral Indices (ASI) plus user-registered indices.

The ASI catalog is data (``eoxr/indices/data/asi.json``, refreshed by
``scripts/update_indices.py``); it is loaded once and every entry is validated: its formula
passes the safe compiler, every name it uses is declared, and every declared name is a known
band symbol, a constant of the ASI constants table, or a kernel term such as ``kNR``
(``k(N, R)``).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from ..errors import CatalogError
from . import _expr


@dataclass(frozen=True)
class SpectralIndex:
    """One index of the catalog."""

    #: Short name, e.g. ``"NDVI"`` (case-sensitive, as in ASI).
    short_name: str
    #: Full name, e.g. ``"Normalized Difference Vegetation Index"``.
    long_name: str
    #: Formula in ASI symbols, e.g. ``"(N - R)/(N + R)"``.
    formula: str
    #: Band symbols the formula reads (``N``, ``R``...), in catalog order.
    bands: tuple[str, ...]
    #: Constants it uses (``L``, ``g``, ``sigma``...).
    constants: tuple[str, ...]
    #: Kernel terms ``name -> (a, b)``, e.g. ``{"kNR": ("N", "R")}`` for kNDVI.
    kernel_terms: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: ASI application domain (vegetation, water, burn, ... ; ``"custom"`` for user indices).
    application_domain: str = "custom"
    #: Platforms the index was designed for.
    platforms: tuple[str, ...] = ()
    #: DOI or URL of the paper.
    reference: str = ""
    contributor: str = ""
    date_of_addition: str = ""
    #: ``"asi"`` for catalog entries, ``"user"`` for :func:`register_index` entries.
    source: str = "asi"


@dataclass(frozen=True)
class Constant:
    """One constant of the ASI constants table."""

    name: str
    default: float | None
    description: str


@dataclass(frozen=True)
class Catalog:
    """The vendored ASI catalog."""

    version: str
    source: str
    indices: Mapping[str, SpectralIndex]
    bands: Mapping[str, Mapping[str, Any]]
    constants: Mapping[str, Constant]
    kernels: Mapping[str, Mapping[str, Any]]


def kernel_pair(name: str, known: Iterable[str]) -> tuple[str, str] | None:
    """Split a kernel term ``k<a><b>`` into its two symbols (``"kNL"`` -> ``("N", "L")``)."""
    known = set(known)
    if not name.startswith("k") or len(name) < 3:
        return None
    rest = name[1:]
    splits = [
        (rest[:i], rest[i:]) for i in range(1, len(rest)) if rest[:i] in known and rest[i:] in known
    ]
    return splits[0] if len(splits) == 1 else None


def _classify(
    name: str,
    declared: Iterable[str],
    bands: Iterable[str],
    constants: Iterable[str],
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, tuple[str, str]]]:
    """Split declared symbols into bands, constants and kernel terms; raise on unknown ones."""
    bands, constants = set(bands), set(constants)
    b, c, k, unknown = [], [], {}, []
    for sym in declared:
        if sym in bands:
            b.append(sym)
        elif sym in constants:
            c.append(sym)
        elif (pair := kernel_pair(sym, bands | constants)) is not None:
            k[sym] = pair
            b += [p for p in pair if p in bands and p not in b]
            c += [p for p in pair if p in constants and p not in c]
        else:
            unknown.append(sym)
    if unknown:
        raise CatalogError(
            f"index {name!r} uses unknown symbols {unknown}: neither bands "
            f"({sorted(bands)}), constants ({sorted(constants)}) nor kernel terms "
            "k<a><b>"
        )
    return tuple(dict.fromkeys(b)), tuple(dict.fromkeys(c)), k


def _entry(
    name: str,
    raw: Mapping[str, Any],
    bands: Iterable[str],
    constants: Iterable[str],
    source: str = "asi",
) -> SpectralIndex:
    tree = _expr.parse(raw["formula"])
    declared = list(raw["bands"])
    undeclared = _expr.names(tree) - set(declared)
    if undeclared:
        raise CatalogError(
            f"index {name!r}: formula {raw['formula']!r} uses {sorted(undeclared)}"
            f" that its symbol list {declared} does not declare"
        )
    b, c, k = _classify(name, declared, bands, constants)
    return SpectralIndex(
        short_name=name,
        long_name=raw.get("long_name", name),
        formula=raw["formula"],
        bands=b,
        constants=c,
        kernel_terms=k,
        application_domain=raw.get("application_domain", "custom"),
        platforms=tuple(raw.get("platforms", ())),
        reference=raw.get("reference", ""),
        contributor=raw.get("contributor", ""),
        date_of_addition=raw.get("date_of_addition", ""),
        source=source,
    )


def validate_catalog(raw: Mapping[str, Any]) -> Catalog:
    """Build a :class:`Catalog` from the vendored JSON, validating every entry.

    Raises
    ------
    CatalogError
        Listing every invalid entry.
    """
    for key in ("version", "source", "indices", "bands", "constants", "kernels"):
        if key not in raw:
            raise CatalogError(
                f"catalog file lacks the {key!r} section; regenerate it with "
                "scripts/update_indices.py"
            )
    constants = {
        k: Constant(
            k, None if v.get("default") is None else float(v["default"]), v.get("description", "")
        )
        for k, v in raw["constants"].items()
    }
    for name, k in raw["kernels"].items():
        used = _expr.names(_expr.parse(k["formula"])) - {"a", "b"}
        bad = (used - set(k["parameters"])) | (set(k["parameters"]) - set(constants))
        if bad:
            raise CatalogError(f"kernel {name!r} uses undeclared constants {sorted(bad)}")
    indices, errors = {}, []
    for name, entry in raw["indices"].items():
        try:
            indices[name] = _entry(name, entry, raw["bands"], constants)
        except (CatalogError, KeyError) as err:
            errors.append(f"{name}: {err}")
    if errors:
        raise CatalogError(f"{len(errors)} invalid catalog entries:\n" + "\n".join(errors))
    return Catalog(
        str(raw["version"]),
        str(raw["source"]),
        indices,
        dict(raw["bands"]),
        constants,
        dict(raw["kernels"]),
    )


@lru_cache(maxsize=1)
def asi() -> Catalog:
    """The vendored ASI catalog, loaded and validated once."""
    text = resources.files("eoxr.indices.data").joinpath("asi.json").read_text(encoding="utf-8")
    return validate_catalog(json.loads(text))


# User indices registered at run time (like a plugin registry: explicit, never random state).
_USER: dict[str, SpectralIndex] = {}


def register_index(
    name: str,
    formula: str,
    *,
    long_name: str | None = None,
    reference: str = "",
    application_domain: str = "custom",
    overwrite: bool = False,
) -> SpectralIndex:
    """Register a user index so that it can be used by name like a catalog entry.

    The formula uses ASI band symbols (``N``, ``R``, ``S1``...), constants of the ASI table
    (``L``, ``g``...) and kernel terms (``kNR``); it is checked by the safe compiler.

    Examples
    --------
    >>> from eoxr.indices import register_index, unregister_index
    >>> register_index("NDRE1", "(N - RE1) / (N + RE1)", long_name="NIR/red-edge difference").bands
    ('N', 'RE1')
    >>> unregister_index("NDRE1")
    """
    cat = asi()
    if not overwrite and (name in _USER or name in cat.indices):
        raise CatalogError(
            f"index {name!r} already exists; pass overwrite=True to replace it "
            "or choose another name"
        )
    tree = _expr.parse(formula)
    symbols = sorted(_expr.names(tree))
    entry = _entry(
        name,
        {
            "formula": formula,
            "bands": symbols,
            "long_name": long_name or name,
            "reference": reference,
            "application_domain": application_domain,
        },
        cat.bands,
        cat.constants,
        source="user",
    )
    _USER[name] = entry
    return entry


def unregister_index(name: str) -> None:
    """Remove an index added with :func:`register_index` (no-op if absent)."""
    _USER.pop(name, None)


def all_indices() -> dict[str, SpectralIndex]:
    """Catalog and user indices by short name (user entries win)."""
    return {**asi().indices, **_USER}


def lookup(name: str) -> SpectralIndex | None:
    """The index called ``name`` (exact, else a unique case-insensitive match), or ``None``."""
    everything = all_indices()
    if name in everything:
        return everything[name]
    folded = [v for k, v in everything.items() if k.lower() == name.lower()]
    return folded[0] if len(folded) == 1 else None


def unknown_index_error(name: str) -> CatalogError:
    """A :class:`CatalogError` for an unknown name, with close matches."""
    close = difflib.get_close_matches(name, list(all_indices()), n=5, cutoff=0.6)
    hint = f" Did you mean {close}?" if close else ""
    return CatalogError(
        f"unknown spectral index {name!r}.{hint} See eoxr.indices.catalog() for the "
        f"{len(all_indices())} known indices, pass a formula such as '(N - R) / (N + R)', or add "
        "one with eoxr.indices.register_index()."
    )


__all__ = [
    "SpectralIndex",
    "Constant",
    "Catalog",
    "asi",
    "validate_catalog",
    "register_index",
    "unregister_index",
    "all_indices",
    "lookup",
    "kernel_pair",
    "unknown_index_error",
]
