"""The seam between the batch writer and where batches go."""

import threading
from typing import Protocol

from tracewire.recorder._records import Batch, WireRecord


class RetryLater(Exception):
    """The destination asks for the same batch again after `retry_after` seconds (it is
    busy, or catching up)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BatchRefused(Exception):
    """The destination will never take this batch as it is (it says the batch is
    malformed, or names what the caller may not write): retrying it would stop everything
    behind it, so the writer drops it, loudly."""


class Sink(Protocol):
    """Receives batches of wire records (see `recorder._records`) from the writer thread,
    one at a time, in order.

    `write` either commits the whole batch or raises; the writer then retries the same
    batch (same id; after `RetryLater.retry_after` when that is what it raised; never,
    when it raised `BatchRefused`), possibly after a restart from the disk spool, so a
    sink must skip a batch id it already committed. `close` is called once, from the writer thread.

    A sink may also have `heartbeat(run_ids)`: the writer calls it every
    `heartbeat_interval` with the (hex) ids of the runs open in the process, to mark them
    alive. A failed heartbeat is logged and not retried.
    """

    def write(self, batch: Batch) -> None: ...

    def close(self) -> None: ...


class MemorySink:
    """Keeps batches in memory: for tests and for agents run without a database."""

    def __init__(self) -> None:
        self.batches: list[Batch] = []
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self.closed = False
        self.heartbeats: list[list[str]] = []

    def write(self, batch: Batch) -> None:
        with self._lock:
            if batch.id not in self._seen:
                self._seen.add(batch.id)
                self.batches.append(batch)

    def heartbeat(self, run_ids: list[str]) -> None:
        with self._lock:
            self.heartbeats.append(run_ids)

    def close(self) -> None:
        self.closed = True

    @property
    def records(self) -> list[WireRecord]:
        with self._lock:
            return [record for batch in self.batches for record in batch.records]
