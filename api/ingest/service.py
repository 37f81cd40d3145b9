"""One bounded queue and one batched writer per server process, shared by every sender.

Senders (a request handler per batch: native, OTLP, Langfuse) `submit` a batch in the
organization of their API key and wait until it is committed. The writer takes batches
round-robin across organizations, up to `group_records` records, and commits them in one
transaction through `BatchStore` on one connection: a burst from one organization never
waits behind another's, and the server holds one database connection and one task for
ingestion whatever the number of organizations.

Back-pressure: past `max_queued_records` in the queue (or half of it for one
organization), or when a batch is not committed within `answer_within` seconds, `submit`
raises `Busy`; while the database refuses writes, `Unavailable`.
Both carry the pause a sender should take (`Retry-After`). The senders keep the batch
(the recorder spools it; OTLP exporters retry), so nothing is lost.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass

import asyncpg

from tracewire.db import wakeups
from tracewire.db.engine import driver_dsn
from tracewire.recorder._records import Batch
from tracewire.recorder.batch_store import BatchStore, Submitted, connect

logger = logging.getLogger("tracewire.ingest")

_FIRST_BACKOFF_S = 0.5
_MAX_BACKOFF_S = 5.0
_PRUNE_EVERY_S = 600.0
_PRUNE_CHUNK = 10_000
# Errors of the data, not of the database being away: the group is retried one batch at
# a time, so that one sender's bad batch fails alone.
_DATA_ERRORS = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    ValueError,
    TypeError,
    KeyError,
    OverflowError,
)


class Busy(Exception):
    """The queue is full: the database is behind. Try again after `retry_after` s."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("the server is busy writing: retry later")
        self.retry_after = retry_after


class Unavailable(Exception):
    """The database refuses writes right now. Try again after `retry_after` s."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("the database is unavailable: retry later")
        self.retry_after = retry_after


class Refused(Exception):
    """The database refused this batch's data; the same batch will never be taken."""


@dataclass(slots=True, eq=False)
class _Waiting:
    submitted: Submitted
    answer: "asyncio.Future[bool]"


