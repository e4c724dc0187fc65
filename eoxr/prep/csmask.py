"""ukis-csmask cloud and cloud-shadow U-Nets on Sentinel-2 reflectance (optional extra ``csmask``).

The cloud masking that needs no quality layer: ``cube.eo.mask_clouds(method="csmask")`` masks the
cube with it (:func:`eoxr.prep.masking.mask_clouds`) and ``cube.eo.cloud_mask_csmask()`` gives
the class map itself (:func:`csmask`). The ONNX models ship with the ``ukis-csmask`` package;
they run through :func:`eoxr.ml.apply_model` in blended patches.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import xarray as xr

from .._attrs import finalize
from .._dask.blockwise import map_blocks
from .._resolved import ResolvedBands, resolve_cube
from ..bands import resolve_band
from ..errors import BandNotFoundError, ParameterError
from ..models.encoder import Encoder, make_encoder, spec_from_json
from ..radiometry import as_reflectance

#: Class values of the cloud / cloud-shadow map of :func:`csmask`.
CSMASK_CLASSES = {0: "clear", 1: "cloud", 2: "cloud shadow"}
_SIX = ("blue", "green", "red", "nir", "swir16", "swir22")


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
    return _encoder(cube, resolve_cube(cube), product_level)


def _encoder(cube: xr.DataArray | xr.Dataset, rb: ResolvedBands, product_level: str) -> Encoder:
    try:
        for b in _SIX[4:]:
            rb.label(b) or resolve_band(cube, b)  # resolve_band raises what rb cannot name
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
    >>> cube = et.make_cube(bands=["B02", "B03", "B04", "B08"], ny=64, nx=64, times=None)
    >>> csmask(cube, patch=64, overlap=16).dims  # doctest: +SKIP
    ('y', 'x')
    """
    options = dict(patch=patch, overlap=overlap, batch_size=batch_size, device=device)
    return csmask_resolved(cube, resolve_cube(cube), product_level=product_level, **options)


def csmask_resolved(
    cube: xr.DataArray | xr.Dataset,
    rb: ResolvedBands,
    *,
    product_level: str = "l1c",
    patch: int = 256,
    overlap: int = 52,
    batch_size: int = 4,
    device: str | None = None,
) -> xr.DataArray:
    """:func:`csmask` on a cube whose bands the calling verb resolved once (``rb``).

    The options and their defaults are those of :func:`csmask`.
    """
    from ..ml.apply import apply_resolved

    # the U-Nets' statistics are in reflectance: DN of a known product are converted, other DN
    # refused, and float values in the thousands raise when computed (eoxr.radiometry)
    what = "csmask (a cloud model trained on reflectance)"
    cube, rb = as_reflectance(cube, rb, what=what)
    enc = _encoder(cube, rb, product_level)
    scores = apply_resolved(
        cube,
        rb,
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


__all__ = ["CSMASK_CLASSES", "csmask", "csmask_encoder", "csmask_model", "csmask_resolved"]
