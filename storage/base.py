"""The seam between Tracewire and where artifact bytes live."""

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Protocol

# Reads and writes move this much at a time: big enough for throughput, small enough that
# a 1 GB artifact never sits in memory.
CHUNK_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Download:
    """How the file is offered to a browser: its type, and whether to show it inline or
    save it (`attachment`), under `filename`."""

    content_type: str
    filename: str
    attachment: bool


class ObjectWriter(Protocol):
    """Stores bytes under keys made by `storage.keys` (checked again by every method): all
    the recorder's uploader needs, and all `ServerStore` (through a Tracewire server) does.

    `put` consumes `chunks` as they come (a store never holds a whole object in memory) and
    replaces any object under the key only once all of it is stored: a failed put leaves no
    partial object behind. Errors of `chunks` themselves pass through untranslated.
    """

    async def put(self, key: str, chunks: AsyncIterable[bytes], *, download: Download) -> None: ...

    async def close(self) -> None: ...


class ObjectStore(ObjectWriter, Protocol):
    """An `ObjectWriter` that also reads, for the server.

    `read` returns an iterator over `length` bytes from `offset` (to the end when None); it
    raises `ObjectMissing` before returning when there is no object. `url` is a short-lived
    direct URL for a browser, or None when the store has no such thing (then the server
    streams the object itself). `LocalStore` is the embedded default and the in-process
    twin of `S3Store`.
    """

    async def read(
        self, key: str, offset: int = 0, length: int | None = None
    ) -> AsyncIterator[bytes]: ...

    async def size(self, key: str) -> int | None:
        """The object's size in bytes; None when there is none."""
        ...

    async def url(self, key: str, *, expires_in: int, download: Download) -> str | None: ...

    async def delete(self, key: str) -> None:
        """Remove the object; removing a missing one is not an error."""
        ...
