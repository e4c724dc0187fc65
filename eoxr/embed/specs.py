"""Published encoder preprocessing (``SPECS``) and building encoders from it.

The constants live in ``eoxr/embed/data/specs.json``, each with the repository file it was read
from; golden tests pin them. Nothing is downloaded: weights come from a local file, loaded with
``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ModelError, ParameterError, ReadError
from ..models.encoder import Encoder, make_encoder

#: Pipeline keywords of :func:`eoxr.embed.encoder` (see :func:`pipeline_keywords`).
_PIPELINE_KEYS = ("input_size", "resize", "antialias", "crop", "clip", "normalize", "pad")


@dataclass(frozen=True)
class Spec:
    """One published preprocessing of a pretrained encoder."""

    #: Registry key.
    name: str
    #: What the constants describe.
    description: str
    #: Input bands in the model's order.
    bands: tuple[str, ...]
    #: Factor from float reflectance to the constants' units (``None``: not reflectance).
    scale: float | None
    #: Per-band mean and standard deviation, in the units of ``reflectance * scale``.
    mean: tuple[float, ...]
    std: tuple[float, ...]
    #: The model's input size in pixels (what :attr:`pipeline` makes of a patch; also the
    #: default patch size), ground sampling distance in metres.
    input_size: int | None
    gsd: float | None
    #: Embedding length per architecture.
    output_size: dict = field(default_factory=dict)
    #: Architectures :func:`eoxr.embed.encoder` can build for these weights.
    arch: tuple[str, ...] = ()
    #: Licence of the weights (``None``: not verified).
    licence: str | None = None
    #: Repository and file the constants were read from.
    source: str = ""
    #: Steps after the per-band standardization, in order (:mod:`eoxr.models.pipeline`):
    #: e.g. ``resize`` to 256 then ``crop`` to 224, as the weights' evaluation transforms.
    pipeline: tuple[dict, ...] = ()
    #: Where the pipeline was read.
    pipeline_source: str = ""

    @property
    def steps(self) -> list[dict]:
        """The whole ordered pipeline: scale, standardize, then :attr:`pipeline`.

        Requires reflectance units (:attr:`scale` not ``None``).
        """
        if self.scale is None:
            raise ParameterError(f"spec {self.name!r} is not in reflectance units: no scale.")
        head = [
            {"op": "scale", "by": self.scale},
            {"op": "standardize", "mean": list(self.mean), "std": list(self.std)},
        ]
        return head + [dict(s) for s in self.pipeline]

    def preprocess(self, *, scale: float | None = None) -> dict:
        """Keyword arguments of :func:`eoxr.embed.encoder` for a module of your own.

        ``scale`` overrides the spec's (required when the spec is not in reflectance units).
        """
        scale = self.scale if scale is None else scale
        if scale is None:
            raise ParameterError(
                f"spec {self.name!r} is not in reflectance units: pass the factor from "
                f"reflectance to its units, SPECS[{self.name!r}].preprocess(scale=...)."
            )
        return {
            "bands": list(self.bands),
            "mean": list(self.mean),
            "std": list(self.std),
            "scale": scale,
            "patch": self.input_size,
            **pipeline_keywords(self.pipeline),
        }


def pipeline_keywords(steps: Any) -> dict:
    """Keywords of :func:`eoxr.embed.encoder` for the steps after standardization.

    Examples
    --------
    >>> pipeline_keywords([{"op": "resize", "size": 256}, {"op": "crop", "size": 224}])
    {'input_size': 256, 'resize': 'bilinear', 'antialias': False, 'crop': 224}
    """
    out: dict = {}
    for s in steps:
        op = s["op"]
        if op == "resize":
            out.update(input_size=s["size"], resize=s.get("mode", "bilinear"))
            out.update(antialias=bool(s.get("antialias", False)))
        elif op == "crop":
            out["crop"] = s["size"]
        elif op == "clip":
            out["clip"] = (s.get("min", -float("inf")), s.get("max", float("inf")))
        elif op == "pad":
            out["pad"] = dict(s["bands"])
        elif op in ("divide", "stretch"):
            out["normalize"] = dict(s)
        else:
            raise ParameterError(f"spec pipeline step {op!r} is not one after standardization.")
    return out


def _load() -> dict[str, Spec]:
    doc = json.loads((Path(__file__).parent / "data" / "specs.json").read_text())
    out = {}
    for name, d in doc.items():
        if name.startswith("_"):
            continue
        out[name] = Spec(
            name=name,
            description=d["description"],
            bands=tuple(d["bands"]),
            scale=None if d["scale"] is None else float(d["scale"]),
            mean=tuple(float(v) for v in d["mean"]),
            std=tuple(float(v) for v in d["std"]),
            input_size=d["input_size"],
            gsd=d["gsd"],
            output_size=dict(d["output_size"] or {}),
            arch=tuple(d["arch"]),
            licence=d["licence"],
            source=d["source"],
            pipeline=tuple(d.get("pipeline", ())),
            pipeline_source=d.get("pipeline_source", ""),
        )
    return out


#: Published encoder specs by name.
SPECS: Mapping[str, Spec] = _load()


def load_weights(model: Any, path: str | os.PathLike, arch: str) -> None:
    """Load a local state dict into ``model`` (strict; the classifier head is ignored)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise ReadError(f"weights file {str(path)!r} does not exist (nothing is downloaded).")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise ReadError(f"cannot read weights {str(path)!r}: {type(err).__name__}: {err}") from err
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise ModelError(f"{str(path)!r} holds a {type(state).__name__}, not a state dict.")
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    want = model.state_dict()
    missing = [k for k in want if k not in state]
    unexpected = [k for k in state if k not in want]
    shapes = [
        f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}"
        for k, v in want.items()
        if k in state and tuple(state[k].shape) != tuple(v.shape)
    ]
    if missing or unexpected or shapes:
        raise ModelError(
            f"weights {path.name!r} do not match architecture {arch!r} with "
            f"{getattr(model, 'in_channels', '?')} input bands: "
            f"{len(missing)} missing keys {missing[:2]}, "
            f"{len(unexpected)} unexpected keys {unexpected[:2]}, shape mismatches "
            f"{shapes[:2]} -- check arch= and the spec's bands."
        )
    model.load_state_dict(state, strict=True)


