"""The disk spool: where batches wait while the database cannot take them.

One append-only file per live writer, `<pid>-<random>.spool`, locked (`flock`) while its
writer lives. An entry is `length (4 bytes) | crc32 (4 bytes) | JSON [batch id, records,
recorded]`, `recorded` being how many records the agent recorded for it (the unit of
`RecorderStats`; an instant step is one recorded record and two wire records).
Batches are read back in the order they were appended and the file is emptied only once
every batch in it is committed; a batch re-sent after a crash keeps its id, so the sink
skips it if it was committed already. A file whose lock can be taken belongs to a process
that died (kill -9, power loss of the process): a new writer adopts it and replays it.

The writer syncs the file (`fdatasync`) once per round of appends: ~2 ms (p99 ~14 ms) on an
ext4 virtual disk for a round of 50 steps, on the writer thread, only while spooling (an
outage), so a spooled batch survives the machine losing power, not only the process dying.
"""

import fcntl
import logging
import os
import secrets
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import orjson

from tracewire.recorder._records import Batch, wire_record

logger = logging.getLogger("tracewire.recorder")

_HEADER = struct.Struct("<II")
SUFFIX = ".spool"


class SpoolEntry(NamedTuple):
    batch: Batch
    end: int  # the offset after it: what `commit` moves to
    recorded: int


def _encode(batch: Batch, recorded: int) -> bytes:
    # orjson writes no tuple subclass (a NamedTuple) by itself: each record as an array.
    body = orjson.dumps([batch.id, batch.records, recorded], default=tuple)
    return _HEADER.pack(len(body), zlib.crc32(body)) + body


def _read_entries(fd: int, offset: int) -> Iterator[SpoolEntry]:
    """The entries from `offset` on; stops at the end or at a torn entry."""
    while True:
        header = os.pread(fd, _HEADER.size, offset)
        if len(header) < _HEADER.size:
            return
        length, crc = _HEADER.unpack(header)
        body = os.pread(fd, length, offset + _HEADER.size)
        if len(body) < length or zlib.crc32(body) != crc:
            logger.error("tracewire: spool entry at byte %d is torn; ignoring the rest", offset)
            return
        batch_id, records, *recorded = orjson.loads(body)  # older spools have no count
        offset += _HEADER.size + length
        batch = Batch(batch_id, [wire_record(values) for values in records])
        yield SpoolEntry(batch, offset, recorded[0] if recorded else len(records))


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

    def append(self, batch: Batch, recorded: int | None = None) -> tuple[int, int]:
        """Append one batch (`recorded` records as the agent counts them); its (start, end)
        offsets. Raises OSError when the disk refuses (full, read-only)."""
        entry = _encode(batch, len(batch.records) if recorded is None else recorded)
        fd = self._open()
        try:
            written = os.pwrite(fd, entry, self._size)
            if written != len(entry):
                raise OSError(f"short write to the spool ({written} of {len(entry)} bytes)")
        except OSError:
            os.ftruncate(fd, self._size)  # no torn entry left behind for a replay to trip on
            raise
        start, self._size = self._size, self._size + len(entry)
        return start, self._size

    def sync(self) -> None:
        """Make what was appended durable (raises OSError when the disk cannot)."""
        if self._fd is not None:
            os.fdatasync(self._fd)

    @property
    def read_offset(self) -> int:
        return self._read

    def next_entry(self) -> SpoolEntry | None:
        """The oldest batch not yet committed."""
        if self._fd is None or self._read >= self._size:
            return None
        entry = next(_read_entries(self._fd, self._read), None)
        if entry is None:
            self.commit(self._size)  # torn: nothing after it can be read back
        return entry

    def peek(self) -> tuple[Batch, int] | None:
        """The oldest batch not yet committed, and the offset `commit` moves to."""
        entry = self.next_entry()
        return None if entry is None else (entry.batch, entry.end)

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

    def next_entry(self) -> SpoolEntry | None:
        return next(_read_entries(self._fd, self._read), None)

    def peek(self) -> tuple[Batch, int] | None:
        entry = self.next_entry()
        return None if entry is None else (entry.batch, entry.end)

    def commit(self, offset: int) -> None:
        self._read = offset

    def finish(self) -> None:
        """Everything replayed (or torn beyond repair): remove the file."""
        self.path.unlink(missing_ok=True)
        os.close(self._fd)

    def release(self) -> None:
        """Not finished: leave the file, unlocked, for a later writer."""
        os.close(self._fd)
