"""A synthetic hyperspectral scene with known clean reflectance, noise, stripes and dead pixels.

The clean cube is a linear mixture of smooth endmember spectra (vegetation, two soils, water,
a bright roof material) with spatially smooth abundances plus sharp-edged elliptic fields, as in the
linear mixing model of AVIRIS-class imagery. Atmospheric water vapour removes most signal near
1400 and 1900 nm and beyond 2450 nm, where the detector noise is also larger: those bands have
a low SNR, as on a real sensor.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.ndimage import gaussian_filter

from .._dims import make_grid_coords
from ._scene import SyntheticScene

_ENDMEMBERS = ("vegetation", "dry_soil", "wet_soil", "water", "roof")


def _gauss(wl: np.ndarray, centre: float, width: float) -> np.ndarray:
    return np.exp(-0.5 * ((wl - centre) / width) ** 2)


def atmospheric_transmission(wl: np.ndarray) -> np.ndarray:
    """Two-way water-vapour transmission (0-1) with the 940/1130/1400/1900/2500 nm bands."""
    t = (
        1
        - 0.35 * _gauss(wl, 940, 25)
        - 0.5 * _gauss(wl, 1130, 30)
        - 0.93 * _gauss(wl, 1400, 45)
        - 0.95 * _gauss(wl, 1880, 60)
    )
    t *= 1 - 0.9 / (1 + np.exp(-(wl - 2460) / 15))
    return np.clip(t, 0.03, 1.0)


def _endmember_spectra(wl: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Smooth reflectance spectra (n_endmembers, bands) with a small random perturbation each."""
    red_edge = 1 / (1 + np.exp(-(wl - 715) / 18))
    veg = (
        0.04
        + 0.06 * _gauss(wl, 550, 35)
        + 0.42 * red_edge
        - 0.25 * red_edge * (wl > 1300) * (1 - np.exp(-(wl - 1300).clip(0) / 600))
    )
    dry = 0.12 + 0.25 * (1 - np.exp(-(wl - 400) / 700)) - 0.05 * _gauss(wl, 2200, 40)
    wet = 0.6 * dry - 0.04 * _gauss(wl, 1450, 120)
    water = 0.07 * np.exp(-(wl - 400) / 250) + 0.005
    roof = 0.3 + 0.05 * np.sin((wl - 400) / 450) + 0.04 * _gauss(wl, 1700, 200)
    spectra = np.stack([veg, dry, wet, water, roof])
    bumps = np.stack(
        [
            sum(rng.normal(0, 0.015) * _gauss(wl, rng.uniform(400, 2500), 150) for _ in range(4))
            for _ in spectra
        ]
    )
    return np.clip(spectra + bumps, 0.002, None)


