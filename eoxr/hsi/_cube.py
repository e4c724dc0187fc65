"""Layout checks shared by the hyperspectral functions: `(band, y, x)` cubes, wavelengths."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import numpy as np
import xarray as xr

from .._dask.chunking import rechunk_whole
from .._dask.lazy import load_metadata
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
    ``result.transpose(*order)``. Non-index coords on the spatial dims (2-D ``xc``/``yc`` of a
    curvilinear grid, a chunked ``lat``...) are dropped: they would be rechunked along with the
    data and clash with results whose chunks differ; :func:`eoxr._attrs.finalize` restores
    them from the input.
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
    grid = [k for k, c in cube.coords.items() if k not in cube.dims and {ydim, xdim} & set(c.dims)]
    bare = cube.drop_vars(grid).transpose(bdim, ydim, xdim)
    return rechunk_whole(bare, [bdim]), order


def good_bands(data: xr.DataArray) -> np.ndarray | None:
    """Positions of the bands an ENVI ``bbl`` (bad band list) coordinate marks good, or None.

    ``bbl`` is 1 for a good band and 0 for a bad one (ENVI header convention, exposed by
    :func:`eoxr.open_raster` as a coordinate on the band dim). ``None`` when there is no ``bbl``
    or every band is good, so callers can skip the split.
    """
    bdim = data.dims[0]
    if "bbl" not in data.coords or data["bbl"].dims != (bdim,):
        return None
    flag = load_metadata(data["bbl"]).astype("float64")
    good = np.flatnonzero(flag != 0)
    if good.size == flag.size:
        return None
    if good.size == 0:
        raise ParameterError(
            "the `bbl` (bad band list) coordinate marks every band bad (0); nothing to process. "
            "Check the header, or drop the coordinate: `cube.drop_vars('bbl')`."
        )
    return good


def with_bad_bands(
    result: xr.DataArray, data: xr.DataArray, good: np.ndarray | None
) -> xr.DataArray:
    """Put the untouched ``bbl == 0`` bands of ``data`` back beside ``result`` (the good bands)."""
    if good is None:
        return result
    bdim = data.dims[0]
    bad = np.setdiff1d(np.arange(data.sizes[bdim]), good)
    merged = xr.concat([result, data.isel({bdim: bad}).astype(result.dtype)], dim=bdim)
    back = np.argsort(np.concatenate([good, bad]))
    return rechunk_whole(merged.isel({bdim: back}), [bdim])


def on_good_bands(func: Callable, data: xr.DataArray) -> xr.DataArray:
    """``func`` applied to the bands ``bbl`` keeps; the ``bbl == 0`` bands come back untouched.

    Bad bands (e.g. the water-vapour bands an ENVI header marks 0) carry no usable signal: left
    in, they would spoil the statistics shared across bands (transforms, stripe pooling).
    """
    good = good_bands(data)
    if good is None:
        return func(data)
    return with_bad_bands(func(data.isel({data.dims[0]: good})), data, good)


def halo_depth(data: xr.DataArray, size: int) -> dict:
    """Halo of ``size`` pixels on both spatial dims, capped at the image size.

    A halo wider than the image adds nothing but padding, and dask refuses it ("depth larger
    than your array"); the cap is applied identically to numpy and dask input, so both agree.
    """
    ydim, xdim = data.dims[1:]
    return {d: min(int(size), data.sizes[d]) for d in (ydim, xdim)}


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
    wl = load_metadata(cube[name]).astype("float64")
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
