"""Cloud / shadow / nodata masking from quality layers (Sentinel-2 SCL, Landsat QA_PIXEL, Fmask).

The class codes and bit positions are data (``eoxr/data/masks.json``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import numpy as np
import xarray as xr

from .. import bands as _bands
from .._attrs import append_history, finalize
from .._dask.overlap import map_overlap
from .._dims import spatial_dims
from .._resolved import ResolvedBands, resolve_cube
from ..errors import BandNotFoundError, GridMismatchError, ParameterError

MaskKind = Literal["scl", "qa_pixel", "fmask"]


@lru_cache(maxsize=1)
def conventions() -> dict[str, Any]:
    """The quality-layer table (``eoxr/data/masks.json``)."""
    data = json.loads(resources.files("eoxr.data").joinpath("masks.json").read_text())
    return {k: v for k, v in data.items() if isinstance(v, dict)}


def _find_mask(cube: xr.DataArray | xr.Dataset, kind: str | None) -> tuple[xr.DataArray, str]:
    labels = _bands.band_labels(cube)
    conv = conventions()
    kinds = [kind] if kind else list(conv)
    for k in kinds:
        for name in conv[k]["band_names"]:
            if name in labels:
                return _bands.select_band(cube, name), k
    tried = [n for k in kinds for n in conv[k]["band_names"]]
    raise BandNotFoundError(
        kind or "quality layer",
        labels,
        tried,
        hint="Load the quality band with the cube (e.g. bands=[..., 'SCL']) or pass it as "
        "mask=<DataArray> with kind='scl'|'qa_pixel'|'fmask'.",
    )


def _codes(kind: str, classes: Iterable[str | int] | None) -> tuple[str, list[int]]:
    conv = conventions()
    if kind not in conv:
        raise ParameterError(f"unknown mask kind {kind!r}; expected one of {sorted(conv)}.")
    spec = conv[kind]
    table = spec["classes"] if spec["kind"] == "classes" else spec["bits"]
    out = []
    for c in spec["default"] if classes is None else classes:
        if isinstance(c, int | np.integer):
            out.append(int(c))
        elif c in table:
            out.append(int(table[c]))
        else:
            raise ParameterError(
                f"unknown {kind} class {c!r}; known: {sorted(table)} "
                "(or give integer codes/bit numbers)."
            )
    return spec["kind"], out


def _check_options(kind: str | None, classes: object, buffer: object) -> None:
    """Validate the literal-valued options before any work."""
    if kind is not None and kind not in conventions():
        known = sorted(conventions())
        raise ParameterError(f"unknown mask kind {kind!r}; expected one of {known}.")
    if isinstance(buffer, bool) or not isinstance(buffer, int | np.integer) or buffer < 0:
        raise ParameterError(f"buffer={buffer!r}: give a whole number of pixels >= 0.")
    if classes is not None and not isinstance(classes, Iterable):
        raise ParameterError(f"classes={classes!r}: give a list of class names or codes.")


def _dilate(block: np.ndarray, radius: int) -> np.ndarray:
    from scipy.ndimage import binary_dilation

    yy, xx = np.mgrid[-radius : radius + 1, -radius : radius + 1]
    disk = (yy**2 + xx**2) <= radius**2
    struct = disk.reshape((1,) * (block.ndim - 2) + disk.shape)
    return binary_dilation(block, structure=struct)


def _grow(bad: xr.DataArray, buffer: int) -> xr.DataArray:
    """The mask grown by ``buffer`` pixels (a disk), chunk-exactly with a halo."""
    if not buffer:
        return bad
    ydim, xdim = spatial_dims(bad)
    return map_overlap(
        _dilate,
        bad,
        {ydim: buffer, xdim: buffer},
        boundary="none",
        dtype=bool,
        kwargs={"radius": int(buffer)},
    )


def cloud_mask(
    cube: xr.DataArray | xr.Dataset | None = None,
    *,
    mask: xr.DataArray | None = None,
    kind: MaskKind | None = None,
    classes: Iterable[str | int] | None = None,
    buffer: int = 0,
) -> xr.DataArray:
    """Boolean mask (True = unusable) from a quality layer, lazily.

    Parameters
    ----------
    cube : DataArray or Dataset, optional
        Cube holding the quality layer as a band/variable (``SCL``, ``QA_PIXEL``, ``fmask``).
    mask : DataArray, optional
        The quality layer itself, when it is not part of ``cube``.
    kind : {"scl", "qa_pixel", "fmask"}, optional
        Convention of the layer (found from its name when omitted).
    classes : iterable of str or int, optional
        Classes (SCL/Fmask names or codes) or flags (QA_PIXEL bit names or numbers) to mask.
        Default: clouds, cloud shadows, cirrus, nodata and saturated pixels.
    buffer : int
        Grow the mask by this many pixels (a disk), done chunk-exactly with a halo.

    Returns
    -------
    DataArray
        Boolean, named ``cloud_mask``, on the quality layer's grid; lazy for dask input.

    Raises
    ------
    ParameterError
        Unknown ``kind`` or class, negative ``buffer``, or no quality layer given.
    BandNotFoundError
        The cube has no quality layer of a known name.

    Examples
    --------
    >>> import eoxr.datasets
    >>> scene = eoxr.datasets.synthetic_s2(shape=(32, 32), times=3)
    >>> m = cloud_mask(mask=scene.extras["scl"], classes=["cloud_high_probability"])
    >>> m.dtype.name, m.dims
    ('bool', ('time', 'y', 'x'))
    """
    if isinstance(classes, str):  # one class name, not its letters
        classes = [classes]
    _check_options(kind, classes, buffer)
    if mask is None:
        if cube is None:
            raise ParameterError("give a cube holding a quality layer or mask=<DataArray>.")
        mask, kind = _find_mask(cube, kind)
    elif kind is None:
        name = str(mask.name or "")
        kind = next((k for k, v in conventions().items() if name in v["band_names"]), None)
        if kind is None:
            raise ParameterError(
                f"cannot tell the convention of mask {name!r}: pass kind='scl'|'qa_pixel'|'fmask'."
            )
    style, codes = _codes(kind, classes)
    if style == "classes":
        bad = mask.isin(codes)
    else:
        bits = sum(1 << b for b in codes)
        bad = (mask.astype("int64") & bits) != 0
    if np.issubdtype(mask.dtype, np.floating):
        bad = bad | mask.isnull()
    bad = _grow(bad, buffer)
    return bad.rename("cloud_mask").assign_attrs(
        long_name=f"masked pixels ({kind}: {list(classes) if classes else 'default classes'})"
    )


def mask_clouds(
    cube: xr.DataArray | xr.Dataset,
    *,
    mask: xr.DataArray | None = None,
    kind: MaskKind | None = None,
    classes: Iterable[str | int] | None = None,
    buffer: int = 0,
    keep_mask_band: bool = False,
    method: Literal["qa", "csmask"] = "qa",
    product_level: Literal["l1c", "l2a"] = "l1c",
) -> xr.DataArray | xr.Dataset:
    """Set masked pixels (clouds, shadows, nodata...) to NaN, lazily.

    The quality layer is taken from the cube (``SCL``, ``QA_PIXEL`` or ``fmask`` band/variable)
    or given as ``mask``. Spectral values become float32 (integers cannot hold NaN); the quality
    layer is dropped unless ``keep_mask_band``. ``method="csmask"`` needs no quality layer: the
    ukis-csmask cloud / cloud-shadow U-Net classifies the cube's own reflectance
    (:func:`eoxr.prep.csmask.csmask`; optional extra ``csmask``).

    Parameters
    ----------
    cube : DataArray or Dataset
        Optical cube, with its quality layer as a band/variable unless ``mask`` is given or
        ``method="csmask"`` (then float reflectance with blue, green, red, nir and ideally
        swir16, swir22, any alias).
    mask, kind, classes, buffer
        As for :func:`cloud_mask`. With ``method="csmask"``, ``classes`` are ``"cloud"``,
        ``"cloud shadow"`` (both by default) or their codes 1, 2.
    keep_mask_band : bool
        Keep the quality layer in the result (unmasked).
    method : {"qa", "csmask"}
        Mask from a quality layer, or from the ukis-csmask model.
    product_level : {"l1c", "l2a"}
        ``method="csmask"`` only: the model for top-of-atmosphere or surface reflectance.

    Returns
    -------
    DataArray or Dataset
        Same type as ``cube``, masked pixels NaN, lazy for dask input.

    Raises
    ------
    GridMismatchError
        The quality layer is on another grid than the cube.
    ParameterError, BandNotFoundError
        As for :func:`cloud_mask`.

    Examples
    --------
    >>> import eoxr.datasets
    >>> scene = eoxr.datasets.synthetic_s2(shape=(32, 32), times=3)
    >>> clear = scene.cube.eo.mask_clouds(mask=scene.extras["scl"])
    >>> bool(clear.isnull().any())
    True
    """
    if method == "csmask":
        rb = resolve_cube(cube)  # once: csmask and the masking below read it
        bad, history = _csmask_bad(cube, rb, mask, kind, classes, buffer, product_level)
        return _apply_mask(cube, rb, bad, history, set(), keep_mask_band)
    if method != "qa":
        raise ParameterError(f"method={method!r}: expected 'qa' (a quality layer) or 'csmask'.")
    bad = cloud_mask(cube, mask=mask, kind=kind, classes=classes, buffer=buffer)
    ydim, xdim = spatial_dims(cube)
    if bad.sizes.get(ydim) != cube.sizes[ydim] or bad.sizes.get(xdim) != cube.sizes[xdim]:
        raise GridMismatchError(
            f"mask grid {dict(bad.sizes)} does not match the cube grid {dict(cube.sizes)}; "
            "load the quality layer on the same grid (e.g. with the same odc-stac geobox)."
        )
    mask_labels = {str(bad.name), *(n for v in conventions().values() for n in v["band_names"])}
    what = list(classes) if classes else "default"
    history = f"mask_clouds: kind={kind or 'auto'}, classes={what}, buffer={buffer}"
    return _apply_mask(cube, resolve_cube(cube), bad, history, mask_labels, keep_mask_band)


def _apply_mask(
    cube: xr.DataArray | xr.Dataset,
    rb: ResolvedBands,
    bad: xr.DataArray,
    history: str,
    mask_labels: set[str],
    keep_mask_band: bool,
) -> xr.DataArray | xr.Dataset:
    """NaN where ``bad``; quality-layer bands/variables (``mask_labels``) dropped or kept."""
    ydim, _ = rb.spatial or spatial_dims(cube)
    if isinstance(cube, xr.Dataset):
        out = xr.Dataset(coords=cube.coords, attrs=append_history(cube.attrs, history))
        for k, v in cube.data_vars.items():
            if str(k) in mask_labels and not keep_mask_band:
                continue
            keep = str(k) in mask_labels or ydim not in v.dims
            out[k] = v if keep else _float(v).where(~bad)
        return out
    dim = rb.band_dim
    data = cube
    if dim is not None and not keep_mask_band:
        labels = [lab for lab in rb.labels if lab not in mask_labels]
        if len(labels) < cube.sizes[dim]:
            data = cube.sel({dim: labels})
    out = _float(data).where(~bad)
    return finalize(out, cube, keep_value_attrs=True, history=history)


def _csmask_bad(
    cube: xr.DataArray | xr.Dataset,
    rb: ResolvedBands,
    mask: xr.DataArray | None,
    kind: str | None,
    classes: Iterable[str | int] | None,
    buffer: int,
    product_level: str,
) -> tuple[xr.DataArray, str]:
    """Where the ukis-csmask U-Net sees the ``classes`` (cloud, shadow), and the history line."""
    from .csmask import CSMASK_CLASSES, csmask_resolved

    if mask is not None or kind is not None:
        raise ParameterError(
            "method='csmask' classifies the cube itself: drop mask=/kind= (they choose a "
            "quality layer for method='qa')."
        )
    if isinstance(classes, str):
        classes = [classes]
    _check_options(None, classes, buffer)
    names = {name: code for code, name in CSMASK_CLASSES.items() if code}  # not "clear"
    codes = []
    for c in sorted(names.values()) if classes is None else classes:
        if isinstance(c, int | np.integer):
            code = int(c) if int(c) in names.values() else None
        else:  # "cloud shadow", "cloud_shadow" or "shadow"
            key = str(c).lower().replace("_", " ")
            code = names.get(key, names.get(f"cloud {key}"))
        if code is None:
            known = ", ".join(f"{n!r} ({k})" for n, k in names.items())
            raise ParameterError(f"unknown csmask class {c!r}; known: {known}.")
        codes.append(int(code))
    labels = csmask_resolved(cube, rb, product_level=product_level)
    bad = _grow(labels.isin(codes), buffer)
    history = (
        f"mask_clouds: method=csmask (ukis-csmask {product_level} U-Net), "
        f"classes={sorted(set(codes))}, buffer={buffer}"
    )
    return bad, history


def _float(da: xr.DataArray) -> xr.DataArray:
    return da if np.issubdtype(da.dtype, np.floating) else da.astype("float32")


__all__ = ["conventions", "cloud_mask", "mask_clouds"]
