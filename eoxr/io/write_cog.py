"""Cloud-Optimized GeoTIFF writing (:func:`to_cog`): atomic, keeps the CRS, nothing half-written.

The COG is written under a hidden temporary name beside the target and renamed into place only
when complete (:mod:`eoxr.io._target`), so a failed or interrupted write never leaves a partial
file under the final name. ``overwrite=True`` replaces an existing GeoTIFF file only.

Object stores (``s3://``, ``gs://``, ``az://`` URLs, through fsspec; configured only by the
standard environment variables such as ``AWS_*`` and ``AWS_ENDPOINT_URL``, and by
``storage_options=``) have no rename: a COG is written to a local temporary file, validated, then
uploaded in one put or multipart upload: the object appears whole or not at all. The bucket must
exist (it is not created), and ``overwrite=True`` replaces only a GeoTIFF object. A COG is an
export: from a cluster, Zarr (:func:`eoxr.io.to_zarr`) is the format to write in parallel (a
COG's overviews come out wrong when written in pieces).
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
import xarray as xr
from rasterio.shutil import copy as rio_copy

from .. import _objstore as objstore
from .. import bands as _bands
from .._dask.progress import progress_context
from .._dask.store import client_stripes, on_cluster
from .._dims import spatial_dims
from ..errors import DimensionError, WriteError
from ._options import COMPRESSIONS, Compression, check_choice
from ._target import TIFF_MAGIC, atomic_target, remove


def to_cog(
    cube: xr.DataArray | xr.Dataset,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    compress: Compression = "DEFLATE",
    progress: bool | None = None,
    storage_options: dict | None = None,
    **kwargs: Any,
) -> Path | str:
    """Write a 2-D or ``(band, y, x)`` cube as a Cloud-Optimized GeoTIFF, atomically.

    NaN is written as the nodata value of float data; band labels become band descriptions.
    A Dataset is written one band per variable. Cubes with other extra dims (e.g. ``time``) must
    be reduced or selected first (``cube.isel(time=0)``), or written with :func:`to_zarr`.

    Parameters
    ----------
    cube : DataArray or Dataset
        ``(y, x)`` or ``(band, y, x)`` data with a CRS (dask arrays stream block by block).
        With an active ``distributed`` client, row stripes of whole chunk rows are computed on
        the workers (two at a time) and written by this process, which alone opens the file:
        the workers need no disk shared with it.
    path : str or path
        Output file. Its folder must exist (it is not created: a mistyped path fails). Or an
        object-store URL (``s3://bucket/key.tif``, ``gs://``, ``az://``; needs ``eoxr[cloud]``)
        in an existing bucket: the COG is written to a local temporary file, validated, and
        uploaded in one put (or multipart upload), so no reader sees part of it. The data pass
        through the machine that calls this: from a cluster, write Zarr (:func:`to_zarr`) and
        export a COG from it.
    overwrite : bool
        Replace an existing file at ``path``, but only if it is a GeoTIFF; a folder or any other
        file (on an object store: a prefix holding objects, any other object) raises
        :class:`~eoxr.errors.WriteError` and is left untouched.
    compress : str
        GDAL compression (case-insensitive): one of ``NONE``, ``DEFLATE``, ``LZW``, ``ZSTD``,
        ``LZMA``, ``PACKBITS``, ``JPEG``, ``WEBP``, ``LERC``, ``LERC_DEFLATE``, ``LERC_ZSTD``.
    progress : bool, optional
        Progress bar while a lazy cube is computed and written (see :func:`eoxr.progress`):
        by default only in a terminal or notebook.
    storage_options : dict, optional
        For a URL: options of its fsspec filesystem (e.g. ``{"endpoint_url": ...}``); by
        default the filesystem's standard environment variables (``AWS_*``...) apply.
    **kwargs
        Passed to ``rio.to_raster`` (GDAL creation options such as ``blocksize``).

    Returns
    -------
    Path or str
        ``path``, complete: a local file is written under a temporary name beside it and
        renamed into place only once whole; a URL is returned as given.

    Raises
    ------
    WriteError
        ``path`` exists (without ``overwrite``) or is not a GeoTIFF, its folder (bucket) is
        missing or not writable, or writing failed (then nothing is left under ``path``).

    Examples
    --------
    >>> import eoxr.testing as et, tempfile, os
    >>> cube = et.make_cube(times=None)
    >>> p = cube.eo.to_cog(os.path.join(tempfile.mkdtemp(), "cube.tif"))
    >>> p.name
    'cube.tif'
    """
    compress = check_choice(compress, COMPRESSIONS, "compress", case=False)
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
    write = functools.partial(_write_cog, da, compress=compress, progress=progress, **kwargs)
    if objstore.is_url(path):
        return _upload_cog(str(path), storage_options, overwrite, write)
    path = Path(path)
    with atomic_target(path, overwrite, "geotiff") as tmp:
        write(tmp)
    return path


def _write_cog(
    da: xr.DataArray, dest: Path, *, compress: str, progress: bool | None, **kwargs: Any
) -> None:
    """Write ``da`` as a COG at the local path ``dest`` and check what was written."""
    # GDAL's COG driver can only create-copy, and rioxarray writes dask chunks by updating
    # the file: stream chunks into a tiled GTiff first (bounded memory), then copy to COG.
    staging = dest.with_name(dest.name + ".gtiff")
    try:
        if on_cluster(da.data):
            _write_stripes(da, staging, compress=compress, progress=progress, **kwargs)
        else:
            with progress_context(progress):
                da.rio.to_raster(
                    staging, driver="GTiff", tiled=True, compress=compress, lock=True, **kwargs
                )
        rio_copy(staging, dest, driver="COG", compress=compress)
    finally:
        remove(staging)
    with rasterio.open(dest) as src:
        bands = da.sizes.get("band", da.sizes.get("wavelength", 1))
        ydim, xdim = spatial_dims(da)
        layout = src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT")
        if (src.height, src.width, src.count) != (da.sizes[ydim], da.sizes[xdim], bands) or (
            layout != "COG"
        ):
            raise WriteError(
                f"the COG written is not what was asked: {src.count} x {src.height} x "
                f"{src.width} with layout {layout!r}, for a cube of {bands} x "
                f"{da.sizes[ydim]} x {da.sizes[xdim]}."
            )


def _write_stripes(
    da: xr.DataArray, staging: Path, *, compress: str, progress: bool | None, **kwargs: Any
) -> None:
    """Write the dask-backed ``da`` to the local GTiff ``staging`` from this process.

    On a ``distributed`` cluster rioxarray would hand every chunk to a worker that reopens
    ``staging`` by its path, which a worker on another machine does not have. Here rioxarray
    creates the file and writes its metadata only (``compute=False``: its store graph is
    dropped); the cluster computes row stripes and this process writes them, encoded as
    rioxarray encodes its chunks, so the file equals the local write.
    """
    from rasterio.windows import Window

    ydim, xdim = spatial_dims(da)
    da.rio.to_raster(
        staging, driver="GTiff", tiled=True, compress=compress, lock=True, compute=False, **kwargs
    )
    with rasterio.open(staging, "r+") as dst:
        for rows, part in client_stripes(da, ydim, progress=progress):
            values = xr.conventions.encode_cf_variable(part.variable).values
            window = Window(0, rows.start, da.sizes[xdim], rows.stop - rows.start)
            if values.ndim == 2:
                dst.write(values.astype(dst.dtypes[0]), 1, window=window)
            else:
                dst.write(values.astype(dst.dtypes[0]), window=window)


def _upload_cog(url: str, options: dict | None, overwrite: bool, write: Any) -> str:
    """Write a COG locally with ``write(path)``, then upload it whole to the object ``url``."""
    fs, key = objstore.filesystem(url, options)
    objstore.check_bucket(fs, key, url)
    found = objstore.objects(fs, key)
    if found and not overwrite:
        raise WriteError(
            f"{url!r} exists ({objstore.describe(found, key)}); pass overwrite=True to replace it."
        )
    if found and (found != [key] or not _remote_geotiff(fs, key)):
        raise WriteError(
            f"refusing to overwrite {url!r}: it is {objstore.describe(found, key)}, not a "
            "GeoTIFF. overwrite=True only replaces a GeoTIFF; nothing was deleted. Choose "
            "another URL or remove it yourself."
        )
    with tempfile.TemporaryDirectory(prefix="eoxr-cog-") as tmp:
        local = Path(tmp) / "upload.tif"
        try:
            write(local)
        except WriteError:
            raise
        except Exception as err:
            raise WriteError(f"writing {url!r} failed: {err}. Nothing was uploaded.") from err
        objstore.upload(local, fs, key, url)
    return url


def _remote_geotiff(fs: Any, key: str) -> bool:
    """Whether the object ``key`` starts like a TIFF and GDAL opens it as a GTiff."""
    try:
        with fs.open(key, "rb") as f:
            if f.read(4) not in TIFF_MAGIC:
                return False
            f.seek(0)
            with rasterio.open(f) as src:
                return src.driver in ("GTiff", "COG")
    except (OSError, rasterio.errors.RasterioError):
        return False


__all__ = ["to_cog"]
