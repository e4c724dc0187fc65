"""Dead, hot and stuck pixels and lines: detection and repair.

Detection flags entries ``(band, y, x)`` that are

* in a *flat spectrum*: every band has the same value (a dead detector reading zero, or a
  saturated one), which no natural surface gives;
* in a *dead line*: a column (or row) of a band that is constant along its whole length;
* *spatial outliers* in most bands: the pixel differs from *every one* of its 8 neighbours by
  more than ``z`` noise sigmas in at least ``band_fraction`` of the bands (a hot/dead pixel;
  a pixel on a sharp edge still matches the neighbours on its side);
* *spikes*: a single band that is an outlier both spatially and spectrally (against the mean of
  the adjacent bands) by more than ``spike_z`` sigmas.

Repair replaces flagged entries by the median of the valid entries of the same band in the 3x3
neighbourhood, then 5x5, then by linear interpolation from the valid bands of the same pixel.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from .._attrs import finalize
from .._dask.chunking import match_chunks
from .._dask.lazy import lazy_call
from .._dask.overlap import map_overlap
from ..errors import GridMismatchError, ParameterError
from ._cube import as_bands_first, good_bands, halo_depth, per_scene, with_bad_bands
from .noise import Noise, check_noise, sigma_data

_OFFSETS3 = [(i, j) for i in (-1, 0, 1) for j in (-1, 0, 1) if (i, j) != (0, 0)]
_OFFSETS5 = [(i, j) for i in range(-2, 3) for j in range(-2, 3) if max(abs(i), abs(j)) == 2]


def _nearest_neighbour_gap(block: np.ndarray) -> np.ndarray:
    """Smallest absolute difference between each pixel and its valid 8 neighbours.

    The block is padded by 1 (the result is inf on that rim and where no neighbour is valid).
    A dead or hot pixel differs from all its neighbours; a pixel on a sharp scene edge (where
    the median of the neighbours can be far off) still matches the neighbours on its side.
    """
    ny, nx = block.shape[1:]
    core = block[:, 1 : ny - 1, 1 : nx - 1]
    gap = np.full(core.shape, np.inf)
    for i, j in _OFFSETS3:
        d = np.abs(core - block[:, 1 + i : ny - 1 + i, 1 + j : nx - 1 + j])
        np.fmin(gap, d, out=gap)  # fmin ignores NaN neighbours
    return np.pad(gap, ((0, 0), (1, 1), (1, 1)), constant_values=np.inf)


def _outlier_block(
    block: np.ndarray, sigma: np.ndarray, z: float, band_fraction: float, spike_z: float
) -> np.ndarray:
    """Spatial outliers in most bands, and single-band spikes, of a block padded by 1."""
    x = block.astype("float64")
    s = sigma[:, None, None]
    valid = ~np.isnan(x)
    gap = np.where(valid, _nearest_neighbour_gap(x), 0.0)
    gap[np.isinf(gap)] = 0.0
    with np.errstate(invalid="ignore"):
        spec = np.abs(x[1:-1] - 0.5 * (x[:-2] + x[2:])) > spike_z * s[1:-1]
    mostly = (gap > z * s).sum(axis=0) >= band_fraction * np.maximum(valid.sum(axis=0), 1)
    spike = np.zeros(x.shape, bool)
    spike[1:-1] = spec & (gap[1:-1] > spike_z * s[1:-1])
    return (mostly[None] | spike) & valid


def _dead_lines(data: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """Per band: columns constant along y and rows constant along x (lazy reductions).

    Only lines with at least 3 valid pixels count: at the NaN border of an orthorectified scene
    a line that crosses the swath corner in one pixel is trivially "constant".
    """
    _, ydim, xdim = data.dims
    cols = ((data.max(ydim) - data.min(ydim)) == 0) & (data.count(ydim) > 2)
    rows = ((data.max(xdim) - data.min(xdim)) == 0) & (data.count(xdim) > 2)
    return cols.drop_vars(list(cols.coords)), rows.drop_vars(list(rows.coords))


def _usable_sigma(sigma: np.ndarray) -> np.ndarray:
    """Sigma with missing or zero estimates replaced by the largest valid one (or 1)."""
    sigma = np.asarray(sigma, dtype="float64").reshape(-1)
    ok = np.isfinite(sigma) & (sigma > 0)
    return np.where(ok, sigma, np.max(sigma[ok]) if ok.any() else 1.0)


@per_scene
def find_dead_pixels(
    cube: xr.DataArray,
    *,
    z: float = 6.0,
    band_fraction: float = 0.5,
    spike_z: float = 15.0,
    noise: Noise = "diff",
    progress: bool | None = None,
) -> xr.DataArray:
    """Boolean mask of dead/hot pixels, dead lines and single-band spikes.

    Parameters
    ----------
    cube : DataArray
        ``(band, y, x)`` float cube.
    z : float
        Spatial-outlier threshold in noise sigmas.
    band_fraction : float
        Fraction of bands in which a pixel must be a spatial outlier to be flagged whole.
    spike_z : float
        Threshold for single-band spikes (spatial and spectral outlier).
    noise : {"diff", "hysime"} or DataArray
        Per-band noise sigma: estimated (``"diff"``, the default, is robust to the defects and
        stays lazy; HySime counts them as noise and is fitted now) or given.
    progress : bool, optional
        Progress bar for the HySime fit (``noise="hysime"``), the only pass done at call time.

    Returns
    -------
    DataArray
        Boolean ``dead`` mask with the cube's dims, lazy for dask input: the noise sigma and the
        line ranges are lazy reductions in the mask's graph (except a HySime fit).
        ``mask.any("band")`` gives the pixels.
        Bands a ``bbl`` coordinate marks 0 are never flagged (nor used to flag).

    Examples
    --------
    >>> from eoxr.datasets import synthetic_hsi
    >>> scene = synthetic_hsi(shape=(48, 48), n_bands=30)
    >>> found = find_dead_pixels(scene.cube).any("band")
    >>> bool((found == scene.extras["dead_mask"]).mean() > 0.99)
    True
    """
    if not 0 < band_fraction <= 1:
        raise ParameterError(f"band_fraction={band_fraction!r} must lie in (0, 1].")
    check_noise(noise)
    data, order = as_bands_first(cube)
    # lazy for dask input: the sigma is a graph key that every block of the test reads
    n_bands = data.shape[0]
    sigma = lazy_call(_usable_sigma, sigma_data(data, noise, progress=progress), shape=(n_bands,))

    good = good_bands(data)
    if good is None:
        mask = _find_dead(data, sigma, z, band_fraction, spike_z)
    else:  # bbl bands: neither flagged nor used to flag
        sub = data.isel({data.dims[0]: good})
        mask = _find_dead(sub, sigma[good], z, band_fraction, spike_z)
        mask = with_bad_bands(mask, xr.zeros_like(data, dtype=bool), good)
    mask = match_chunks(mask.assign_coords(data.coords), data)
    return finalize(
        mask.transpose(*order),
        cube,
        name="dead",
        long_name="dead/hot pixel flag",
        history=f"find_dead_pixels(z={z}, band_fraction={band_fraction})",
    )


def _find_dead(
    data: xr.DataArray,
    sigma: np.ndarray,
    z: float,
    band_fraction: float,
    spike_z: float,
) -> xr.DataArray:
    """Dead-pixel mask of a ``(band, y, x)`` cube whose bands all take part."""
    cols, rows = _dead_lines(data)
    bdim, ydim, xdim = data.dims
    # certain defects first (pixel-local or global facts), then left out of the neighbourhoods
    # of the outlier test, so that a dead line or a cluster of dead pixels does not make its
    # healthy neighbours look like outliers
    lines = cols | rows
    top = abs(data).max(bdim)
    flat = (data.max(bdim) - data.min(bdim)) <= 1e-7 * top
    certain = ((lines | flat) & data.notnull()).transpose(bdim, ydim, xdim)
    kw = {"sigma": sigma, "z": z, "band_fraction": band_fraction, "spike_z": spike_z}
    found = map_overlap(
        _outlier_block,
        data.where(~certain),
        halo_depth(data, 1),
        boundary="reflect",
        dtype=bool,
        kwargs=kw,
    )
    return certain | found


def _repair_block(block: np.ndarray) -> np.ndarray:
    """Fill the ``inf`` entries of a block padded by 2 from spatial, then spectral neighbours."""
    out = block.copy()
    ny, nx = block.shape[1:]
    b, i, j = np.nonzero(np.isinf(block[:, 2 : ny - 2, 2 : nx - 2]))
    i, j = i + 2, j + 2
    clean = np.where(np.isinf(block), np.nan, block).astype("float64")
    fill = np.full(b.size, np.nan)
    for offsets in (_OFFSETS3, _OFFSETS3 + _OFFSETS5):
        todo = np.isnan(fill)
        if not todo.any():
            break
        vals = np.stack([clean[b[todo], i[todo] + di, j[todo] + dj] for di, dj in offsets])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN: handled by the fallback
            fill[todo] = np.nanmedian(vals, axis=0)
    out[b, i, j] = fill
    for p in set(zip(i[np.isnan(fill)], j[np.isnan(fill)])):  # spectral fallback, rare
        spec = out[:, p[0], p[1]].astype("float64")
        ok = np.isfinite(spec)
        if ok.any():
            miss = np.isinf(block[:, p[0], p[1]])
            spec[miss] = np.interp(np.flatnonzero(miss), np.flatnonzero(ok), spec[ok])
            out[:, p[0], p[1]] = spec
    return out


@per_scene
def repair_dead_pixels(
    cube: xr.DataArray, *, mask: xr.DataArray | None = None, progress: bool | None = None
) -> xr.DataArray:
    """Fill dead pixels from their spatial neighbours (3x3, then 5x5) and spectral neighbours.

    Parameters
    ----------
    cube : DataArray
        ``(band, y, x)`` float cube; NaN (nodata) stays NaN and is never used as a neighbour.
        Bands a ``bbl`` coordinate marks 0 are left as they are.
    mask : DataArray, optional
        Boolean mask with dims ``(y, x)`` (all bands) or the cube's dims; default
        :func:`find_dead_pixels` (lazy: part of the result's graph).
    progress : bool, optional
        Passed to :func:`find_dead_pixels` (only used by a pass done at call time).

    Returns
    -------
    DataArray
        The repaired cube, same dims, dtype and coords; lazy for dask input.

    Examples
    --------
    >>> from eoxr.datasets import synthetic_hsi
    >>> scene = synthetic_hsi(shape=(48, 48), n_bands=30)
    >>> fixed = repair_dead_pixels(scene.cube)
    >>> err = abs(fixed - scene.truth).where(scene.extras["dead_mask"])  # 0 or 1 before
    >>> bool(err.max() < 0.1)
    True
    """
    data, order = as_bands_first(cube)
    mask = find_dead_pixels(data, progress=progress) if mask is None else mask
    if (
        not isinstance(mask, xr.DataArray)
        or not set(mask.dims) <= set(data.dims)
        or any(mask.sizes[d] != data.sizes[d] for d in mask.dims)
    ):
        got = dict(mask.sizes) if isinstance(mask, xr.DataArray) else type(mask).__name__
        raise GridMismatchError(
            f"mask {got} does not fit the cube {dict(data.sizes)}; pass a boolean DataArray "
            "with dims (y, x) or the cube's dims, on the cube's grid (e.g. from "
            "`cube.eo.find_dead_pixels()`)."
        )
    mask = mask.astype(bool).variable.set_dims(data.sizes).transpose(*data.dims)
    mask = xr.DataArray(mask, dims=data.dims, coords=data.coords)
    good = good_bands(data)
    if good is not None:  # bbl bands are left as they are
        keep = np.zeros(data.shape[0], bool)
        keep[good] = True
        mask = mask & xr.DataArray(keep, dims=data.dims[:1])
    marked = data.where(~mask, np.inf)
    out = map_overlap(_repair_block, marked, halo_depth(data, 2), boundary="reflect")
    out = match_chunks(out, data)
    return finalize(
        out.transpose(*order), cube, keep_value_attrs=True, history="repair_dead_pixels"
    )


__all__ = ["find_dead_pixels", "repair_dead_pixels"]
