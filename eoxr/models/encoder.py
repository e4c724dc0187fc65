"""Encoders: a model together with the preprocessing it was trained with.

An :class:`Encoder` carries the bands (picked by name, any alias :mod:`eoxr.bands` knows), the
reflectance ``scale`` and the per-band ``mean``/``std``: the model receives, band by band in the
encoder's order, ``(reflectance * scale - mean) / std``. It exposes the encoder protocol of
:func:`eoxr.ml.apply_model` (``eoxr_model`` and ``eoxr_preprocess``), so the same object runs
in :func:`eoxr.embed.embed` (one vector per patch) and in ``apply_model`` (dense outputs).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .._resolved import ResolvedBands, resolve_cube
from ..bands import resolve_band, to_array
from ..errors import DataTypeError, ParameterError, ReadError
from .pipeline import NORMALIZATIONS, Pipeline


@dataclass(frozen=True, eq=False)
class Encoder:
    """A model and its input preprocessing (see :func:`encoder`)."""

    #: torch module, ONNX ``InferenceSession`` or path of a ``.onnx`` file.
    model: Any
    #: Input bands in the model's order (labels, common names or aliases).
    bands: tuple[str, ...]
    #: Per-band mean, in the units of ``reflectance * scale``.
    mean: tuple[float, ...]
    #: Per-band standard deviation, in the units of ``reflectance * scale``.
    std: tuple[float, ...]
    #: Factor from the cube's float reflectance to the units the constants are in (10000: DN).
    scale: float = 1.0
    #: Default patch size of :func:`eoxr.embed.embed` (the model's input size), if any.
    patch: int | None = None
    #: Name recorded in the attrs of the results.
    name: str = "encoder"
    #: Published facts (spec name, GSD, output size, licence...) carried into result attrs.
    info: dict = field(default_factory=dict)
    #: Per-patch preprocessing beyond ``(x * scale - mean) / std`` (resize, crop, clip, padded
    #: bands, other normalizations), run on each batch of patches; ``None``: none.
    pipeline: Pipeline | None = None

    @property
    def eoxr_model(self) -> Any:
        """The model :func:`eoxr.ml.apply_model` runs (encoder protocol)."""
        return self.model

    @property
    def eoxr_preprocess(self) -> dict:
        """Default preprocessing of :func:`eoxr.ml.apply_model` (encoder protocol).

        With a :attr:`pipeline`, the bands read from the cube and the pipeline as ``transform``
        (it does the scaling and normalization itself).
        """
        if self.pipeline is not None:
            return {"bands": list(self.pipeline.read_bands), "transform": self.pipeline}
        return {
            "bands": list(self.bands),
            "mean": list(self.mean),
            "std": list(self.std),
            "scale": float(self.scale),
        }

    def preprocess(self, cube: xr.DataArray | xr.Dataset) -> xr.DataArray:
        """The cube as the model sees it: encoder bands in order, scaled and standardised.

        Lazy for dask input; extra dims are kept and the band dim is last but two.

        Examples
        --------
        >>> import eoxr.testing as et
        >>> from eoxr.embed import encoder
        >>> enc = encoder(None, bands=["nir", "red"], mean=[0.2, 0.1], std=[0.1, 0.1])
        >>> enc.preprocess(et.make_cube(times=None)).band.values.tolist()
        ['B08', 'B04']
        """
        if self.pipeline is not None:
            raise ParameterError(
                f"encoder {self.name!r} preprocesses patch by patch "
                f"({[s['op'] for s in self.pipeline.steps]}): its model input exists per patch "
                "only. Embed with `eoxr.embed.embed(cube, enc)`, or run one batch of patches "
                "through `enc.pipeline(batch)`."
            )
        da = select(cube, self.bands)
        check_dtype(da, self)
        mean = xr.DataArray(np.asarray(self.mean, np.float32), dims=[da.dims[-3]])
        std = xr.DataArray(np.asarray(self.std, np.float32), dims=[da.dims[-3]])
        return (da.astype(np.float32) * np.float32(self.scale) - mean) / std

    def describe(self) -> dict:
        """Plain attributes naming the encoder and its preprocessing (for result attrs)."""
        out = {
            "encoder": self.name,
            "encoder_bands": list(self.bands),
            "encoder_mean": [float(v) for v in self.mean],
            "encoder_std": [float(v) for v in self.std],
            "encoder_scale": float(self.scale),
        }
        out.update({f"encoder_{k}": v for k, v in self.info.items()})
        if self.pipeline is not None:
            out["encoder_pipeline"] = json.dumps(self.pipeline.describe())
        return out

    def __repr__(self) -> str:
        return (
            f"Encoder({self.name!r}, bands={list(self.bands)}, scale={self.scale:g}, "
            f"patch={self.patch})"
        )


def select(cube: xr.DataArray | xr.Dataset, bands: Sequence[str]) -> xr.DataArray:
    """The cube as ``(*other, band, y, x)`` with exactly ``bands`` in order, picked by name.

    Raises :class:`~eoxr.errors.BandNotFoundError` naming the first band the cube lacks.
    """
    from .._dims import require_band_dim, spatial_dims

    da = to_array(cube)
    bdim = require_band_dim(da)
    labels = [resolve_band(da, b) for b in bands]
    return _ordered(da.sel({bdim: labels}), bdim, spatial_dims(da))


def select_resolved(
    cube: xr.DataArray | xr.Dataset, rb: ResolvedBands, bands: Sequence[str]
) -> tuple[xr.DataArray, ResolvedBands]:
    """:func:`select` reading the bands from ``rb`` (resolved once by the verb).

    Returns the selection and its value (``rb`` reduced to the selected bands).
    """
    if isinstance(cube, xr.Dataset) or rb.band_dim is None or rb.spatial is None:
        da = select(cube, bands)  # a layout change first: the selection is resolved anew
        return da, resolve_cube(da)
    # a band rb cannot name (absent, or ambiguous labels) raises as resolve_band does
    labels = [rb.label(b) or resolve_band(cube, b) for b in bands]
    return _ordered(cube.sel({rb.band_dim: labels}), rb.band_dim, rb.spatial), rb.select(labels)


def _ordered(da: xr.DataArray, bdim: str, spatial: tuple[str, str]) -> xr.DataArray:
    ydim, xdim = spatial
    other = [d for d in da.dims if d not in (bdim, ydim, xdim)]
    return da.transpose(*other, bdim, ydim, xdim)


def check_dtype(da: xr.DataArray, enc: Encoder) -> None:
    """Refuse integer digital numbers when the encoder scales reflectance (it would scale twice)."""
    if np.issubdtype(da.dtype, np.integer) and enc.scale != 1.0:
        raise DataTypeError(
            f"the cube holds integers ({da.dtype}, digital numbers?) but encoder {enc.name!r} "
            f"multiplies float reflectance by scale={enc.scale:g}: DN would be scaled twice. "
            "Convert to reflectance first: `cube.eo.to_reflectance()` (Sentinel-2, Landsat C2 "
            "L2; with the product's scale otherwise, e.g. "
            "`cube.eo.to_reflectance(scale=1e-4)`), or build the encoder with scale=1 if the "
            "cube is already in the units of its mean/std."
        )


def _per_band(values: Any, n: int, what: str) -> tuple[float, ...]:
    arr = np.atleast_1d(np.asarray(values, dtype=np.float64))
    if arr.size == 1:
        arr = np.repeat(arr, n)
    if arr.ndim != 1 or arr.size != n:
        raise ParameterError(f"{what} has {arr.size} values for {n} bands: give one per band.")
    if not np.isfinite(arr).all():
        raise ParameterError(f"{what} must be finite, got {arr.tolist()}.")
    return tuple(float(v) for v in arr)


def make_encoder(
    model: Any,
    *,
    bands: Sequence[str],
    mean: Any = 0.0,
    std: Any = 1.0,
    scale: float = 1.0,
    patch: int | None = None,
    name: str | None = None,
    info: dict | None = None,
    input_size: int | None = None,
    resize: str = "bilinear",
    antialias: bool = False,
    crop: int | None = None,
    clip: Sequence[float] | None = None,
    normalize: str | Mapping | None = None,
    pad: Mapping[str, float] | None = None,
    steps: Sequence[Mapping] | None = None,
) -> Encoder:
    """Validate the preprocessing and build an :class:`Encoder` (no model building here).

    The pipeline keywords (``input_size`` ... ``pad``, or the whole ordered ``steps``) are
    those of :func:`eoxr.embed.encoder`.
    """
    if isinstance(bands, str) or not bands:
        raise ParameterError(
            f"bands={bands!r}: give the model's input bands as a list, e.g. "
            "bands=['blue', 'green', 'red', 'nir']."
        )
    bands = tuple(str(b) for b in bands)
    n = len(bands)
    mean_t, std_t = _per_band(mean, n, "mean"), _per_band(std, n, "std")
    if min(std_t) <= 0:
        raise ParameterError(f"std must be positive for every band, got {list(std_t)}.")
    if not (np.isfinite(scale) and scale > 0):
        raise ParameterError(f"scale={scale!r} must be a positive number (e.g. 10000 for DN).")
    if patch is not None and (not isinstance(patch, int | np.integer) or patch < 1):
        raise ParameterError(f"patch={patch!r} must be a positive integer (pixels).")
    if name is None:
        name = Path(model).name if isinstance(model, str | Path) else type(model).__name__
    opts = dict(input_size=input_size, resize=resize, antialias=antialias, crop=crop)
    opts.update(clip=clip, normalize=normalize, pad=pad)
    pipeline = _pipeline(bands, mean_t, std_t, float(scale), steps, **opts)
    if pipeline is not None and steps is not None:  # the steps' constants are the encoder's
        mean_t, std_t, scale = _constants(pipeline)
    return Encoder(
        model=str(model) if isinstance(model, Path) else model,
        bands=bands,
        mean=mean_t,
        std=std_t,
        scale=float(scale),
        patch=None if patch is None else int(patch),
        name=str(name),
        info=dict(info or {}),
        pipeline=pipeline,
    )


def _pipeline(
    bands: tuple[str, ...],
    mean: tuple[float, ...],
    std: tuple[float, ...],
    scale: float,
    steps: Sequence[Mapping] | None,
    *,
    input_size: int | None,
    resize: str,
    antialias: bool,
    crop: int | None,
    clip: Sequence[float] | None,
    normalize: str | Mapping | None,
    pad: Mapping[str, float] | None,
) -> Pipeline | None:
    """The encoder's pipeline; ``None`` when it is ``(x * scale - mean) / std`` only."""
    simple = (input_size, crop, clip, normalize, pad) == (None,) * 5
    if steps is not None:
        if not simple or resize != "bilinear" or antialias:
            raise ParameterError(
                "steps= is the whole pipeline: give the resize, crop, clip, normalization and "
                "padding inside it, not also as keywords."
            )
        return Pipeline.build(bands, steps)
    if simple:
        if resize != "bilinear" or antialias:
            raise ParameterError(
                f"resize={resize!r}, antialias={antialias!r} apply with input_size=: e.g. "
                "encoder(model, ..., input_size=224, resize='bilinear')."
            )
        return None
    out: list[dict] = []
    if pad:
        out.append({"op": "pad", "bands": dict(pad)})
    out.append({"op": "scale", "by": scale})
    if clip is not None:
        lo, hi = _pair(clip, "clip")
        out.append({"op": "clip", "min": lo, "max": hi})
    if normalize is None or normalize == "standardize":
        out.append({"op": "standardize", "mean": list(mean), "std": list(std)})
    elif normalize == "minmax":
        out.append({"op": "stretch", "lower": 0.0, "upper": 100.0})
    elif isinstance(normalize, Mapping) and normalize.get("op") in NORMALIZATIONS:
        out.append(dict(normalize))
    else:
        raise ParameterError(
            f"normalize={normalize!r}: expected 'standardize' (mean/std, the default), "
            "'minmax', {'op': 'divide', 'by': 3000, 'min': 0, 'max': 1} or "
            "{'op': 'stretch', 'lower': 2, 'upper': 98} (percentiles per patch)."
        )
    if input_size is not None:
        out.append({"op": "resize", "size": input_size, "mode": resize, "antialias": antialias})
    if crop is not None:
        out.append({"op": "crop", "size": crop})
    return Pipeline.build(bands, out)


