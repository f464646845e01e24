"""Where uploaded files' bytes live: a blob store of keys to bytes. `LocalBlobStore` keeps
them as files in a directory (by default under the data dir); `S3BlobStore` (s3_blobs.py)
in a bucket of an S3-compatible object store, shared by every replica as the database is.
A local directory is only shared by replicas that mount the same volume."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from pathlib import Path
from typing import Protocol

# Keys are ids the server made (file-<hex>); anything else could escape the directory.
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


class BlobStoreUnavailable(RuntimeError):
    """The blob store cannot be used (a bucket that does not exist, credentials refused, an
    endpoint that does not answer): a start-up error, its message naming what to fix."""


class BlobStore(Protocol):
    async def open(self) -> None:
        """Connect and check the store can be used (idempotent); raises
        BlobStoreUnavailable."""
        ...

    async def aclose(self) -> None:
        """Release what `open` took (connections); the store is not used after."""
        ...

    async def put(self, key: str, content: bytes) -> None: ...

    async def get(self, key: str) -> bytes:
        """The bytes under `key`; raises KeyError if there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Delete the bytes under `key` (nothing there is not an error)."""
        ...


class LocalBlobStore:
    """Blobs as files under `root`, two levels of fan-out by key, written whole (a temporary
    file renamed into place, so a reader never sees half a blob). Disk I/O runs in a worker
    thread, off the event loop."""

    def __init__(self, root: Path) -> None:
        self._root = root

    async def open(self) -> None:
        # Nothing to connect to: the directories are made as blobs arrive.
        return None

    async def aclose(self) -> None:
        return None

    def _path(self, key: str) -> Path:
        if not KEY_PATTERN.match(key):
            raise ValueError(f"not a blob key: {key!r}")
        tail = key[-4:].rjust(4, "_")
        return self._root / tail[:2] / tail[2:] / key

    async def put(self, key: str, content: bytes) -> None:
        await asyncio.to_thread(self._put, self._path(key), content)

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            raise KeyError(key) from None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    @staticmethod
    def _put(path: Path, content: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
        try:
            with partial.open("wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
