"""Zarr writing (:func:`to_zarr`): atomic, or resumable; keeps the CRS, nothing half-written.

A store is written under a hidden temporary name beside the target and renamed into place only
when complete (:mod:`eoxr.io._target`), so a failed or interrupted write never leaves a partial
store under the final name. ``overwrite=True`` replaces an existing Zarr store only.

``to_zarr(path, resume=True)`` is the exception, for jobs that may be killed: the store is created
in place (metadata first, atomically), then written chunk by chunk while a record of completed
chunks is kept inside it; a re-run writes only the chunks not yet recorded. Such a store carries
the attribute ``eoxr:write_state`` (``"incomplete"``, then ``"complete"``), which is how eoxr
recognises its own stores: a folder without it is never resumed into.

Object stores (``s3://``, ``gs://``, ``az://`` URLs, through fsspec; configured only by the
standard environment variables such as ``AWS_*`` and ``AWS_ENDPOINT_URL``, and by
``storage_options=``) have no rename, so atomicity is designed differently there:

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

import functools
import os
from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr

from .. import _objstore as objstore
from .._dask.chunking import is_dask
from .._dask.store import store_blocks
from .._dims import spatial_dims
from ..errors import DimensionError, ParameterError, WriteError
from ._location import Location
from ._options import ZARR_FORMATS, check_choice
from ._target import atomic_target, describe, is_zarr_store

# Resumable Zarr writes: the state attribute and the record folder kept inside the store.
WRITE_STATE = "eoxr:write_state"
_RECORD = objstore.RECORD


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
    with atomic_target(path, overwrite, "zarr") as tmp:
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
        what = describe(path) if found else ""
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
        with atomic_target(path, False, "zarr") as tmp:
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


__all__ = ["to_zarr", "write_state", "WRITE_STATE"]
