"""Band names: the one public module of eoxr that knows them.

Its private helpers hold the rest of that knowledge: :mod:`eoxr._bandtable` (the tables),
:mod:`eoxr._sensors` (finding a cube's sensor), :mod:`eoxr._platforms` (platform strings) and
:mod:`eoxr._advice` (band error messages, with fixes as code for a DataArray or a Dataset).

Every form of band label a cube may carry (Sentinel-2 ``B04``, Landsat ``SR_B4``, STAC common
names such as ``red``, colloquial aliases such as ``swir1`` or ``NIR``) is mapped to one canonical
vocabulary, the STAC ``eo:bands`` common names, and from there to the Awesome Spectral Indices
symbols (``R``, ``N``, ``S1``...) used by index formulas. The tables are data
(``eoxr/data/bands.json``), not code.

A cube is either a DataArray with a band dimension (``band`` or ``wavelength``) or a Dataset with
one variable per band (as :func:`odc.stac.load` returns).

Which sensor?
-------------
The same label means different bands on different sensors (``SR_B4`` is red on Landsat 8/9 OLI
but NIR on Landsat 5/7 TM/ETM+; ``B5`` is NIR on OLI, SWIR on TM and red edge on Sentinel-2), so
labels are read through a sensor, which :func:`resolve_sensor` finds from every clue there is:

1. a declaration: ``attrs["eoxr:sensor"]`` naming a band table (:func:`declare_sensor`);
2. metadata: ``platform``, ``eo:platform``, ``SPACECRAFT_ID``, ``constellation``, ``collection``,
   ``instruments``/``SENSOR_ID``, product or scene IDs (``LANDSAT_PRODUCT_ID``, ``PRODUCT_ID``,
   ``S2A_MSIL1C_...``, ``LC08_L2SP_...``, ``LE70350322008118EDC00``) in the attrs of the cube or
   of a Dataset's variables, in ``source``/``filename`` paths, and prefixes of the band labels
   (``l8_B4``, ``LC08_..._SR_B4``); any common spelling (``LANDSAT_8``, ``Landsat 8``, ``S2B``);
3. the band set: a sensor must know every sensor-style label present (zero-padded ``B04``,
   ``B8A`` and ``B12`` exist only on Sentinel-2, ``SR_B6``/``ST_B10`` only on OLI, ``ST_B6`` only
   on TM/ETM+, ``BQA``/``QA_PIXEL`` only on Landsat, ``SCL`` only on Sentinel-2), plus the
   ``narrow_rules`` of the table (unpadded ``B9`` with ``B10``/``B11``: OLI/TIRS).

When the sensors still possible give the present labels different meanings,
:class:`~eoxr.errors.AmbiguousBandsError` lists each meaning and the one line that settles it;
eoxr never picks one silently. When they all agree, there is no error.
"""

from __future__ import annotations

from collections.abc import Iterable

import xarray as xr

from ._advice import (
    add_band_code,
    missing_band_hint,
    not_found_error,
    relabel_code,
    tried_names,
    unread_labels_hint,
)
from ._bandtable import (
    QUALITY,
    BandTable,
    CommonBand,
    Cube,
    Sensor,
    aliases_of,
    band_labels,
    candidates,
    canonical_name,
    is_quality_band,
    label_mapping,
    normalise_label,
    split_label,
    table,
)
from ._dims import band_dim, require_band_dim, spatial_dims
from ._sensors import (
    SensorResolution,
    ambiguity_error,
    declare_sensor,
    detect_sensor,
    resolve_sensor,
)
from .errors import DimensionError, GridMismatchError


def band_mapping(cube: Cube, *, sensor: str | None = None) -> dict[str, str]:
    """Canonical common name -> the cube's own label, for every recognised band.

    Parameters
    ----------
    cube : DataArray or Dataset
        The cube; its sensor is found as :func:`detect_sensor` finds it.
    sensor : str, optional
        Band table to use instead of detecting one.

    Returns
    -------
    dict
        ``{common name: label}`` (e.g. ``{"red": "B04"}``).

    Raises
    ------
    AmbiguousBandsError
        The labels mean different bands on several possible sensors.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> band_mapping(et.make_cube(bands=["B04", "B08"]))
    {'red': 'B04', 'nir': 'B08'}
    """
    return label_mapping(band_labels(cube), sensor or detect_sensor(cube))


def _lookup(labels: list[str], name: str, sensor: str | None) -> str | None:
    """The label standing for ``name`` when the labels are read with ``sensor``, else None."""
    mapping = label_mapping(labels, sensor)
    return next((mapping[c] for c in candidates(name, sensor) if c in mapping), None)


