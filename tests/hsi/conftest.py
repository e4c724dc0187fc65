"""Fixtures of the hyperspectral tests: the synthetic scene and the real Jasper Ridge cube."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from eoxr.datasets import synthetic_hsi
from tests.conftest import shared_path


@pytest.fixture(scope="session")
def scene():
    return synthetic_hsi(seed=0, shape=(96, 96), n_bands=100)


def _jasper_clean() -> xr.DataArray:
    import scipy.io

    d = scipy.io.loadmat(shared_path("hsi_jasper_ridge", "jasperRidge2_R198.mat"))
    nb = d["Y"].shape[0]
    # Y is bands x pixels with the pixels in column-major (MATLAB) order
    cube = (d["Y"].astype("float64") / 10000.0).reshape(nb, 100, 100, order="F")
    # nominal AVIRIS centres (224 bands, ~365-2500 nm); approximate, enough for plots/flags
    wl = 365.0 + (d["SlectBands"].ravel() - 1) * (2500.0 - 365.0) / 223.0
    return xr.DataArray(
        cube.astype("float32"),
        dims=("band", "y", "x"),
        coords={
            "band": np.arange(nb),
            "wavelength": ("band", wl),
            "y": np.arange(100.0),
            "x": np.arange(100.0),
        },
        attrs={"units": "1", "eoxr:kind": "hyperspectral"},
    )


@pytest.fixture(scope="session")
def jasper():
    """(noisy, clean, sigma, stripes, dead) with noise added as the issue prescribes."""
    clean = _jasper_clean()
    rng = np.random.default_rng(42)
    nb, ny, nx = clean.shape
    t = np.linspace(0, 1, nb)
    sigma = 0.006 + 0.02 * (0.5 + 0.5 * np.sin(2 * np.pi * (1.5 * t + rng.uniform())))
    cols = rng.choice(nx, size=nx // 10, replace=False)  # stripes on 10 % of the columns
    stripes = np.zeros((nb, nx))
    stripes[:, cols] = rng.normal(0, 2.0, (nb, cols.size)) * sigma[:, None]
    noisy = clean.values + stripes[:, None, :] + rng.normal(size=clean.shape) * sigma[:, None, None]
    dead = rng.random((ny, nx)) < 0.005  # 0.5 % dead pixels (zero spectra)
    noisy[:, dead] = 0.0
    return clean.copy(data=noisy.astype("float32")), clean, sigma, stripes, dead
