"""Object-store targets of the writers: URLs, fsspec filesystems, what eoxr may replace there.

An object store (``s3://``, ``gs://``, ``az://``...) has no folders and no rename: a "folder" is a
key prefix, and an object appears whole when its single put or multipart upload completes. The
writers therefore write a file locally and upload it in one go (:func:`upload`,
``eoxr.io.write_cog``), and write a Zarr store in place with its consolidated metadata last
(``eoxr.io.write_zarr``). Configuration is the standard kind only: the filesystem's own
environment variables (``AWS_*``, ``AWS_ENDPOINT_URL``...) and ``storage_options=``, handed to
fsspec unchanged.
"""

from __future__ import annotations

import os
import re
from typing import Any

from .errors import WriteError

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# Schemes an object can be written to through fsspec; http(s) is read-only.
_READ_ONLY = ("http", "https")
# Names of Zarr metadata objects (v2 and v3) and the record of a resumable write.
_ZARR_META = (".zgroup", ".zattrs", ".zarray", ".zmetadata", "zarr.json")
RECORD = ".eoxr_write"
# A chunk key inside an array's prefix: v2 "0.1" or "0/1", v3 "c/0/1", "c.0.1" or "c".
_CHUNK = re.compile(r"^(c|(c[./])?\d+([./]\d+)*)$")


def is_url(path: Any) -> bool:
    """Whether ``path`` is a URL with a scheme other than ``file://`` (a remote target)."""
    if not isinstance(path, str):
        return False
    m = _SCHEME.match(path)
    return bool(m) and m.group(1).lower() != "file"


def join(base: str | os.PathLike, name: str) -> str:
    """``base/name`` for a URL or a local path (a URL keeps its scheme and slashes)."""
    if is_url(base):
        return f"{str(base).rstrip('/')}/{name}"
    return os.path.join(os.fspath(base), name)


def filesystem(url: str, storage_options: dict | None = None) -> tuple[Any, str]:
    """The fsspec filesystem of ``url`` and the path inside it (no trailing slash).

    Its listings are not cached between calls: objects written by other processes (workers)
    must be seen.
    """
    scheme = _SCHEME.match(url).group(1).lower()
    if scheme in _READ_ONLY:
        raise WriteError(
            f"cannot write to {url!r}: {scheme}:// is read-only. Write to an object store "
            "(s3://, gs://, az://...) or a local path."
        )
    try:
        import fsspec
    except ImportError as err:
        raise ImportError(
            f'writing to {url!r} needs fsspec and its filesystem: `pip install "eoxr[cloud]"` '
            "(s3fs; gcsfs or adlfs for gs:// and az://)"
        ) from err
    try:
        fs, root = fsspec.core.url_to_fs(url, **(storage_options or {}))
    except (ImportError, ValueError) as err:
        raise WriteError(f"cannot write to {url!r}: {err}") from err
    fs.invalidate_cache()
    return fs, root.rstrip("/")


def check_bucket(fs: Any, root: str, url: str) -> None:
    """Refuse a target whose bucket (container) does not exist or cannot be reached.

    Buckets are not created, as folders are not created for local paths: a mistyped name fails.
    """
    bucket = root.split("/", 1)[0]
    try:
        found = fs.exists(bucket)
    except Exception as err:  # credentials, endpoint, network: say which URL and why
        raise WriteError(f"cannot reach the bucket of {url!r}: {err}") from err
    if not found:
        raise WriteError(
            f"cannot write {url!r}: the bucket {bucket!r} does not exist (or these credentials "
            "cannot see it). Create it first; eoxr does not create buckets, so a mistyped URL "
            "fails instead of writing somewhere unexpected."
        )


def objects(fs: Any, root: str) -> list[str]:
    """Every object under the prefix ``root/`` (and ``root`` itself if it is an object)."""
    fs.invalidate_cache()
    try:
        return sorted(fs.find(root))
    except FileNotFoundError:
        return []


def describe(found: list[str], root: str) -> str:
    """What lies at a prefix, in words, for error messages."""
    if found == [root]:
        return "an object (a file)"
    names = [k[len(root) + 1 :] for k in found]
    shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
    return f"a prefix with {len(names)} objects ({shown})"


def foreign_objects(found: list[str], root: str) -> list[str]:
    """The objects under ``root`` that are not part of a Zarr store there (all, if none is).

    A store is recognised by its root metadata (``.zgroup``/``zarr.json``); it owns its metadata
    objects, the chunk objects of its arrays (under a prefix holding ``.zarray`` or
    ``zarr.json``) and eoxr's record of a resumable write.
    """
    rel = [k[len(root) + 1 :] for k in found if k.startswith(root + "/")]
    if len(rel) != len(found) or not {".zgroup", "zarr.json"} & set(rel):
        return list(found)
    arrays = {k.rsplit("/", 1)[0] for k in rel if "/" in k and k.rsplit("/", 1)[1] in _ZARR_META}

    def owned(key: str) -> bool:
        if key.rsplit("/", 1)[-1] in _ZARR_META or key.startswith(RECORD + "/"):
            return True
        return any(key.startswith(a + "/") and _CHUNK.match(key[len(a) + 1 :]) for a in arrays)

    return [f"{root}/{k}" for k in rel if not owned(k)]


def upload(local: str | os.PathLike, fs: Any, root: str, url: str) -> None:
    """Upload a finished local file to ``root`` in one put (or one multipart upload).

    The object appears only when the upload completes: a reader never sees part of it.
    """
    try:
        fs.put_file(os.fspath(local), root)
    except Exception as err:
        raise WriteError(f"uploading to {url!r} failed: {err}. Nothing was written there.") from err


__all__ = [
    "RECORD",
    "check_bucket",
    "describe",
    "filesystem",
    "foreign_objects",
    "is_url",
    "join",
    "objects",
    "upload",
]
