"""One verb for every denoising method: ``cube.eo.denoise(method, **params)``.

The registry is data: method name -> (``"module:function"``, kind of data it applies to). Topic
packages are imported only when one of their methods is used.
"""

from __future__ import annotations

import inspect
from typing import Any, Literal

import pandas as pd
import xarray as xr

from ._dims import band_dim
from ._registry import display_path, resolve
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

    Parameters
    ----------
    cube : DataArray or Dataset
        The data to classify.

    Returns
    -------
    {"sar", "hyperspectral"} or None
        ``None`` when the data do not tell (the caller then trusts the method asked for).

    Examples
    --------
    >>> import eoxr.datasets
    >>> data_kind(eoxr.datasets.synthetic_s1(shape=(16, 16), times=1).cube)
    'sar'
    >>> data_kind(eoxr.datasets.synthetic_hsi(shape=(8, 8), n_bands=30).cube)
    'hyperspectral'
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

    Returns
    -------
    DataFrame
        Columns ``method``, ``kind`` (``"sar"`` or ``"hyperspectral"``), ``function`` (where its
        parameters are documented) and ``description``.

    Examples
    --------
    >>> import eoxr
    >>> table = eoxr.denoise_methods()
    >>> table.set_index("method").loc["lee", "function"]
    'eoxr.sar.speckle.lee'
    """
    rows = [
        {"method": name, "kind": kind, "function": display_path(target), "description": desc}
        for name, (target, kind, desc) in METHODS.items()
    ]
    return pd.DataFrame(rows, columns=["method", "kind", "function", "description"])


def _check_params(method: str, func: Any, cube: Any, params: dict[str, Any]) -> None:
    """Raise a :class:`ParameterError` naming the method's parameters if ``params`` do not fit."""
    sig = inspect.signature(func)
    names = [
        p.name
        for p in list(sig.parameters.values())[1:]
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    takes_any = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    unknown = [k for k in params if k not in names and not takes_any]
    where = f"see help({display_path(METHODS[method][0])})"
    if unknown:
        raise ParameterError(
            f"denoising method {method!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are {names} ({where})."
        )
    try:
        sig.bind(cube, **params)
    except TypeError as err:
        raise ParameterError(
            f"denoising method {method!r}: {err}; parameters {names} ({where})."
        ) from None


def denoise(
    cube: xr.DataArray | xr.Dataset, method: str, **params: Any
) -> xr.DataArray | xr.Dataset:
    """Denoise ``cube`` with ``method``, lazily; ``params`` go to the method's function.

    SAR speckle filters take a DataArray or a Dataset with one variable per polarisation;
    hyperspectral denoisers take a ``(band, y, x)`` DataArray.

    Parameters
    ----------
    cube : DataArray or Dataset
        SAR intensity (linear or dB) or a hyperspectral cube.
    method : str
        One of the methods listed below (also :func:`eoxr.denoise_methods`).
    **params
        Keyword arguments of the method's function; the list below says where each method's
        parameters are documented.

    Returns
    -------
    DataArray or Dataset
        The denoised cube, same grid, dtype and kind as ``cube``, with a ``history`` line.

    Raises
    ------
    ParameterError
        If the method is unknown, a keyword is not a parameter of the method (the message lists
        its parameters), or the method is meant for another kind of data (a SAR speckle filter on
        a hyperspectral cube or the reverse). Declare the kind with
        ``cube.attrs["eoxr:kind"] = "sar"`` when it cannot be told from the data.

    Notes
    -----
    Methods (name: function documenting its parameters, kind of data, description):

    {methods}

    Examples
    --------
    >>> import eoxr, eoxr.datasets
    >>> scene = eoxr.datasets.synthetic_s1(shape=(64, 64), times=1)
    >>> out = scene.cube.eo.denoise("lee", size=5)
    >>> out.dims == scene.cube.dims, out.dtype == scene.cube.dtype
    (True, True)
    """
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
    func = resolve(target)
    _check_params(method, func, cube, params)
    return func(cube, **params)


def _method_list() -> str:
    return "\n    ".join(
        f"- ``{name}``: :func:`{display_path(target)}` ({kind}) -- {desc}"
        for name, (target, kind, desc) in METHODS.items()
    )


# The method list in the docstring is generated, so that it cannot drift from METHODS.
denoise.__doc__ = (denoise.__doc__ or "").replace("{methods}", _method_list())


__all__ = ["METHODS", "data_kind", "denoise", "denoise_methods"]
