"""Spectral indices: the whole Awesome Spectral Indices catalog, computed in one fused pass.

``cube.eo.index("NDVI")`` and ``cube.eo.indices(["NDVI", "EVI", "NDWI"])`` map the cube's bands
to the ASI symbols (:func:`eoxr.bands.symbol_mapping`), fill constants from the ASI constants
table, compile each formula with a safe ``ast`` compiler into one numba kernel, and evaluate all
requested indices in a single pass over the bands (one dask task per chunk).

Numerical rules
---------------
* Arithmetic is float64 inside the kernel; results are always stored as float32 (float16,
  float64 and integer inputs alike).
* NaN in -> NaN out.
* A zero denominator gives NaN, not +-inf; more generally the result is never +-inf: poles of a
  formula (``x / 0``, ``0 ** -1``) and values beyond the output dtype are NaN.
* A negative number raised to a fractional power is NaN (e.g. ``TVI`` where NDVI < -0.5).
* Integer digital numbers are refused unless ``scale=`` (and ``offset=``, ``nodata=``) say how
  to turn them into reflectance; the conversion happens inside the kernel, in the same pass.

Compilation
-----------
Each distinct set of formulas is compiled once (about 0.5 s per 16 formulas) and cached in
memory and on disk, in ``~/.cache/eoxr/kernels`` (``$EOXR_CACHE_DIR``; ``EOXR_KERNEL_CACHE=0``
turns the disk cache off), so later sessions and dask worker processes load machine code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import xarray as xr

from . import _compute
from ._catalog import SpectralIndex, register_index, unregister_index
from ._query import catalog
from ._resolve import ConstantValue

Cube = xr.DataArray | xr.Dataset


def index(
    cube: Cube,
    name: str,
    *,
    scale: float | None = None,
    offset: float = 0.0,
    nodata: float | None = None,
    kernel: str = "RBF",
    **constants: ConstantValue,
) -> xr.DataArray:
    """Compute one spectral index (catalog name or formula), lazily on dask cubes.

    Parameters
    ----------
    cube : DataArray or Dataset
        Reflectance cube: a DataArray with a ``band`` (or ``wavelength``) dimension or a Dataset
        with one variable per band. Bands are found by label (``B08``, ``SR_B5``), common name
        (``nir``) or alias, through :mod:`eoxr.bands`.
    name : str
        An Awesome Spectral Indices short name (``"NDVI"``, ``"kNDVI"``...; a unique
        case-insensitive match is accepted), a name registered with :func:`register_index`, or a
        formula such as ``"(N - R) / (N + R)"``. Formulas may use ASI symbols (``N``, ``R``,
        ``S1``...), band names or labels (``nir``, ``B08``), constants, ``+ - * / **``,
        comparisons and ``where abs sqrt exp log tanh min max``; they are compiled from their
        syntax tree, never ``eval``-ed.
    scale, offset : float, optional
        Turn digital numbers into reflectance inside the kernel: ``DN * scale + offset``.
        Required for integer input (e.g. ``scale=1e-4`` for Sentinel-2 L1C) and for float input
        whose ``units`` attr is ``"DN"``/``"counts"``. A ``scale`` on other float input is
        refused (:class:`~eoxr.errors.UnitsError`): float bands are taken to be reflectance
        already, unless their attrs say they are raw (``units="DN"``/``"counts"``, or a file
        ``scale_factor`` other than 1 left unapplied); this is decided from dtype and attrs,
        without reading data. ``offset`` alone is applied to float input with a scale of 1.
    nodata : float, optional
        Input value that means "no data" (e.g. ``0`` for Sentinel-2 DN); it becomes NaN.
    kernel : {"RBF", "poly", "linear"}
        Kernel ``k(a, b)`` of the kernel indices (kNDVI, kEVI...), as defined by ASI. The RBF
        length scale ``sigma`` defaults to the catalog's 0.5; ``sigma="0.5 * (N + R)"`` gives the
        per-pixel choice of Camps-Valls et al. (2021), for which kNDVI = tanh(NDVI ** 2).
    **constants : float or str
        Constant overrides (``L=0.25``, ``g=2.5``...). Defaults come from the ASI constants
        table; wavelength constants (``lambdaN``...) default to the centre wavelength of the
        cube's band for that symbol. A constant may also be a formula string (evaluated per
        pixel). An index whose constant has no default (e.g. ``PAR``) raises
        :class:`~eoxr.errors.ParameterError` naming it.

    Returns
    -------
    DataArray
        Named after the index, on the cube's grid (band dim removed, other dims in order),
        float32, lazy for dask input, with ``long_name``, ``formula``, ``reference``, the band
        mapping and constants in attrs, the CRS kept and a history line.

    Raises
    ------
    BandNotFoundError
        The cube lacks a band; the message names it and lists the computable indices.
    DataTypeError
        Integer input without ``scale=``.
    UnitsError
        ``scale=`` on float input that is already reflectance, or DN-labelled input without it.
    AmbiguousBandsError
        The band labels mean different bands on several sensors (declare the sensor).
    CatalogError, ParameterError
        Unknown index, disallowed formula, missing or unknown constant.

    Notes
    -----
    Division by zero gives NaN (not +-inf); see the module docstring for all numerical rules.

    Examples
    --------
    >>> import eoxr, eoxr.testing as et
    >>> cube = et.make_cube(bands=["B02", "B04", "B08"], chunks={"time": 1})
    >>> ndvi = cube.eo.index("NDVI")
    >>> ndvi.name, ndvi.dtype.name, ndvi.dims
    ('NDVI', 'float32', ('time', 'y', 'x'))
    >>> savi = cube.eo.index("SAVI", L=0.25)
    >>> custom = cube.eo.index("(N - R) / (N + R)")
    """
    return _compute.compute(
        cube,
        [(None, name)],
        scale=scale,
        offset=offset,
        nodata=nodata,
        kernel=kernel,
        user=constants,
    )[0]


def indices(
    cube: Cube,
    names: str | Sequence[str] | Mapping[str, str],
    *,
    scale: float | None = None,
    offset: float = 0.0,
    nodata: float | None = None,
    kernel: str = "RBF",
    **constants: ConstantValue,
) -> xr.Dataset:
    """Compute several indices in ONE pass over the bands; return a Dataset.

    Every requested formula is compiled into one kernel: each band chunk is read once and one
    dask task per chunk produces all the indices (one output array each, no copy when the
    Dataset is assembled). Ten indices cost far less than ten calls of :func:`index`.

    Parameters
    ----------
    cube : DataArray or Dataset
        As for :func:`index`.
    names : list of str or mapping
        Index names and/or formulas; a mapping ``{output_name: name_or_formula}`` names custom
        formulas.
    scale, offset, nodata, kernel, **constants
        As for :func:`index`; constants apply to every index that uses them.

    Returns
    -------
    Dataset
        One variable per index, each as :func:`index` returns it.

    Examples
    --------
    >>> import eoxr, eoxr.testing as et
    >>> cube = et.make_cube(bands=["B02", "B03", "B04", "B08"])
    >>> ds = cube.eo.indices(["NDVI", "EVI", "NDWI"])
    >>> list(ds.data_vars)
    ['NDVI', 'EVI', 'NDWI']
    >>> ds2 = cube.eo.indices({"my_ratio": "N / R", "GNDVI": "GNDVI"})
    """
    from .. import _attrs

    arrays = _compute.compute(
        cube,
        _compute.requests(names),
        scale=scale,
        offset=offset,
        nodata=nodata,
        kernel=kernel,
        user=constants,
    )
    ds = xr.Dataset({a.name: a for a in arrays})
    return _attrs.finalize_dataset(ds, cube, history=f"indices {[a.name for a in arrays]}")


__all__ = ["index", "indices", "catalog", "register_index", "unregister_index", "SpectralIndex"]
