"""``index`` and ``indices``: xarray wrappers around the fused kernel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from .. import _attrs
from .. import bands as _bands
from .. import radiometry as _radiometry
from .._dask.blockwise import map_bands, map_pixels
from .._dask.chunking import is_dask, is_whole
from .._resolved import ResolvedBands, resolve_cube
from ..errors import DataTypeError, GridMismatchError, ParameterError, UnitsError
from . import _expr, _kernel
from ._resolve import (
    ConstantValue,
    CubeBands,
    Resolved,
    check_kernel,
    check_names,
    check_user_constants,
    resolve_requests,
)

Cube = xr.DataArray | xr.Dataset


def _block(
    *blocks: np.ndarray,
    plan: _kernel.Plan,
    constants: tuple[float, ...],
    scale: float,
    offset: float,
    nodata: float,
    threads: int,
    check: tuple[str, str, str] | None = None,
) -> tuple[np.ndarray, ...]:
    """Kernel of one chunk (or of the whole numpy cube): all indices, one array each.

    ``check``: the value check of :func:`eoxr.radiometry.check_block` run on each float input
    first (fused into the same task: a sample of rows, a few percent of the kernel's time).
    """
    if check is not None:
        expect, what, fix = check
        for b in blocks:
            if b.dtype.kind == "f":
                _radiometry.check_block(b, expect=expect, what=what, fix=fix)
    return _kernel.evaluate(plan, blocks, constants, scale, offset, nodata, threads)


def _block_bands(
    block: np.ndarray, *, band_axis: int, positions: tuple[int, ...], **kw: object
) -> tuple[np.ndarray, ...]:
    """Kernel of one band-stacked chunk: the needed bands are views into it, never copies."""
    index = [slice(None)] * block.ndim
    views = []
    for p in positions:
        index[band_axis] = p
        views.append(block[tuple(index)])
    return _block(*views, **kw)


def _band_arrays(
    cube: Cube, labels: Sequence[str], cb: CubeBands, dim: str | None
) -> list[xr.DataArray]:
    """The cube's band arrays (lazy selections), on one set of dims (``dim``: the band dim)."""
    if dim is not None:  # labels come from bands.band_labels: select by position (fast)
        arrays = [cube.isel({dim: cb.labels.index(lab)}, drop=True).rename(lab) for lab in labels]
    else:
        arrays = [_bands.select_band(cube, lab, sensor=cb.sensor) for lab in labels]
    dims = arrays[0].dims
    for a in arrays[1:]:
        if set(a.dims) != set(dims):
            raise GridMismatchError(
                f"bands {labels[0]!r} and {a.name!r} have dims {dims} and {a.dims}; align them "
                "first (e.g. load all bands at one resolution)."
            )
    return [a if a.dims == dims else a.transpose(*dims) for a in arrays]


def _check_inputs(
    arrays: Sequence[xr.DataArray], cube: Cube, rb: ResolvedBands, scale: float | None
) -> tuple[str, str, str] | None:
    """Refuse what would give a silently wrong index: DN without a scale, or scaling twice.

    Decided from dtypes and attrs (:mod:`eoxr.radiometry`), so that nothing is computed at call
    time. Returns the value check the kernel runs on every float block, ``(expect, what, fix)``
    (attrs cannot be trusted: ``cube * 1e-4`` keeps ``units="DN"``), or ``None``.
    """
    for a in arrays:
        kind = np.dtype(a.dtype).kind
        if kind == "b" or kind not in "fiu":
            raise DataTypeError(
                f"band {a.name!r} has dtype {a.dtype}: spectral indices need numeric reflectance."
            )
        if kind in "iu" and scale is None:
            raise DataTypeError(
                f"band {a.name!r} holds integer digital numbers ({a.dtype}), not reflectance. "
                "Pass scale= (and offset=, nodata=) to convert in the same pass, e.g. "
                "`cube.eo.index('NDVI', scale=1e-4, nodata=0)` for Sentinel-2 L1C/L2A "
                "(`scale=1e-4, offset=-0.1` for processing baseline >= 04.00, from 2022-01-25; "
                "`scale=2.75e-5, offset=-0.2` for Landsat Collection 2 L2), or convert first: "
                "`cube.eo.to_reflectance()` (it reads the product's scale and offset)."
            )
    floats = [a for a in arrays if np.dtype(a.dtype).kind == "f"]
    if not floats:
        return None
    kind = rb.kind  # only "DN or not" matters here
    units = _radiometry.declared_units(cube)
    if scale is not None and scale != 1 and kind != "dn":
        a = floats[0]
        raise UnitsError(
            f"scale={scale:g} was given but band {a.name!r} is already floating point "
            f"({a.dtype}{f', units {units!r}' if units is not None else ''}): it is taken to be "
            f"reflectance, and scaling it again would multiply every value by {scale:g} (an EVI "
            f"of 0.18 would become {0.18 * scale:.2g}). Drop scale=. If the values really are "
            "digital numbers stored as floats, say so with `cube.attrs['units'] = 'DN'`, or "
            "convert first (`cube.eo.to_reflectance(scale=1e-4)`)."
        )
    if scale is None and kind == "dn":
        raise UnitsError(
            f"the attrs say the bands hold digital numbers (units {units!r}), not "
            "reflectance: pass scale= (and offset=, nodata=), e.g. "
            "`cube.eo.index('NDVI', scale=1e-4)`, or convert first with "
            "`cube.eo.to_reflectance()`. If they were scaled by hand already (xarray arithmetic "
            "keeps `units`), say so: `cube.assign_attrs(units='1').eo.index('NDVI')`."
        )
    if scale is not None and scale != 1:
        return (
            "dn",
            f"index(scale={scale:g})",
            "Drop scale=: `cube.assign_attrs(units='1').eo.index(...)`.",
        )
    return (
        "reflectance",
        "index",
        "Convert them first: `cube.eo.to_reflectance()` (Sentinel-2, Landsat Collection 2 "
        "Level-2) or `cube.eo.to_reflectance(scale=1e-4)`; or declare "
        "`cube.attrs['units'] = 'DN'` and pass scale= to index.",
    )


def _plan(
    resolved: Sequence[Resolved],
    labels: Sequence[str],
    constants: Sequence[str],
    rescale: bool,
    use_nodata: bool,
) -> _kernel.Plan:
    lab_idx = {lab: i for i, lab in enumerate(labels)}
    const_idx = {c: i for i, c in enumerate(constants)}
    formulas = []
    for r in resolved:

        def var(nm: str, r: Resolved = r) -> str:
            if nm in r.band_labels:
                return f"x{lab_idx[r.band_labels[nm]]}"
            return f"c{const_idx[nm]}"

        inputs = tuple(sorted({lab_idx[lab] for lab in r.band_labels.values()}))
        formulas.append(
            _kernel.Formula(_expr.to_source(r.tree, var), inputs, _expr.is_nan_blind(r.tree))
        )
    return _kernel.Plan(tuple(formulas), len(labels), len(constants), rescale, use_nodata)


def requests(names: str | Sequence[str] | Mapping[str, str]) -> list[tuple[str | None, str]]:
    """Normalise ``names`` to ``[(output name or None, name or formula), ...]``."""
    if isinstance(names, str):
        return [(None, names)]
    if isinstance(names, Mapping):
        return [(str(k), v) for k, v in names.items()]
    return [(None, n) for n in names]


def compute(
    cube: Cube,
    requests: list[tuple[str | None, str]],
    *,
    scale: float | None,
    offset: float,
    nodata: float | None,
    kernel: str,
    user: Mapping[str, ConstantValue],
) -> list[xr.DataArray]:
    if not requests:
        raise ParameterError("no index requested: pass names such as ['NDVI', 'EVI']")
    check_names(t for _, t in requests)
    check_kernel(kernel)
    rb = resolve_cube(cube)
    cb, resolved = resolve_requests(cube, rb, requests, user, kernel)
    names = [r.name for r in resolved]
    if len(set(names)) != len(names):
        raise ParameterError(f"duplicate output names {names}: pass a mapping {{name: formula}}")
    check_user_constants(user, set().union(*(r.used for r in resolved)))
    labels = list(dict.fromkeys(lab for r in resolved for lab in r.band_labels.values()))
    consts = list(dict.fromkeys(c for r in resolved for c in r.constants))
    if not labels:
        raise ParameterError(f"{names} read no band: a spectral index needs at least one band")
    arrays = _band_arrays(cube, labels, cb, rb.band_dim)
    check = _check_inputs(arrays, cube, rb, scale)
    rescale = (scale is not None and scale != 1) or offset != 0  # offset alone is honoured
    plan = _plan(resolved, labels, consts, rescale, nodata is not None)
    values = tuple(next(r.constants[c] for r in resolved if c in r.constants) for c in consts)
    out_dtype = _kernel.output_dtype([a.dtype for a in arrays])
    threads = 1 if any(is_dask(a) for a in arrays) else _kernel.n_threads()
    kw = {
        "plan": plan,
        "constants": values,
        "scale": float(1.0 if scale is None else scale),
        "offset": float(offset),
        "nodata": float("nan" if nodata is None else nodata),
        "threads": threads,
        "check": check,
    }
    dim = rb.band_dim
    if (
        dim is not None
        and is_whole(cube, dim)
        and arrays[0].dims == tuple(d for d in cube.dims if d != dim)
    ):
        # One task per chunk straight on the cube's band-stacked chunks (no selection tasks).
        kw["positions"] = tuple(cb.labels.index(lab) for lab in labels)
        results = map_bands(
            _block_bands,
            cube,
            dim,
            n_out=len(resolved),
            dtype=out_dtype,
            kwargs=kw,
            token="eoxr-indices",
        )
    else:  # a Dataset, or bands in several chunks: one lazy selection per band
        results = map_pixels(
            _block, arrays, n_out=len(resolved), dtype=out_dtype, kwargs=kw, token="eoxr-indices"
        )
    # deep=False: the grid coords and indexes are shared with the input (as xarray arithmetic
    # does), not copied for every index; finalize builds new attrs.
    return [
        _finish(arrays[0].copy(deep=False, data=results[k]), cube, r, scale, offset)
        for k, r in enumerate(resolved)
    ]


def _finish(
    result: xr.DataArray, cube: Cube, r: Resolved, scale: float | None, offset: float
) -> xr.DataArray:
    bands_txt = ", ".join(f"{s}={lab}" for s, lab in sorted(r.band_labels.items()))
    const_txt = ", ".join(f"{c}={v:g}" for c, v in sorted(r.constants.items()))
    e = r.entry
    attrs = {"formula": r.formula, "index_bands": bands_txt}
    if const_txt:
        attrs["index_constants"] = const_txt
    if e is not None:
        attrs.update(
            reference=e.reference,
            application_domain=e.application_domain,
            index_source="Awesome Spectral Indices" if e.source == "asi" else "user",
        )
    if scale is not None or offset != 0:
        factor = 1.0 if scale is None else scale
        attrs["input_scaling"] = f"reflectance = DN * {factor:g} + {offset:g}"
    history = f"index {r.name} = {r.formula} with {bands_txt}" + (
        f"; {const_txt}" if const_txt else ""
    )
    return _attrs.finalize(
        result,
        cube,
        name=r.name,
        long_name=e.long_name if e is not None else r.name,
        history=history,
        attrs=attrs,
    )