class IngestService:
    def __init__(
        self,
        database_url: str,
        notify_url: str | None = None,
        *,
        max_queued_records: int = 100_000,
        group_records: int = 8_192,
        answer_within: float = 10.0,
        batch_id_retention_s: float = 2 * 24 * 3600,
    ) -> None:
        self._dsn = driver_dsn(database_url)
        self._store = BatchStore(wakeups.publisher_for(notify_url))
        self._max_queued = max_queued_records
        self._max_per_org = max(max_queued_records // 2, 1)
        self._group_records = group_records
        self._answer_within = answer_within
        self._retention_s = batch_id_retention_s
        self._queues: OrderedDict[uuid.UUID, deque[_Waiting]] = OrderedDict()
        self._queued = 0
        self._queued_by_org: dict[uuid.UUID, int] = {}
        self._work = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self._down_until = 0.0
        self._backoff = _FIRST_BACKOFF_S
        self._next_prune = time.monotonic() + 60.0
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.committed_batches = 0
        self.committed_records = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tracewire-ingest-writer")

    async def close(self, drain_for: float = 10.0) -> None:
        """Stop taking batches, commit those queued (for up to `drain_for` s), then stop."""
        self._closing = True
        deadline = time.monotonic() + drain_for
        while self._queued and time.monotonic() < deadline and self._task is not None:
            self._work.set()
            await asyncio.sleep(0.02)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._fail_queued(Unavailable(1.0))
        with contextlib.suppress(Exception):  # nothing left to tell anyone
            await self._store.close()
        if self._conn is not None:
            conn, self._conn = self._conn, None
            conn.terminate()

    @property
    def queued_records(self) -> int:
        return self._queued

    async def submit(self, org_id: uuid.UUID, batch: Batch) -> bool:
        """Commit `batch` into `org_id`; False when it had been committed before (a retry
        whose first answer was lost). Raises `Busy`, `Unavailable`, `Refused`, or the
        store's `ForeignRuns` / `UnknownRuns`."""
        now = time.monotonic()
        if self._closing:
            raise Unavailable(1.0)
        if now < self._down_until:
            raise Unavailable(self._down_until - now)
        size = len(batch.records)
        queued_here = self._queued_by_org.get(org_id, 0)
        if self._queued and (
            self._queued + size > self._max_queued or queued_here + size > self._max_per_org
        ):
            raise Busy(1.0)
        waiting = _Waiting(Submitted(batch, org_id), asyncio.get_running_loop().create_future())
        queue = self._queues.get(org_id)
        if queue is None:
            queue = self._queues[org_id] = deque()
        queue.append(waiting)
        self._queued += size
        self._queued_by_org[org_id] = queued_here + size
        self._work.set()
        try:
            return await asyncio.wait_for(asyncio.shield(waiting.answer), self._answer_within)
        except TimeoutError:
            # The database is far behind. A sender waiting on us cannot spool what it
            # holds: it is told to retry instead. A batch still queued is taken out; one
            # being written is recognised by its id when it comes again.
            self._withdraw(org_id, waiting)
            raise Busy(1.0) from None

    def _withdraw(self, org_id: uuid.UUID, waiting: _Waiting) -> None:
        queue = self._queues.get(org_id)
        if queue is None or waiting not in queue:
            return
        queue.remove(waiting)
        size = len(waiting.submitted.batch.records)
        self._queued -= size
        self._queued_by_org[org_id] -= size
        if not queue:
            del self._queues[org_id]
            del self._queued_by_org[org_id]

    async def _run(self) -> None:
        while True:
            await self._work.wait()
            self._work.clear()
            while self._queues:
                group = self._take_group()
                try:
                    written = await self._write(group)
                except asyncio.CancelledError:
                    self._answer(group, Unavailable(1.0))
                    raise
                if not written:
                    # The database is away: tell everyone waiting now, not one
                    # connection timeout per group later.
                    self._fail_queued(Unavailable(self._down_until - time.monotonic()))
            if time.monotonic() >= self._next_prune:
                self._next_prune = time.monotonic() + _PRUNE_EVERY_S
                try:
                    await self.prune_batch_ids()
                except Exception as error:
                    logger.warning("tracewire: pruning ingested batch ids failed: %s", error)

    def _take_group(self) -> list[_Waiting]:
        """Round-robin across organizations: one batch of each in turn."""
        group: list[_Waiting] = []
        records = 0
        while self._queues and records < self._group_records:
            org_id, queue = next(iter(self._queues.items()))
            waiting = queue.popleft()
            size = len(waiting.submitted.batch.records)
            self._queued -= size
            left = self._queued_by_org[org_id] - size
            if queue:
                self._queues.move_to_end(org_id)  # the next organization's turn
                self._queued_by_org[org_id] = left
            else:
                del self._queues[org_id]
                del self._queued_by_org[org_id]
            group.append(waiting)
            records += size
        return group

    async def _write(self, group: list[_Waiting]) -> bool:
        """Commit the group and answer its senders; False when the database is away."""
        try:
            conn = await self._connection()
            try:
                await self._store.write(conn, [w.submitted for w in group])
            except _DATA_ERRORS:
                if len(group) == 1:
                    raise
                for waiting in group:  # find the one batch that breaks the group
                    if not await self._write([waiting]):
                        return False
                return True
        except _DATA_ERRORS as error:
            logger.warning("tracewire: refused a batch the database cannot take: %s", error)
            self._answer(group, Refused(f"the database refused this batch: {error}"))
            return True
        except Exception as error:
            self._lost_database(error)
            self._answer(group, Unavailable(self._down_until - time.monotonic()))
            return False
        if self._backoff != _FIRST_BACKOFF_S:
            logger.warning("tracewire: ingestion writes to the database again")
        self._backoff = _FIRST_BACKOFF_S
        for waiting in group:
            submitted = waiting.submitted
            if waiting.answer.done():
                continue
            if submitted.error is not None:
                waiting.answer.set_exception(submitted.error)
            else:
                waiting.answer.set_result(not submitted.duplicate)
                if not submitted.duplicate:
                    self.committed_batches += 1
                    self.committed_records += len(submitted.batch.records)
        return True

    def _fail_queued(self, error: Exception) -> None:
        for queue in self._queues.values():
            self._answer(list(queue), error)
        self._queues.clear()
        self._queued_by_org.clear()
        self._queued = 0

    def _answer(self, group: list[_Waiting], error: Exception) -> None:
        for waiting in group:
            if not waiting.answer.done():
                waiting.answer.set_exception(error)

    def _lost_database(self, error: Exception) -> None:
        if self._conn is not None:
            self._conn.terminate()
            self._conn = None
        if self._backoff == _FIRST_BACKOFF_S:
            logger.warning(
                "tracewire: ingestion cannot write to the database (%s: %s); senders are "
                "told to retry",
                type(error).__name__,
                error,
            )
        self._down_until = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, _MAX_BACKOFF_S)

    async def _connection(self) -> asyncpg.Connection:
        if self._conn is None or self._conn.is_closed():
            self._conn = await connect(self._dsn)
        return self._conn

    async def prune_batch_ids(self) -> int:
        """Forget committed batch ids older than the retention (a retry comes within
        seconds, a spool's replay within the outage it waited out); how many went. Runs on
        the writer's connection: call it only where the writer is idle, or while it is
        not started."""
        conn = await self._connection()
        removed = 0
        while True:
            status = await conn.execute(
                "DELETE FROM ingested_batches WHERE ctid = ANY(ARRAY(SELECT ctid FROM "
                "ingested_batches WHERE committed_at < now() - make_interval(secs => $1) "
                "LIMIT $2))",
                self._retention_s,
                _PRUNE_CHUNK,
            )
            count = int(status.split()[-1])
            removed += count
            if count < _PRUNE_CHUNK:
                return removed
