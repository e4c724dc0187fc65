"""Fixes suggested by error messages, written as code for the kind of object the user holds.

On a DataArray the band labels are values of the band coordinate, so relabelling is
``cube.assign_coords(band=[...])`` (``cube.rename({...})`` would rename dimensions or
coordinates, and ``cube.rename("nir")`` the array itself). On a Dataset they are variable names:
``cube.rename({...})``. Each function returns one line that runs as written on the cube it was
given (names such as ``xr`` and the new band's array are the only things the user supplies).
"""

from __future__ import annotations

from collections.abc import Mapping

import xarray as xr

from ._bandtable import Cube
from ._dims import band_dim

#: A DataArray's whole list of new labels is written out up to this many bands.
_LIST_MAX = 12


def relabel_code(cube: Cube, mapping: Mapping[str, str], var: str = "cube") -> str:
    """One line giving bands of ``cube`` new labels (``{old label: new label}``).

    Examples
    --------
    >>> import eoxr.testing as et
    >>> cube = et.make_cube(bands=["B04", "band_8"], times=None)
    >>> relabel_code(cube, {"band_8": "nir"})
    "cube = cube.assign_coords(band=['B04', 'nir'])"
    >>> relabel_code(cube.eo.to_dataset(), {"band_8": "nir"})
    "cube = cube.rename({'band_8': 'nir'})"
    """
    mapping = {str(k): str(v) for k, v in mapping.items()}
    if isinstance(cube, xr.Dataset):
        return f"{var} = {var}.rename({mapping!r})"
    dim = band_dim(cube)
    if dim is None:  # one band: its label is the array's name
        return f"{var} = {var}.rename({mapping.get(str(cube.name), str(cube.name))!r})"
    values = cube[dim].values.tolist()
    if len(values) <= _LIST_MAX and dim.isidentifier():
        new = [mapping.get(str(v), v) for v in values]
        return f"{var} = {var}.assign_coords({dim}={new!r})"
    return (
        f"{var} = {var}.assign_coords({{{dim!r}: [{mapping!r}.get(str(b), b) "
        f"for b in {var}[{dim!r}].values.tolist()]}})"
    )


def add_band_code(cube: Cube, label: str, var: str = "cube") -> str:
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


__all__ = ["relabel_code", "add_band_code"]
