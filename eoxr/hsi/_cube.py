"""Layout checks shared by the hyperspectral functions: `(band, y, x)` cubes, wavelengths."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import dask.array as dsa
import numpy as np
import xarray as xr

from .._chunks import rechunk_whole
from .._dims import band_dim, require_band_dim, spatial_dims
from ..errors import DataTypeError, DimensionError, ParameterError

F = TypeVar("F", bound=Callable)


def _scene_dims(cube: object) -> list:
    """Dims of a cube besides band, y and x (e.g. ``time``); [] when the layout is not a cube."""
    if not isinstance(cube, xr.DataArray) or band_dim(cube) is None:
        return []
    try:
        ydim, xdim = spatial_dims(cube)
    except DimensionError:  # as_bands_first reports it
        return []
    return [d for d in cube.dims if d not in (band_dim(cube), ydim, xdim)]


def per_scene(func: F) -> F:
    """Run ``func`` on each ``(band, y, x)`` scene of a cube with extra dims (e.g. ``time``).

    Noise, stripes and transform statistics belong to one acquisition, so they are fitted per
    scene (one pass per scene for dask input). DataArray arguments that share the extra dim
    (a per-scene ``mask`` or ``noise``) are sliced alongside. Results are stacked along the extra
    dim, in the input's dim order.
    """

    @functools.wraps(func)
    def wrapper(cube, *args, **kwargs):
        extra = _scene_dims(cube)
        if not extra:
            return func(cube, *args, **kwargs)
        dim = extra[0]
        parts = []
        for i in range(cube.sizes[dim]):

            def pick(v, i=i):
                return v.isel({dim: i}) if isinstance(v, xr.DataArray) and dim in v.dims else v

            parts.append(
                wrapper(
                    cube.isel({dim: i}), *map(pick, args), **{k: pick(v) for k, v in kwargs.items()}
                )
            )
        # "different": per-scene band coords (the SNR of estimate_noise) are stacked too
        out = xr.concat(
            parts,
            dim=dim,
            coords="different",
            compat="equals",
            join="exact",
            combine_attrs="override",
        )
        return out.transpose(*[d for d in cube.dims if d in out.dims], ...)

    return wrapper  # type: ignore[return-value]


def as_bands_first(cube: xr.DataArray) -> tuple[xr.DataArray, tuple]:
    """Return ``cube`` as ``(band, y, x)`` float data with the band axis in one chunk.

    Also returns the original dim order, to transpose results back with
    ``result.transpose(*order)``.
    """
    if not isinstance(cube, xr.DataArray):
        raise DimensionError(
            "hyperspectral functions need a DataArray with a band dimension; got a "
            f"{type(cube).__name__}. Use `ds.eo.to_array()` to stack a Dataset's bands."
        )
    bdim = require_band_dim(cube)
    ydim, xdim = spatial_dims(cube)
    extra = [d for d in cube.dims if d not in (bdim, ydim, xdim)]
    if extra:
        raise DimensionError(
            f"the cube has extra dims {extra} besides ({bdim!r}, {ydim!r}, {xdim!r}); "
            f"fit one scene at a time, e.g. on `cube.isel({extra[0]}=0)` (the denoisers, "
            "`estimate_noise`, `destripe`... loop over scenes themselves)."
        )
    if not np.issubdtype(cube.dtype, np.floating):
        raise DataTypeError(
            f"the cube holds {cube.dtype} values; hyperspectral denoising needs floats. "
            "Scale digital numbers first, e.g. `(cube / 10000).astype('float32')`."
        )
    order = tuple(cube.dims)
    return rechunk_whole(cube.transpose(bdim, ydim, xdim), [bdim]), order


def wavelengths(cube: xr.DataArray, needed_for: str) -> np.ndarray:
    """The cube's wavelengths in nm, or a :class:`ParameterError` naming what needs them."""
    bdim = require_band_dim(cube)
    name = "wavelength" if "wavelength" in cube.coords else None
    if name is None or cube[name].dims != (bdim,):
        raise ParameterError(
            f"{needed_for} needs band centre wavelengths, but the cube has no `wavelength` "
            f"coordinate along {bdim!r}. Add one in nanometres: "
            f"`cube.assign_coords(wavelength=({bdim!r}, wl_nm))` (ENVI headers read by "
            "`eoxr.open_raster` provide it)."
        )
    wl = cube[name].data
    if isinstance(wl, dsa.Array):
        # `.chunk()` also chunks non-index coordinates; this one is tiny band metadata, loaded
        # synchronously, never a pass over the data
        wl = wl.compute(scheduler="sync")
    wl = np.asarray(wl, dtype="float64")
    if np.nanmax(wl) < 25:  # micrometres are a common alternative unit in headers
        raise ParameterError(
            f"the wavelength coordinate looks like micrometres (max {np.nanmax(wl):g}); "
            "eoxr expects nanometres: `cube.assign_coords(wavelength=cube.wavelength * 1000)`."
        )
    return wl


def check_positive_int(value: int | None, name: str, *, upper: int | None = None) -> int | None:
    """Validate an optional positive integer parameter (e.g. ``n_components``)."""
    if value is None:
        return None
    if not isinstance(value, int | np.integer) or value < 1 or (upper and value > upper):
        bound = f" and <= {upper}" if upper else ""
        raise ParameterError(f"{name}={value!r} must be an integer >= 1{bound}.")
    return int(value)


def check_fraction(value: float | None, name: str) -> float | None:
    """Validate an optional fraction in (0, 1]."""
    if value is None:
        return None
    if not 0 < float(value) <= 1:
        raise ParameterError(f"{name}={value!r} must be a fraction in (0, 1], e.g. 0.1.")
    return float(value)
