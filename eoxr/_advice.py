"""Band error messages, with fixes written as code for the kind of object the user holds.

On a DataArray the band labels are values of the band coordinate, so relabelling is
``cube.assign_coords(band=[...])`` (``cube.rename({...})`` would rename dimensions or
coordinates, and ``cube.rename("nir")`` the array itself). On a Dataset they are variable names:
``cube.rename({...})``. Each function returns one line that runs as written on the cube it was
given (names such as ``xr`` and the new band's array are the only things the user supplies).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import xarray as xr

from ._bandtable import (
    Cube,
    band_labels,
    candidates,
    canonical_name,
    is_quality_band,
    sensor_labels,
    split_label,
    table,
)
from ._dims import band_dim
from ._sensors import resolve_sensor
from .errors import BandNotFoundError

#: A DataArray's whole list of new labels is written out up to this many bands.
_LIST_MAX = 12


def relabel_code(cube: Cube, mapping: Mapping[str, str] | str, *, var: str = "cube") -> str:
    """One line giving bands of ``cube`` new labels.

    ``mapping`` is ``{old label: new label}``, or the name of a variable holding one (for
    advice whose new labels only the user knows).

    Examples
    --------
    >>> import eoxr.testing as et
    >>> cube = et.make_cube(bands=["B04", "band_8"], times=None)
    >>> relabel_code(cube, {"band_8": "nir"})
    "cube = cube.assign_coords(band=['B04', 'nir'])"
    >>> relabel_code(cube.eo.to_dataset(), {"band_8": "nir"})
    "cube = cube.rename({'band_8': 'nir'})"
    >>> relabel_code(cube, "names")
    "cube = cube.assign_coords(band=[names.get(str(b), b) for b in cube['band'].values.tolist()])"
    """
    if isinstance(mapping, str):
        given = mapping
    else:
        mapping = {str(k): str(v) for k, v in mapping.items()}
        given = repr(mapping)
    if isinstance(cube, xr.Dataset):
        return f"{var} = {var}.rename({given})"
    dim = band_dim(cube)
    if dim is None:  # one band: its label is the array's name
        if isinstance(mapping, dict):
            return f"{var} = {var}.rename({mapping.get(str(cube.name), str(cube.name))!r})"
        return f"{var} = {var}.rename({given}[{var}.name])"
    values = cube[dim].values.tolist()
    if isinstance(mapping, dict) and len(values) <= _LIST_MAX and dim.isidentifier():
        new = [mapping.get(str(v), v) for v in values]
        return f"{var} = {var}.assign_coords({dim}={new!r})"
    comprehension = f"[{given}.get(str(b), b) for b in {var}[{dim!r}].values.tolist()]"
    if dim.isidentifier():
        return f"{var} = {var}.assign_coords({dim}={comprehension})"
    return f"{var} = {var}.assign_coords({{{dim!r}: {comprehension}}})"


def add_band_code(cube: Cube, label: str, *, var: str = "cube") -> str:
    """One line adding a band ``label`` held in a DataArray named ``label`` (same grid).

    Examples
    --------
    >>> import eoxr.testing as et
    >>> cube = et.make_cube(bands=["B04", "B03"], times=None)
    >>> add_band_code(cube, "nir")
    "cube = xr.concat([cube, nir.expand_dims(band=['nir'])], dim='band')"
    >>> add_band_code(cube.eo.to_dataset(), "nir")
    'cube = cube.assign(nir=nir)'
    """
    if isinstance(cube, xr.Dataset):
        return f"{var} = {var}.assign({label}={label})"
    dim = band_dim(cube)
    if dim is None:
        first, dim = f"{var}.expand_dims(band=[{var}.name])", "band"
    else:
        # Coordinates along the band dim (wavelength) would be missing for the new band.
        along = [str(c) for c in cube.coords if cube[c].dims == (dim,) and c != dim]
        first = f"{var}.drop_vars({along!r})" if along else var
    return f"{var} = xr.concat([{first}, {label}.expand_dims({dim}=[{label!r}])], dim={dim!r})"


# ------------------------------------------------------------------ messages of band errors
def tried_names(name: str, sensor: str | None) -> list[str]:
    """Every spelling :func:`resolve_band` looks for when asked ``name``, reading with ``sensor``.

    Sensor labels count only for that sensor's table (``B08`` is tried for ``nir`` on
    Sentinel-2, never ``SR_B4``, which is red on Landsat 8/9).

    Examples
    --------
    >>> tried_names("nir", "sentinel-2")[-3:], tried_names("nir", "landsat-oli-l2")[-1]
    (['nirn', 'N2', 'B8A'], 'SR_B5')
    """
    tab = table()
    out = [name]
    for canon in candidates(name, sensor):
        out += [canon] + [a for a, c in tab.aliases.items() if c == canon]
        if tab.common[canon].symbol:
            out.append(tab.common[canon].symbol)
        if sensor is not None:
            out += [k for k, (c, _, _) in tab.sensors[sensor].bands.items() if c == canon]
    return list(dict.fromkeys(out))


def _reading(labels: list[str], sensor: str | None) -> str:
    """``B04=red, B03=green, X=unknown``: how the labels read with ``sensor``."""

    def meaning(label: str) -> str:
        if is_quality_band(label, sensor):
            return "quality layer"
        return canonical_name(label, sensor) or "unknown"

    table_txt = f" ({sensor} band table)" if sensor else ""
    return ", ".join(f"{lab}={meaning(lab)}" for lab in labels) + table_txt


def missing_band_hint(cube: Cube, missing: Iterable[str], sensors: Iterable[str | None]) -> str:
    """Why bands (canonical names) are missing and code adding or relabelling them.

    Parameters
    ----------
    cube : DataArray or Dataset
        The cube the bands were looked for in; the code is written for its kind.
    missing : iterable of str
        Canonical names (``"nir"``) not found.
    sensors : iterable of str or None
        The band tables the labels were read with (several: every sensor they may come from).

    Returns
    -------
    str
        E.g. "The cube has no nir band (near infrared): its bands read as B04=red, ... Add it
        ...: `cube = xr.concat([cube, nir.expand_dims(band=['nir'])], dim='band')` ...".
    """
    tab = table()
    missing = list(missing)
    sensors = list(sensors)
    labels = band_labels(cube)
    wanted = " or ".join(
        c if tab.common[c].description == c else f"{c} ({tab.common[c].description})"
        for c in missing
    )
    readings = "; ".join(_reading(labels, s) for s in sensors)
    every = " on every sensor they may come from" if len(sensors) > 1 else ""
    hint = f"The cube has no {wanted} band{every}: its bands read as {readings}."
    first = missing[0]
    unknown = [
        lab
        for lab in labels
        if all(canonical_name(lab, s) is None and not is_quality_band(lab, s) for s in sensors)
    ]
    if unknown:
        hint += (
            f" If {unknown[0]!r} is the {first} band, relabel it: "
            f"`{relabel_code(cube, {unknown[0]: first})}`."
        )
    code = add_band_code(cube, first)
    return hint + (
        f" To add it, with `{first}` a DataArray of that band on the cube's grid: `{code}`"
        + (" (`import xarray as xr`)" if "xr." in code else "")
        + f"; or load it with the cube (e.g. `eoxr.load_stac(items, bands=[..., {first!r}])`)."
    )


def unread_labels_hint(cube: Cube, sensor: str | None = None) -> str:
    """Why sensor-style labels of a cube were not read as bands (``""`` when they were)."""
    if sensor is not None:
        return ""
    res = resolve_sensor(cube)
    if res.sensor is not None:
        return ""
    cores = [lab for lab in band_labels(cube) if split_label(lab)[1].upper() in sensor_labels()]
    if not cores:
        return ""
    why = res.note or "no metadata says which sensor they come from"
    names = "{" + ", ".join(f"{c!r}: ..." for c in cores) + "}"
    hint = (
        f" Labels {cores} look like sensor band numbers but were not read: {why}. Relabel them "
        f"with each band's common name (red, nir...): fill in `names = {names}`, then "
        f"`{relabel_code(cube, 'names')}`."
    )
    fits = [
        s
        for s in table().sensors
        if all(table().sensors[s].meaning(split_label(c)[1]) for c in cores)
    ]
    if fits:
        hint += (
            f" If they come from {' or '.join(fits)}, declare it instead, e.g. "
            f"`cube = cube.eo.declare_sensor({fits[0]!r})`."
        )
    return hint


def not_found_error(cube: Cube, name: str, sensors: list[str | None]) -> BandNotFoundError:
    labels = band_labels(cube)
    tried = [t for s in sensors for t in tried_names(name, s)]
    canon = candidates(name, sensors[0])
    unread = unread_labels_hint(cube, sensors[0])
    if unread:  # the band may well be there, under a number eoxr could not read
        hint = unread.strip()
    elif canon:
        hint = missing_band_hint(cube, canon[:1], sensors)
    else:
        hint = (
            f"{name!r} is neither a label of the cube nor a band name eoxr knows (common names "
            f"such as 'red', 'nir', 'swir16', aliases such as 'swir1', ASI symbols such as 'N')."
        )
    return BandNotFoundError(name, labels, tried, hint=hint)


__all__ = [
    "relabel_code",
    "add_band_code",
    "tried_names",
    "missing_band_hint",
    "unread_labels_hint",
    "not_found_error",
]
