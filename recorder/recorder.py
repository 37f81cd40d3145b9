"""The entry point an agent holds: opens runs and owns the background writer."""

import atexit
import logging
import os
import time
import uuid
import weakref
from typing import Any

from recorder._records import Record, RunOpened
from recorder._writer import BatchWriter, WriterStats
from recorder.run import RunHandle
from recorder.settings import RecorderSettings
from recorder.sink import Sink

logger = logging.getLogger("tracewire.recorder")


class Recorder:
    """Records runs into Tracewire.

        rec = Recorder(database_url="postgresql://...", org="acme")
        with rec.run(agent="support-bot", input=question) as run:
            run.thought("look the order up first")
            ...
        rec.close()   # also happens at interpreter exit

    Recording only appends to an in-memory queue; a background thread commits batches.
    Pass `sink=` to write somewhere other than Postgres (e.g. `MemorySink` in tests).
    """

    def __init__(
        self,
        database_url: str | None = None,
        *,
        org: str | None = None,
        sink: Sink | None = None,
        settings: RecorderSettings | None = None,
    ) -> None:
        base = settings or RecorderSettings()
        self.settings = RecorderSettings(
            database_url=database_url or base.database_url,
            org=org or base.org,
            batch_size=base.batch_size,
            flush_interval=base.flush_interval,
            close_timeout=base.close_timeout,
        )
        if sink is None and self.settings.database_url is None:
            raise ValueError("Recorder needs a database_url (or TRACEWIRE_DATABASE_URL) or a sink")
        self._sink_given = sink
        self._closed = False
        self._writer = self._new_writer()
        # Weak references: registering must not keep a dropped recorder alive.
        ref = weakref.ref(self)
        atexit.register(_close_at_exit, ref)
        os.register_at_fork(after_in_child=lambda: _rearm_after_fork(ref))

    @classmethod
    def from_env(cls, **overrides: Any) -> "Recorder":
        return cls(settings=RecorderSettings.from_env(**overrides))

    def run(
        self,
        agent: str,
        *,
        input: Any = None,
        user_id: str | None = None,
        conversation_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: list[str] | None = None,
        run_id: uuid.UUID | None = None,
    ) -> RunHandle:
        """Open a run (status running) in the recorder's organization."""
        run_id = run_id or uuid.uuid4()
        self._put(
            RunOpened(
                run_id,
                self.settings.org,
                agent,
                user_id,
                conversation_id,
                input,
                metadata,
                tags,
                time.time(),
            )
        )
        return RunHandle(self._put, run_id)

    def attach(self, run_id: uuid.UUID | str) -> RunHandle:
        """Record into a run another process opened (a worker helping its controller)."""
        return RunHandle(self._put, uuid.UUID(str(run_id)))

    def flush(self, timeout: float | None = None) -> bool:
        """Block until everything recorded so far is committed; False on timeout."""
        return self._writer.flush(timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Commit what is queued (waiting at most `timeout`, default from settings), then
        stop. Idempotent; recording after close is ignored with a warning."""
        if self._closed:
            return True
        self._closed = True
        return self._writer.close(self.settings.close_timeout if timeout is None else timeout)

    def stats(self) -> WriterStats:
        return self._writer.stats()

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _put(self, record: Record) -> None:
        if self._closed:
            logger.warning("tracewire: recorder is closed; dropping %s", type(record).__name__)
            return
        self._writer.put(record)

    def _new_writer(self) -> BatchWriter:
        sink = self._sink_given
        if sink is None:
            from recorder._postgres_sink import PostgresSink  # the driver loads only here

            assert self.settings.database_url is not None
            sink = PostgresSink(self.settings.database_url)
        return BatchWriter(
            sink, batch_size=self.settings.batch_size, interval=self.settings.flush_interval
        )

    def _after_fork(self) -> None:
        # The child inherits the queue but not the thread; the parent writes what it
        # queued, the child starts empty with its own writer and connection.
        if not self._closed:
            self._writer = self._new_writer()


def _close_at_exit(ref: "weakref.ref[Recorder]") -> None:
    recorder = ref()
    if recorder is not None:
        recorder.close()


def _rearm_after_fork(ref: "weakref.ref[Recorder]") -> None:
    recorder = ref()
    if recorder is not None:
        recorder._after_fork()
