"""Digital numbers to reflectance (:func:`to_reflectance`), lazily, with the product's scaling."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .. import _attrs
from .._bandtable import band_labels
from .._dask.blockwise import map_blocks
from ..errors import ParameterError, UnitsError
from ._metadata import Cube, as_number
from .checks import check_block
from .kinds import optical_evidence
from .products import CubeFacts, Facts, Scaling


def _dn_kernel(
    block: np.ndarray, *, scale: float, offset: float, nodata: tuple[float, ...], check: bool
) -> np.ndarray:
    if check:
        check_block(
            block,
            expect="dn",
            what="to_reflectance",
            fix="Use the cube as it is (set `cube.attrs['units'] = '1'`).",
        )
    x = block.astype(np.float64)
    bad = ~np.isfinite(x)
    for v in nodata:
        bad |= x == v
    q = 1.0 / scale
    if q == round(q) and offset * q == round(offset * q):
        # a quantification value (Sentinel-2: 10000): (DN + offset DN) / q, as the product
        # specification writes it, so that the float32 result is the correctly rounded quotient
        out = ((x + round(offset * q)) / round(q)).astype(np.float32)
    else:
        out = (x * scale + offset).astype(np.float32)
    out[bad] = np.nan
    return out


def _file_nodata(cube: xr.DataArray) -> tuple[float, ...]:
    for key in ("_FillValue", "nodata"):
        for src in (cube.attrs, cube.encoding):
            v = as_number(src.get(key, float("nan")))
            if np.isfinite(v):
                return (v,)
    try:
        v = cube.rio.nodata
    except Exception:  # rioxarray needs spatial dims
        v = None
    return (float(v),) if v is not None and np.isfinite(v) else ()


def _nodata_values(given: float | None, product: Scaling | None, cube: xr.DataArray) -> tuple:
    out = list(_file_nodata(cube))
    if given is not None:
        out.append(float(given))
    elif product is not None:
        out += list(product.nodata)
    return tuple(dict.fromkeys(out))


def _not_reflective(label: object) -> bool:
    """A quality layer (SCL, QA_PIXEL...) or a thermal band (Landsat ST_B10...)."""
    from ..bands import canonical_name, is_quality_band

    return is_quality_band(str(label)) or (canonical_name(str(label)) or "").startswith("lwir")


def _refuse_non_reflective(facts: Facts) -> None:
    dim = facts.band_dim
    bad = [lab for lab in facts.labels if _not_reflective(lab)] if dim else []
    if bad:
        raise ParameterError(
            f"to_reflectance: bands {bad} are quality layers or thermal bands, not reflectance; "
            f"drop them first: `cube.drop_sel({dim}={bad}).eo.to_reflectance()` (a Dataset keeps "
            "such variables unchanged)."
        )


def to_reflectance(
    cube: Cube,
    *,
    scale: float | None = None,
    offset: float | None = None,
    nodata: float | None = None,
) -> Cube:
    """Digital numbers to float32 reflectance (``units="1"``), lazily, from what the product says.

    Known products (see :func:`product_scaling`): Sentinel-2 L1C and L2A (DN / 10000, with the
    -1000 DN offset of processing baseline 04.00 and later when the attrs or product id give
    the baseline; a cube acquired on/after 2022-01-25 without it raises) and Landsat
    Collection 2 Level-2 surface reflectance (DN * 2.75e-5 - 0.2). Anything else (Landsat
    Level-1, hyperspectral DN...) needs ``scale=`` (and ``offset=``). DN 0 of the known products,
    the file's nodata value and ``nodata`` become NaN.

    The values are checked when computed: a block whose typical value is below 2 is already
    reflectance (scaled by hand while the attrs still say DN) and raises
    :class:`~eoxr.errors.UnitsError` instead of being scaled twice. A cube declared reflectance
    (``units="1"`` on an optical product, ``scale_applied``) is returned unchanged.

    Parameters
    ----------
    cube : DataArray or Dataset
        Digital numbers (integers, or floats with ``units="DN"``). A Dataset keeps its quality
        layers (SCL, QA_PIXEL...) and thermal bands unchanged.
    scale, offset : float, optional
        ``reflectance = DN * scale + offset``, for products eoxr does not know (e.g. the
        ``REFLECTANCE_MULT_BAND_x`` / ``REFLECTANCE_ADD_BAND_x`` of a Landsat Level-1 MTL file).
    nodata : float, optional
        A DN that means no data (default: the product's, 0 for Sentinel-2 and Landsat C2 L2).

    Returns
    -------
    DataArray or Dataset
        float32 reflectance, ``units="1"``, ``scale_applied`` / ``offset_applied`` attrs and a
        ``history`` line naming the product; lazy for dask input.

    Raises
    ------
    UnitsError
        The product is unknown and ``scale=`` is not given; the cube is SAR data or already
        reflectance and ``scale=`` is given; a Sentinel-2 baseline cannot be known.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> dn = xr.DataArray(np.array([[[0, 1000, 2500]]], "uint16"), dims=("band", "y", "x"),
    ...                   coords={"band": ["B04"]}, attrs={"platform": "sentinel-2a"})
    >>> to_reflectance(dn).values.tolist()
    [[[nan, 0.10000000149011612, 0.25]]]
    >>> new = to_reflectance(dn.assign_attrs(processing_baseline="04.00"))
    >>> np.round(new.values.astype(float), 4).tolist()
    [[[nan, 0.0, 0.15]]]
    """
    if isinstance(cube, xr.Dataset):
        return _dataset_to_reflectance(cube, scale=scale, offset=offset, nodata=nodata)
    return convert_dn(cube, CubeFacts(cube), scale, offset, nodata)


def convert_dn(
    cube: xr.DataArray,
    facts: Facts,
    scale: float | None,
    offset: float | None,
    nodata: float | None,
) -> xr.DataArray:
    """:func:`to_reflectance` of a DataArray with its :class:`Facts` resolved by the verb."""
    kind = facts.kind
    given = scale is not None or offset is not None
    if kind in ("dB", "linear"):
        raise UnitsError(
            f"to_reflectance converts optical digital numbers, but the cube is SAR backscatter "
            f"({kind}, from its attrs); keep it as it is (`cube.eo.to_db()` / "
            "`cube.eo.to_linear()` switch its domain)."
        )
    if kind == "reflectance":
        if given:
            raise UnitsError(
                f"the cube is already reflectance ({optical_evidence(cube) or 'its attrs'}): "
                f"scale={scale} would scale it twice. Drop scale=/offset=, or if the values "
                "really are digital numbers, say so with `cube.attrs['units'] = 'DN'`."
            )
        return cube
    _refuse_non_reflective(facts)
    product = None
    if scale is None:
        if offset is not None:
            raise ParameterError(f"offset={offset} without scale=: pass both, e.g. scale=1e-4.")
        product = facts.product()
        if product is None:
            raise UnitsError(
                "to_reflectance cannot tell the product of this cube (not Sentinel-2 L1C/L2A, "
                "not Landsat Collection 2 Level-2 from its band labels and attrs), so it cannot "
                "know the scale. Pass it: `cube.eo.to_reflectance(scale=2e-5, offset=-0.1)` "
                "(e.g. REFLECTANCE_MULT_BAND_x / REFLECTANCE_ADD_BAND_x of a Landsat Level-1 "
                "MTL file), or declare the platform: `cube.attrs['platform'] = 'sentinel-2a'`."
            )
        s, o, source = product.scale, product.offset, product.source
    else:
        s, o = float(scale), float(0.0 if offset is None else offset)
        if not (np.isfinite(s) and s > 0 and np.isfinite(o)):
            raise ParameterError(f"scale={scale!r}, offset={offset!r}: give finite numbers, >0.")
        source = f"scale={s:g}, offset={o:g} given"
    nd = _nodata_values(nodata, product, cube)
    kw = {"scale": s, "offset": o, "nodata": nd, "check": np.dtype(cube.dtype).kind == "f"}
    data = map_blocks(_dn_kernel, cube, dtype=np.float32, kwargs=kw)
    out = _attrs.finalize(
        cube.copy(data=data),
        cube,
        long_name="reflectance",
        units="1",
        attrs={"scale_applied": s, "offset_applied": o},
        history=f"to_reflectance: reflectance = DN * {s:g} + {o:g}, nodata {list(nd)} -> NaN "
        f"({source})",
    )
    return out


def _dataset_to_reflectance(ds: xr.Dataset, **kw: Any) -> xr.Dataset:
    out = {}
    for name, var in ds.data_vars.items():
        if _not_reflective(name) or name not in band_labels(ds):
            out[name] = var
            continue
        attrs = {**ds.attrs, **var.attrs}
        out[name] = to_reflectance(var.assign_attrs(attrs), **kw)
    res = xr.Dataset(out, attrs=dict(ds.attrs))
    return _attrs.finalize_dataset(res, ds, history="to_reflectance on each band variable")


__all__ = ["to_reflectance"]
