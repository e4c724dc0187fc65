"""Random convolutional features: the MOSAIKS formula, seeding, empirical (whitened) kernels."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import require

torch = require("torch", extra="ml")

import eoxr.testing as et  # noqa: E402
from eoxr.embed import embed, encoder  # noqa: E402
from eoxr.embed.rcf import whitened_kernels  # noqa: E402
from eoxr.errors import ParameterError  # noqa: E402

CUBE = et.make_cube(ny=40, nx=36, times=None, seed=2)


class TorchgeoRCF(torch.nn.Module):
    """torchgeo's ``RCF`` forward, rewritten here as the reference (not imported).

    Read from microsoft/torchgeo torchgeo/models/rcf.py (commit 1745e90698dc18d2, and the
    release 0.8.1): ``biases`` filled with ``bias`` (default -1.0); forward: ``y = conv2d(x,
    weights, biases)`` with stride 1 and no padding; features = ``[relu(y), relu(-y)]``
    globally average-pooled over the spatial dims, concatenated along the channels.
    """

    def __init__(self, weights: torch.Tensor, bias: float = -1.0) -> None:
        super().__init__()
        self.weights = weights
        self.biases = torch.full((weights.shape[0],), bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.nn.functional.conv2d(x, self.weights, bias=self.biases, stride=1, padding=0)
        a = torch.nn.functional.adaptive_avg_pool2d(torch.relu(y), (1, 1)).flatten(1)
        b = torch.nn.functional.adaptive_avg_pool2d(torch.relu(-y), (1, 1)).flatten(1)
        return torch.cat((a, b), dim=1)


def test_default_equals_torchgeo_rcf_forward() -> None:
    """Default encoder == torchgeo's RCF module (gaussian mode, bias -1) for the same kernels."""
    enc = encoder("rcf", bands=["red", "nir", "green"], features=32, size=3, seed=4)
    assert enc.info["bias"] == -1.0 and enc.info["mode"] == "gaussian"
    ref = TorchgeoRCF(enc.model.weight.clone())
    x = torch.as_tensor(np.random.default_rng(0).normal(0, 1, (5, 3, 12, 12)), dtype=torch.float32)
    torch.testing.assert_close(enc.model(x), ref(x), rtol=1e-6, atol=1e-6)
    # through embed(): the feature vector of a patch is the module's output on that patch
    emb = embed(CUBE, enc, patch=8)
    patch = CUBE.sel(band=["B04", "B08", "B03"]).values[None, :, 8:16, 16:24]
    want = ref(torch.as_tensor(patch, dtype=torch.float32))[0].numpy()
    np.testing.assert_allclose(emb.values[:, 1, 2], want, rtol=1e-5, atol=1e-6)


def test_gaussian_formula_against_numpy() -> None:
    enc = encoder("rcf", bands=["red", "nir"], features=6, size=3, seed=5, bias=-0.5)
    w = enc.model.weight.numpy().astype(np.float64)
    # seeded with numpy: the kernels are N(0, 1) draws of default_rng(5)
    np.testing.assert_allclose(w, np.random.default_rng(5).standard_normal((3, 2, 3, 3)), rtol=1e-6)
    emb = embed(CUBE, enc, patch=8)
    x = CUBE.sel(band=["B04", "B08"]).values[:, 8:16, 16:24].astype(np.float64)
    z = np.array(
        [
            [[(w[k] * x[:, i : i + 3, j : j + 3]).sum() for j in range(6)] for i in range(6)]
            for k in range(3)
        ]
    )
    # relu(z + bias) and relu(-z - bias), bias = -0.5
    want = np.r_[np.maximum(z - 0.5, 0).mean((1, 2)), np.maximum(0.5 - z, 0).mean((1, 2))]
    np.testing.assert_allclose(emb.values[:, 1, 2], want, rtol=1e-5, atol=1e-6)


def test_same_seed_same_features_other_seed_differs() -> None:
    a = encoder("rcf", bands=["red", "nir"], features=8, seed=1)
    b = encoder("rcf", bands=["red", "nir"], features=8, seed=1)
    c = encoder("rcf", bands=["red", "nir"], features=8, seed=2)
    assert torch.equal(a.model.weight, b.model.weight)
    assert not torch.equal(a.model.weight, c.model.weight)


def test_data_gives_band_statistics() -> None:
    enc = encoder("rcf", bands=["red", "nir"], features=8, data=CUBE, sample=4000)
    # uniform(0.01, 0.6): mean 0.305, std 0.59 / sqrt(12) = 0.170
    np.testing.assert_allclose(enc.mean, [0.305, 0.305], atol=0.01)
    np.testing.assert_allclose(enc.std, [0.170, 0.170], atol=0.01)


def test_empirical_kernels_whiten() -> None:
    """z = (W (x - mu)) . (W (p - mu)): check against the ZCA whitening done explicitly."""
    rng = np.random.default_rng(0)
    mix = rng.normal(size=(8, 8))
    win = (rng.normal(size=(5000, 8)) @ mix).reshape(5000, 2, 2, 2)  # correlated "windows"
    k, off = whitened_kernels(win, 4, np.random.default_rng(1))
    x = win.reshape(5000, -1)
    z = x @ k.reshape(4, -1).T + off
    np.testing.assert_allclose(z.std(axis=0), np.sqrt(8), rtol=1e-6)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-9)  # centred responses
    # the same draw by hand: z is the inner product of the ZCA-whitened windows, up to scale
    picks = x[np.random.default_rng(1).choice(5000, size=4, replace=False)]
    lam, u = np.linalg.eigh(np.cov(x.T, bias=True))
    w = (u / np.sqrt(lam + 1e-2 * lam.mean())) @ u.T
    mu = x.mean(0)
    want = ((x - mu) @ w) @ ((picks - mu) @ w).T
    for j in range(4):  # z = c * want with c > 0
        c = (z[:, j] @ want[:, j]) / (want[:, j] @ want[:, j])
        assert c > 0
        np.testing.assert_allclose(z[:, j], c * want[:, j], atol=1e-9 * np.abs(z).max())


def test_empirical_on_cube_is_seeded_and_chunk_invariant() -> None:
    lazy = CUBE.chunk({"y": 13, "x": 11})
    a = encoder("rcf", bands=["red", "nir", "green"], features=16, mode="empirical", data=CUBE)
    b = encoder("rcf", bands=["red", "nir", "green"], features=16, mode="empirical", data=lazy)
    np.testing.assert_allclose(a.model.weight.numpy(), b.model.weight.numpy(), rtol=1e-5)
    emb = embed(CUBE, a, patch=8).values
    assert np.isfinite(emb).all() and emb.std(axis=(1, 2)).min() > 0


def test_rcf_errors() -> None:
    with pytest.raises(ParameterError, match="even integer"):
        encoder("rcf", bands=["red"], features=7)
    with pytest.raises(ParameterError, match="'gaussian' or 'empirical'"):
        encoder("rcf", bands=["red"], mode="zca")
    with pytest.raises(ParameterError, match="data=cube"):
        encoder("rcf", bands=["red"], mode="empirical")
    with pytest.raises(ParameterError, match="odd integer"):
        encoder("rcf", bands=["red"], size=4)
