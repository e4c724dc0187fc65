"""Random convolutional features (MOSAIKS; Rolf et al. 2021, Nat. Commun. 12:4392).

Each of ``features / 2`` kernels of ``size x size`` pixels gives two features per patch, the
means over the patch of ``relu(z + bias)`` and ``relu(-z - bias)``, where ``z`` is the kernel's
response (a valid convolution, no padding) and ``bias`` is -1 by default: the positive and
negative parts of the biased response, exactly torchgeo's ``torchgeo.models.RCF`` forward for
the same kernels and bias. ``mode="gaussian"`` (the default, as torchgeo) draws kernels from
N(0, 1). ``mode="empirical"`` is eoxr's whitening variant: kernels drawn from windows of the
cube itself, ZCA-whitened (Coates & Ng 2012) so that ``z`` is the inner product of the whitened
input window and the whitened kernel window (torchgeo's empirical mode whitens the kernels only).
Both are seeded with numpy's generator, so the encoder is the same on every machine and torch
version. Nothing is trained and nothing is downloaded: the no-download default encoder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
import xarray as xr

from .._dask.stats import compute
from .._dims import spatial_dims
from .._sample import check_count
from .._window import check_window
from ..errors import ParameterError
from ..models.encoder import Encoder, check_dtype, make_encoder, select

Mode = Literal["gaussian", "empirical"]


class RCF(torch.nn.Module):
    """Fixed convolution plus bias, its positive and negative parts mean-pooled.

    ``(N, C, H, W) -> (N, features)``: ``y = conv(x, weight) + offset + bias`` (valid, no
    padding), features ``[mean relu(y), mean relu(-y)]`` over ``H, W``, as torchgeo's ``RCF``
    (whose ``biases`` are ``offset + bias`` here; ``offset`` is zero for Gaussian kernels).
    """

    def __init__(self, weight: np.ndarray, offset: np.ndarray, bias: float) -> None:
        super().__init__()
        self.register_buffer("weight", torch.as_tensor(weight, dtype=torch.float32))
        self.register_buffer("offset", torch.as_tensor(offset, dtype=torch.float32))
        self.register_buffer(
            "biases", torch.as_tensor(np.asarray(offset) + float(bias), dtype=torch.float32)
        )
        self.bias = float(bias)
        self.in_channels = int(weight.shape[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: D102
        y = torch.nn.functional.conv2d(x, self.weight, self.biases)
        pos = torch.relu(y).mean(dim=(2, 3))
        neg = torch.relu(-y).mean(dim=(2, 3))
        return torch.cat([pos, neg], dim=1)


def sample_windows(
    cube: xr.DataArray, size: int, n: int, seed: int, *, progress: bool | None = None
) -> np.ndarray:
    """Seeded ``size x size`` windows ``(n, band, size, size)`` of a ``(*other, band, y, x)`` cube.

    Windows with a NaN are dropped.
    The positions depend only on the seed and the cube's shape (never on its chunks); the values
    are read in one pass (a documented fit statistic).
    """
    ydim, xdim = spatial_dims(cube)
    rng = np.random.default_rng(seed)
    idx: dict = {}
    for d in cube.dims[:-3]:
        idx[d] = xr.DataArray(rng.integers(0, cube.sizes[d], n), dims="sample")
    off = np.arange(size)
    for d, w in ((ydim, "wy"), (xdim, "wx")):
        start = rng.integers(0, cube.sizes[d] - size + 1, n)
        idx[d] = xr.DataArray(start[:, None] + off, dims=("sample", w))
    win = cube.isel(idx).transpose("sample", cube.dims[-3], "wy", "wx")
    (vals,) = compute(win.data, progress=progress)
    vals = np.asarray(vals, dtype=np.float64)
    return vals[np.isfinite(vals).all(axis=(1, 2, 3))]


def whitened_kernels(
    windows: np.ndarray, count: int, rng: np.random.Generator, eps: float = 1e-2
) -> tuple[np.ndarray, np.ndarray]:
    """ZCA-whitened kernels drawn from ``windows`` and the offsets that centre their responses.

    With ``W`` the regularised ZCA matrix of the windows (eigenvalues floored by ``eps`` times
    their mean) and ``mu`` their mean, kernel ``k = W W (p - mu)`` for a drawn window ``p``
    gives ``z = x . k - mu . k = (W (x - mu)) . (W (p - mu))``. Kernels are scaled so that their
    responses over the windows have standard deviation ``sqrt(C size^2)``, the spread of an
    N(0, 1) kernel on unit-variance input, so that ``bias`` means the same in both modes.
    """
    n, c, s, _ = windows.shape
    x = windows.reshape(n, -1)
    mu = x.mean(axis=0)
    xc = x - mu
    lam, u = np.linalg.eigh(xc.T @ xc / n)
    lam = np.maximum(lam, 0.0)
    w2 = (u / (lam + eps * lam.mean() + 1e-12)) @ u.T
    picks = x[rng.choice(n, size=count, replace=n < count)]
    k = (picks - mu) @ w2
    offset = -(k @ mu)
    spread = (x @ k.T + offset).std(axis=0)
    factor = np.sqrt(x.shape[1]) / np.where(spread > 0, spread, 1.0)
    return (k * factor[:, None]).reshape(count, c, s, s), offset * factor


def _band_stats(windows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean = windows.mean(axis=(0, 2, 3))
    std = windows.std(axis=(0, 2, 3))
    return mean, np.where(std > 0, std, 1.0)


def rcf_encoder(
    *,
    bands: Sequence[str] | None,
    features: int = 512,
    size: int = 3,
    seed: int = 0,
    mode: Mode = "gaussian",
    bias: float = -1.0,
    data: xr.DataArray | xr.Dataset | None = None,
    sample: int = 10_000,
    mean: Any = None,
    std: Any = None,
    scale: float | None = None,
    patch: int | None = None,
    name: str | None = None,
    progress: bool | None = None,
) -> Encoder:
    """Random convolutional features as an :class:`~eoxr.embed.Encoder`.

    Parameters
    ----------
    bands : sequence of str
        Input bands (any alias).
    features : int
        Output length (even: two features per kernel).
    size : int
        Kernel window size in pixels (odd).
    seed : int
        Seed of the kernels (and of the windows drawn from ``data``).
    mode : {"gaussian", "empirical"}
        N(0, 1) kernels (torchgeo's default), or eoxr's whitening variant: ZCA-whitened windows
        of ``data``, with centred responses (see the module docstring).
    bias : float
        Added to every kernel's response before the two ReLUs (torchgeo's ``bias``, default
        -1): features ``mean relu(z + bias)`` and ``mean relu(-z - bias)``.
    data : DataArray or Dataset, optional
        Cube to draw windows from: required for ``"empirical"``; for both modes it also gives
        ``mean``/``std`` per band when they are not given (else 0 and 1). Read once (a fit).
    sample : int
        Number of windows drawn from ``data`` (a number of pixels: the windows' corners).
    progress : bool, optional
        Progress bar for the read of the windows from ``data``. Default: shown when interactive.
    mean, std, scale, patch, name
        As in :func:`eoxr.embed.encoder`.

    Returns
    -------
    Encoder

    Examples
    --------
    >>> enc = rcf_encoder(bands=["red", "nir"], features=16, size=3, seed=1)
    >>> tuple(enc.model.weight.shape)
    (8, 2, 3, 3)
    """
    if mode not in ("gaussian", "empirical"):
        raise ParameterError(f"mode={mode!r}: expected 'gaussian' or 'empirical'.")
    if not isinstance(features, int | np.integer) or features < 2 or features % 2:
        raise ParameterError(f"features={features!r} must be an even integer >= 2 (e.g. 512).")
    size = check_window(size, minimum=1)
    if bands is None:
        raise ParameterError("bands= is required for encoder('rcf'), e.g. bands=['red', 'nir'].")
    if mode == "empirical" and data is None:
        raise ParameterError(
            "mode='empirical' draws its kernels from a cube: pass data=cube (any cube with the "
            "encoder's bands, e.g. the one you will embed)."
        )
    scale = 1.0 if scale is None else scale
    probe = make_encoder(None, bands=bands, scale=scale)  # validates bands and scale
    rng = np.random.default_rng(seed)
    c, half = len(probe.bands), features // 2
    windows = None
    if data is not None:
        raw = select(data, probe.bands)
        check_dtype(raw, probe)
        ydim, xdim = spatial_dims(raw)
        count = check_count(sample, raw.sizes[ydim] * raw.sizes[xdim], allow_none=False)
        windows = sample_windows(raw, size, count, seed, progress=progress) * scale
        if len(windows) < 2:
            raise ParameterError(
                "no NaN-free windows found in data= to draw kernels and statistics from."
            )
        est_mean, est_std = _band_stats(windows)
        mean = est_mean if mean is None else mean
        std = est_std if std is None else std
    enc = make_encoder(
        None,
        bands=probe.bands,
        mean=0.0 if mean is None else mean,
        std=1.0 if std is None else std,
        scale=scale,
        patch=patch,
        name=name or f"rcf-{mode}-{features}",
    )
    if mode == "gaussian":
        weight = rng.standard_normal((half, c, size, size))
        offset = np.zeros(half)
    else:
        m = np.asarray(enc.mean).reshape(1, c, 1, 1)
        sd = np.asarray(enc.std).reshape(1, c, 1, 1)
        weight, offset = whitened_kernels((windows - m) / sd, half, rng)
    info = {
        "kind": "rcf",
        "mode": mode,
        "features": int(features),
        "size": size,
        "seed": seed,
        "bias": float(bias),
    }
    return Encoder(
        model=RCF(weight, offset, bias).eval(),
        bands=enc.bands,
        mean=enc.mean,
        std=enc.std,
        scale=enc.scale,
        patch=enc.patch,
        name=enc.name,
        info=info,
    )


__all__ = ["RCF", "rcf_encoder", "sample_windows", "whitened_kernels"]
