"""Multi-band image-quality metrics of a result against a reference cube (hyperspectral, optical).

Plain functions on DataArrays with a band dim (``band`` or ``wavelength``) and two spatial dims;
they read both cubes in one pass and return Python floats (:func:`psnr_per_band`: a DataArray
over the band dim). Pixels that are NaN in either cube are left out.

* :func:`mpsnr` - mean over bands of the PSNR (peak: the reference band's maximum, or
  ``data_range``), as in the hyperspectral denoising literature (e.g. FastHyDe, LRMR).
* :func:`mssim` - mean over bands of SSIM (Wang et al. 2004, scikit-image's implementation).
* :func:`sam` - mean spectral angle in degrees (Kruse et al. 1993).
* :func:`ergas` - relative dimensionless global error (Wald 2002).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .._dask.stats import compute
from .._dims import require_band_dim, spatial_dims
from ..errors import GridMismatchError, ParameterError

_SSIM_WIN = 7
_SSIM_PAD = (_SSIM_WIN - 1) // 2


def _pair(result: xr.DataArray, reference: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Both cubes as float64 ``(band, pixel)`` arrays with NaN in either set in both."""
    bdim = require_band_dim(reference)
    ydim, xdim = spatial_dims(reference)
    if dict(result.sizes) != dict(reference.sizes):
        raise GridMismatchError(
            f"result sizes {dict(result.sizes)} differ from reference sizes "
            f"{dict(reference.sizes)}; compare cubes on the same grid and bands."
        )
    order = (bdim, ydim, xdim)
    r, t = compute(result.transpose(*order).data, reference.transpose(*order).data)
    r, t = np.asarray(r, dtype="float64"), np.asarray(t, dtype="float64")
    bad = np.isnan(r) | np.isnan(t)
    if bad.any(axis=0).all():
        empty = bad.all(axis=(1, 2))
        why = (
            f"band(s) at positions {np.flatnonzero(empty)[:10].tolist()} are NaN everywhere; "
            f"drop them from both cubes, e.g. `cube.dropna({bdim!r}, how='all')`"
            if empty.any()
            else "every pixel has a NaN in some band"
        )
        raise ParameterError(f"no pixel is valid in all bands of both cubes: {why}.")
    bad = bad.any(axis=0, keepdims=True)
    r = np.where(bad, np.nan, r)
    t = np.where(bad, np.nan, t)
    return r, t


def _check_range(data_range: float | None) -> None:
    if data_range is not None and not float(data_range) > 0:
        raise ParameterError(f"data_range={data_range!r} must be > 0 (or None: the data's own).")


def _psnr(result: xr.DataArray, reference: xr.DataArray, data_range: float | None) -> np.ndarray:
    _check_range(data_range)
    r, t = _pair(result, reference)
    mse = np.nanmean((r - t) ** 2, axis=(1, 2))
    peak = np.full(mse.shape, float(data_range)) if data_range else np.nanmax(t, axis=(1, 2))
    with np.errstate(divide="ignore"):
        return 10 * np.log10(peak**2 / mse)


def psnr_per_band(
    result: xr.DataArray, reference: xr.DataArray, *, data_range: float | None = None
) -> xr.DataArray:
    """PSNR (dB) of every band.

    Parameters
    ----------
    result, reference : DataArray
        Cubes with a band dim and two spatial dims, on the same grid and bands.
    data_range : float, optional
        Peak value; default each reference band's maximum.

    Returns
    -------
    DataArray
        One PSNR per band, over the reference's band dim.

    Examples
    --------
    >>> from eoxr.testing import make_cube
    >>> ref = make_cube(times=None, ny=16, nx=16)
    >>> psnr_per_band(ref + 0.01, ref, data_range=1.0).round(3).values.tolist()[:2]
    [40.0, 40.0]
    """
    bdim = require_band_dim(reference)
    vals = _psnr(result, reference, data_range)
    coords = {bdim: reference[bdim]} if bdim in reference.coords else {}
    return xr.DataArray(vals, dims=(bdim,), coords=coords, name="psnr")


def mpsnr(
    result: xr.DataArray, reference: xr.DataArray, *, data_range: float | None = None
) -> float:
    """Mean PSNR over bands, in dB.

    Parameters
    ----------
    result : DataArray
        Cube to score, with a band dim and two spatial dims.
    reference : DataArray
        Reference cube on the same grid and bands.
    data_range : float, optional
        Peak value; default each reference band's maximum.

    Returns
    -------
    float
        Mean PSNR in dB.

    Examples
    --------
    >>> from eoxr.testing import make_cube
    >>> ref = make_cube(times=None, ny=16, nx=16)
    >>> round(mpsnr(ref + 0.01, ref, data_range=1.0), 3)
    40.0
    """
    return float(np.mean(_psnr(result, reference, data_range)))


