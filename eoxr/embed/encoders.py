"""The :func:`encoder` factory: a torch module, an ONNX file, random features or a spec.

The :class:`Encoder` it returns (a model with its preprocessing) lives in
:mod:`eoxr.models.encoder`, which the encoder modules (``rcf``, ``specs``, ``onnx``) build on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ParameterError
from ..models.encoder import Encoder, check_dtype, make_encoder, select


def encoder(
    model: Any,
    *,
    bands: Sequence[str] | None = None,
    mean: Any = None,
    std: Any = None,
    scale: float | None = None,
    patch: int | None = None,
    name: str | None = None,
    **options: Any,
) -> Encoder:
    """Wrap a model with its preprocessing, build a published encoder, or random conv features.

    Parameters
    ----------
    model : torch.nn.Module, onnxruntime.InferenceSession, str or path
        A torch module taking ``(N, C, H, W)`` and returning ``(N, K)`` (one vector per patch)
        or dense maps; an ONNX session or ``.onnx`` file; ``"rcf"`` for random convolutional
        features (:func:`eoxr.embed.rcf.rcf_encoder`: ``features``, ``size``, ``seed``,
        ``mode``, ``data``...); or the name of a published spec in :data:`eoxr.embed.SPECS`
        (then ``weights=`` a local file, required, and ``arch=``; nothing is downloaded;
        ``random=True, seed=0`` instead of ``weights=`` builds random weights on purpose).
    bands : sequence of str
        Input bands in the model's order, any alias :mod:`eoxr.bands` knows (default for a spec:
        its bands).
    mean, std : float or sequence of float
        Per-band statistics in the units of ``reflectance * scale`` (default 0 and 1).
    scale : float
        Factor from the cube's float reflectance to the constants' units (default 1).
    patch : int, optional
        Default patch size for :func:`eoxr.embed.embed`.
    name : str, optional
        Name recorded in result attrs.
    **options
        For ``"rcf"`` and spec names only (see above).

    Returns
    -------
    Encoder

    Examples
    --------
    >>> import torch
    >>> enc = encoder(torch.nn.Identity(), bands=["red", "nir"], mean=[500, 2500],
    ...               std=[300, 900], scale=10000)
    >>> enc.eoxr_preprocess["scale"]
    10000.0
    """
    if isinstance(model, str) and model == "rcf":
        from .rcf import rcf_encoder

        return rcf_encoder(
            bands=bands, mean=mean, std=std, scale=scale, patch=patch, name=name, **options
        )
    if isinstance(model, str) and not model.endswith(".onnx") and not Path(model).is_file():
        from .specs import spec_encoder

        return spec_encoder(
            model, bands=bands, mean=mean, std=std, scale=scale, patch=patch, name=name, **options
        )
    if options:
        raise ParameterError(
            f"unexpected options {sorted(options)}: they apply to encoder('rcf', ...) and to "
            "published specs only."
        )
    if isinstance(model, str | Path) and not Path(model).is_file():
        raise ParameterError(f"ONNX file {str(model)!r} does not exist.")
    if (
        isinstance(model, str | Path)
        and bands is None
        and Path(model).with_suffix(".json").is_file()
    ):
        from ..models.encoder import load_onnx_encoder

        return load_onnx_encoder(model, mean=mean, std=std, scale=scale, patch=patch, name=name)
    if bands is None:
        raise ParameterError("bands= is required: the model's input bands in its order.")
    return make_encoder(
        model,
        bands=bands,
        mean=0.0 if mean is None else mean,
        std=1.0 if std is None else std,
        scale=1.0 if scale is None else scale,
        patch=patch,
        name=name,
    )


__all__ = ["Encoder", "encoder", "make_encoder", "select", "check_dtype"]
