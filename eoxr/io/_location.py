"""Where a Zarr store is written: a local folder, or an object-store URL with its options.

:class:`Location` is small and picklable: the tasks that write chunks receive it and open the
store themselves, on whichever machine they run. On an object store the consolidated metadata
is written last (once the store is complete), so the writing tasks read a copy of it kept in
memory (:class:`MetadataOverlay`): without it, each task would list the store and read every
array's metadata before writing one chunk.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Literal

import zarr
from zarr.abc.store import ByteRequest, RangeByteRequest
from zarr.core.buffer import Buffer, BufferPrototype
from zarr.storage import FsspecStore, WrapperStore

from .. import _objstore as objstore

# The keys of consolidated metadata: Zarr v2's own object, Zarr v3's root document.
_CONSOLIDATED = (".zmetadata", "zarr.json")


class MetadataOverlay(WrapperStore):
    """A store whose keys in ``keys`` are read from memory and written to memory.

    Every other key is read from and written to the wrapped store.
    """

    def __init__(self, store: Any, keys: dict[str, bytes | None]) -> None:
        super().__init__(store)
        self.keys = keys

    def _with_store(self, store: Any) -> MetadataOverlay:
        return type(self)(store, self.keys)

    async def get(
        self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None
    ) -> Buffer | None:
        value = self.keys.get(key)
        if value is None:
            return await self._store.get(key, prototype, byte_range)
        if isinstance(byte_range, RangeByteRequest):
            value = value[byte_range.start : byte_range.end]
        elif byte_range is not None:
            raise NotImplementedError(f"{type(byte_range).__name__} of an in-memory key")
        return prototype.buffer.from_bytes(value)

    async def exists(self, key: str) -> bool:
        return self.keys.get(key) is not None or await self._store.exists(key)

    async def set(self, key: str, value: Buffer) -> None:
        if key in self.keys:
            self.keys[key] = value.to_bytes()
        else:
            await self._store.set(key, value)

    def list_dir(self, prefix: str) -> AsyncIterator[str]:
        return self._store.list_dir(prefix)


@dataclasses.dataclass(frozen=True)
class Location:
    """A Zarr store's place: a local path, or a URL with fsspec ``options``.

    ``overlay``: for a URL, consolidated metadata kept in memory (see :meth:`with_overlay`).
    """

    path: str
    options: dict | None = None
    overlay: tuple[tuple[str, bytes], ...] = ()

    @property
    def remote(self) -> bool:
        return objstore.is_url(self.path)

    def fs(self) -> tuple[Any, str]:
        return objstore.filesystem(self.path, self.options)

    def zarr_kwargs(self) -> dict:
        return {"storage_options": self.options} if self.remote and self.options else {}

    def store(self) -> Any:
        """What xarray and zarr write chunks to: the path, or the URL's store and overlay."""
        if not self.remote:
            return self.path
        base = FsspecStore.from_url(self.path, storage_options=self.options, read_only=False)
        return MetadataOverlay(base, dict(self.overlay))

    def group(self, mode: Literal["r", "r+"]) -> zarr.Group:
        return zarr.open_group(self.path, mode=mode, use_consolidated=False, **self.zarr_kwargs())

    def result(self) -> Path | str:
        return self.path if self.remote else Path(self.path)

    def with_overlay(self) -> Location:
        """The same location, with its consolidated metadata computed into memory (not written)."""
        base = FsspecStore.from_url(self.path, storage_options=self.options, read_only=False)
        captured: dict[str, bytes | None] = dict.fromkeys(_CONSOLIDATED)
        zarr.consolidate_metadata(MetadataOverlay(base, captured))
        found = tuple((k, v) for k, v in captured.items() if v is not None)
        return dataclasses.replace(self, overlay=found)

    def record(self, *parts: str) -> str:
        """The key (URL) or path of the record of a resumable write, inside the store."""
        if self.remote:
            return "/".join([self.fs()[1], objstore.RECORD, *parts])
        return os.path.join(self.path, objstore.RECORD, *parts)

    def start_record(self, layout: dict) -> None:
        """Keep the layout (and any metadata overlay) of a resumable write inside the store."""
        text = json.dumps({"layout": layout, "overlay": {k: v.decode() for k, v in self.overlay}})
        if self.remote:  # no folders: the "done/" prefix appears with its first object
            self.fs()[0].pipe_file(self.record("layout.json"), text.encode())
            return
        os.makedirs(self.record("done"))
        Path(self.record("layout.json")).write_text(text)

    def read_record(self) -> tuple[dict, Location]:
        """The recorded layout, and this location with the recorded overlay."""
        if self.remote:
            saved = json.loads(self.fs()[0].cat_file(self.record("layout.json")))
        else:
            saved = json.loads(Path(self.record("layout.json")).read_text())
        if set(saved) != {"layout", "overlay"}:  # a record of eoxr <= 0.x: the layout alone
            return saved, self
        overlay = tuple((k, v.encode()) for k, v in saved["overlay"].items())
        return saved["layout"], dataclasses.replace(self, overlay=overlay)

    def mark_done(self, block: str) -> None:
        if self.remote:
            self.fs()[0].pipe_file(self.record("done", block), b"")
        else:
            Path(self.record("done", block)).touch()

    def done(self) -> set[str]:
        if not self.remote:
            return set(os.listdir(self.record("done")))
        fs, _ = self.fs()
        try:
            return {k.rsplit("/", 1)[1] for k in fs.ls(self.record("done"), detail=False)}
        except FileNotFoundError:
            return set()

    def drop_record(self) -> None:
        if not self.remote:
            shutil.rmtree(self.record(), ignore_errors=True)
            return
        fs, _ = self.fs()
        mine = objstore.objects(fs, self.record())
        if mine:
            fs.rm(mine)

    def finish(self, attr: str, value: str) -> bool:
        """Set a root attribute, drop the record, write the consolidated metadata (last).

        From the metadata overlay of an object store (no listing of the store): the
        metadata does not change while chunks are written. False (and nothing done) without
        an overlay.
        """
        meta = {k: json.loads(v) for k, v in self.overlay}
        if not self.remote or not meta:
            return False
        fs, root = self.fs()
        if ".zmetadata" in meta:  # Zarr v2: the root attributes, then the consolidated copy
            doc = meta[".zmetadata"]
            doc["metadata"].setdefault(".zattrs", {})[attr] = value
            fs.pipe_file(f"{root}/.zattrs", json.dumps(doc["metadata"][".zattrs"]).encode())
            self.drop_record()
            fs.pipe_file(f"{root}/.zmetadata", json.dumps(doc).encode())
            return True
        doc = meta["zarr.json"]  # Zarr v3: one root document holds both
        doc.setdefault("attributes", {})[attr] = value
        bare = {k: v for k, v in doc.items() if k != "consolidated_metadata"}
        fs.pipe_file(f"{root}/zarr.json", json.dumps(bare).encode())
        self.drop_record()
        fs.pipe_file(f"{root}/zarr.json", json.dumps(doc).encode())
        return True

    def consolidate(self) -> None:
        """Write the consolidated metadata to the store (for an object store: last)."""
        if not self.remote:
            zarr.consolidate_metadata(self.path)
            return
        store = FsspecStore.from_url(self.path, storage_options=self.options, read_only=False)
        zarr.consolidate_metadata(store)


__all__ = ["Location", "MetadataOverlay"]
