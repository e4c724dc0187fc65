"""``catalog()``: what the catalog holds, and what a given cube can compute."""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd
import xarray as xr

from .. import bands as _bands
from ..errors import ParameterError
from . import _catalog
from ._resolve import CubeBands, check_kernel, computable, cube_bands_of

_COLUMNS = [
    "long_name",
    "application_domain",
    "formula",
    "bands",
    "constants",
    "kernel",
    "platforms",
    "reference",
    "contributor",
    "date_of_addition",
    "source",
]


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9+]", "", str(text).lower())


def _platform_match(query: str, platforms: Iterable[str]) -> bool:
    """Case/punctuation-insensitive; ``landsat`` matches every Landsat, ``landsat-oli-l2`` OLI."""
    q = _norm(query)
    return any(q in _norm(p) or (_norm(p) and q.startswith(_norm(p))) for p in platforms)


def _cube_bands(available: xr.DataArray | xr.Dataset | Iterable[str]) -> CubeBands:
    if isinstance(available, xr.DataArray | xr.Dataset):
        return CubeBands.of(available)
    labels = tuple(str(n) for n in available)
    cb = cube_bands_of(labels, _bands.detect_sensor(labels))
    cat_bands = _catalog.asi().bands  # ASI symbols given directly ("N", "S1") are taken as such
    symbols = {**cb.symbols, **{n: n for n in labels if n in cat_bands}}
    return CubeBands(symbols, cb.labels, cb.sensor)


def catalog(
    *,
    platform: str | None = None,
    domain: str | Iterable[str] | None = None,
    bands_available: xr.DataArray | xr.Dataset | Iterable[str] | None = None,
    kernel: str = "RBF",
) -> pd.DataFrame:
    """The spectral index catalog as a table, optionally filtered.

    Parameters
    ----------
    platform : str, optional
        Keep indices designed for this platform (case- and punctuation-insensitive:
        ``"sentinel-2"``, ``"Landsat"``, ``"landsat-oli"``...).
    domain : str or list of str, optional
        ASI application domain(s): ``vegetation``, ``water``, ``burn``, ``snow``, ``soil``,
        ``urban``, ``radar``, ``clouds``, ``kernel`` (``custom`` for registered indices).
    bands_available : DataArray, Dataset or list of str, optional
        A cube (its bands are mapped as :func:`index` maps them) or band names/symbols: keep only
        the indices computable from it (all bands present and every constant known, wavelength
        constants ``lambda*`` taken from the cube's sensor). Adds a ``band_labels`` column.
    kernel : {"RBF", "poly", "linear"}
        Kernel assumed for kernel indices when checking their constants.

    Returns
    -------
    pandas.DataFrame
        One row per index (index: short name) with long name, domain, formula, band symbols,
        constants, platforms, reference, contributor, date of addition and source
        (``"asi"``/``"user"``).

    Examples
    --------
    >>> import eoxr.testing as et
    >>> cube = et.make_cube(bands=["B02", "B04", "B08"])
    >>> df = catalog(domain="vegetation", bands_available=cube)
    >>> {"NDVI", "EVI"} <= set(df.index), "NDRE" in df.index
    (True, False)
    """
    check_kernel(kernel)
    rows = {}
    for name, e in _catalog.all_indices().items():
        rows[name] = [
            e.long_name,
            e.application_domain,
            e.formula,
            e.bands,
            e.constants,
            bool(e.kernel_terms),
            e.platforms,
            e.reference,
            e.contributor,
            e.date_of_addition,
            e.source,
        ]
    df = pd.DataFrame.from_dict(rows, orient="index", columns=_COLUMNS)
    df.index.name = "short_name"
    if platform is not None:
        df = df[[_platform_match(platform, p) for p in df["platforms"]]]
    if domain is not None:
        wanted = {domain} if isinstance(domain, str) else set(domain)
        wanted = {str(d).lower() for d in wanted}
        known = set(df["application_domain"]) | {"custom"}
        if not wanted <= known:
            raise ParameterError(
                f"unknown domain {sorted(wanted - known)}; use one of {sorted(known)}."
            )
        df = df[df["application_domain"].isin(wanted)]
    if bands_available is not None:
        cb = _cube_bands(bands_available)
        ok = set(computable(cb, [_catalog.all_indices()[n] for n in df.index], kernel))
        df = df[[n in ok for n in df.index]].copy()
        df["band_labels"] = [", ".join(f"{s}={cb.symbols[s]}" for s in b) for b in df["bands"]]
    return df.sort_index(key=lambda s: s.str.lower())


__all__ = ["catalog"]
