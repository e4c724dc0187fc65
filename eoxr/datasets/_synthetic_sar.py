"""Synthetic Sentinel-1 dual-pol series: known clean backscatter, speckle and a planted flood."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import ParameterError
from ._scene import SyntheticScene

#: land-cover classes -> (sigma0 VV, sigma0 VH) in linear power, typical C-band values
S1_CLASSES: dict[str, tuple[float, float]] = {
    "water": (0.005, 0.0010),  # -23 / -30 dB
    "bare_soil": (0.050, 0.0080),  # -13 / -21 dB
    "grassland": (0.060, 0.0150),  # -12 / -18 dB
    "cropland": (0.100, 0.0250),  # -10 / -16 dB
    "forest": (0.120, 0.0350),  #  -9 / -14.6 dB
    "urban": (0.400, 0.0600),  #  -4 / -12 dB
}
_POINT_SIGMA0 = (8.0, 1.5)  # bright corner-reflector-like targets (+9 / +1.8 dB)


def _landcover(rng: np.random.Generator, ny: int, nx: int, n_regions: int) -> np.ndarray:
    """Voronoi regions of random seeds, each with a random class (index into S1_CLASSES)."""
    seeds = rng.uniform([0, 0], [ny, nx], size=(n_regions, 2))
    yy, xx = np.mgrid[0:ny, 0:nx]
    d2 = (yy[..., None] - seeds[:, 0]) ** 2 + (xx[..., None] - seeds[:, 1]) ** 2
    region = np.argmin(d2, axis=-1)
    classes = rng.integers(1, len(S1_CLASSES), size=n_regions)  # water only where flooded/lake
    classes[0] = 0  # one permanent lake
    return classes[region], region


def _flood_mask(ny: int, nx: int, rng: np.random.Generator) -> np.ndarray:
    cy, cx = rng.uniform(0.35, 0.65) * ny, rng.uniform(0.35, 0.65) * nx
    ay, ax = 0.18 * ny, 0.25 * nx
    yy, xx = np.mgrid[0:ny, 0:nx]
    return ((yy - cy) / ay) ** 2 + ((xx - cx) / ax) ** 2 <= 1.0


def _masks(cls: np.ndarray, flood: np.ndarray, points: np.ndarray, margin: int):
    from scipy import ndimage

    key = cls * 2 + flood  # a pixel's clean value differs across class or flood boundaries
    win = 2 * margin + 1
    same = ndimage.maximum_filter(key, win) == ndimage.minimum_filter(key, win)
    near_pt = ndimage.maximum_filter(points, win)
    edges = ndimage.maximum_filter(key, 3) != ndimage.minimum_filter(key, 3)
    return same & ~near_pt, edges


def synthetic_s1(
    *,
    seed: int = 0,
    shape: tuple[int, int] = (256, 256),
    times: int | Sequence | pd.DatetimeIndex = 2,
    looks: float = 4.4,
    db: bool = False,
    n_regions: int = 24,
    n_points: int = 6,
    flood_from: int | None = None,
    crs: str = "EPSG:32631",
    res: float = 20.0,
) -> SyntheticScene:
    """Sentinel-1-like VV/VH backscatter with gamma speckle, known truth and a planted flood.

    Clean sigma0 is piecewise constant over Voronoi land-cover regions (:data:`S1_CLASSES`), plus
    a few bright 3x3 point targets; from time index ``flood_from`` on (default: the second half
    of the series) an elliptic area turns to open water. The cube is truth times unit-mean gamma
    speckle of ``looks`` looks, independent per date and polarisation.

    Parameters
    ----------
    seed : int
        Seed of every random draw.
    shape : (int, int)
        ``(ny, nx)`` pixels.
    times : int or sequence of dates
        Number of dates (12 days apart from 2024-01-05) or the dates themselves.
    looks : float
        Equivalent number of looks of the speckle (Sentinel-1 IW GRD: about 4.4).
    db : bool
        Return cube and truth in dB (``units="dB"``) instead of linear power (``units="1"``).

    Returns
    -------
    SyntheticScene
        ``cube`` (time, band, y, x) float32 with ``band = ["VV", "VH"]``; ``truth`` the clean
        backscatter; ``change`` the flood mask (y, x); ``extras``: ``looks``, ``landcover``
        (class index per pixel), ``classes``, ``homogeneous`` (pixels >= 5 px from any class,
        flood or point-target border: where the ENL is measured), ``edges``, ``point_targets``,
        ``flood_from``.

    Examples
    --------
    >>> s = synthetic_s1(seed=0, shape=(64, 64))
    >>> s.cube.dims, s.cube.attrs["units"], str(s.cube.dtype)
    (('time', 'band', 'y', 'x'), '1', 'float32')
    """
    rng = np.random.default_rng(seed)
    ny, nx = (int(v) for v in shape)
    if min(ny, nx) < 16:
        # point targets keep 6 px from the border and the flood needs room inside the scene
        raise ParameterError(f"shape={tuple(shape)} is too small: use at least (16, 16) pixels.")
    dates = (
        pd.date_range("2024-01-05", periods=int(times), freq="12D")
        if np.isscalar(times)
        else pd.DatetimeIndex(times)
    )
    nt = len(dates)
    flood_from = nt // 2 if flood_from is None else int(flood_from)
    cls, _ = _landcover(rng, ny, nx, n_regions)
    flood = _flood_mask(ny, nx, rng) & (cls != 0)
    points = np.zeros((ny, nx), bool)
    for py, px in zip(rng.integers(6, ny - 6, n_points), rng.integers(6, nx - 6, n_points)):
        points[py - 1 : py + 2, px - 1 : px + 2] = True
    table = np.array(list(S1_CLASSES.values()), dtype=np.float64)  # (class, pol)
    base = np.moveaxis(table[cls], -1, 0)  # (pol, y, x)
    base[:, points] = np.array(_POINT_SIGMA0)[:, None]
    truth = np.repeat(base[None], nt, axis=0)
    truth[flood_from:, :, flood & ~points] = table[0][None, :, None]
    speckle = rng.gamma(shape=looks, scale=1.0 / looks, size=truth.shape)
    cube = (truth * speckle).astype(np.float32)
    truth = truth.astype(np.float32)
    if db:
        cube, truth = (10 * np.log10(a) for a in (cube, truth))
    homogeneous, edges = _masks(cls, flood, points, margin=5)
    coords = {
        "time": dates,
        "band": ["VV", "VH"],
        "y": 4_830_000.0 - res * (np.arange(ny) + 0.5),
        "x": 620_000.0 + res * (np.arange(nx) + 0.5),
    }
    attrs = {
        "units": "dB" if db else "1",
        "long_name": "sigma0 backscatter",
        "eoxr:kind": "sar",
        "platform": "synthetic Sentinel-1",
        "polarisations": "VV VH",
    }
    dims = ("time", "band", "y", "x")

    def mk(a: np.ndarray, name: str) -> xr.DataArray:
        return xr.DataArray(a, dims=dims, coords=coords, name=name, attrs=attrs).rio.write_crs(crs)

    grid = {"y": coords["y"], "x": coords["x"]}
    as2d = lambda a, name: xr.DataArray(a, dims=("y", "x"), coords=grid, name=name)  # noqa: E731
    return SyntheticScene(
        cube=mk(cube, "sigma0"),
        truth=mk(truth, "sigma0_clean"),
        change=as2d(flood, "flood"),
        extras={
            "looks": float(looks),
            "landcover": as2d(cls, "landcover"),
            "classes": list(S1_CLASSES),
            "homogeneous": as2d(homogeneous, "homogeneous"),
            "edges": as2d(edges, "edges"),
            "point_targets": as2d(points, "point_targets"),
            "flood_from": flood_from,
        },
    )


__all__ = ["synthetic_s1", "S1_CLASSES"]