def _pair(v: Any, what: str) -> tuple[float, float]:
    try:
        lo, hi = (float(a) for a in v)
    except (TypeError, ValueError) as err:
        raise ParameterError(f"{what}={v!r}: give (min, max), e.g. {what}=(0, 10000).") from err
    return lo, hi


def _constants(p: Pipeline) -> tuple[tuple[float, ...], tuple[float, ...], float]:
    """``mean``, ``std``, ``scale`` an explicit pipeline amounts to (for attrs, units check)."""
    n = len(p.bands)
    std_step, div = p.step("standardize"), p.step("divide")
    if std_step is not None:
        return std_step["mean"], std_step["std"], p.scale
    if div is not None:
        return (0.0,) * n, (div["by"],) * n, p.scale
    return (0.0,) * n, (1.0,) * n, p.scale


def spec_from_json(path: str | os.PathLike) -> dict:
    """Encoder arguments from a ukis-csmask style JSON sidecar of an ONNX model.

    Parameters
    ----------
    path : str or path-like
        The ``.json`` file (or the ``.onnx`` file: its sidecar is looked up beside it).

    Returns
    -------
    dict
        ``bands``, ``mean``, ``std``, ``scale`` (1: the statistics are in reflectance),
        ``patch`` (the training tile size), ``classes`` and ``name``: pass all but ``classes``
        to :func:`eoxr.embed.encoder` with the ``.onnx`` path.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> side = {"data": {"dataset_statistics": {"img": [[0.1, 0.2], [0.05, 0.1]],
    ...         "band_names": ["red", "nir"]}, "target_size": [256, 256], "classes": 3},
    ...         "model": {"version": "1.0"}}
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = pathlib.Path(d, "m.json"); _ = p.write_text(json.dumps(side))
    ...     spec_from_json(p)["bands"]
    ['red', 'nir']
    """
    path = Path(path)
    if path.suffix == ".onnx":
        path = path.with_suffix(".json")
    try:
        doc = json.loads(path.read_text())
        data = doc["data"]
        stats = data["dataset_statistics"]
        mean, std = stats["img"]
        bands = list(stats["band_names"])
    except FileNotFoundError as err:
        raise ReadError(f"no JSON sidecar {str(path)!r} beside the model.") from err
    except (KeyError, ValueError, TypeError) as err:
        raise ReadError(
            f"{str(path)!r} is not a model sidecar with data.dataset_statistics.img (mean, std) "
            f"and band_names: {type(err).__name__}: {err}"
        ) from err
    size = data.get("target_size")
    return {
        "bands": bands,
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "scale": 1.0,
        "patch": int(size[0]) if size else None,
        "classes": int(data.get("classes", 0)) or None,
        "name": f"{path.stem} {doc.get('model', {}).get('version', '')}".strip(),
    }


def load_onnx_encoder(path: str | os.PathLike, **kw: Any) -> Encoder:
    """:func:`eoxr.embed.encoder` for an ``.onnx`` file whose sidecar gives what ``kw`` lacks."""
    spec = spec_from_json(path)
    spec.pop("classes")
    spec.update({k: v for k, v in kw.items() if v is not None})
    return make_encoder(str(path), **spec)


__all__ = [
    "Encoder",
    "make_encoder",
    "select",
    "check_dtype",
    "spec_from_json",
    "load_onnx_encoder",
]
