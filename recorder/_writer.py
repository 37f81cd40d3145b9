"""The background writer: drains the queue in batches and hands them to a sink.

The agent's threads only `append` to a deque (thread-safe, no lock of ours) and wake the
writer when a batch is full; otherwise the writer wakes on its own every `interval`.
"""

import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass

from recorder._records import Batch, Record
from recorder.sink import Sink

logger = logging.getLogger("tracewire.recorder")

_MAX_BACKOFF_S = 5.0


class _FlushMarker:
    """Queued by `flush`: set once every record queued before it has been written."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


@dataclass(slots=True)
class WriterStats:
    queued: int
    written_records: int
    written_batches: int
    failed_attempts: int
    last_batch_ms: float | None
    last_error: str | None


class BatchWriter:
    def __init__(self, sink: Sink, *, batch_size: int, interval: float) -> None:
        self._sink = sink
        self._batch_size = batch_size
        self._interval = interval
        self._queue: deque[Record | _FlushMarker] = deque()
        self._wake = threading.Event()
        self._closing = False
        self._written_records = 0
        self._written_batches = 0
        self._failed_attempts = 0
        self._last_batch_ms: float | None = None
        self._last_error: str | None = None
        self._thread = threading.Thread(target=self._loop, name="tracewire-writer", daemon=True)
        self._thread.start()

    def put(self, record: Record) -> None:
        """The hot path: one deque append, and a wake-up only when a batch is ready."""
        queue = self._queue
        queue.append(record)
        if len(queue) >= self._batch_size:
            self._wake.set()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is written; False if `timeout` ran out."""
        if not self._thread.is_alive():
            return not self._queue
        marker = _FlushMarker()
        self._queue.append(marker)
        self._wake.set()
        return marker.done.wait(timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Write what is queued (up to `timeout`), stop the thread, close the sink."""
        if self._closing:
            return not self._queue
        flushed = self.flush(timeout)
        self._closing = True
        self._wake.set()
        if not flushed:
            lost = sum(1 for item in self._queue if not isinstance(item, _FlushMarker))
            logger.error("tracewire: closing with %d records not written", lost)
        # The thread closes the sink on its way out; one stuck in a driver call is left to
        # finish (it is a daemon) rather than have its sink closed under it.
        self._thread.join(timeout=1.0 if flushed else 0.1)
        return flushed

    def stats(self) -> WriterStats:
        return WriterStats(
            queued=len(self._queue),
            written_records=self._written_records,
            written_batches=self._written_batches,
            failed_attempts=self._failed_attempts,
            last_batch_ms=self._last_batch_ms,
            last_error=self._last_error,
        )

    def _loop(self) -> None:
        try:
            while not self._closing:
                self._wake.wait(self._interval)
                self._wake.clear()
                self._drain()
        finally:
            try:
                self._sink.close()
            except Exception:
                logger.exception("tracewire: closing the sink failed")

    def _drain(self) -> None:
        queue = self._queue
        while queue and not self._closing:
            records: list[Record] = []
            markers: list[_FlushMarker] = []
            while queue and len(records) < self._batch_size:
                item = queue.popleft()
                if isinstance(item, _FlushMarker):
                    markers.append(item)
                    break  # records after a marker belong to the next batch
                records.append(item)
            if records and not self._write(Batch(uuid.uuid4(), records)):
                return  # closing while the sink still fails
            for marker in markers:
                marker.done.set()

    def _write(self, batch: Batch) -> bool:
        backoff = 0.05
        while True:
            started = time.perf_counter()
            try:
                self._sink.write(batch)
            except Exception as exc:  # the sink's driver errors are many; retry them all
                self._failed_attempts += 1
                self._last_error = f"{type(exc).__name__}: {exc}"
                logger.warning("tracewire: batch write failed, retrying: %s", self._last_error)
                if self._closing:
                    return False
                time.sleep(backoff)
                backoff = min(backoff * 2, _MAX_BACKOFF_S)
                continue
            self._last_batch_ms = (time.perf_counter() - started) * 1000
            self._written_records += len(batch.records)
            self._written_batches += 1
            return True
