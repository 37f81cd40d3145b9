"""Fan-out inside one server process: one read per notification per run, shared by every
subscriber of that run, pushed into bounded per-subscriber buffers.

A subscriber whose buffer is full is not grown: it is marked lagging and catches up from
the tables itself (see `api.live.stream`). A `RESYNC` from the notifier marks everyone.
"""

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Iterator
from typing import Generic, TypeVar

from broadcaster import Broadcast

from tracewire.db import notify
from tracewire.db.models import Run
from tracewire.live.notifier import RESYNC
from tracewire.live.outage import database_unreachable
from tracewire.live.reader import LiveEvent, LiveReader

logger = logging.getLogger("tracewire.live")

CHANNEL = notify.CHANNEL
# A busy run is read, and sent to each subscriber, at most once per interval, whatever its
# write rate: 10 ms keeps 100 viewers of a 1000-steps/s run near 40 ms at p99 on 2 cores.
DEFAULT_INTERVAL = 0.010
T = TypeVar("T")


class Listener(Generic[T]):
    """One subscriber's bounded buffer. `get()` returns a batch, or None meaning: you may
    have missed something, re-read from the tables."""

    def __init__(self, capacity: int) -> None:
        self._queue: asyncio.Queue[list[T] | None] = asyncio.Queue(maxsize=capacity)
        self._lagging = False

    def offer(self, items: list[T]) -> None:
        if self._lagging:
            return
        try:
            self._queue.put_nowait(items)
        except asyncio.QueueFull:
            self.mark_lagging()

    def mark_lagging(self) -> None:
        self._lagging = True
        with contextlib.suppress(asyncio.QueueFull):
            self._queue.put_nowait(None)

    async def get(self) -> list[T] | None:
        item = await self._queue.get()
        if item is None or self._lagging:
            # Drop what is buffered: the catch-up read covers it.
            while not self._queue.empty():
                self._queue.get_nowait()
            self._lagging = False
            return None
        if self._queue.empty():
            return item
        # Behind by several batches: one message for all of them, so a busy server sends
        # fewer, larger messages instead of falling further behind.
        merged = list(item)
        while not self._queue.empty():
            more = self._queue.get_nowait()
            if more is None:
                self._lagging = False
                return None
            merged.extend(more)
        return merged


