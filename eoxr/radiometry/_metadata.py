"""The attrs and dtypes that describe a cube's values, read alike by the radiometry modules."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from .._bandtable import band_labels

Cube = xr.DataArray | xr.Dataset


def norm(value: object) -> str:
    return str(value).strip().lower()


def value_attrs(cube: Cube, labels: list[str] | None = None) -> list[Mapping]:
    """The attrs that describe the values: the cube's and, for a Dataset, its band variables'.

    ``labels``: the cube's band labels when already known (a Dataset's are read otherwise).
    """
    if isinstance(cube, xr.Dataset):
        return [cube.attrs, *(cube[v].attrs for v in _spectral_vars(cube, labels))]
    return [cube.attrs]


def _spectral_vars(ds: xr.Dataset, labels: list[str] | None = None) -> list[str]:
    from ..bands import is_quality_band

    return [v for v in (band_labels(ds) if labels is None else labels) if not is_quality_band(v)]


def value_dtypes(cube: Cube, labels: list[str] | None = None) -> list[np.dtype]:
    if isinstance(cube, xr.Dataset):
        return [np.dtype(cube[v].dtype) for v in _spectral_vars(cube, labels)]
    return [np.dtype(cube.dtype)]


def as_number(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")
