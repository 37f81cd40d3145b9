"""An artifact on its way to the store: what the agent handed over, and how to read it.

Built on the agent's thread (cheap: no I/O beyond a `stat` of a path, so a missing file
fails at once, where the agent can see it); read on the uploader's thread.
"""

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tracewire.storage import CHUNK_BYTES

# What `artifact()` takes: the content itself, a file to read, or a binary stream to read
# (the recorder then owns the stream and closes it once uploaded).
Source = bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes]


@dataclass(slots=True)
class ArtifactJob:
    artifact_id: uuid.UUID
    run_id: uuid.UUID
    step_id: uuid.UUID | None
    org: str
    role: str
    name: str | None
    mime_type: str | None
    content: bytes | Path | IO[bytes]
    # A file of ours (a parked or buffered copy), removed once the artifact is committed.
    owned_file: Path | None = None
    stream_start: int | None = None
    # While parked on disk: its metadata file, locked by this process (see `_artifact_park`).
    parked: Path | None = None
    lock_fd: int | None = None

    @property
    def rereadable(self) -> bool:
        """Whether a failed attempt can start over from the beginning."""
        content = self.content
        return isinstance(content, bytes | Path) or _seekable(content)

    def open_chunks(self) -> Iterator[bytes]:
        """The content from its start, `CHUNK_BYTES` at a time."""
        content = self.content
        if isinstance(content, bytes):
            view = memoryview(content)
            for start in range(0, len(content), CHUNK_BYTES):
                yield bytes(view[start : start + CHUNK_BYTES])
            return
        if isinstance(content, Path):
            with content.open("rb") as file:
                while chunk := file.read(CHUNK_BYTES):
                    yield chunk
            return
        if self.stream_start is None:
            self.stream_start = content.tell() if _seekable(content) else 0
        else:
            content.seek(self.stream_start)
        while chunk := content.read(CHUNK_BYTES):
            yield chunk

    def read_from(self, copy: Path) -> None:
        """From now on read the content from `copy`, a whole copy of it in a file of ours:
        close the stream we own and remove an older copy."""
        self._close_stream()
        if self.owned_file is not None and self.owned_file != copy:
            self.owned_file.unlink(missing_ok=True)
        self.content = self.owned_file = copy

    def release(self) -> None:
        """Committed (or given up): close a stream we own, remove our copies."""
        self._close_stream()
        if self.owned_file is not None:
            self.owned_file.unlink(missing_ok=True)
        if self.parked is not None:
            self.parked.unlink(missing_ok=True)
        self.unlock()

    def unlock(self) -> None:
        """Let another process adopt the parked job (when this one stops first)."""
        if self.lock_fd is not None:
            os.close(self.lock_fd)
            self.lock_fd = None

    def _close_stream(self) -> None:
        if not isinstance(self.content, bytes | Path):
            self.content.close()


def content_of(source: Source) -> tuple[bytes | Path | IO[bytes], str | None]:
    """What to read, and the name it suggests (a path's or a named stream's)."""
    if isinstance(source, bytes):
        return source, None
    if isinstance(source, bytearray | memoryview):
        return bytes(source), None  # a copy: the agent may reuse its buffer
    if isinstance(source, str | os.PathLike):
        path = Path(os.fspath(source))
        if not path.is_file():
            raise FileNotFoundError(f"no such file to store as an artifact: {path}")
        return path, path.name
    if hasattr(source, "read"):
        name = getattr(source, "name", None)
        return source, Path(name).name if isinstance(name, str) else None
    raise TypeError(
        f"an artifact comes from bytes, a file path or a binary stream, not {type(source)}"
    )


def _seekable(stream: IO[bytes]) -> bool:
    try:
        return stream.seekable()
    except (AttributeError, ValueError, OSError):
        return False