def resolve_band(cube: Cube, name: str, *, sensor: str | None = None) -> str:
    """Return the cube's own label for ``name`` (a label, common name, alias or ASI symbol).

    Raises
    ------
    BandNotFoundError
        Listing the labels present, the names tried, and code adding or relabelling the band
        for the kind of cube given. Also when the labels are ambiguous but no sensor they may
        come from has the band.
    AmbiguousBandsError
        ``name`` is not a label, the labels mean different bands on several sensors and the
        band is present on some of them.
    """
    labels = band_labels(cube)
    if name in labels:
        return name
    if sensor is None:
        res = resolve_sensor(cube)
        if res.ambiguous:
            found = {s: _lookup(labels, name, s) for s in res.candidates}
            if not any(found.values()):
                raise not_found_error(cube, name, list(res.candidates))
            note = "; ".join(
                f"{name!r} is {lab!r} on {s}" if lab else f"{s} has no {name!r} band here"
                for s, lab in found.items()
            )
            raise ambiguity_error(res, note=note + ".")
        sensor = res.sensor
    label = _lookup(labels, name, sensor)
    if label is None:
        raise not_found_error(cube, name, [sensor])
    return label


def label_symbols(labels: Iterable[str], sensor: str | None) -> dict[str, str]:
    """ASI symbol -> label, reading labels with ``sensor`` (no detection).

    A fallback (e.g. ``N`` from ``nir08`` on Landsat 8/9) is used only when the primary band is
    absent, and a band used by a fallback is not reused under its own symbol.
    """
    tab = table()
    mapping = label_mapping(labels, sensor)
    out: dict[str, str] = {}
    for canon, label in mapping.items():
        sym = tab.common[canon].symbol
        if sym:
            out[sym] = label
    for sym, fallbacks in tab.symbol_fallbacks.items():
        if sym in out:
            continue
        for fb in fallbacks:
            if fb in mapping:
                out[sym] = mapping[fb]
                fb_sym = tab.common[fb].symbol
                if fb_sym and out.get(fb_sym) == mapping[fb]:
                    del out[fb_sym]
                break
    return out


def symbol_mapping(cube: Cube, *, sensor: str | None = None) -> dict[str, str]:
    """ASI symbol (``R``, ``N``, ``S1``...) -> the cube's own label, for every band it can fill.

    See :func:`label_symbols` for the fallbacks (``N`` from ``nir08``).
    """
    return label_symbols(band_labels(cube), sensor or detect_sensor(cube))


# ------------------------------------------------------------------------------ selection
def select_band(cube: Cube, name: str, *, sensor: str | None = None) -> xr.DataArray:
    """One band as a DataArray (named by its label, without the band coordinate).

    Parameters
    ----------
    cube : DataArray or Dataset
        The cube.
    name : str
        The cube's label, a common name (``"nir"``), an alias (``"NIR"``, ``"swir1"``) or an ASI
        symbol (``"N"``).
    sensor : str, optional
        Band table to read the labels with instead of detecting one.

    Returns
    -------
    DataArray
        Lazy for dask cubes.

    Raises
    ------
    BandNotFoundError
        The band is absent (the message lists the labels present and the names tried).
    AmbiguousBandsError
        The labels mean different bands on several possible sensors.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> select_band(et.make_cube(bands=["B04", "B08"]), "nir").name
    'B08'
    """
    label = resolve_band(cube, name, sensor=sensor)
    if isinstance(cube, xr.Dataset):
        return cube[label]
    dim = band_dim(cube)
    if dim is None:
        return cube
    idx = band_labels(cube).index(label)
    out = cube.isel({dim: idx}, drop=True)
    return out.rename(label)


def select_bands(
    cube: Cube, names: Iterable[str], *, sensor: str | None = None
) -> list[xr.DataArray]:
    """Several bands, each as in :func:`select_band`."""
    return [select_band(cube, n, sensor=sensor) for n in names]


