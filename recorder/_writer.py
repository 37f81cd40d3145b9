"""The background writer: drains the queue in batches, hands them to a sink, and spools them
to disk when the sink cannot take them.

The agent's threads only `append` to a deque (thread-safe, no lock of ours) and set an event
when a batch is ready; otherwise the writer wakes every `interval`. Everything else (turning
records into wire form, retries with backoff, the spool) happens on this thread, and the
sink's calls on a committer thread: the writer never waits on the sink, so a call stuck
in a hung database delays no spooling and no exit.

Spooling is time-based: while the sink is failing or stuck (a call `spool_after` seconds
without an answer), what has waited `spool_after` seconds uncommitted goes to disk, and then
the queue at every wake. So during an outage a kill -9 loses at most what was recorded in
the last `spool_after` seconds plus one `interval`. A sink that answers works through a
backlog from memory (spooled only past `max_queue`): through the disk it would go slower.

Order is kept per writer: once anything is spooled, newer records wait behind it (in memory,
or in the spool) until the spool has been replayed. Replayed and re-sent batches keep their
ids, which the sink skips once committed: each record is stored once.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Literal

from tracewire.recorder._committer import Committer, ForkGate
from tracewire.recorder._ids import ids
from tracewire.recorder._prepare import prepare, prepare_instant, wall_clock_anchor
from tracewire.recorder._records import KIND, STEP_INSTANT, Batch, QueuedRecord, WireRecord
from tracewire.recorder._spool import Orphan, Spool, SpoolEntry
from tracewire.recorder.sink import BatchRefused, RetryLater, Sink
from tracewire.recorder.stats import RecorderStats

logger = logging.getLogger("tracewire.recorder")

_FIRST_BACKOFF_S = 0.05
_MAX_BACKOFF_S = 2.0
# A batch may grow to this many times `batch_size` when a backlog built up: fewer, larger
# transactions catch up faster.
_BACKLOG_FACTOR = 8
# How many times `max_queue` memory may hold, when the spool's disk is full, while the
# sink works through the spool again (`_drop_over_budget`).
_RECOVERY_FACTOR = 4
# Records prepared between two yields of the GIL while a batch is being written (~0.2 ms).
_YIELD_EVERY = 64


class _FlushMarker:
    """Queued by `flush`: set once every record queued before it has been committed, or
    lost (`lost`: records were dropped or refused since it was queued, and records are
    lost oldest first)."""

    __slots__ = ("done", "dropped_before", "lost")

    def __init__(self, dropped_before: int) -> None:
        self.done = threading.Event()
        self.dropped_before = dropped_before
        self.lost = False


class _Outgoing:
    """A prepared batch in memory. `since` is no later than when its oldest record was
    queued; `recorded` counts its records as the agent recorded them; `spooled` is where it
    was appended to the spool while the sink still had it."""

    __slots__ = ("batch", "markers", "recorded", "since", "spooled")

    def __init__(
        self, batch: Batch, markers: list[_FlushMarker], recorded: int, since: float
    ) -> None:
        self.batch = batch
        self.markers = markers
        self.recorded = recorded
        self.since = since
        self.spooled: tuple[int, int] | None = None


class _InFlight:
    """The one sink call under way: a batch from memory, or an entry replayed from a spool."""

    __slots__ = ("batch", "done", "entry", "outgoing", "source", "started")

    def __init__(
        self,
        batch: Batch,
        done: "Future[Any]",
        outgoing: _Outgoing | None = None,
        source: Spool | Orphan | None = None,
        entry: SpoolEntry | None = None,
    ) -> None:
        self.batch = batch
        self.done = done
        self.outgoing = outgoing
        self.source = source
        self.entry = entry
        self.started = time.monotonic()

    @property
    def recorded(self) -> int:
        if self.outgoing is not None:
            return self.outgoing.recorded
        assert self.entry is not None
        return self.entry.recorded


_Outcome = Literal["committed", "refused", "failed"]


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
        # Prepared batches in memory, in order, behind whatever is spooled.
        self._held: deque[_Outgoing] = deque()
        self._held_records = 0  # their `recorded`, summed: read by `stats` from any thread
        self._in_flight: _InFlight | None = None
        # When the queue's oldest record was queued, no later than: at each wake the writer
        # notes (time, records queued so far); the agent's append stays a bare append.
        self._queue_marks: deque[tuple[float, int]] = deque()
        self._taken_total = 0  # items ever taken off the queue
        self._behind_spool: list[_FlushMarker] = []
        self._fork_gate = ForkGate()
        self._committer = Committer(self._fork_gate)
        self._wake = threading.Event()
        # Cuts the writer's wait short: a sink call returned, or close was called.
        self._interrupt = threading.Event()
        self._stopping = threading.Event()
        self._deadline = float("inf")
        self._retry_at = 0.0
        self._backoff = _FIRST_BACKOFF_S
        self._failing_since: float | None = None
        self._spool_refused = False  # the disk said no; said once per episode
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
        """Wait until everything queued so far is committed; False if `timeout` ran out or
        some of it was lost (refused by the server, or dropped: the spool's disk refused)."""
        if not self._thread.is_alive():
            return self._idle()
        marker = _FlushMarker(self._dropped)
        self.queue.append(marker)
        self._wake.set()
        return marker.done.wait(timeout) and not marker.lost

    def close(self, timeout: float) -> bool:
        """Keep writing for up to `timeout` seconds, then spool what is left and stop; stop
        sooner once everything is committed, or spooled while the sink fails. True if
        everything was committed."""
        if not self._stopping.is_set():
            self._deadline = time.monotonic() + timeout
            self._stopping.set()
            self._interrupt.set()
            self._wake.set()
        # The thread never waits on the sink: past the deadline it only writes the spool.
        self._thread.join(timeout + 5.0)
        if self._thread.is_alive():
            logger.error("tracewire: the writer did not stop; %d queued", len(self.queue))
        return self._idle()

    def stats(self) -> RecorderStats:
        """Every count is of records as the agent recorded them (a step's start, its end, an
        instant step, a run opened...); flush markers in the queue count too (rare)."""
        spooled = sum(o.pending_bytes for o in self._orphans)
        if self._spool is not None:
            spooled += self._spool.pending_bytes
        flight = self._in_flight
        sending = flight.outgoing if flight is not None else None
        return RecorderStats(
            queued=len(self.queue)
            + self._held_records
            + (sending.recorded if sending is not None and sending.spooled is None else 0),
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
        return not self._in_memory() and self._in_flight is None and not own_spool and not orphans

    def _in_memory(self) -> bool:
        """Records that only memory holds (a batch the sink has counts until spooled)."""
        flight = self._in_flight
        sending = flight is not None and flight.outgoing is not None and not flight.outgoing.spooled
        return bool(self.queue or self._held or sending)

    def _loop(self) -> None:
        try:
            if self._spool is not None:
                self._orphans = Orphan.adopt_all(self._spool.directory, self._spool.path)
            while True:
                now = time.monotonic()
                self._mark_queue(now)
                self._collect()
                if self._must_spool(now):
                    self._spool_memory()
                if self._in_flight is None and now >= self._retry_at:
                    self._send_next()
                if self._in_flight is not None:
                    self._prepare_ahead()
                if now >= self._next_heartbeat:
                    self._next_heartbeat = now + self._heartbeat_interval
                    self._beat()
                if self._stopping.is_set() and self._may_stop(now):
                    break
                self._wait(now)
        except Exception:
            logger.exception("tracewire: the writer failed")
        finally:
            self._shut_down()

    def _wait(self, now: float) -> None:
        """Until the next thing to do: a sink call returns, a batch is ready, a retry or
        the spool is due, or the next `interval` tick."""
        wake_at = min(now + self._interval, self._deadline)
        spool_at = self._spool_due(now)
        if spool_at > now:  # one due and refused (a full disk) is tried next tick, no spin
            wake_at = min(wake_at, spool_at)
        if self._in_flight is not None or now < self._retry_at:
            if self._in_flight is None:
                wake_at = min(wake_at, self._retry_at)
            # Asleep on `_interrupt`, not `_wake`: the agent's threads keep seeing `_wake`
            # set and skip setting it while the sink is busy or down.
            self._interrupt.wait(max(wake_at - now, 0.0))
            self._interrupt.clear()
        else:
            self._wake.wait(max(wake_at - now, 0.0))
            self._wake.clear()

    def _may_stop(self, now: float) -> bool:
        if self._idle() or now >= self._deadline:
            return True
        # The sink is failing and nothing is left in memory only: waiting longer would
        # only hold the process (`docker stop` kills it after 10 s anyway).
        return self._spool is not None and self._troubled(now) and not self._in_memory()

    def _troubled(self, now: float) -> bool:
        flight = self._in_flight
        stuck = flight is not None and now - flight.started >= self._spool_after
        return self._failing_since is not None or stuck

    def _oldest_in_memory(self) -> float:
        """No later than when the oldest record only memory holds was queued (inf: none)."""
        oldest = float("inf")
        flight = self._in_flight
        if flight is not None and flight.outgoing is not None and not flight.outgoing.spooled:
            oldest = flight.outgoing.since
        if self._held:
            oldest = min(oldest, self._held[0].since)
        if self.queue:
            oldest = min(oldest, self._queue_since())
        return oldest

    def _mark_queue(self, now: float) -> None:
        queued_so_far = self._taken_total + len(self.queue)
        marks = self._queue_marks
        if not marks or marks[-1][1] < queued_so_far:
            marks.append((now, queued_so_far))

    def _queue_since(self) -> float:
        """No later than when the queue's oldest record was queued: the first mark taken
        after it was (within one wake of the truth, however long the queue stays full)."""
        marks = self._queue_marks
        while marks and marks[0][1] <= self._taken_total:
            marks.popleft()  # noted before anything still queued was
        return marks[0][0] if marks else time.monotonic()

    def _spool_due(self, now: float) -> float:
        """When memory is next to be spooled by age. Only while the sink is in trouble: a
        database that answers, if slower than the agent for a while, works through a
        backlog in memory (within `max_queue`) faster than through the disk; spooling it
        would cost the writer the CPU it is short of. Meanwhile, the moment a call under
        way would count as stuck."""
        if self._spool is None:
            return float("inf")
        if self._troubled(now):
            return self._oldest_in_memory() + self._spool_after
        flight = self._in_flight
        return flight.started + self._spool_after if flight is not None else float("inf")

    def _must_spool(self, now: float) -> bool:
        if self._spool is None or not self._in_memory():
            return False  # no spool configured: memory is all there is
        if now >= self._deadline or len(self.queue) + self._held_records > self._max_queue:
            return True  # closing, or the sink is slower than the agent: bound memory
        if not self._troubled(now):
            return False
        # An outage under way: what has waited `spool_after`, then what arrives, at every
        # wake.
        return now >= self._spool_due(now) or self._spool.pending_bytes > 0

    # -- sending ------------------------------------------------------------------------

    def _send_next(self) -> None:
        """Start the next sink call: the spool first (older), then memory, then spools
        adopted from dead processes."""
        spool = self._spool
        if spool is not None and spool.pending_bytes and (entry := spool.next_entry()):
            self._start(entry.batch, source=spool, entry=entry)
            return
        self._release_behind_spool()
        while (outgoing := self._next_outgoing()) is not None:
            if outgoing.batch.records:
                self._start(outgoing.batch, outgoing=outgoing)
                return
            self._release(outgoing.markers)  # only markers: everything before is committed
        while self._orphans:
            orphan = self._orphans[0]
            if (entry := orphan.next_entry()) is not None:
                self._start(entry.batch, source=orphan, entry=entry)
                return
            self._orphans.pop(0).finish()

    def _next_outgoing(self) -> _Outgoing | None:
        if self._held:
            outgoing = self._held.popleft()
            self._held_records -= outgoing.recorded
            return outgoing
        return self._take()

    def _prepare_ahead(self) -> None:
        """While a batch is with the sink, prepare the next one if a full one is waiting
        (a smaller one would only split what is arriving)."""
        if not self._held and len(self.queue) >= self._batch_size:
            self._hold(self._take(yielding=True))

    def _hold(self, outgoing: _Outgoing | None) -> None:
        if outgoing is not None:
            self._held.append(outgoing)
            self._held_records += outgoing.recorded

    def _take(self, *, yielding: bool = False) -> _Outgoing | None:
        """The next batch, prepared. `yielding` (a batch is being written meanwhile): give
        the GIL up every few records, so the committer thread, whose every database answer
        needs the GIL back, does not wait a whole switch interval (5 ms) each time."""
        queue = self.queue
        if not queue:
            return None
        since = self._queue_since()
        anchor = wall_clock_anchor()
        limit = self._batch_size * _BACKLOG_FACTOR
        records: list[WireRecord] = []
        markers: list[_FlushMarker] = []
        taken = recorded = 0
        while queue and len(records) < limit:
            taken += 1
            if yielding and not taken % _YIELD_EVERY:
                time.sleep(0)
            item = queue.popleft()
            if isinstance(item, _FlushMarker):
                markers.append(item)
                break  # records after a marker belong to the next batch
            recorded += 1
            if item[KIND] == STEP_INSTANT:
                records.extend(prepare_instant(item, anchor))
            else:
                records.append(prepare(item, anchor))
        self._taken_total += taken
        if self._offload is not None:
            records = self._offload(records)
        return _Outgoing(Batch(f"{ids.new():032x}", records), markers, recorded, since)

    def _start(
        self,
        batch: Batch,
        *,
        outgoing: _Outgoing | None = None,
        source: Spool | Orphan | None = None,
        entry: SpoolEntry | None = None,
    ) -> None:
        health = {**self._identity, **self._health()}
        done = self._committer.start(self._sink.write, batch._replace(health=health))
        self._in_flight = _InFlight(batch, done, outgoing, source, entry)
        done.add_done_callback(lambda _: self._interrupt.set())

    def _collect(self) -> None:
        """Settle the sink call that has returned, if one has."""
        flight = self._in_flight
        if flight is None or not flight.done.done():
            return
        self._in_flight = None
        outcome = self._outcome(flight)
        spool = self._spool
        if flight.source is not None and flight.entry is not None:
            if outcome != "failed":
                flight.source.commit(flight.entry.end)
        elif flight.outgoing is not None:
            outgoing = flight.outgoing
            if outgoing.spooled is not None:
                # Spooled while the sink had it: the spool's copy is the one that counts.
                start, end = outgoing.spooled
                if outcome != "failed" and spool is not None and spool.read_offset == start:
                    spool.commit(end)
            elif outcome == "failed":
                self._held.appendleft(outgoing)  # retried first, with the same id
                self._held_records += outgoing.recorded
            else:
                self._release(outgoing.markers)
        if spool is None or not spool.pending_bytes:
            self._release_behind_spool()

    def _outcome(self, flight: _InFlight) -> _Outcome:
        batch = flight.batch
        try:
            flight.done.result()
        except BatchRefused as exc:
            self._dropped += flight.recorded
            self._last_error = f"refused: {exc}"
            logger.error(
                "tracewire: %s refused a batch of %d records, dropped: %s",
                self._destination,
                len(batch.records),
                exc,
            )
            return "refused"
        except Exception as exc:  # the sink's driver errors are many; retry them all
            self._failed(exc)
            return "failed"
        self._last_batch_ms = (time.monotonic() - flight.started) * 1000
        self._written_records += flight.recorded
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
        return "committed"

    def _failed(self, exc: Exception) -> None:
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

    def _beat(self) -> None:
        """Tell the sink which runs are still open here (their process is alive). Not
        waited for: the committer runs it between batches."""
        beat = getattr(self._sink, "heartbeat", None)
        if beat is None or not self._open_runs or self._failing_since is not None:
            return  # while batches fail, so would this; a committed batch refreshes anyway
        if self._in_flight is not None and self._troubled(time.monotonic()):
            return  # it would only queue behind a stuck call
        run_ids = [f"{run:032x}" for run in list(self._open_runs)]
        self._committer.start(beat, run_ids).add_done_callback(_log_heartbeat_failure)

    # -- the spool ----------------------------------------------------------------------

    def _spool_memory(self) -> None:
        """Append, in order, everything only memory holds: the batch the sink has, the
        held batches, the queue. What the disk refuses stays in memory, within
        `max_queue`; past it, that is what is dropped."""
        spool = self._spool
        assert spool is not None
        flight = self._in_flight
        if flight is not None and flight.outgoing is not None and not flight.outgoing.spooled:
            # It went out while the spool was empty, so it goes first.
            sending = flight.outgoing
            if (offsets := self._append(sending)) is None:
                self._drop_over_budget()
                return
            sending.spooled = offsets
            self._behind_spool.extend(sending.markers)
            sending.markers = []
        while self._held:
            if self._append(self._held[0]) is None:
                self._drop_over_budget()
                return
            outgoing = self._held.popleft()
            self._held_records -= outgoing.recorded
            self._behind_spool.extend(outgoing.markers)
        while (taken := self._take()) is not None:
            if self._append(taken) is None:
                self._hold(taken)
                self._drop_over_budget()
                return
            self._behind_spool.extend(taken.markers)
        try:
            spool.sync()  # once per round: what is spooled survives a power loss too
        except OSError as exc:
            logger.error("tracewire: the spool cannot be synced to disk: %s", exc)
        if self._spool_refused:
            self._spool_refused = False
            logger.warning("tracewire: the spool takes batches again")

    def _append(self, outgoing: _Outgoing) -> tuple[int, int] | None:
        assert self._spool is not None
        if not outgoing.batch.records:
            return (self._spool.read_offset, self._spool.read_offset)
        try:
            return self._spool.append(outgoing.batch, outgoing.recorded)
        except OSError as exc:
            self._last_error = f"spool: {type(exc).__name__}: {exc}"
            if not self._spool_refused:
                self._spool_refused = True
                logger.error(
                    "tracewire: the spool refuses batches (%s); keeping them in memory", exc
                )
            return None

    def _drop_over_budget(self) -> None:
        """The disk refuses and memory is over budget: the one way records get lost. While
        the sink takes batches again (it is working through the spool ahead of them), the
        budget is `_RECOVERY_FACTOR` times larger: what is recorded after the database came
        back is not dropped because the spool it waits behind fills the disk."""
        budget = self._max_queue
        if not self._troubled(time.monotonic()):
            budget *= _RECOVERY_FACTOR
        dropped = 0
        while len(self.queue) + self._held_records > budget:
            if not self._held:
                self._hold(self._take())  # what is dropped is prepared first, oldest first
                continue
            outgoing = self._held.popleft()
            self._held_records -= outgoing.recorded
            dropped += outgoing.recorded
            self._dropped += outgoing.recorded
            self._release(outgoing.markers)  # a flush waiting on them would wait forever
        if dropped:
            logger.error("tracewire: dropped %d records: the spool refuses them", dropped)

    def _release_behind_spool(self) -> None:
        self._release(self._behind_spool)

    def _release(self, markers: list[_FlushMarker]) -> None:
        for marker in markers:
            marker.lost = self._dropped > marker.dropped_before
            marker.done.set()
        markers.clear()

    def _health(self) -> dict[str, Any]:
        return self.stats().as_dict()

    def _shut_down(self) -> None:
        flight = self._in_flight
        stuck = flight is not None and not flight.done.done()
        try:
            if self._spool is not None:
                self._spool_memory()  # the next process replays it
                self._spool.close()
            elif not self._idle():
                lost = self.stats().queued
                self._dropped += lost
                logger.error("tracewire: closing with %d records not written", lost)
            for orphan in self._orphans:
                orphan.release()
        finally:
            self._close_sink(stuck)

    def _close_sink(self, stuck: bool) -> None:
        if stuck:
            # The call never returned (a hung database): the committer thread is a daemon,
            # left to die with the process rather than hold its exit.
            logger.error("tracewire: %s does not answer; not waiting", self._destination)
            self._committer.stop(0)
            return
        try:
            self._committer.run(self._sink.close)
        except Exception:
            logger.exception("tracewire: closing the sink failed")
        finally:
            self._committer.stop(5.0)


def _log_heartbeat_failure(done: "Future[Any]") -> None:
    exc = done.exception()
    if exc is not None:
        logger.warning("tracewire: heartbeat failed: %s: %s", type(exc).__name__, exc)
