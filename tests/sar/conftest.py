"""SAR test fixtures: a synthetic Sentinel-1 "urban flood" scene with known truth.

The real Camargue sample has few strong scatterers; urban flood scenes are where speckle filters
lose backscatter (a real S1 flood scene lost 13 % of its whole-scene mean through refined Lee).
This scene reproduces that situation:

* a dark flood area (-27 dB) on the left, fields (-17 to -9 dB) elsewhere, both times unit-mean
  gamma speckle of ``looks`` looks (Sentinel-1 IW GRD: 4.4);
* a town of distributed urban backscatter (-8 dB, speckled) holding strong point and dihedral
  scatterers 20-30 dB above the surrounding fields, with the impulse response's first sidelobes
  (-10 dB on the 4-neighbours) and little fluctuation (a dominant scatterer is not speckle);
* double-bounce lines (building walls over flood water, +20 dB, one pixel wide) and a bridge
  across the flood (+15 dB).

Strong scatterers (2 % of the town's pixels, with their sidelobes) carry ~80 % of the scene's
power: a harsh case, where any filter that shrinks or smears them shows it in the scene mean.
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

SHAPE = (192, 224)


def urban_flood(seed: int = 0, looks: float = 4.4, shape: tuple[int, int] = SHAPE):
    """``(speckled, truth, points)``: float32 linear-power scenes and the strong-scatterer mask."""
    rng = np.random.default_rng(seed)
    ny, nx = shape
    # fields: a patchwork of 32x32 parcels between -17 and -9 dB
    clean = np.empty(shape)
    for y0 in range(0, ny, 32):
        for x0 in range(0, nx, 32):
            clean[y0 : y0 + 32, x0 : x0 + 32] = 10 ** (rng.uniform(-17, -9) / 10)
    fields = clean.copy()
    flood = np.zeros(shape, bool)
    flood[:, : nx // 3] = True
    flood[ny // 2 : ny // 2 + 40, : nx // 2] = True  # the flood reaches into the town
    clean[flood] = 10 ** (-27 / 10)
    town = (slice(ny // 4, 3 * ny // 4), slice(nx // 4, 3 * nx // 4))
    town_mask = np.zeros(shape, bool)
    town_mask[town] = True
    clean[town_mask & ~flood] = 10 ** (-8 / 10)
    speckled = clean * rng.gamma(looks, 1.0 / looks, shape)

    # strong scatterers: 20-30 dB above the fields around the town (~ -12 dB)
    base = float(np.median(fields))
    strong = np.zeros(shape)
    ty, tx = np.nonzero(town_mask)
    pick = rng.choice(ty.size, size=int(0.02 * ty.size), replace=False)
    gain = 10 ** (rng.uniform(20, 30, pick.size) / 10)
    psf = np.array([[0.0, 0.1, 0.0], [0.1, 1.0, 0.1], [0.0, 0.1, 0.0]])  # -10 dB sidelobes
    for y, x, g in zip(ty[pick], tx[pick], gain):  # the town lies inside the image
        strong[y - 1 : y + 2, x - 1 : x + 2] += base * g * psf
    # double-bounce walls along the flooded streets of the town (+20 dB), one pixel wide
    for y in range(ny // 2, ny // 2 + 40, 8):
        strong[y, nx // 4 : nx // 2] += base * 100.0
    # a bridge across the flood (+15 dB)
    strong[ny // 5, : nx // 3] += base * 10**1.5
    # a dominant scatterer fluctuates little: gamma of 30 looks rather than speckle
    speckled = speckled + strong * rng.gamma(30.0, 1 / 30.0, shape)
    truth = clean + strong
    coords = {"y": 4_800_000.0 - 20 * np.arange(ny), "x": 600_000.0 + 20 * np.arange(nx)}

    def wrap(a: np.ndarray, name: str) -> xr.DataArray:
        return xr.DataArray(
            a.astype("float32"),
            dims=("y", "x"),
            coords=coords,
            name=name,
            attrs={"units": "1", "long_name": "sigma0 VV"},
        ).rio.write_crs("EPSG:32631")

    return wrap(speckled, "VV"), wrap(truth, "VV"), strong > 0


@pytest.fixture(scope="session")
def urban_flood_scene():
    """``(speckled, truth, strong)`` of :func:`urban_flood` (seed 0, 4.4 looks)."""
    return urban_flood()


@pytest.fixture(scope="session")
def urban_flood_looks():
    """``looks -> urban_flood(seed=1, looks=looks)``: the scene at other looks, another draw."""
    cache: dict[float, tuple] = {}

    def get(looks: float) -> tuple:
        if looks not in cache:
            cache[looks] = urban_flood(seed=1, looks=looks)
        return cache[looks]

    return get
