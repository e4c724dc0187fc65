"""Atomic writers: Cloud-Optimized GeoTIFF and Zarr keep the CRS; nothing half-written remains.

Each writer writes to a hidden temporary name beside the target and renames it into place only
when complete, so a failed or interrupted write never leaves a partial file under the final name.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from rasterio.shutil import copy as rio_copy

from .. import bands as _bands
from .._dims import spatial_dims
from ..errors import DimensionError, WriteError


@contextlib.contextmanager
def _atomic_target(path: Path, overwrite: bool) -> Iterator[Path]:
    path = Path(path)
    if path.exists() and not overwrite:
        raise WriteError(f"{str(path)!r} exists; pass overwrite=True to replace it.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
    except BaseException as err:
        _remove(tmp)
        if isinstance(err, Exception) and not isinstance(err, WriteError):
            raise WriteError(
                f"writing {str(path)!r} failed: {err}. Nothing was written under that name."
            ) from err
        raise
    trash = None
    if path.exists():  # replace: move the old one aside first so the swap is two renames
        trash = path.with_name(f".{path.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(path, trash)
    os.replace(tmp, path)
    if trash is not None:
        _remove(trash)


def _remove(p: Path) -> None:
    if p.is_dir():
        shutil.rmtree(p, ignore_errors=True)
    elif p.exists():
        p.unlink()


def to_cog(
    cube: xr.DataArray | xr.Dataset,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    compress: str = "DEFLATE",
    **kwargs: Any,
) -> Path:
    """Write a 2-D or ``(band, y, x)`` cube as a Cloud-Optimized GeoTIFF, atomically.

    NaN is written as the nodata value of float data; band labels become band descriptions.
    A Dataset is written one band per variable. Cubes with other extra dims (e.g. ``time``) must
    be reduced or selected first (``cube.isel(time=0)``), or written with :func:`to_zarr`.

    Examples
    --------
    >>> import eoxr.testing as et, tempfile, os
    >>> cube = et.make_cube(times=None)
    >>> p = cube.eo.to_cog(os.path.join(tempfile.mkdtemp(), "cube.tif"))
    >>> p.name
    'cube.tif'
    """
    da = _bands.to_array(cube) if isinstance(cube, xr.Dataset) else cube
    ydim, xdim = spatial_dims(da)
    extra = [d for d in da.dims if d not in (ydim, xdim, "band", "wavelength")]
    if extra:
        raise DimensionError(
            f"a GeoTIFF holds (band, y, x) only; this cube also has {extra}. Select one step "
            f"(e.g. cube.isel({extra[0]}=0)), reduce it, or use to_zarr."
        )
    if da.dtype == bool:
        da = da.astype("uint8")
    if np.issubdtype(da.dtype, np.floating):
        da = da.rio.write_nodata(np.nan, encoded=False)
    labels = _bands.band_labels(da) if "band" in da.dims else [str(da.name or "band_1")]
    # rioxarray writes band descriptions from the ``long_name`` attr: put the labels there.
    da = da.copy()
    if da.attrs.get("long_name"):
        da.attrs["description"] = da.attrs["long_name"]
    da.attrs["long_name"] = tuple(labels)
    path = Path(path)
    with _atomic_target(path, overwrite) as tmp:
        # GDAL's COG driver can only create-copy, and rioxarray writes dask chunks by updating
        # the file: stream chunks into a tiled GTiff first (bounded memory), then copy to COG.
        staging = tmp.with_name(tmp.name + ".gtiff")
        try:
            da.rio.to_raster(
                staging, driver="GTiff", tiled=True, compress=compress, lock=True, **kwargs
            )
            rio_copy(staging, tmp, driver="COG", compress=compress)
        finally:
            _remove(staging)
    return path


def to_zarr(
    cube: xr.DataArray | xr.Dataset,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    name: str | None = None,
    **kwargs: Any,
) -> Path:
    """Write a cube to a Zarr store atomically (dask arrays stream chunk by chunk).

    The CRS travels in the ``spatial_ref`` variable (CF grid mapping): open with
    ``xr.open_zarr(path, decode_coords="all")`` to get it back as a coordinate (``.rio.crs``).

    Examples
    --------
    >>> import eoxr.testing as et, tempfile, os, xarray as xr
    >>> p = et.make_cube().eo.to_zarr(os.path.join(tempfile.mkdtemp(), "cube.zarr"))
    >>> xr.open_zarr(p, decode_coords="all").rio.crs.to_epsg()
    32633
    """
    ds = (
        cube.to_dataset(name=name or cube.name or "data")
        if isinstance(cube, xr.DataArray)
        else cube
    )
    for v in ds.variables.values():
        v.encoding.pop("chunks", None)
        v.encoding.pop("preferred_chunks", None)
    path = Path(path)
    with _atomic_target(path, overwrite) as tmp:
        # Zarr v2 by default: v3 has no stable string dtype yet (band labels are strings).
        kwargs.setdefault("zarr_format", 2)
        ds.to_zarr(tmp, mode="w", consolidated=True, **kwargs)
    return path


__all__ = ["to_cog", "to_zarr"]
