"""Atomic writers: Cloud-Optimized GeoTIFF and Zarr keep the CRS; nothing half-written remains.

Each writer writes to a hidden temporary name beside the target and renames it into place only
when complete, so a failed or interrupted write never leaves a partial file under the final name.

``to_zarr(path, resume=True)`` is the exception, for jobs that may be killed: the store is created
in place (metadata first, atomically), then written chunk by chunk while a record of completed
chunks is kept inside it; a re-run writes only the chunks not yet recorded. Such a store carries
the attribute ``eoxr:write_state`` (``"incomplete"``, then ``"complete"``), which is how eoxr
recognises its own stores: a folder without it is never resumed into.

``overwrite=True`` replaces only what the writer itself produces: :func:`to_cog` an existing
GeoTIFF file, :func:`to_zarr` an existing Zarr store. A folder of other files, any other file or a
symbolic link raises :class:`~eoxr.errors.WriteError` and nothing is deleted. The target's folder
must exist: writers do not create folders, so that a mistyped path fails loudly.

Object stores (``s3://``, ``gs://``, ``az://`` URLs, through fsspec; configured only by the
standard environment variables such as ``AWS_*`` and ``AWS_ENDPOINT_URL``, and by
``storage_options=``) have no rename, so atomicity is designed differently there:

* a COG is written to a local temporary file, validated, then uploaded in one put or multipart
  upload: the object appears whole or not at all. A COG is an export: from a cluster, Zarr is
  the format to write in parallel (a COG's overviews come out wrong when written in pieces);
* a Zarr store is written in place: its metadata first, marked ``eoxr:write_state="incomplete"``
  and without consolidated metadata, then the chunks, and last the state ``"complete"`` and the
  consolidated metadata. A reader that opens the store before the end finds no consolidated
  metadata and the state ``"incomplete"``. ``resume=True`` works as on a local disk (its record
  of finished chunks is a set of empty objects inside the store);
* the bucket must exist (it is not created), and ``overwrite=True`` deletes only a Zarr store
  (its metadata, chunks and eoxr's record), never a prefix holding any other object. Without
  rename, the old store is deleted before the new one is written.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
import uuid
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import rasterio
import rasterio.errors
import xarray as xr
from rasterio.shutil import copy as rio_copy

from .. import _objstore as objstore
from .. import bands as _bands
from .._dask.chunking import is_dask
from .._dask.progress import progress_context
from .._dask.store import client_stripes, on_cluster, store_blocks
from .._dims import spatial_dims
from ..errors import DimensionError, ParameterError, WriteError
from ._location import Location
from ._options import COMPRESSIONS, ZARR_FORMATS, Compression, check_choice

# Little/big endian classic TIFF and BigTIFF (GDAL writes BigTIFF for > 4 GB outputs).
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_ZARR_METADATA = (".zgroup", ".zarray", "zarr.json")
# Resumable Zarr writes: the state attribute and the record folder kept inside the store.
WRITE_STATE = "eoxr:write_state"
_RECORD = objstore.RECORD


def is_geotiff(path: Path) -> bool:
    """Whether ``path`` is a regular file that starts like a TIFF and GDAL opens as a GTiff."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with open(path, "rb") as f:
            if f.read(4) not in _TIFF_MAGIC:
                return False
        with rasterio.open(path) as src:
            return src.driver in ("GTiff", "COG")
    except (OSError, rasterio.errors.RasterioError):
        return False


def is_zarr_store(path: Path) -> bool:
    """Whether ``path`` is a directory holding Zarr v2 (``.zgroup``/``.zarray``) or v3 metadata."""
    return (
        not path.is_symlink()
        and path.is_dir()
        and any((path / m).is_file() for m in _ZARR_METADATA)
    )


def _describe(path: Path) -> str:
    """What stands at ``path``, in words, for error messages."""
    if path.is_symlink():
        return f"a symbolic link to {os.readlink(path)!r}"
    if path.is_dir():
        entries = sorted(os.listdir(path))
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        return (
            f"a directory with {len(entries)} entries ({shown})"
            if entries
            else "an empty directory"
        )
    if path.is_file():
        return f"a file of {path.stat().st_size} bytes"
    return "a special file"


