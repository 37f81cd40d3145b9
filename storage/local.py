"""Artifacts on the local disk: the embedded default, and the twin of `S3Store` in tests."""

import asyncio
import os
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Callable
from pathlib import Path
from typing import BinaryIO

from tracewire.storage.base import CHUNK_BYTES, Download
from tracewire.storage.errors import InvalidKey, ObjectMissing, StoreUnavailable
from tracewire.storage.keys import check_key


class LocalStore:
    """Objects as files under `root` (created on first write). A put writes a hidden
    temporary file beside the target and renames it into place, so readers see the whole
    object or none. Reads run in worker threads: the server's loop never waits on disk."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()

    def path_of(self, key: str) -> Path:
        """The file for `key`, which must stay under `root` (symlinks included)."""
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise InvalidKey(f"key leaves the store: {key!r}")
        return path

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, download: Download) -> None:
        # Plain blocking writes: puts come from the recorder's uploader, on a loop of its own
        # (a worker thread per chunk would spread the chunks over many malloc arenas).
        path = self.path_of(key)
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            file = temp.open("wb")
        except OSError as exc:
            raise StoreUnavailable(f"cannot write {key}: {exc}") from exc
        try:
            # The source's own errors pass through as they are: only ours are translated.
            async for chunk in chunks:
                _ours(key, file.write, chunk)
            _ours(key, file.close)
            _ours(key, os.replace, temp, path)
        except OSError as exc:
            if isinstance(exc, _WriteFailed):
                raise StoreUnavailable(f"cannot write {key}: {exc.__cause__}") from exc
            raise
        finally:
            file.close()
            temp.unlink(missing_ok=True)

    async def read(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]:
        path = self.path_of(key)
        try:
            file = await asyncio.to_thread(path.open, "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ObjectMissing(key) from None
        except OSError as exc:
            raise StoreUnavailable(f"cannot read {key}: {exc}") from exc
        return _chunks(file, offset, length)

    async def size(self, key: str) -> int | None:
        path = self.path_of(key)
        try:
            stat = await asyncio.to_thread(path.stat)
        except FileNotFoundError:
            return None
        return stat.st_size

    async def url(self, key: str, *, expires_in: int, download: Download) -> str | None:
        return None  # the server streams local files itself (api/artifacts)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path_of(key).unlink, missing_ok=True)

    async def close(self) -> None:
        pass


class _WriteFailed(OSError):
    """The store's own write failed (as opposed to the source's read)."""


def _ours(key: str, call: Callable[..., object], *args: object) -> None:
    try:
        call(*args)
    except OSError as exc:
        raise _WriteFailed(key) from exc


async def _chunks(file: BinaryIO, offset: int, length: int | None) -> AsyncIterator[bytes]:
    try:
        await asyncio.to_thread(file.seek, offset)
        left = length
        while left is None or left > 0:
            want = CHUNK_BYTES if left is None else min(CHUNK_BYTES, left)
            chunk = await asyncio.to_thread(file.read, want)
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk
    finally:
        await asyncio.to_thread(file.close)
