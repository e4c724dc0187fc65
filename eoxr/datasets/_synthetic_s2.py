"""A synthetic Sentinel-2-like time series with known truth.

Land cover from smooth random fields, endmember spectra with phenology, a planted forest-to-bare
change, clouds with shadows and a matching Scene Classification Layer (SCL), one date with a
nodata swath, and sensor noise. Everything random comes from ``seed``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy.ndimage import gaussian_filter

from .._dims import make_grid_coords
from ..bands import wavelengths_of
from ._scene import SyntheticScene

BANDS = ("B02", "B03", "B04", "B05", "B06", "B07", "B08", "B8A", "B11", "B12")
CLASSES = ("water", "forest", "cropland", "grassland", "urban")
# Typical reflectance of each cover at the bands above (values read off standard libraries
# of vegetation, soil and water spectra; exactness does not matter, realism of shape does).
_SPECTRA = {
    "water": (0.060, 0.050, 0.030, 0.025, 0.020, 0.018, 0.015, 0.014, 0.008, 0.005),
    "vegetation": (0.035, 0.075, 0.035, 0.100, 0.300, 0.380, 0.420, 0.430, 0.210, 0.095),
    "soil": (0.080, 0.110, 0.140, 0.160, 0.180, 0.200, 0.220, 0.230, 0.300, 0.250),
    "urban": (0.100, 0.120, 0.130, 0.140, 0.150, 0.160, 0.170, 0.170, 0.200, 0.180),
    "cloud": (0.550, 0.560, 0.570, 0.570, 0.580, 0.580, 0.580, 0.580, 0.450, 0.350),
}
# SCL codes used (ESA Sen2Cor): 0 no data, 3 cloud shadow, 4 vegetation, 5 not vegetated,
# 6 water, 8 cloud medium probability, 9 cloud high probability.
SCL_NODATA, SCL_SHADOW, SCL_VEG, SCL_BARE, SCL_WATER, SCL_CLOUD_MED, SCL_CLOUD_HIGH = (
    0,
    3,
    4,
    5,
    6,
    8,
    9,
)


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], sigma: float) -> np.ndarray:
    f = gaussian_filter(rng.standard_normal(shape), sigma, mode="wrap")
    return (f - f.mean()) / (f.std() + 1e-12)


def _landcover(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    fields = np.stack([_smooth_field(rng, shape, max(shape) / 10) for _ in CLASSES])
    fields[0] -= 0.6  # less water than land
    return fields.argmax(axis=0).astype(np.uint8)


def _fraction(cover: str, season: float) -> float:
    """Vegetation fraction of a cover at a season value in [0, 1] (1 = peak of summer)."""
    return {
        "forest": 0.75 + 0.25 * season,
        "cropland": 0.05 + 0.9 * season,
        "grassland": 0.35 + 0.45 * season,
    }.get(cover, 0.0)


def _clean_spectra(lc: np.ndarray, season: float, changed: np.ndarray) -> np.ndarray:
    veg, soil = np.array(_SPECTRA["vegetation"]), np.array(_SPECTRA["soil"])
    out = np.empty((len(BANDS),) + lc.shape)
    for k, name in enumerate(CLASSES):
        if name == "water":
            spec = np.array(_SPECTRA["water"])
        elif name == "urban":
            spec = np.array(_SPECTRA["urban"])
        else:
            f = _fraction(name, season)
            spec = f * veg + (1 - f) * soil
        out[:, lc == k] = spec[:, None]
    out[:, changed] = soil[:, None]  # the planted change: cleared to bare soil
    return out


def synthetic_s2(
    *,
    seed: int = 0,
    shape: tuple[int, int] = (128, 128),
    times: int = 12,
    start: str = "2023-01-15",
    step_days: int = 30,
    cloud_cover: float = 0.2,
    noise: float = 0.004,
    chunks: dict | None = None,
) -> SyntheticScene:
    """A Sentinel-2-like L2A reflectance series with clouds, SCL and a planted change.

    Parameters
    ----------
    seed : int
        Seed of every random draw.
    shape : (ny, nx)
        Grid size (10 m pixels, EPSG:32633).
    times : int
        Number of dates, ``step_days`` apart from ``start``.
    cloud_cover : float
        Mean cloud fraction per date (each date draws its own between 0 and twice this).
    noise : float
        Standard deviation of Gaussian sensor noise in reflectance units.
    chunks : dict, optional
        Return dask-backed arrays with these chunks.

    Returns
    -------
    SyntheticScene
        ``cube``: (time, band, y, x) float32 reflectance with clouds and noise (NaN on a nodata
        swath of the third date); ``truth``: clean reflectance; ``change``: bool (y, x) mask of
        forest cleared after ``extras["change_time"]``; ``extras``: ``scl`` (time, y, x) uint8,
        ``cloud`` (time, y, x) bool, ``landcover`` (y, x) with class names in attrs.

    Examples
    --------
    >>> scene = synthetic_s2(seed=1, shape=(32, 32), times=4)
    >>> scene.cube.dims, int(scene.change.sum()) > 0
    (('time', 'band', 'y', 'x'), True)
    """
    rng = np.random.default_rng(seed)
    ny, nx = shape
    lc = _landcover(rng, shape)
    yy, xx = np.mgrid[0:ny, 0:nx]
    cy, cx = ny * rng.uniform(0.3, 0.7), nx * rng.uniform(0.3, 0.7)
    region = ((yy - cy) / (0.15 * ny)) ** 2 + ((xx - cx) / (0.2 * nx)) ** 2 <= 1.0
    lc[region] = CLASSES.index("forest")
    stamps = pd.date_range(start, periods=times, freq=f"{step_days}D")
    t_change = times // 2
    clean = np.empty((times, len(BANDS), ny, nx), dtype=np.float64)
    cube = np.empty_like(clean)
    scl = np.empty((times, ny, nx), dtype=np.uint8)
    cloud = np.zeros((times, ny, nx), dtype=bool)
    for t, stamp in enumerate(stamps):
        season = 0.5 - 0.5 * np.cos(2 * np.pi * (stamp.day_of_year - 15) / 365.25)
        changed = region if t >= t_change else np.zeros_like(region)
        clean[t] = _clean_spectra(lc, season, changed)
        cover = rng.uniform(0, 2 * cloud_cover)
        field = _smooth_field(rng, shape, max(shape) / 12)
        cl = field > np.quantile(field, 1 - cover) if cover > 0 else np.zeros(shape, bool)
        shadow = np.roll(cl, (max(2, ny // 20), max(2, nx // 20)), axis=(0, 1)) & ~cl
        opacity = np.clip(0.6 + 0.4 * field, 0.6, 1.0)
        obs = clean[t] * np.where(shadow, 0.35, 1.0)
        obs = np.where(
            cl, (1 - opacity) * obs + opacity * np.array(_SPECTRA["cloud"])[:, None, None], obs
        )
        cube[t] = obs + rng.normal(0, noise, size=obs.shape)
        ndvi = (clean[t][6] - clean[t][2]) / (clean[t][6] + clean[t][2])
        s = np.where(lc == 0, SCL_WATER, np.where(ndvi > 0.35, SCL_VEG, SCL_BARE))
        s = np.where(shadow, SCL_SHADOW, s)
        s = np.where(cl, np.where(opacity > 0.8, SCL_CLOUD_HIGH, SCL_CLOUD_MED), s)
        scl[t], cloud[t] = s, cl
    if times > 2:  # a nodata swath (outside the orbit's footprint) on the third date
        swath = xx > (nx - 1) * 0.8 + (yy - ny / 2) * 0.3
        cube[2][:, swath] = np.nan
        scl[2][swath] = SCL_NODATA
    coords = {"time": stamps, "band": list(BANDS), **make_grid_coords(ny, nx)}
    coords["wavelength"] = ("band", np.array(wavelengths_of(BANDS, "sentinel-2"), dtype=float))
    attrs = {
        "units": "1",
        "long_name": "surface reflectance",
        "platform": "sentinel-2a",
        "eoxr:sensor": "sentinel-2",
        "source": f"eoxr.datasets.synthetic_s2(seed={seed})",
    }

    def _da(values: np.ndarray, dims: tuple[str, ...], name: str, a: dict) -> xr.DataArray:
        da = xr.DataArray(
            values, dims=dims, coords={d: coords[d] for d in dims}, name=name, attrs=a
        )
        if "band" in dims:
            da = da.assign_coords(wavelength=coords["wavelength"])
        da = da.rio.write_crs("EPSG:32633")
        if chunks:
            da = da.chunk({k: v for k, v in chunks.items() if k in dims})
        return da

    dims4 = ("time", "band", "y", "x")
    return SyntheticScene(
        cube=_da(cube.astype(np.float32), dims4, "reflectance", attrs),
        truth=_da(
            clean.astype(np.float32),
            dims4,
            "reflectance",
            {**attrs, "long_name": "clean reflectance"},
        ),
        change=_da(
            region.copy(), ("y", "x"), "change", {"long_name": "planted change (forest cleared)"}
        ),
        extras={
            "scl": _da(scl, ("time", "y", "x"), "SCL", {"long_name": "scene classification"}),
            "cloud": _da(cloud, ("time", "y", "x"), "cloud", {"long_name": "true cloud mask"}),
            "landcover": _da(lc, ("y", "x"), "landcover", {"classes": list(CLASSES)}),
            "change_time": stamps[t_change],
        },
    )