def _check_target(path: Path, overwrite: bool, kind: Literal["geotiff", "zarr"]) -> None:
    """Refuse, before anything is written, a target the writer may not create or replace.

    The parent must already be a writable directory: a missing parent is not created, because
    ``mkdir -p`` on a mistyped path silently scatters outputs. Overwrite replaces only what the
    writer itself produces (a GeoTIFF file, a Zarr store); anything else is the user's and stays.
    """
    parent = path.parent
    if not parent.exists():
        raise WriteError(
            f"cannot write {str(path)!r}: the folder {str(parent)!r} does not exist. Create it "
            "first (e.g. `Path(...).mkdir(parents=True)`); eoxr does not create folders, so a "
            "mistyped path fails instead of writing somewhere unexpected."
        )
    if not parent.is_dir():
        raise WriteError(
            f"cannot write {str(path)!r}: {str(parent)!r} is not a directory but "
            f"{_describe(parent)}."
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise WriteError(f"cannot write {str(path)!r}: the folder {str(parent)!r} is not writable.")
    if not os.path.lexists(path):
        return
    what = "a GeoTIFF" if kind == "geotiff" else "a Zarr store"
    if not overwrite:
        raise WriteError(
            f"{str(path)!r} exists ({_describe(path)}); pass overwrite=True to replace it."
        )
    ours = is_geotiff(path) if kind == "geotiff" else is_zarr_store(path)
    if not ours:
        raise WriteError(
            f"refusing to overwrite {str(path)!r}: it is {_describe(path)}, not {what}. "
            f"overwrite=True only replaces {what}; nothing was deleted. "
            "Choose another path or remove it yourself."
        )


@contextlib.contextmanager
def _atomic_target(path: Path, overwrite: bool, kind: Literal["geotiff", "zarr"]) -> Iterator[Path]:
    path = Path(path)
    _check_target(path, overwrite, kind)
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
    try:
        if kind == "zarr" and os.path.lexists(path):
            # A directory cannot be renamed over a non-empty one: move the old store aside,
            # swap the new one in, and only then delete the old one (still a store: re-checked).
            trash = path.with_name(f".{path.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(path, trash)
        os.replace(tmp, path)  # a file: this one atomic rename replaces the old GeoTIFF
    except OSError as err:
        if trash is not None and not os.path.lexists(path):
            os.replace(trash, path)
        _remove(tmp)
        raise WriteError(f"could not move the new output into {str(path)!r}: {err}") from err
    if trash is not None and is_zarr_store(trash):
        shutil.rmtree(trash)


def _remove(p: Path) -> None:
    """Remove one of the writer's own temporary outputs."""
    if p.is_symlink() or p.is_file():
        p.unlink()
    elif p.is_dir():
        shutil.rmtree(p, ignore_errors=True)


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
    with _atomic_target(path, overwrite, "geotiff") as tmp:
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
        _remove(staging)
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
            if f.read(4) not in _TIFF_MAGIC:
                return False
            f.seek(0)
            with rasterio.open(f) as src:
                return src.driver in ("GTiff", "COG")
    except (OSError, rasterio.errors.RasterioError):
        return False


def to_zarr(
    cube: xr.DataArray | xr.Dataset,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    name: str | None = None,
    zarr_format: Literal[2, 3] = 2,
    progress: bool | None = None,
    resume: bool = False,
    storage_options: dict | None = None,
    **kwargs: Any,
) -> Path | str:
    """Write a cube to a Zarr store atomically, or resumably (dask arrays stream chunk by chunk).

    Dask variables are written chunk by chunk by the tasks that compute them, in bounded memory
    whatever the cube's size: global statistics in the graph (a percentile threshold, an
    estimated number of looks) are computed first, in one pass over the input; then the chunks
    are written row by row, in stripes of a few chunk columns (see
    :func:`eoxr._dask.store.store_blocks`). The input is read once for the statistics (if any) and
    once more for the writes, plus the halo columns at the stripes' borders.

    The CRS travels in the ``spatial_ref`` variable (CF grid mapping): open with
    ``xr.open_zarr(path, decode_coords="all")`` to get it back as a coordinate (``.rio.crs``).

    Parameters
    ----------
    cube : DataArray or Dataset
        Data of any dims; a DataArray becomes the variable ``name``.
    path : str or path
        Output store (a directory). Its folder must exist (it is not created). Or an
        object-store URL (``s3://bucket/out.zarr``, ``gs://``, ``az://``; needs ``eoxr[cloud]``)
        in an existing bucket: the store is written in place, its consolidated metadata last
        (see the module's notes). Workers write their chunks themselves, so a cluster needs no
        shared disk, only the object store's credentials (``AWS_*`` environment...).
    overwrite : bool
        Replace an existing Zarr store at ``path`` (recognised by its ``.zgroup``/``.zarray`` or
        ``zarr.json`` metadata). Any other directory or file raises
        :class:`~eoxr.errors.WriteError` and is left untouched. The old store is deleted only
        after the new one is complete and in place (on an object store, which has no rename:
        before the new one is written, and only if every object under the prefix belongs to
        the store).
    name : str, optional
        Variable name for a DataArray (default its own name, else ``"data"``).
    zarr_format : {2, 3}
        Zarr format; 2 by default because v3 has no stable string dtype yet (band labels).
    progress : bool, optional
        Progress bar while a lazy cube is computed and written (see :func:`eoxr.progress`):
        by default only in a terminal or notebook.
    resume : bool
        Write so that a killed job can be finished: the store is created at ``path`` with all
        metadata first (marked ``eoxr:write_state="incomplete"``), then each dask chunk is
        written as its own region and recorded inside the store (in ``.eoxr_write``). Calling
        again with ``resume=True`` writes only the chunks not yet recorded, and the finished
        store (marked ``"complete"``, record removed) equals one written without interruption.
        A complete store is left as it is. Dask chunks are first aligned on the Zarr chunks
        (``encoding`` chunks if given, else the first dask chunk per dim), so no two tasks
        share a Zarr chunk. Each chunk is written by the task that computed it (on a
        ``distributed`` worker: ``path`` must be on a filesystem the workers share, or an
        object-store URL). Cannot be combined with ``overwrite``.
    storage_options : dict, optional
        For a URL: options of its fsspec filesystem (e.g. ``{"endpoint_url": ...}``); by
        default the filesystem's standard environment variables (``AWS_*``...) apply.
    **kwargs
        Passed to :meth:`xarray.Dataset.to_zarr` (``encoding``...); ``mode`` is set by eoxr.

    Returns
    -------
    Path or str
        ``path``, a complete, consolidated store (a URL is returned as given). On an object
        store it carries ``eoxr:write_state="complete"``, with or without ``resume``.

    Raises
    ------
    WriteError
        ``path`` exists (without ``overwrite``) or is not a Zarr store, its folder (bucket) is
        missing or not writable, or writing failed (then nothing is left under ``path``, except with
        ``resume``, where the incomplete store stays to be resumed). With ``resume``: ``path``
        is not a store that eoxr started with ``resume=True``, or it was started for a cube of
        another layout. Without ``resume``: ``path`` is an incomplete resumable store (pass
        ``resume=True`` to finish it, or ``overwrite=True`` to start again).

    Examples
    --------
    >>> import eoxr.testing as et, tempfile, os, xarray as xr
    >>> p = et.make_cube().eo.to_zarr(os.path.join(tempfile.mkdtemp(), "cube.zarr"))
    >>> xr.open_zarr(p, decode_coords="all").rio.crs.to_epsg()
    32633
    >>> q = et.make_cube(chunks={"y": 16}).eo.to_zarr(p.with_name("r.zarr"), resume=True)
    >>> xr.open_zarr(q).attrs["eoxr:write_state"]
    'complete'
    """
    zarr_format = check_choice(zarr_format, ZARR_FORMATS, "zarr_format")
    if "mode" in kwargs:
        raise ParameterError(
            "to_zarr writes a whole new store atomically, so mode= cannot be chosen; use "
            "overwrite=True to replace an existing store, or xarray's own to_zarr to append."
        )
    ds = (
        cube.to_dataset(name=name or cube.name or "data")
        if isinstance(cube, xr.DataArray)
        else cube
    )
    for v in ds.variables.values():
        v.encoding.pop("chunks", None)
        v.encoding.pop("preferred_chunks", None)
    if resume and overwrite:
        raise ParameterError(
            "resume=True finishes an interrupted store and overwrite=True replaces a store: "
            "pass only one of them."
        )
    if objstore.is_url(path):
        loc = Location(str(path), storage_options)
        if resume:
            return _resumable_write(ds, loc, zarr_format, kwargs, progress)
        return _remote_write(ds, loc, overwrite, zarr_format, kwargs, progress)
    path = Path(path)
    if resume:
        return _resumable_write(ds, Location(str(path)), zarr_format, kwargs, progress)
    if not overwrite and write_state(path) == "incomplete":
        raise WriteError(
            f"{str(path)!r} is an incomplete store left by an interrupted "
            "to_zarr(..., resume=True); pass resume=True to write only its missing chunks, or "
            "overwrite=True to start again. Nothing was changed."
        )
    with _atomic_target(path, overwrite, "zarr") as tmp:
        if not is_dask(ds):
            ds.to_zarr(tmp, mode="w", consolidated=True, zarr_format=zarr_format, **kwargs)
            return path
        # Dask variables stream through store_blocks, as with resume (global statistics first,
        # row by row, in stripes: bounded memory), into a store whose metadata is written first.
        ds = _align_chunks(ds, kwargs.get("encoding"))
        ds.to_zarr(
            tmp, mode="w", compute=False, consolidated=True, zarr_format=zarr_format, **kwargs
        )
        _store(ds, Location(str(tmp)), zarr_format, progress, record=False)
    return path


def write_state(path: str | os.PathLike, storage_options: dict | None = None) -> str | None:
    """``"incomplete"`` or ``"complete"`` for a store written with ``resume=True``, else None.

    None also for anything that is not a Zarr store or whose metadata cannot be read: only a
    store that eoxr itself started (marked with the ``eoxr:write_state`` attribute) is resumed.
    ``path`` may be an object-store URL (``storage_options`` as for :func:`to_zarr`); every
    store eoxr writes there carries the attribute.
    """
    if objstore.is_url(path):
        loc = Location(str(path), storage_options)
    else:
        if not is_zarr_store(Path(path)):
            return None
        loc = Location(str(path))
    try:  # not the consolidated copy: the state attribute is updated last
        attrs = loc.group("r").attrs.asdict()
    except Exception:  # any unreadable metadata: not a store eoxr may touch
        return None
    state = attrs.get(WRITE_STATE)
    return state if state in ("incomplete", "complete") else None


def _align_chunks(ds: xr.Dataset, encoding: dict | None) -> xr.Dataset:
    """Rechunk dask variables on their Zarr chunk grid, so each dask block is one region."""
    for name, var in ds.variables.items():
        if not is_dask(var):
            continue
        want = (encoding or {}).get(name, {}).get("chunks") or tuple(c[0] for c in var.chunks)
        new = var.chunk(dict(zip(var.dims, want)))
        ds = ds.assign({name: new}) if name in ds.data_vars else ds.assign_coords({name: new})
    return ds


def _layout(ds: xr.Dataset) -> dict:
    """What a resumed write must match: every variable's dims, shape, dtype and chunks."""
    return {
        str(name): {
            "dims": [str(d) for d in var.dims],
            "shape": list(var.shape),
            "dtype": str(var.dtype),
            "chunks": [list(c) for c in var.chunks] if is_dask(var) else None,
        }
        for name, var in ds.variables.items()
    }


def _block_id(name: Any, index: tuple[int, ...]) -> str:
    return f"{name}@{'.'.join(map(str, index))}"


def _store(
    ds: xr.Dataset,
    loc: Location,
    zarr_format: int,
    progress: bool | None,
    *,
    record: bool,
    done: Collection[str] = (),
) -> None:
    """Write the dask variables of ``ds`` block by block into the existing store at ``loc``."""
    arrays = {name: var.data for name, var in ds.variables.items() if is_dask(var)}
    if not arrays:
        return
    dims = {name: ds.variables[name].dims for name in arrays}
    writer = functools.partial(_write_block, loc, dims, zarr_format, record)
    store_blocks(
        arrays,
        writer,
        skip=lambda name, idx: _block_id(name, idx) in done,
        progress=progress,
        stripe_axes={name: _x_axis(ds.variables[name]) for name in arrays},
    )


def _x_axis(var: xr.Variable) -> int | None:
    """Axis of the x dim of a variable (where it has one), along which writes go in stripes."""
    try:
        return var.dims.index(spatial_dims(xr.DataArray(var))[1])
    except DimensionError:
        return None


def _write_block(
    loc: Location,
    dims: dict,
    zarr_format: int,
    record: bool,
    name: Any,
    index: tuple[int, ...],
    region: tuple[slice, ...],
    block: np.ndarray,
) -> None:
    """Write one dask block as a region of the existing store, then record it as done.

    xarray takes the variable's encoding (fill value, dtype...) from the store. ``record``: the
    block is recorded as done after the data (a block killed mid-write is unrecorded and written
    again).
    """
    xr.Dataset({name: (dims[name], block)}).to_zarr(
        loc.store(),
        mode="r+",
        region=dict(zip(dims[name], region)),
        zarr_format=zarr_format,
        # Metadata read from the consolidated copy: listing the store would meet the record
        # (and, on an object store, costs a request per array). There, the copy is in memory.
        consolidated=True,
    )
    if record:
        loc.mark_done(_block_id(name, index))


def _create(ds: xr.Dataset, loc: Location, zarr_format: int, kwargs: dict) -> Location:
    """Write the metadata (and numpy variables) of a new store in place on an object store.

    Marked ``incomplete`` and without consolidated metadata, which :func:`_finish` writes last;
    returns ``loc`` with that metadata in memory, for the writing tasks. ``mode="w-"``: never
    over objects that appeared meanwhile.
    """
    ds.assign_attrs({WRITE_STATE: "incomplete"}).to_zarr(
        loc.path,
        mode="w-",
        compute=False,
        consolidated=False,
        zarr_format=zarr_format,
        **loc.zarr_kwargs(),
        **kwargs,
    )
    return loc.with_overlay()


def _remote_write(
    ds: xr.Dataset,
    loc: Location,
    overwrite: bool,
    zarr_format: int,
    kwargs: dict,
    progress: bool | None,
) -> str:
    """``to_zarr`` without ``resume`` to an object store: in place, consolidated last."""
    fs, root = loc.fs()
    objstore.check_bucket(fs, root, loc.path)
    found = objstore.objects(fs, root)
    if found and not overwrite and write_state(loc.path, loc.options) == "incomplete":
        raise WriteError(
            f"{loc.path!r} is an incomplete store left by an interrupted to_zarr; pass "
            "resume=True to write only its missing chunks (if it was started with "
            "resume=True), or overwrite=True to start again. Nothing was changed."
        )
    if found and not overwrite:
        raise WriteError(
            f"{loc.path!r} exists ({objstore.describe(found, root)}); pass overwrite=True to "
            "replace it."
        )
    if found:
        foreign = objstore.foreign_objects(found, root)
        if foreign:
            shown = ", ".join(k[len(root) + 1 :] or k for k in foreign[:5])
            raise WriteError(
                f"refusing to overwrite {loc.path!r}: it is {objstore.describe(found, root)}, "
                f"and {len(foreign)} of them are not part of a Zarr store ({shown}). "
                "overwrite=True only replaces a Zarr store; nothing was deleted. Choose another "
                "URL or remove those objects yourself."
            )
        fs.rm(found)
    if is_dask(ds):
        ds = _align_chunks(ds, kwargs.get("encoding"))
    try:
        _store(ds, _create(ds, loc, zarr_format, kwargs), zarr_format, progress, record=False)
        _finish(loc)
    except Exception as err:
        mine = objstore.objects(fs, root)
        mine = sorted(set(mine) - set(objstore.foreign_objects(mine, root)))
        if mine:
            fs.rm(mine)
        raise WriteError(
            f"writing {loc.path!r} failed: {err}. What was written there was deleted."
        ) from err
    return loc.path


def _resumable_write(
    ds: xr.Dataset, loc: Location, zarr_format: int, kwargs: dict, progress: bool | None = None
) -> Path | str:
    ds = _align_chunks(ds, kwargs.get("encoding"))
    layout = _layout(ds)
    if loc.remote:
        fs, root = loc.fs()
        objstore.check_bucket(fs, root, loc.path)
        found = objstore.objects(fs, root)
        state = write_state(loc.path, loc.options) if found else None
        what = objstore.describe(found, root) if found else ""
    else:
        path = Path(loc.path)
        found, state = os.path.lexists(path), write_state(path)
        what = _describe(path) if found else ""
    if state is None and found:
        raise WriteError(
            f"cannot resume {loc.path!r}: it is {what}, not a store that eoxr "
            "started with to_zarr(..., resume=True) (no `eoxr:write_state` attribute). Nothing "
            "was changed; choose another path (or overwrite=True without resume to replace a "
            "Zarr store)."
        )
    if state == "complete":
        return _finish(loc)  # again, in case the job was killed while finishing
    if state is None and loc.remote:
        # Metadata first (marked incomplete), then the layout record: a store without the
        # record is refused on resume, never guessed at.
        loc = _create(ds, loc, zarr_format, kwargs)
        loc.start_record(layout)
    elif state is None:
        with _atomic_target(path, False, "zarr") as tmp:
            # Metadata and numpy variables first, renamed into place whole: the store at `path`
            # always carries the state attribute and its layout record.
            ds.assign_attrs({WRITE_STATE: "incomplete"}).to_zarr(
                tmp, mode="w", compute=False, consolidated=True, zarr_format=zarr_format, **kwargs
            )
            Location(str(tmp)).start_record(layout)
    else:
        try:
            recorded, loc = loc.read_record()
        except (OSError, ValueError, KeyError) as err:
            raise WriteError(
                f"cannot resume {loc.path!r}: its record of completed chunks is unreadable "
                f"({err}). Pass overwrite=True (without resume) to write it again."
            ) from err
        if recorded != layout:
            changed = sorted(k for k in {*recorded, *layout} if recorded.get(k) != layout.get(k))
            raise WriteError(
                f"cannot resume {loc.path!r}: it was started for a cube of another layout "
                f"(variables {changed} differ in dims, shape, dtype or chunks). Resume with the "
                "same cube and chunks, or pass overwrite=True (without resume) to start again."
            )
    try:
        _store(ds, loc, zarr_format, progress, record=True, done=loc.done())
    except Exception as err:
        raise WriteError(
            f"writing {loc.path!r} failed: {err}. The chunks written so far are recorded: call "
            "again with resume=True to write the rest."
        ) from err
    return _finish(loc)


def _finish(loc: Location) -> Path | str:
    """Mark a fully written store complete, drop its record, consolidate its metadata (last)."""
    if loc.finish(WRITE_STATE, "complete"):  # an object store, its metadata known
        return loc.result()
    loc.group("r+").attrs[WRITE_STATE] = "complete"
    loc.drop_record()
    loc.consolidate()
    return loc.result()


__all__ = ["to_cog", "to_zarr", "is_geotiff", "is_zarr_store", "write_state", "WRITE_STATE"]