def mssim(
    result: xr.DataArray, reference: xr.DataArray, *, data_range: float | None = None
) -> float:
    """Mean structural similarity over bands (7x7 window; range: the reference band's span).

    As scikit-image's MSSIM, the mean leaves out a 3-pixel border (where the window does not
    fit); NaN pixels are zero-filled in both cubes for the filtering and left out of the mean.

    Parameters
    ----------
    result : DataArray
        Cube to score, with a band dim and two spatial dims.
    reference : DataArray
        Reference cube on the same grid and bands.
    data_range : float, optional
        Value range; default each reference band's span.

    Returns
    -------
    float
        Mean SSIM (1 for identical cubes).

    Examples
    --------
    >>> from eoxr.testing import make_cube
    >>> ref = make_cube(times=None, ny=16, nx=16)
    >>> mssim(ref, ref)
    1.0
    """
    from skimage.metrics import structural_similarity

    _check_range(data_range)
    r, t = _pair(result, reference)
    if min(t.shape[1:]) < _SSIM_WIN:
        raise ParameterError(
            f"mssim needs at least {_SSIM_WIN}x{_SSIM_WIN} pixels (its window); the cubes have "
            f"{t.shape[1]}x{t.shape[2]}. Compare a larger area or use mpsnr/sam/ergas."
        )
    bad = np.isnan(t[0])
    # as skimage's MSSIM (and Wang et al.), the window half-width is cropped from the border;
    # NaN pixels are zero-filled in both cubes and left out of the mean
    keep = ~bad[_SSIM_PAD:-_SSIM_PAD, _SSIM_PAD:-_SSIM_PAD]
    vals = []
    for b in range(t.shape[0]):
        tb, rb = np.where(bad, 0.0, t[b]), np.where(bad, 0.0, r[b])
        rng = float(data_range) if data_range else float(np.nanmax(t[b]) - np.nanmin(t[b]))
        if rng == 0:
            vals.append(1.0 if np.array_equal(tb, rb) else 0.0)
            continue
        _, smap = structural_similarity(rb, tb, win_size=_SSIM_WIN, data_range=rng, full=True)
        vals.append(float(np.mean(smap[_SSIM_PAD:-_SSIM_PAD, _SSIM_PAD:-_SSIM_PAD][keep])))
    return float(np.mean(vals))


def sam(result: xr.DataArray, reference: xr.DataArray) -> float:
    """Mean spectral angle between the pixels' spectra, in degrees.

    Parameters
    ----------
    result : DataArray
        Cube to score, with a band dim and two spatial dims.
    reference : DataArray
        Reference cube on the same grid and bands.

    Returns
    -------
    float
        Mean spectral angle in degrees.

    Examples
    --------
    >>> from eoxr.testing import make_cube
    >>> ref = make_cube(times=None, ny=8, nx=8)
    >>> round(sam(2 * ref, ref), 6)
    0.0
    """
    r, t = _pair(result, reference)
    num = np.sum(r * t, axis=0)
    den = np.sqrt(np.sum(r * r, axis=0) * np.sum(t * t, axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.clip(num / den, -1.0, 1.0)
    return float(np.degrees(np.nanmean(np.arccos(cos))))


def ergas(result: xr.DataArray, reference: xr.DataArray, *, ratio: float = 1.0) -> float:
    """ERGAS: ``100 * ratio * sqrt(mean_b (RMSE_b / mean_b)^2)``.

    ``ratio`` is the ratio of pixel sizes (high / low resolution) for fusion; 1 for denoising.

    Parameters
    ----------
    result : DataArray
        Cube to score, with a band dim and two spatial dims.
    reference : DataArray
        Reference cube on the same grid and bands.
    ratio : float
        Ratio of pixel sizes (high / low resolution) for fusion; 1 for denoising.

    Returns
    -------
    float
        ERGAS (0 for identical cubes).

    Examples
    --------
    >>> from eoxr.testing import make_cube
    >>> ref = make_cube(times=None, ny=8, nx=8)
    >>> ergas(ref, ref)
    0.0
    """
    r, t = _pair(result, reference)
    rmse = np.sqrt(np.nanmean((r - t) ** 2, axis=(1, 2)))
    mean = np.nanmean(t, axis=(1, 2))
    return float(100.0 * ratio * np.sqrt(np.mean((rmse / mean) ** 2)))


def compare(result: xr.DataArray, reference: xr.DataArray) -> dict[str, float]:
    """All four metrics as a dict ``{"mpsnr", "mssim", "sam", "ergas"}``.

    Parameters
    ----------
    result : DataArray
        Cube to score, with a band dim and two spatial dims.
    reference : DataArray
        Reference cube on the same grid and bands.

    Returns
    -------
    dict
        Metric name -> float.

    Examples
    --------
    >>> from eoxr.testing import make_cube
    >>> ref = make_cube(times=None, ny=16, nx=16)
    >>> sorted(compare(ref, ref))
    ['ergas', 'mpsnr', 'mssim', 'sam']
    """
    return {
        "mpsnr": mpsnr(result, reference),
        "mssim": mssim(result, reference),
        "sam": sam(result, reference),
        "ergas": ergas(result, reference),
    }


__all__ = ["psnr_per_band", "mpsnr", "mssim", "sam", "ergas", "compare"]
