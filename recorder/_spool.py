"""The disk spool: where batches wait while the database cannot take them.

One append-only file per live writer, `<pid>-<random>.spool`, locked (`flock`) while its
writer lives. An entry is `length (4 bytes) | crc32 (4 bytes) | JSON [batch id, records]`.
Batches are read back in the order they were appended and the file is emptied only once
every batch in it is committed; a batch re-sent after a crash keeps its id, so the sink
skips it if it was committed already. A file whose lock can be taken belongs to a process
that died (kill -9, power loss of the process): a new writer adopts it and replays it.

No fsync per append: the spool protects against the process dying, whose writes the kernel
keeps, not against the machine losing power.
"""

import fcntl
import logging
import os
import secrets
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import orjson

from tracewire.recorder._records import Batch, wire_record

logger = logging.getLogger("tracewire.recorder")

_HEADER = struct.Struct("<II")
SUFFIX = ".spool"


def _encode(batch: Batch) -> bytes:
    # orjson writes no tuple subclass (a NamedTuple) by itself: each record as an array.
    body = orjson.dumps([batch.id, batch.records], default=tuple)
    return _HEADER.pack(len(body), zlib.crc32(body)) + body


def _read_entries(fd: int, offset: int) -> Iterator[tuple[Batch, int]]:
    """(batch, offset after it) from `offset` on; stops at the end or at a torn entry."""
    while True:
        header = os.pread(fd, _HEADER.size, offset)
        if len(header) < _HEADER.size:
            return
        length, crc = _HEADER.unpack(header)
        body = os.pread(fd, length, offset + _HEADER.size)
        if len(body) < length or zlib.crc32(body) != crc:
            logger.error("tracewire: spool entry at byte %d is torn; ignoring the rest", offset)
            return
        batch_id, records = orjson.loads(body)
        offset += _HEADER.size + length
        yield Batch(batch_id, [wire_record(values) for values in records]), offset


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class Spool:
    """This writer's own spool file, created on first use."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / f"{os.getpid()}-{secrets.token_hex(4)}{SUFFIX}"
        self._fd: int | None = None
        self._read = 0  # everything before this offset is committed
        self._size = 0

    @property
    def pending_bytes(self) -> int:
        return self._size - self._read

    def append(self, batch: Batch) -> int:
        """Append one batch; raises OSError when the disk refuses (full, read-only)."""
        entry = _encode(batch)
        fd = self._open()
        try:
            written = os.pwrite(fd, entry, self._size)
            if written != len(entry):
                raise OSError(f"short write to the spool ({written} of {len(entry)} bytes)")
        except OSError:
            os.ftruncate(fd, self._size)  # no torn entry left behind for a replay to trip on
            raise
        self._size += len(entry)
        return len(entry)

    def peek(self) -> tuple[Batch, int] | None:
        """The oldest batch not yet committed, and the offset `commit` moves to."""
        if self._fd is None or self._read >= self._size:
            return None
        return next(_read_entries(self._fd, self._read), None)

    def commit(self, offset: int) -> None:
        self._read = offset
        if self._read >= self._size and self._fd is not None:
            os.ftruncate(self._fd, 0)  # every batch in it is committed
            self._read = self._size = 0

    def close(self) -> None:
        """Release the file: removed if empty, else left for the next writer to adopt."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        if self._size == self._read:
            self.path.unlink(missing_ok=True)
        os.close(fd)

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's file descriptor without touching the file."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self) -> int:
        if self._fd is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            # Locked under a name adopters ignore, then renamed: a live writer's file is
            # never visible unlocked.
            hidden = self.path.with_suffix(".new")
            fd = os.open(hidden, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.rename(hidden, self.path)
            self._fd = fd
        return self._fd


class Orphan:
    """A spool file left by a writer that died, locked by us while we replay it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd = fd
        self._read = 0
        self.size = os.fstat(fd).st_size

    @classmethod
    def adopt_all(cls, directory: Path, own: Path) -> list["Orphan"]:
        if not directory.is_dir():
            return []
        orphans = []
        for path in sorted(directory.glob(f"*{SUFFIX}")):
            if path == own:
                continue
            try:
                fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
            except FileNotFoundError:
                continue  # its owner finished with it meanwhile
            if _try_lock(fd) and path.exists():
                logger.warning("tracewire: replaying %s left by an earlier process", path.name)
                orphans.append(cls(path, fd))
            else:
                os.close(fd)
        return orphans

    @property
    def pending_bytes(self) -> int:
        return self.size - self._read

    def peek(self) -> tuple[Batch, int] | None:
        return next(_read_entries(self._fd, self._read), None)

    def commit(self, offset: int) -> None:
        self._read = offset

    def finish(self) -> None:
        """Everything replayed (or torn beyond repair): remove the file."""
        self.path.unlink(missing_ok=True)
        os.close(self._fd)

    def release(self) -> None:
        """Not finished: leave the file, unlocked, for a later writer."""
        os.close(self._fd)