def _abundances(shape: tuple[int, int], n: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth random fields plus sharp-edged elliptic fields, softmax-normalised to sum to 1."""
    ny, nx = shape
    logits = np.stack(
        [gaussian_filter(rng.normal(size=shape), sigma=max(ny, nx) / 12) for _ in range(n)]
    )
    logits /= logits.std(axis=(1, 2), keepdims=True)
    yy, xx = np.mgrid[0:ny, 0:nx]
    for _ in range(max(2, ny * nx // 2500)):  # fields: rotated ellipses with sharp edges
        k = rng.integers(n)
        cy, cx = rng.uniform(0, ny), rng.uniform(0, nx)
        a, b = rng.uniform(0.05, 0.15) * ny, rng.uniform(0.05, 0.15) * nx
        th = rng.uniform(0, np.pi)
        u = (yy - cy) * np.cos(th) + (xx - cx) * np.sin(th)
        v = -(yy - cy) * np.sin(th) + (xx - cx) * np.cos(th)
        logits[k][(u / a) ** 2 + (v / b) ** 2 <= 1] += 4.0
    e = np.exp(2.0 * logits)
    return e / e.sum(axis=0, keepdims=True)


def _plant_dead(cube: np.ndarray, fraction: float, rng: np.random.Generator):
    """Zero (dead) and saturated (hot) spectra at random pixels, plus one dead column."""
    nb, ny, nx = cube.shape
    mask = rng.random((ny, nx)) < fraction
    hot = mask & (rng.random((ny, nx)) < 0.3)
    cube[:, mask & ~hot] = 0.0
    cube[:, hot] = 1.0
    col = int(rng.integers(nx // 4, 3 * nx // 4))
    cube[:, :, col] = 0.0
    mask[:, col] = True
    return mask, col


def synthetic_hsi(
    *,
    seed: int = 0,
    shape: tuple[int, int] = (128, 128),
    n_bands: int = 120,
    noise_level: float = 0.004,
    stripe_fraction: float = 0.1,
    stripe_level: float = 2.0,
    dead_fraction: float = 0.005,
    wavelength_range: tuple[float, float] = (400.0, 2500.0),
) -> SyntheticScene:
    """A synthetic AVIRIS-like reflectance cube with band-varying noise, stripes and dead pixels.

    Parameters
    ----------
    seed : int
        Seed of every random draw.
    shape : (int, int)
        ``(ny, nx)`` pixels.
    n_bands : int
        Number of evenly spaced bands over ``wavelength_range`` (nm).
    noise_level : float
        Noise sigma in the clearest bands; it rises up to ~4x in the water-absorption bands
        and at the spectrum's ends.
    stripe_fraction, stripe_level : float
        Fraction of columns with an additive stripe, and its typical size in units of the band's
        noise sigma (offset constant along ``y``, different in every band).
    dead_fraction : float
        Fraction of dead (zero) or hot (saturated at 1.0) pixels; one whole column is dead too.

    Returns
    -------
    SyntheticScene
        ``cube`` (noisy, float32, dims ``band, y, x`` with ``wavelength``/``fwhm`` in nm),
        ``truth`` (clean), ``extras``: ``noise_sigma`` (band), ``stripes`` (band, x),
        ``dead_mask`` (y, x), ``dead_column``, ``water_bands`` (band), ``endmembers``,
        ``abundances``.

    Examples
    --------
    >>> scene = synthetic_hsi(shape=(32, 32), n_bands=50)
    >>> scene.cube.dims, scene.cube.dtype.name
    (('band', 'y', 'x'), 'float32')
    """
    rng = np.random.default_rng(seed)
    ny, nx = shape
    wl = np.linspace(*wavelength_range, n_bands)
    trans = atmospheric_transmission(wl)
    em = _endmember_spectra(wl, rng)
    ab = _abundances(shape, len(em), rng)
    truth = np.einsum("kb,kyx->byx", em * trans, ab)
    ends = 1 + 1.5 * _gauss(wl, wavelength_range[0], 60) + 1.5 * _gauss(wl, wavelength_range[1], 60)
    sigma = noise_level * (1 + 3 * (1 - trans)) * ends
    stripes = np.zeros((n_bands, nx))
    cols = rng.random(nx) < stripe_fraction
    stripes[:, cols] = rng.normal(0, 1, (n_bands, cols.sum())) * stripe_level * sigma[:, None]
    noisy = truth + stripes[:, None, :] + rng.normal(size=truth.shape) * sigma[:, None, None]
    dead, col = _plant_dead(noisy, dead_fraction, rng)

    coords = {
        "band": np.arange(1, n_bands + 1),
        **make_grid_coords(ny, nx, res=30.0),
        "wavelength": ("band", wl),
        "fwhm": ("band", np.full(n_bands, wl[1] - wl[0])),
    }
    attrs = {"units": "1", "long_name": "surface reflectance", "eoxr:kind": "hyperspectral"}

    def cube(a: np.ndarray, name: str) -> xr.DataArray:
        da = xr.DataArray(
            a.astype("float32"),
            dims=("band", "y", "x"),
            coords=coords,
            name=name,
            attrs=dict(attrs),
        )
        return da.rio.write_crs("EPSG:32610")

    band = {"band": coords["band"], "wavelength": ("band", wl)}
    extras = {
        "noise_sigma": xr.DataArray(sigma, dims="band", coords=band, name="noise_sigma"),
        "stripes": xr.DataArray(stripes, dims=("band", "x"), coords={**band, "x": coords["x"]}),
        "dead_mask": xr.DataArray(
            dead, dims=("y", "x"), coords={"y": coords["y"], "x": coords["x"]}
        ),
        "dead_column": col,
        "water_bands": xr.DataArray(trans < 0.5, dims="band", coords=band),
        "endmembers": xr.DataArray(
            em, dims=("endmember", "band"), coords={"endmember": list(_ENDMEMBERS), **band}
        ),
        "abundances": xr.DataArray(
            ab, dims=("endmember", "y", "x"), coords={"endmember": list(_ENDMEMBERS)}
        ),
    }
    return SyntheticScene(
        cube=cube(noisy, "reflectance"), truth=cube(truth, "reflectance"), extras=extras
    )


__all__ = ["synthetic_hsi", "atmospheric_transmission"]
