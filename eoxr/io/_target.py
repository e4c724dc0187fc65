"""What stands at a writer's local target, and the atomic rename that puts a new output there.

Each writer writes to a hidden temporary name beside the target and renames it into place only
when complete, so a failed or interrupted write never leaves a partial file under the final name.

``overwrite=True`` replaces only what the writer itself produces: :func:`eoxr.io.to_cog` an
existing GeoTIFF file, :func:`eoxr.io.to_zarr` an existing Zarr store. A folder of other files,
any other file or a symbolic link raises :class:`~eoxr.errors.WriteError` and nothing is deleted.
The target's folder must exist: writers do not create folders, so that a mistyped path fails
loudly.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import rasterio
import rasterio.errors

from ..errors import WriteError

# Little/big endian classic TIFF and BigTIFF (GDAL writes BigTIFF for > 4 GB outputs).
TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")
_ZARR_METADATA = (".zgroup", ".zarray", "zarr.json")


def is_geotiff(path: Path) -> bool:
    """Whether ``path`` is a regular file that starts like a TIFF and GDAL opens as a GTiff."""
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with open(path, "rb") as f:
            if f.read(4) not in TIFF_MAGIC:
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


def describe(path: Path) -> str:
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
            f"{describe(parent)}."
        )
    if not os.access(parent, os.W_OK | os.X_OK):
        raise WriteError(f"cannot write {str(path)!r}: the folder {str(parent)!r} is not writable.")
    if not os.path.lexists(path):
        return
    what = "a GeoTIFF" if kind == "geotiff" else "a Zarr store"
    if not overwrite:
        raise WriteError(
            f"{str(path)!r} exists ({describe(path)}); pass overwrite=True to replace it."
        )
    ours = is_geotiff(path) if kind == "geotiff" else is_zarr_store(path)
    if not ours:
        raise WriteError(
            f"refusing to overwrite {str(path)!r}: it is {describe(path)}, not {what}. "
            f"overwrite=True only replaces {what}; nothing was deleted. "
            "Choose another path or remove it yourself."
        )


@contextlib.contextmanager
def atomic_target(path: Path, overwrite: bool, kind: Literal["geotiff", "zarr"]) -> Iterator[Path]:
    path = Path(path)
    _check_target(path, overwrite, kind)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
    except BaseException as err:
        remove(tmp)
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
        remove(tmp)
        raise WriteError(f"could not move the new output into {str(path)!r}: {err}") from err
    if trash is not None and is_zarr_store(trash):
        shutil.rmtree(trash)


def remove(p: Path) -> None:
    """Remove one of the writer's own temporary outputs."""
    if p.is_symlink() or p.is_file():
        p.unlink()
    elif p.is_dir():
        shutil.rmtree(p, ignore_errors=True)


__all__ = ["is_geotiff", "is_zarr_store"]
