"""One verb for every denoising method: ``cube.eo.denoise(method, **params)``.

The registry is data: method name -> (``"module:function"``, kind of data it applies to). Topic
packages are imported only when one of their methods is used.
"""

from __future__ import annotations

from typing import Any, Literal

import pandas as pd
import xarray as xr

from ._dims import band_dim
from .errors import ParameterError

DataKind = Literal["sar", "hyperspectral"]

#: name -> (target function, kind of data, one-line description)
METHODS: dict[str, tuple[str, DataKind, str]] = {
    # SAR speckle filters (eoxr.sar)  [issue: SAR]
    "boxcar": ("eoxr.sar.speckle:boxcar", "sar", "NaN-aware boxcar (window mean)"),
    "median": ("eoxr.sar.speckle:median", "sar", "NaN-aware window median"),
    "lee": ("eoxr.sar.speckle:lee", "sar", "Lee 1980 local statistics filter"),
    "enhanced_lee": ("eoxr.sar.speckle:enhanced_lee", "sar", "Enhanced Lee (Lopes et al. 1990)"),
    "kuan": ("eoxr.sar.speckle:kuan", "sar", "Kuan et al. 1985 LLMMSE filter"),
    "frost": ("eoxr.sar.speckle:frost", "sar", "Frost et al. 1982 exponential-kernel filter"),
    "gamma_map": ("eoxr.sar.speckle:gamma_map", "sar", "Gamma-MAP (Lopes et al. 1990)"),
    "lee_sigma": ("eoxr.sar.speckle:lee_sigma", "sar", "Improved Lee sigma filter (Lee 2009)"),
    "refined_lee": (
        "eoxr.sar.speckle:refined_lee",
        "sar",
        "Refined Lee 1981: 7x7 edge-aligned windows",
    ),
    # hyperspectral denoisers (eoxr.hsi)  [issue: hyperspectral]
    "mnf": ("eoxr.hsi.denoise:mnf", "hyperspectral", "minimum noise fraction, high-SNR components"),
    "pca": ("eoxr.hsi.denoise:pca", "hyperspectral", "low-rank principal-component projection"),
    "savgol": ("eoxr.hsi.denoise:savgol", "hyperspectral", "Savitzky-Golay along wavelength"),
    "tv": ("eoxr.hsi.denoise:tv", "hyperspectral", "total variation per band, noise-weighted"),
    "subspace": (
        "eoxr.hsi.denoise:subspace",
        "hyperspectral",
        "signal subspace + spatial eigen-image denoising (FastHyDe-like)",
    ),
}


def data_kind(cube: xr.DataArray | xr.Dataset) -> DataKind | None:
    """Tell SAR from hyperspectral data, from attrs, units, band labels and band count.

    An explicit ``cube.attrs["eoxr:kind"]`` (``"sar"`` or ``"hyperspectral"``) wins.
    """
    declared = cube.attrs.get("eoxr:kind")
    if declared in ("sar", "hyperspectral"):
        return declared
    if isinstance(cube, xr.DataArray):
        dim = band_dim(cube)
        if "wavelength" in cube.coords and dim is not None and cube.sizes[dim] >= 20:
            return "hyperspectral"
        labels = [str(v).lower() for v in cube[dim].values] if dim else [str(cube.name).lower()]
    else:
        labels = [str(k).lower() for k in cube.data_vars]
    if labels and all(lab in ("vv", "vh", "hh", "hv") for lab in labels):
        return "sar"
    if str(cube.attrs.get("units", "")).lower() in ("db", "decibel"):
        return "sar"
    return None


def denoise_methods() -> pd.DataFrame:
    """Every denoising method, with the kind of data it applies to.

    Examples
    --------
    >>> import eoxr
    >>> isinstance(eoxr.denoise_methods(), __import__("pandas").DataFrame)
    True
    """
    rows = [
        {"method": name, "kind": kind, "function": target.replace(":", "."), "description": desc}
        for name, (target, kind, desc) in METHODS.items()
    ]
    return pd.DataFrame(rows, columns=["method", "kind", "function", "description"])


def denoise(cube: xr.DataArray, method: str, **params: Any) -> xr.DataArray:
    """Denoise ``cube`` with ``method`` (see :func:`denoise_methods`), lazily.

    Raises
    ------
    ParameterError
        If the method is unknown, or meant for another kind of data (a SAR speckle filter on a
        hyperspectral cube or the reverse). Declare the kind with
        ``cube.attrs["eoxr:kind"] = "sar"`` when it cannot be told from the data.
    """
    from .accessor import _resolve

    if method not in METHODS:
        raise ParameterError(
            f"unknown denoising method {method!r}; available: {sorted(METHODS)} "
            "(see eoxr.denoise_methods())."
        )
    target, kind, _ = METHODS[method]
    found = data_kind(cube)
    if found is not None and found != kind:
        others = sorted(m for m, (_, k, _) in METHODS.items() if k == found)
        raise ParameterError(
            f"method {method!r} is for {kind} data but this cube looks {found} "
            f"(from its attrs/bands). Methods for {found} data: {others}. If the cube really is "
            f"{kind}, set cube.attrs['eoxr:kind'] = {kind!r}."
        )
    return _resolve(target)(cube, **params)


__all__ = ["METHODS", "data_kind", "denoise", "denoise_methods"]
