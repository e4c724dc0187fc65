"""The :func:`encoder` factory: a torch module, an ONNX file, random features or a spec.

The :class:`Encoder` it returns (a model with its preprocessing) lives in
:mod:`eoxr.models.encoder`, which the encoder modules (``rcf``, ``specs``, ``onnx``) build on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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
    input_size: int | None = None,
    resize: str = "bilinear",
    antialias: bool = False,
    crop: int | None = None,
    clip: Sequence[float] | None = None,
    normalize: str | Mapping | None = None,
    pad: Mapping[str, float] | None = None,
    steps: Sequence[Mapping] | None = None,
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
        Default patch size for :func:`eoxr.embed.embed` (the size patches are *cut* at).
    name : str, optional
        Name recorded in result attrs.
    input_size : int, optional
        The model's input size: each patch, after band selection and normalization, is resized
        to ``input_size`` x ``input_size`` before the model (as
        ``torch.nn.functional.interpolate(mode=resize, align_corners=False,
        antialias=antialias)``), e.g. 32 px patches embedded at the 224 px a model was
        pretrained on. Shorthand for one ``resize`` step.
    resize : {"bilinear", "bicubic", "nearest"}
        Resampling of ``input_size``.
    antialias : bool
        Antialias filter when resizing (matters when shrinking).
    crop : int, optional
        Central crop to ``crop`` x ``crop`` after the resize (``input_size=256, crop=224``:
        torchgeo's Resize(256) + CenterCrop(224)).
    clip : (float, float), optional
        Clip ``reflectance * scale`` to ``(min, max)`` before the normalization.
    normalize : str or dict, optional
        The normalization: ``"standardize"`` (default: ``(reflectance * scale - mean) / std``),
        ``{"op": "divide", "by": 3000, "min": 0, "max": 1}`` (divide, then clip),
        ``{"op": "stretch", "lower": 2, "upper": 98}`` (per patch and band: the percentiles of
        its valid pixels to 0-1, clipped) or ``"minmax"`` (stretch 0-100).
    pad : dict, optional
        Bands of ``bands`` the cube lacks, fed as a constant reflectance instead (e.g.
        ``{"B10": 0.0}`` for an L1C model on L2A); they go through the other steps too.
    steps : list of dict, optional
        The whole pipeline as ordered steps of :mod:`eoxr.models.pipeline` instead of the
        keywords above (and of mean/std/scale), e.g. ``[{"op": "scale", "by": 10000},
        {"op": "divide", "by": 3000, "min": 0, "max": 1}, {"op": "resize", "size": 224}]``.
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
    >>> enc = encoder(torch.nn.Identity(), bands=["red", "nir"], input_size=224)
    >>> enc.pipeline(torch.zeros(1, 2, 32, 32).numpy()).shape
    (1, 2, 224, 224)
    """
    prep = dict(input_size=input_size, resize=resize, antialias=antialias, crop=crop)
    prep.update(clip=clip, normalize=normalize, pad=pad, steps=steps)
    given = {k: v for k, v in prep.items() if v != _DEFAULTS.get(k)}
    if isinstance(model, str) and model == "rcf":
        from .rcf import rcf_encoder

        if given:
            raise ParameterError(
                f"encoder('rcf') takes no preprocessing pipeline ({sorted(given)}): random "
                "convolutional features work at any patch size; embed with the patch= you want."
            )
        return rcf_encoder(
            bands=bands, mean=mean, std=std, scale=scale, patch=patch, name=name, **options
        )
    if isinstance(model, str) and not model.endswith(".onnx") and not Path(model).is_file():
        from .specs import spec_encoder

        if "steps" in given:
            raise ParameterError(
                f"steps= replaces a spec's whole pipeline: wrap the network yourself, "
                f"encoder(module, steps=[...]), or give {model!r} the keywords input_size=, "
                "crop=, clip=, normalize=, pad=."
            )
        return spec_encoder(
            model,
            bands=bands,
            mean=mean,
            std=std,
            scale=scale,
            patch=patch,
            name=name,
            **{k: prep[k] for k in given},
            **options,
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

        return load_onnx_encoder(
            model, mean=mean, std=std, scale=scale, patch=patch, name=name, **prep
        )
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
        **prep,
    )


_DEFAULTS = {"resize": "bilinear", "antialias": False}

__all__ = ["Encoder", "encoder", "make_encoder", "select", "check_dtype"]