def to_array(cube: Cube, *, dim: str = "band") -> xr.DataArray:
    """A cube as a DataArray with a band dimension (lazy, keeps attrs and CRS coordinate).

    Variables without the spatial dims (e.g. ``spatial_ref``) stay as coordinates.
    A ``wavelength`` coordinate is added from the band table when the sensor is known.

    Parameters
    ----------
    cube : DataArray or Dataset
        A Dataset with one variable per band, or a DataArray (returned as is when it has a band
        dimension; a single band gets one).
    dim : str
        Name of the band dimension to create.

    Returns
    -------
    DataArray
        ``(..., band, y, x)``.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> ds = et.make_cube(bands=["B04", "B08"], times=None, as_dataset=True)
    >>> da = to_array(ds)
    >>> da.dims, da["wavelength"].values.tolist()
    (('band', 'y', 'x'), [664.6, 832.8])
    """
    if isinstance(cube, xr.DataArray):
        if band_dim(cube) is None:
            return cube.expand_dims({dim: [str(cube.name or "band")]})
        return cube
    labels = band_labels(cube)
    if not labels:
        raise DimensionError(
            f"the Dataset has no variable with spatial dims: {list(cube.data_vars)}"
        )
    grids = {tuple(cube[v].dims) for v in labels}
    if len(grids) > 1:
        raise GridMismatchError(
            f"band variables have different dims {sorted(grids)}; reproject/align them first "
            "(e.g. load with one resolution)."
        )
    da = cube[labels].to_dataarray(dim=dim)
    da.attrs = dict(cube.attrs)
    # A layout change must work on any cube: an unknown or ambiguous sensor only omits wavelength.
    wl = wavelengths_of(labels, detect_sensor(cube, strict=False))
    if all(w is not None for w in wl):
        da = da.assign_coords(wavelength=(dim, [float(w) for w in wl]))
    return da.transpose(
        *[d for d in cube[labels[0]].dims if d not in spatial_dims(cube)], dim, *spatial_dims(cube)
    )


def to_dataset(cube: Cube) -> xr.Dataset:
    """A cube as a Dataset with one variable per band (lazy).

    Parameters
    ----------
    cube : DataArray or Dataset
        A DataArray with a band dimension (a Dataset is returned as is).

    Returns
    -------
    Dataset
        One variable per band label, the cube's attrs kept.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> list(to_dataset(et.make_cube(bands=["B04", "B08"])).data_vars)
    ['B04', 'B08']
    """
    if isinstance(cube, xr.Dataset):
        return cube
    dim = require_band_dim(cube)
    coords_along = [c for c in cube.coords if cube[c].dims == (dim,) and c != dim]
    ds = cube.drop_vars(coords_along).to_dataset(dim=dim)
    ds = ds.rename({k: str(k) for k in ds.data_vars})
    ds.attrs = dict(cube.attrs)
    return ds


def wavelengths_of(labels: Iterable[str], sensor: str | None = None) -> list[float | None]:
    """Centre wavelength (nm) of each label, from the sensor table or the common-name table."""
    tab = table()
    out: list[float | None] = []
    for label in labels:
        w = None
        if sensor:
            core = split_label(label)[1]
            for k, (_, cw, _) in tab.sensors[sensor].bands.items():
                if normalise_label(k) == normalise_label(core):
                    w = cw
        if w is None:
            canon = canonical_name(label, sensor)
            w = tab.common[canon].center_wavelength if canon else None
        out.append(w)
    return out


def rename_to_common(cube: Cube, *, sensor: str | None = None) -> Cube:
    """Relabel bands with their canonical common names (unknown labels are kept).

    Parameters
    ----------
    cube : DataArray or Dataset
        The cube.
    sensor : str, optional
        Band table to read the labels with instead of detecting one.

    Returns
    -------
    Same type as ``cube``
        With labels such as ``red``, ``nir08``; quality layers and unknown labels unchanged.

    Raises
    ------
    AmbiguousBandsError
        The labels mean different bands on several possible sensors.

    Examples
    --------
    >>> import eoxr.testing as et
    >>> cube = et.make_cube(bands=["B02", "B8A", "SCL"], times=None)
    >>> rename_to_common(cube)["band"].values.tolist()
    ['blue', 'nir08', 'SCL']
    """
    sensor = sensor or detect_sensor(cube)
    mapping = {lab: canonical_name(lab, sensor) or lab for lab in band_labels(cube)}
    if isinstance(cube, xr.Dataset):
        return cube.rename({k: v for k, v in mapping.items() if k != v})
    dim = band_dim(cube)
    if dim is None:
        return cube
    return cube.assign_coords({dim: [mapping[str(v)] for v in cube[dim].values]})


__all__ = [
    "QUALITY",
    "BandTable",
    "CommonBand",
    "Sensor",
    "SensorResolution",
    "table",
    "band_labels",
    "split_label",
    "resolve_sensor",
    "detect_sensor",
    "declare_sensor",
    "canonical_name",
    "is_quality_band",
    "label_mapping",
    "band_mapping",
    "aliases_of",
    "tried_names",
    "missing_band_hint",
    "relabel_code",
    "add_band_code",
    "ambiguity_error",
    "unread_labels_hint",
    "resolve_band",
    "label_symbols",
    "symbol_mapping",
    "select_band",
    "select_bands",
    "to_array",
    "to_dataset",
    "wavelengths_of",
    "rename_to_common",
]
