"""ONNX models with a JSON sidecar, and the ukis-csmask cloud / cloud-shadow U-Nets.

``ukis-csmask`` (Apache-2.0, DLR; Wieland et al. 2019, RSE 230:111203) ships Sentinel-2 U-Nets
as ONNX files, each with a JSON file beside it holding the band order and the normalisation
statistics. :func:`spec_from_json` reads such a sidecar into the arguments of
:func:`eoxr.embed.encoder`, and :func:`csmask` runs the model through
:func:`eoxr.ml.apply_model` (lazy, chunk-invariant, one ONNX session per worker process).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

from .._attrs import finalize
from .._dask.blockwise import map_blocks
from ..bands import resolve_band
from ..errors import BandNotFoundError, ParameterError, ReadError
from ..radiometry import require_reflectance
from ._encoder import Encoder, make_encoder

#: Class values of the cloud / cloud-shadow map of :func:`csmask`.
CSMASK_CLASSES = {0: "clear", 1: "cloud", 2: "cloud shadow"}
_SIX = ("blue", "green", "red", "nir", "swir16", "swir22")


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


def csmask_model(n_bands: int, product_level: str = "l1c") -> Path:
    """Path of the ukis-csmask ONNX model with ``n_bands`` (4 or 6) inputs."""
    if product_level not in ("l1c", "l2a"):
        raise ParameterError(f"product_level={product_level!r}: expected 'l1c' or 'l2a'.")
    import importlib.util

    spec = importlib.util.find_spec("ukis_csmask")
    if spec is None or spec.origin is None:
        raise ImportError(
            "the csmask models come with the ukis-csmask package: `pip install eoxr[csmask]` "
            "(or `pip install ukis-csmask onnxruntime`)."
        )
    return Path(spec.origin).parent / f"model_{n_bands}b_{product_level}.onnx"


def csmask_encoder(cube: xr.DataArray | xr.Dataset, product_level: str = "l1c") -> Encoder:
    """The 6-band model when the cube has both SWIR bands, else the 4-band one, as an encoder."""
    try:
        for b in _SIX[4:]:
            resolve_band(cube, b)
        n = 6
    except BandNotFoundError:
        n = 4
    path = csmask_model(n, product_level)
    spec = spec_from_json(path)
    spec.pop("classes")
    return make_encoder(str(path), **spec)


def _classes(block: np.ndarray, *, axis: int) -> np.ndarray:
    lab = np.argmax(np.nan_to_num(block, nan=-np.inf), axis=axis).astype(np.float32)
    lab[np.isnan(block).any(axis=axis)] = np.nan
    return lab


def csmask(
    cube: xr.DataArray | xr.Dataset,
    *,
    product_level: Literal["l1c", "l2a"] = "l1c",
    patch: int = 256,
    overlap: int = 52,
    batch_size: int = 4,
    device: str | None = None,
) -> xr.DataArray:
    """Cloud and cloud-shadow classes of Sentinel-2 reflectance with the ukis-csmask U-Nets.

    Parameters
    ----------
    cube : DataArray or Dataset
        Float top-of-atmosphere (``l1c``) or surface (``l2a``) reflectance in [0, 1] with
        blue, green, red, nir and, for the better 6-band model, swir16 and swir22 (any alias).
        The models were trained at about 30 m. Sentinel-2 digital numbers are converted first
        (:func:`eoxr.radiometry.to_reflectance`); DN of an unknown product raise
        :class:`~eoxr.errors.UnitsError`, and so do float values in the thousands, when
        computed.
    product_level : {"l1c", "l2a"}
        Which model family to use.
    patch, overlap : int
        Side of the square patch and its overlap in pixels (the models' 256 px tiles;
        ukis-csmask overlaps 20 %).
    batch_size : int
        Patches per ONNX run.
    device : str, optional
        ``"cpu"`` or ``"cuda"`` (default: CUDA when onnxruntime has it).

    Returns
    -------
    DataArray
        float32 class per pixel: 0 clear, 1 cloud, 2 cloud shadow (``flag_values`` /
        ``flag_meanings`` attrs); NaN where the input is NaN. Lazy for a dask cube, identical on
        any chunking. ukis-csmask's own ``CSmask`` also buffers invalid pixels into a binary
        valid mask; do that on this map if wanted.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> cube = et.make_cube(["B02", "B03", "B04", "B08"], ny=64, nx=64, times=None)
    >>> csmask(cube, patch=64, overlap=16).dims  # doctest: +SKIP
    ('y', 'x')
    """
    from ..ml.apply import apply_model

    # the U-Nets' statistics are in reflectance: DN of a known product are converted, other DN
    # refused, and float values in the thousands raise when computed (eoxr.radiometry)
    cube = require_reflectance(cube, what="csmask (a cloud model trained on reflectance)")
    enc = csmask_encoder(cube, product_level)
    scores = apply_model(
        cube,
        enc,
        input_dims={"y": patch, "x": patch},
        input_overlap={"y": overlap, "x": overlap},
        batch_size=batch_size,
        device=device,
        output_dim="class",
    )
    cdim = "class"
    data = map_blocks(
        _classes,
        scores,
        dtype=np.float32,
        whole=[cdim],
        drop_dims=[cdim],
        kwargs={"axis": scores.get_axis_num(cdim)},
    )
    dims = [d for d in scores.dims if d != cdim]
    out = xr.DataArray(data, dims=dims, coords={d: scores[d] for d in dims if d in scores.coords})
    return finalize(
        out,
        scores,
        name="csmask",
        long_name="cloud and cloud shadow (ukis-csmask)",
        units="1",
        history=f"csmask(model={enc.name!r}, patch={patch}, overlap={overlap})",
        attrs={"flag_values": [0, 1, 2], "flag_meanings": "clear cloud cloud_shadow"},
    )


def load_onnx_encoder(path: str | os.PathLike, **kw: Any) -> Encoder:
    """:func:`eoxr.embed.encoder` for an ``.onnx`` file whose sidecar gives what ``kw`` lacks."""
    spec = spec_from_json(path)
    spec.pop("classes")
    spec.update({k: v for k, v in kw.items() if v is not None})
    return make_encoder(str(path), **spec)


__all__ = ["csmask", "csmask_encoder", "csmask_model", "spec_from_json", "load_onnx_encoder"]