class RunEventHub:
    """Routes notifications to this process's subscribers of runs and of org run lists."""

    def __init__(
        self, reader: LiveReader, *, buffer: int = 256, min_interval: float = DEFAULT_INTERVAL
    ) -> None:
        self._reader = reader
        self._buffer = buffer
        self._min_interval = min_interval
        self._run_listeners: dict[uuid.UUID, set[Listener[LiveEvent]]] = {}
        self._org_listeners: dict[uuid.UUID, set[Listener[Run]]] = {}
        self._pending: dict[uuid.UUID, tuple[int, int]] = {}
        self._pumps: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._changed_runs: dict[uuid.UUID, uuid.UUID] = {}  # run -> org, awaiting a read
        self._run_pump: asyncio.Task[None] | None = None
        self.reads = 0
        # Set once the channel is subscribed (LISTEN done): see `wait_subscribed`.
        self._subscribed = asyncio.Event()

    async def consume(self, broadcast: Broadcast) -> None:
        """Runs for the server's lifetime: one subscription to the notification channel."""
        async with broadcast.subscribe(CHANNEL) as subscriber:
            self._subscribed.set()
            while True:
                event = await subscriber.get()
                self.handle(event.message)

    async def wait_subscribed(self, consuming: "asyncio.Task[None]") -> None:
        """Return once `consume` (running as `consuming`) holds its subscription; raise what
        it raised if it ended first. Servers start serving only then: broadcaster's
        `subscribe` cannot be cancelled halfway (its cleanup raises KeyError), and a
        notification sent before the LISTEN would be missed."""
        ready = asyncio.ensure_future(self._subscribed.wait())
        try:
            await asyncio.wait([ready, consuming], return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if not self._subscribed.is_set():
            consuming.result()  # raises its error
            raise RuntimeError("the live fan-out stopped before it subscribed")

    @contextlib.contextmanager
    def listen_run(self, run_id: uuid.UUID) -> Iterator[Listener[LiveEvent]]:
        listener: Listener[LiveEvent] = Listener(self._buffer)
        self._run_listeners.setdefault(run_id, set()).add(listener)
        try:
            yield listener
        finally:
            listeners = self._run_listeners.get(run_id, set())
            listeners.discard(listener)
            if not listeners:
                self._run_listeners.pop(run_id, None)

    @contextlib.contextmanager
    def listen_org(self, org_id: uuid.UUID) -> Iterator[Listener[Run]]:
        listener: Listener[Run] = Listener(self._buffer)
        self._org_listeners.setdefault(org_id, set()).add(listener)
        try:
            yield listener
        finally:
            listeners = self._org_listeners.get(org_id, set())
            listeners.discard(listener)
            if not listeners:
                self._org_listeners.pop(org_id, None)

    def handle(self, message: str) -> None:
        if message == RESYNC:
            for run_listeners in self._run_listeners.values():
                for listener in run_listeners:
                    listener.mark_lagging()
            for org_listeners in self._org_listeners.values():
                for org_listener in org_listeners:
                    org_listener.mark_lagging()
            return
        try:
            entries = notify.parse(message)
        except ValueError:
            logger.warning("ignoring a malformed notification: %.200s", message)
            return
        for org_id, run_id, first, last in entries:
            if run_id in self._run_listeners:
                self._want_events(run_id, first, last)
            if org_id in self._org_listeners:
                self._changed_runs[run_id] = org_id
        if self._changed_runs and (self._run_pump is None or self._run_pump.done()):
            self._run_pump = asyncio.create_task(self._pump_runs())

    def _want_events(self, run_id: uuid.UUID, first: int, last: int) -> None:
        pending = self._pending.get(run_id)
        self._pending[run_id] = (
            (min(pending[0], first), max(pending[1], last)) if pending else (first, last)
        )
        pump = self._pumps.get(run_id)
        if pump is None or pump.done():
            self._pumps[run_id] = asyncio.create_task(self._pump_events(run_id))

    async def _pump_events(self, run_id: uuid.UUID) -> None:
        # One read in flight per run; notifications arriving meanwhile widen the next one.
        while (pending := self._pending.pop(run_id, None)) is not None:
            first, last = pending
            try:
                events = await self._read_events(run_id, first - 1, last)
            except Exception as exc:
                _log_failed_read(exc, f"reading events of run {run_id}")
                for listener in self._run_listeners.get(run_id, ()):
                    listener.mark_lagging()
                continue
            for listener in list(self._run_listeners.get(run_id, ())):
                listener.offer(events)
            # The first notification after a quiet spell is read at once; a run that keeps
            # notifying is read (and sent to each subscriber) once per interval, with
            # everything committed meanwhile in one batch.
            await asyncio.sleep(self._min_interval)
        self._pumps.pop(run_id, None)

    async def _read_events(self, run_id: uuid.UUID, after: int, upto: int) -> list[LiveEvent]:
        events: list[LiveEvent] = []
        while after < upto:
            self.reads += 1
            page = await self._reader.events(run_id, after, upto)
            if not page:
                break
            events.extend(page)
            after = page[-1].seq
        return events

    async def _pump_runs(self) -> None:
        while self._changed_runs:
            changed, self._changed_runs = self._changed_runs, {}
            try:
                self.reads += 1
                runs = await self._reader.runs(list(changed))
            except Exception as exc:
                _log_failed_read(exc, "reading changed runs")
                for org_id in set(changed.values()):
                    for listener in self._org_listeners.get(org_id, ()):
                        listener.mark_lagging()
                continue
            by_org: dict[uuid.UUID, list[Run]] = {}
            for run in runs:
                by_org.setdefault(run.org_id, []).append(run)
            for org_id, org_runs in by_org.items():
                for listener in list(self._org_listeners.get(org_id, ())):
                    listener.offer(org_runs)


def _log_failed_read(exc: Exception, what: str) -> None:
    if database_unreachable(exc):
        # The outage's one warning comes from the notifier; subscribers wait it out.
        logger.debug("%s waits for the database: %s", what, exc)
    else:
        logger.error("%s failed; its subscribers resync", what, exc_info=exc)
