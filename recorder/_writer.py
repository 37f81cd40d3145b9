"""The background writer: drains the queue in batches, hands them to a sink, and spools them
to disk when the sink cannot take them.

The agent's threads only `append` to a deque (thread-safe, no lock of ours) and set an event
when a batch is ready; otherwise the writer wakes every `interval`. Everything else (turning
records into wire form, retries with backoff, the spool) happens on this thread.

Order is kept per writer: once anything is spooled, newer records queue behind it in the
spool until the spool has been replayed.
"""

import logging
import os
import queue
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from tracewire.recorder._ids import ids
from tracewire.recorder._prepare import prepare, prepare_instant, wall_clock_anchor
from tracewire.recorder._records import KIND, STEP_INSTANT, Batch, QueuedRecord, WireRecord
from tracewire.recorder._spool import Orphan, Spool
from tracewire.recorder.sink import BatchRefused, RetryLater, Sink
from tracewire.recorder.stats import RecorderStats

logger = logging.getLogger("tracewire.recorder")

_FIRST_BACKOFF_S = 0.05
_MAX_BACKOFF_S = 2.0
# A batch may grow to this many times `batch_size` when a backlog built up: fewer, larger
# transactions catch up faster.
_BACKLOG_FACTOR = 8
# Records prepared between two yields of the GIL while a batch is being written (~0.2 ms).
_YIELD_EVERY = 64


class _ForkGate:
    """Each writer thread holds its gate while it is inside its sink, and `fork` waits for
    all of them: a child must not start with a lock (OpenSSL's, the driver's) that a writer
    thread held at the fork, since nothing in the child would release it and the child's
    own writer would hang on it. A fork waits for at most one sink call per writer."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        _gates.add(self)


_gates: "weakref.WeakSet[_ForkGate]" = weakref.WeakSet()
_held: list[_ForkGate] = []


def _close_gates() -> None:
    _held[:] = list(_gates)
    for gate in _held:
        gate.lock.acquire()


def _open_gates() -> None:
    for gate in _held:
        gate.lock.release()
    _held.clear()


os.register_at_fork(before=_close_gates, after_in_parent=_open_gates, after_in_child=_open_gates)


_Job = tuple[Callable[..., Any], tuple[Any, ...], "Future[Any]"]


class _Committer:
    """Runs the sink's calls on a thread of its own, one at a time, each inside the fork
    gate: while a batch is on its way to the database or the server, the writer thread
    prepares the next one (half of a batch's time is our Python, the other half waiting)."""

    def __init__(self, gate: _ForkGate) -> None:
        self._gate = gate
        self._jobs: queue.SimpleQueue[
            tuple[Callable[..., Any], tuple[Any, ...], Future[Any]] | None
        ] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="tracewire-committer", daemon=True)
        self._thread.start()

    def start(self, call: Callable[..., Any], *args: Any) -> "Future[Any]":
        done: Future[Any] = Future()
        self._jobs.put((call, args, done))
        return done

    def run(self, call: Callable[..., Any], *args: Any) -> Any:
        return self.start(call, *args).result()

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(5.0)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            call, args, done = job
            try:
                with self._gate.lock:
                    result = call(*args)
            except BaseException as exc:  # handed to the writer, which decides
                done.set_exception(exc)
            else:
                done.set_result(result)


class _FlushMarker:
    """Queued by `flush`: set once every record queued before it has been committed."""

    __slots__ = ("done",)

    def __init__(self) -> None:
        self.done = threading.Event()


class _Outgoing:
    __slots__ = ("batch", "markers")

    def __init__(self, batch: Batch, markers: list[_FlushMarker]) -> None:
        self.batch = batch
        self.markers = markers