def spec_encoder(
    spec_name: str,
    *,
    name: str | None = None,
    weights: str | os.PathLike | None = None,
    arch: str | None = None,
    bands: Any = None,
    mean: Any = None,
    std: Any = None,
    scale: float | None = None,
    patch: int | None = None,
    random: bool = False,
    seed: int = 0,
    **unused: Any,
) -> Encoder:
    """Build the network of a published spec and load local weights (see :func:`encoder`).

    ``weights=`` (a local state dict) is required: nothing is downloaded, and a network under a
    published name with random weights would give meaningless embeddings. ``random=True``
    builds randomly initialised weights (seeded by ``seed``) on purpose, for tests and
    benchmarks; without ``weights=`` and ``random=True`` a :class:`~eoxr.errors.ParameterError`
    says what to pass.
    """
    prep = {k: unused.pop(k) for k in _PIPELINE_KEYS if k in unused}
    if unused:
        raise ParameterError(f"unexpected options {sorted(unused)} for spec {spec_name!r}.")
    label, name = name, spec_name
    if name not in SPECS:
        raise ParameterError(
            f"unknown encoder {name!r}: expected a torch module, an ONNX file, 'rcf' or one of "
            f"{sorted(SPECS)}."
        )
    spec = SPECS[name]
    arch = arch or (spec.arch[-1] if spec.arch else None)
    if arch is None or arch not in spec.arch:
        raise ParameterError(
            f"eoxr cannot build {name!r} (architectures it builds: {list(spec.arch) or 'none'}): "
            f"build the network yourself and wrap it: encoder(module, "
            f"**eoxr.embed.SPECS[{name!r}].preprocess())."
        )
    s = spec.scale if scale is None else scale
    if s is None:
        raise ParameterError(f"spec {name!r} is not in reflectance units: pass scale=.")
    if not isinstance(random, bool):
        raise ParameterError(f"random={random!r}: expected True or False.")
    if weights is None and not random:
        raise ParameterError(
            f"encoder({name!r}) needs the published weights as a local file (nothing is "
            f"downloaded): encoder({name!r}, arch={arch!r}, weights='path/to/state_dict.pt'); or "
            f"encoder({name!r}, arch={arch!r}, random=True) for randomly initialised weights "
            "(tests, benchmarks)."
        )
    if weights is not None and random:
        raise ParameterError(
            f"weights={str(weights)!r} and random=True: pass one of them (random=True ignores "
            "the weights)."
        )
    import torch

    from .resnet import resnet

    chosen = list(bands or spec.bands)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = resnet(arch, len(chosen))
    if weights is not None:
        load_weights(model, weights, arch)
    model.eval()
    info = {"spec": name, "arch": arch, "gsd": spec.gsd, "source": spec.source}
    # the spec's own pipeline unless the caller redraws it (keywords replace the spec's steps)
    kw = prep if prep else pipeline_keywords(spec.pipeline)
    if random:
        info["weights"] = f"random (seed={seed})"
    return make_encoder(
        model,
        bands=chosen,
        mean=spec.mean if mean is None else mean,
        std=spec.std if std is None else std,
        scale=s,
        patch=patch or spec.input_size,
        name=label or f"{name}/{arch}",
        info=info,
        **kw,
    )


__all__ = ["SPECS", "Spec", "spec_encoder", "load_weights"]
