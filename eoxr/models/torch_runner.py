"""Torch backend of model application: device choice, model preparation and the runner.

Everything here imports torch, so :mod:`eoxr.ml.apply` imports this module inside the function
that needs it. The patch kernels themselves are in :mod:`eoxr.ml._kernels`.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
from typing import Any

import numpy as np
import torch


def pick_device(device: str | torch.device | None) -> torch.device:
    """``None`` -> CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def prepare_model(model: torch.nn.Module, device: str) -> torch.nn.Module:
    """The model in eval mode on ``device``, copied only when the caller's one would change.

    Called once per worker (it is one dask graph key), so the weights travel once.
    """
    dev = torch.device(device)
    params = list(model.parameters()) + list(model.buffers())
    on_device = all(p.device == dev for p in params)
    if model.training or not on_device:
        model = copy.deepcopy(model).to(dev)
        model.eval()
    return model


def expected_channels(model: torch.nn.Module) -> int | None:
    """Input channels the model's first layer expects (``None`` when it cannot tell)."""
    for m in model.modules():
        for attr in ("in_channels", "in_features"):
            n = getattr(m, attr, None)
            if isinstance(n, int):
                return n
    return None


def _autocast(device: torch.device, autocast: bool | torch.dtype) -> Any:
    if not autocast:
        return contextlib.nullcontext()
    dtype = (
        autocast
        if isinstance(autocast, torch.dtype)
        else (torch.float16 if device.type == "cuda" else torch.bfloat16)
    )
    return torch.autocast(device_type=device.type, dtype=dtype)


def forward(
    model: torch.nn.Module,
    batch: np.ndarray,
    device: torch.device,
    autocast: bool | torch.dtype = False,
) -> np.ndarray:
    """One forward pass of a ``(N, C, H, W)`` float32 batch; float32 numpy out."""
    x = torch.from_numpy(np.ascontiguousarray(batch)).to(device, non_blocking=True)
    with torch.inference_mode(), _autocast(device, autocast):
        y = model(x)
    # contiguous and owned: the kernels weigh predictions in place (an expanded output of
    # stride 0 would otherwise be written several times over)
    return np.ascontiguousarray(y.float().cpu().numpy())


class TorchRunner:
    """A prepared torch model as a runner of :mod:`eoxr.ml._kernels` (batch in, numpy out)."""

    def __init__(self, model: torch.nn.Module, device: str, autocast: Any = False) -> None:
        self.model = model
        self.device = torch.device(device)
        self.autocast = autocast
        self.channels = expected_channels(model)

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        """Run the model on an ``(N, C, H, W)`` batch; numpy out."""
        return forward(self.model, batch, self.device, self.autocast)


def prepare_runner(model: torch.nn.Module, device: str, autocast: Any = False) -> TorchRunner:
    """The runner of a model prepared by :func:`prepare_model` (one graph key per compute)."""
    return TorchRunner(prepare_model(model, device), device, autocast)


def runner_key(model: torch.nn.Module, device: str, autocast: Any = False) -> str:
    """A graph key for :func:`prepare_runner` of this model, cheaper than dask's tokenize.

    dask tokenizes an ``nn.Module`` by pickling and unpickling it two or three times, a fixed
    cost of ~0.25 s per graph build for a ResNet-18 (a sixth of its forward passes over a
    1024^2 cube). One hash of the weights' bytes gives a content key at a fifth of that; the
    object's id and repr keep models with equal weights but another structure apart.
    """
    h = hashlib.sha1(f"{type(model).__qualname__}|{id(model)}|{model!r}".encode())
    h.update(f"|{device}|{autocast}|{model.training}".encode())
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        h.update(f"|{name}|{tuple(t.shape)}|{t.dtype}|{t.device}".encode())
        if t.numel():
            h.update(t.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return f"prepare_runner-{h.hexdigest()}"