class BatchWriter:
    def __init__(
        self,
        sink: Sink,
        *,
        batch_size: int,
        interval: float,
        max_queue: int,
        spool_after: float,
        spool_dir: Path | None,
        identity: dict[str, Any],
        open_runs: set[int] | None = None,
        heartbeat_interval: float = 10.0,
        offload: Callable[[list[WireRecord]], list[WireRecord]] | None = None,
    ) -> None:
        self.queue: deque[QueuedRecord | _FlushMarker] = deque()
        self._sink = sink
        # What the outage messages name: the sink's own words (a URL, password masked).
        self._destination = str(getattr(sink, "destination", type(sink).__name__))
        self._batch_size = batch_size
        self._interval = interval
        self._max_queue = max_queue
        self._spool_after = spool_after
        self._identity = identity
        self._open_runs = open_runs if open_runs is not None else set()
        self._heartbeat_interval = heartbeat_interval
        # Moves step values over the inline limit to the artifact store (`_offload`).
        self._offload = offload
        self._next_heartbeat = time.monotonic() + heartbeat_interval
        self._spool = Spool(spool_dir) if spool_dir is not None else None
        self._orphans: list[Orphan] = []
        self._pending: _Outgoing | None = None  # failed once; retried with the same id
        self._ahead: _Outgoing | None = None  # taken and prepared while a batch was sent
        self._behind_spool: list[_FlushMarker] = []
        self._fork_gate = _ForkGate()
        self._committer = _Committer(self._fork_gate)
        self._wake = threading.Event()
        self._interrupt = threading.Event()  # cuts a backoff short when closing
        self._stopping = threading.Event()
        self._deadline = float("inf")
        self._retry_at = 0.0
        self._backoff = _FIRST_BACKOFF_S
        self._failing_since: float | None = None
        self._written_records = self._written_batches = self._failed_attempts = 0
        self._dropped = 0
        self._last_batch_ms: float | None = None
        self._last_error: str | None = None
        self._thread = threading.Thread(target=self._loop, name="tracewire-writer", daemon=True)
        self._thread.start()

    # -- called from the agent's threads ----------------------------------------------

    def wake(self) -> None:
        if not self._wake.is_set():  # is_set is lock-free; set() is not
            self._wake.set()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is committed; False if `timeout` ran out."""
        if not self._thread.is_alive():
            return self._idle()
        marker = _FlushMarker()
        self.queue.append(marker)
        self._wake.set()
        return marker.done.wait(timeout)

    def close(self, timeout: float) -> bool:
        """Keep writing for up to `timeout` seconds, then spool what is left and stop.
        True if everything was committed."""
        if not self._stopping.is_set():
            self._deadline = time.monotonic() + timeout
            self._stopping.set()
            self._interrupt.set()
            self._wake.set()
        # Past the deadline the thread spools what is left; give it a moment for that.
        self._thread.join(timeout + 5.0)
        if self._thread.is_alive():
            logger.error("tracewire: the writer is stuck in the sink; %d queued", len(self.queue))
        return self._idle()

    def stats(self) -> RecorderStats:
        spooled = sum(o.pending_bytes for o in self._orphans)
        if self._spool is not None:
            spooled += self._spool.pending_bytes
        return RecorderStats(
            # len() counts flush markers too; iterating would race the agent's appends.
            queued=len(self.queue)
            + sum(len(o.batch.records) for o in (self._pending, self._ahead) if o is not None),
            spooled_bytes=spooled,
            dropped=self._dropped,
            written_records=self._written_records,
            written_batches=self._written_batches,
            failed_attempts=self._failed_attempts,
            last_batch_ms=self._last_batch_ms,
            last_error=self._last_error,
        )

    def forget_after_fork(self) -> None:
        """In a forked child: let go of the parent's files (the parent's thread owns them)."""
        if self._spool is not None:
            self._spool.forget_after_fork()
        for orphan in self._orphans:
            orphan.release()
        self._orphans = []

    # -- the writer thread --------------------------------------------------------------

    def _idle(self) -> bool:
        """Nothing left to commit: not in memory, not in our spool, not in adopted ones."""
        own_spool = self._spool.pending_bytes if self._spool is not None else 0
        orphans = any(orphan.pending_bytes for orphan in self._orphans)
        held = self._pending is not None or self._ahead is not None
        return not self.queue and not held and not own_spool and not orphans

    def _loop(self) -> None:
        try:
            if self._spool is not None:
                self._orphans = Orphan.adopt_all(self._spool.directory, self._spool.path)
            while True:
                self._cycle()
                now = time.monotonic()
                if now >= self._next_heartbeat:
                    self._next_heartbeat = now + self._heartbeat_interval
                    self._beat()
                if self._stopping.is_set() and (self._idle() or now >= self._deadline):
                    break
                if now < self._retry_at:
                    # Asleep on `_interrupt`, not `_wake`: the agent's threads keep seeing
                    # `_wake` set and skip setting it while the sink is down.
                    self._interrupt.wait(min(self._retry_at - now, self._deadline - now))
                    self._interrupt.clear()
                else:
                    self._wake.wait(self._interval)
                    self._wake.clear()
        except Exception:
            logger.exception("tracewire: the writer failed")
        finally:
            self._shut_down()

    def _cycle(self) -> None:
        now = time.monotonic()
        if now < self._retry_at:
            if self._must_spool(now):
                self._spool_everything()
            return
        spool = self._spool
        if spool is not None and len(self.queue) > self._max_queue:
            self._spool_everything()  # the database is slower than the agent: bound memory
        if spool is not None and spool.pending_bytes:
            self._spool_everything()  # newer records go behind the spooled ones
            if not self._replay(spool):
                return
            self._release(self._behind_spool)
        while (outgoing := self._pending or self._next()) is not None:
            if not self._send(outgoing.batch, prepare_next=True):
                self._pending = outgoing
                if self._must_spool(time.monotonic()):
                    self._spool_everything()
                return
            self._pending = None
            self._release(outgoing.markers)
        if self._spool is None or not self._spool.pending_bytes:
            self._release(self._behind_spool)
        while self._orphans:
            if not self._replay(self._orphans[0]):
                return
            self._orphans.pop(0).finish()

    def _next(self) -> _Outgoing | None:
        ahead, self._ahead = self._ahead, None
        return ahead or self._take()

    def _take(self, *, yielding: bool = False) -> _Outgoing | None:
        """The next batch, prepared. `yielding` (a batch is being written meanwhile): give
        the GIL up every few records, so the committer thread, whose every database answer
        needs the GIL back, does not wait a whole switch interval (5 ms) each time."""
        queue = self.queue
        if not queue:
            return None
        anchor = wall_clock_anchor()
        limit = self._batch_size * _BACKLOG_FACTOR
        records: list[WireRecord] = []
        markers: list[_FlushMarker] = []
        taken = 0
        while queue and len(records) < limit:
            taken += 1
            if yielding and not taken % _YIELD_EVERY:
                time.sleep(0)
            item = queue.popleft()
            if isinstance(item, _FlushMarker):
                markers.append(item)
                break  # records after a marker belong to the next batch
            if item[KIND] == STEP_INSTANT:
                records.extend(prepare_instant(item, anchor))
            else:
                records.append(prepare(item, anchor))
        if self._offload is not None:
            records = self._offload(records)
        return _Outgoing(Batch(f"{ids.new():032x}", records), markers)

    def _send(self, batch: Batch, *, prepare_next: bool = False) -> bool:
        """Write one batch; with `prepare_next`, take the next one meanwhile when a full
        batch is waiting (a smaller one would only split what is arriving)."""
        if not batch.records:
            return True
        started = time.perf_counter()
        try:
            health = {**self._identity, **self._health()}
            written = self._committer.start(self._sink.write, batch._replace(health=health))
            if prepare_next and self._ahead is None and len(self.queue) >= self._batch_size:
                self._ahead = self._take(yielding=True)
            written.result()
        except BatchRefused as exc:
            self._dropped += len(batch.records)
            self._last_error = f"refused: {exc}"
            logger.error(
                "tracewire: %s refused a batch of %d records, dropped: %s",
                self._destination,
                len(batch.records),
                exc,
            )
            return True
        except Exception as exc:  # the sink's driver errors are many; retry them all
            self._failed_attempts += 1
            self._last_error = f"{type(exc).__name__}: {exc}"
            now = time.monotonic()
            if self._failing_since is None:
                # Once per outage: a retry every few seconds would bury the agent's own log.
                logger.warning(
                    "tracewire: cannot write to %s (%s); retrying in the background, "
                    "spooling to disk if it lasts",
                    self._destination,
                    self._last_error,
                )
                self._failing_since = now
            else:
                logger.debug("tracewire: batch write failed again: %s", self._last_error)
            if isinstance(exc, RetryLater):
                self._retry_at = now + exc.retry_after  # the pause it asked for
            else:
                self._retry_at = now + self._backoff
                self._backoff = min(self._backoff * 2, _MAX_BACKOFF_S)
            return False
        self._last_batch_ms = (time.perf_counter() - started) * 1000
        self._written_records += len(batch.records)
        self._written_batches += 1
        if self._failing_since is not None:
            logger.warning(
                "tracewire: writing to %s again after %.0f s",
                self._destination,
                time.monotonic() - self._failing_since,
            )
        self._failing_since = None
        self._retry_at = 0.0
        self._backoff = _FIRST_BACKOFF_S
        return True

    def _replay(self, source: Spool | Orphan) -> bool:
        while (entry := source.peek()) is not None:
            batch, offset = entry
            if not self._send(batch):
                return False
            source.commit(offset)
        return True

    def _beat(self) -> None:
        """Tell the sink which runs are still open here (their process is alive)."""
        beat = getattr(self._sink, "heartbeat", None)
        if beat is None or not self._open_runs or self._failing_since is not None:
            return  # while batches fail, so would this; a committed batch refreshes anyway
        try:
            run_ids = [f"{run:032x}" for run in list(self._open_runs)]
            self._committer.run(beat, run_ids)
        except Exception as exc:
            logger.warning("tracewire: heartbeat failed: %s: %s", type(exc).__name__, exc)

    def _must_spool(self, now: float) -> bool:
        if self._spool is None:
            return False  # no spool configured: memory is all there is
        outage = self._failing_since is not None and now - self._failing_since >= self._spool_after
        return outage or len(self.queue) > self._max_queue or now >= self._deadline

    def _spool_everything(self) -> None:
        assert self._spool is not None
        for held in (self._pending, self._ahead):
            if held is not None:
                self._to_spool(held)
        self._pending = self._ahead = None
        while (outgoing := self._take()) is not None:
            self._to_spool(outgoing)

    def _to_spool(self, outgoing: _Outgoing) -> None:
        assert self._spool is not None
        self._behind_spool.extend(outgoing.markers)
        if not outgoing.batch.records:
            return
        try:
            self._spool.append(outgoing.batch)
        except OSError as exc:
            # The one way records get lost: the disk refuses them too.
            self._dropped += len(outgoing.batch.records)
            self._last_error = f"spool: {type(exc).__name__}: {exc}"
            logger.error("tracewire: dropped %d records: %s", len(outgoing.batch.records), exc)

    def _release(self, markers: list[_FlushMarker]) -> None:
        for marker in markers:
            marker.done.set()
        markers.clear()

    def _health(self) -> dict[str, Any]:
        return self.stats().as_dict()

    def _shut_down(self) -> None:
        try:
            if self._spool is not None:
                self._spool_everything()  # the next process replays it
                self._spool.close()
            elif not self._idle():
                lost = self.stats().queued
                self._dropped += lost
                logger.error("tracewire: closing with %d records not written", lost)
            for orphan in self._orphans:
                orphan.release()
        finally:
            try:
                self._committer.run(self._sink.close)
            except Exception:
                logger.exception("tracewire: closing the sink failed")
            finally:
                self._committer.stop()
