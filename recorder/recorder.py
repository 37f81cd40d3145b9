"""The entry point an agent holds: opens runs and owns the background writer."""

import atexit
import dataclasses
import logging
import multiprocessing.util
import os
import signal
import socket
import threading
import time
import uuid
import weakref
from collections import deque
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tracewire.recorder._artifacts import Artifacts
from tracewire.recorder._ids import as_uuid, ids
from tracewire.recorder._records import KIND, RUN_OPENED, RUN_UPDATED, QueuedRecord
from tracewire.recorder._tee_sink import TeeSink
from tracewire.recorder._writer import BatchWriter
from tracewire.recorder.run import RunHandle, Terminated
from tracewire.recorder.settings import RecorderSettings, is_server_url
from tracewire.recorder.sink import Sink
from tracewire.recorder.stats import RecorderStats
from tracewire.recorder.step import aware

if TYPE_CHECKING:
    from tracewire.recorder._langfuse_mirror import LangfuseMirror

logger = logging.getLogger("tracewire.recorder")
# The Langfuse mirror's share of `close`: enough to hand over trace URLs and what the SDK
# holds, bounded so that a Langfuse that is away cannot hold an exiting agent for long.
_MIRROR_CLOSE_S = 5.0

# Writers a forked child inherited: kept referenced so that collecting them never touches
# the parent's connection or files.
_abandoned: list[BatchWriter] = []


class _Closed(deque[QueuedRecord]):
    """The queue of a closed recorder: what is recorded after `close` is dropped, loudly."""

    def append(self, record: QueuedRecord) -> None:
        logger.warning("tracewire: recorder is closed; dropping a record (kind %s)", record[KIND])


class Recorder:
    """Records runs into Tracewire.

        rec = Recorder("http://tracewire:8000", api_key="sk-tw-...")
        with rec.run(agent="support-bot", input=question) as run:
            run.thought("look the order up first")
            ...
        rec.close()   # also happens at interpreter exit

    `url` is a Tracewire server (`http(s)://`, with the organization's `api_key`), or a
    Postgres database (`postgresql://...`, written into directly, into organization `org`:
    the fastest way, for in-house setups that hold the database's password).

    Recording only appends a tuple to an in-memory queue; a background thread serialises
    and commits batches, and spools them to disk while the server is away (see
    `RecorderSettings`). Pass `sink=` to write somewhere else (e.g. `MemorySink` in tests).
    Works from threads, asyncio tasks and forked workers (the
    child gets its own writer).
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        api_key: str | None = None,
        org: str | None = None,
        sink: Sink | None = None,
        settings: RecorderSettings | None = None,
        database_url: str | None = None,
    ) -> None:
        base = settings or RecorderSettings()
        server_url = None
        if url is not None:
            if is_server_url(url):
                server_url = url.rstrip("/")
            else:
                database_url = database_url or url
        self.settings = dataclasses.replace(
            base,
            database_url=database_url or (None if server_url else base.database_url),
            server_url=server_url or (None if database_url else base.server_url),
            api_key=api_key or base.api_key,
            org=org or base.org,
        )
        if sink is None and self.settings.database_url is None and self.settings.server_url is None:
            raise ValueError(
                "Recorder needs a server URL and API key (or TRACEWIRE_URL and "
                "TRACEWIRE_API_KEY), a postgresql:// URL, or a sink"
            )
        self._sink_given = sink
        self._closed = False
        self._batch_size = self.settings.batch_size
        # Ids (ints) of the runs open in this process, heartbeated by the writer; changed
        # only when a run opens, is attached or finishes (set operations hold the GIL).
        self._open_runs: set[int] = set()
        self._mirror: LangfuseMirror | None = None
        self._artifacts = Artifacts(self.settings, lambda: self._writer)
        self._writer = self._new_writer()
        self._queue: deque[Any] = self._writer.queue
        self._wake = self._writer.wake
        # Weak references: registering must not keep a dropped recorder alive.
        ref = weakref.ref(self)
        atexit.register(_close_at_exit, ref)
        os.register_at_fork(after_in_child=lambda: _rearm_after_fork(ref))
        # multiprocessing's children leave through os._exit, which skips atexit; they run
        # their own finalizers instead (registered here: the child clears older ones).
        multiprocessing.util.register_after_fork(self, _close_at_process_exit)
        if self.settings.exit_on_sigterm:
            _exit_on_sigterm()

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
        started_at: datetime | None = None,
    ) -> RunHandle:
        """Open a run (status running) in the recorder's organization. `started_at` is for
        runs recorded after the fact (a trace from another tracer); by default it is now."""
        run_id = run_id or as_uuid(ids.new())
        at = time.perf_counter() if started_at is None else aware(started_at, "started_at")
        self._push(  # a RawRunOpened, built as a plain tuple (see `_records`)
            (RUN_OPENED, run_id.int, self.settings.org, agent, user_id, conversation_id, input,
             metadata, tags, at)
        )  # fmt: skip
        self._open_runs.add(run_id.int)
        return RunHandle(self, run_id)

    def attach(self, run_id: uuid.UUID | str) -> RunHandle:
        """Record into a run another process opened (a worker helping its controller)."""
        handle = RunHandle(self, uuid.UUID(str(run_id)))
        self._open_runs.add(handle._iid)
        return handle

    def flush(self, timeout: float | None = None) -> bool:
        """Block until everything recorded so far is committed, artifacts included; False
        on timeout, when some of it was lost (refused by the server, or dropped because the
        spool's disk refused it), or when an artifact had to be parked on disk: see
        `stats()`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        uploaded = self._artifacts.flush(timeout)
        return self._writer.flush(None if deadline is None else _left(deadline)) and uploaded

    def close(self, timeout: float | None = None) -> bool:
        """Commit what is queued (waiting at most `timeout`, default from settings), spool
        what could not be committed by then, and stop. True if everything was committed.
        Idempotent; recording after close is dropped with a warning."""
        if self._closed:
            return self._writer.close(0)
        self._closed = True
        limit = self.settings.close_timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        # First: a stored artifact's record goes to the writer, which must still be open.
        uploaded = self._artifacts.close(limit)
        mirror = self._mirror
        if mirror is not None:
            # Everything committed reaches the mirror, and the trace URLs it hands back
            # are queued, before the writer stops.
            self._writer.flush(limit)
            mirror.drain(min(_left(deadline), _MIRROR_CLOSE_S))
        self._queue = _Closed()
        committed = self._writer.close(_left(deadline))
        if mirror is not None:
            mirror.close(min(_left(deadline), _MIRROR_CLOSE_S))
        return committed and uploaded

    def stats(self) -> RecorderStats:
        """Queue depth, spooled bytes, dropped records, batch latency: see `RecorderStats`."""
        stats = dataclasses.replace(self._writer.stats(), **self._artifacts.counters())
        if self._mirror is not None:
            stats = dataclasses.replace(
                stats, mirrored=self._mirror.mirrored, mirror_dropped=self._mirror.dropped
            )
        return stats

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _push(self, record: QueuedRecord) -> None:
        queue = self._queue
        queue.append(record)
        if len(queue) >= self._batch_size:
            self._wake()

    def _new_writer(self) -> BatchWriter:
        sink = self._sink_given
        if sink is None and self.settings.server_url is not None:
            from tracewire.recorder._http_sink import HttpSink

            assert self.settings.api_key is not None
            sink = HttpSink(self.settings.server_url, self.settings.api_key)
        elif sink is None:
            from tracewire.recorder._postgres_sink import PostgresSink  # the driver loads only here

            assert self.settings.database_url is not None
            sink = PostgresSink(self.settings.database_url, self.settings.notify_url)
        if self.settings.mirrors_to_langfuse:
            sink = self._mirrored(sink)
        identity = {
            "recorder_id": f"{ids.new():032x}",
            "org": self.settings.org,
            "host": socket.gethostname(),
            "pid": os.getpid(),
        }
        return BatchWriter(
            sink,
            batch_size=self.settings.batch_size,
            interval=self.settings.flush_interval,
            max_queue=self.settings.max_queue,
            spool_after=self.settings.spool_after,
            spool_dir=self.settings.spool_path(),
            identity=identity,
            open_runs=self._open_runs,
            heartbeat_interval=self.settings.heartbeat_interval,
            offload=self._artifacts.offload,
        )

    def _mirrored(self, sink: Sink) -> Sink:
        from tracewire.recorder._langfuse_mirror import LangfuseMirror, LangfuseTarget

        settings = self.settings
        assert settings.langfuse_public_key is not None
        assert settings.langfuse_secret_key is not None
        target = LangfuseTarget(
            settings.langfuse_public_key, settings.langfuse_secret_key, settings.langfuse_host
        )
        self._mirror = LangfuseMirror(target, self._set_trace_url)
        return TeeSink(sink, self._mirror.offer)

    def _set_trace_url(self, run_hex: str, url: str) -> None:
        if not isinstance(self._queue, _Closed):  # the mirror outlived close: no one to tell
            # a RawRunUpdated
            self._push((RUN_UPDATED, int(run_hex, 16), {"external_trace_url": url}))

    def _after_fork(self) -> None:
        # The child inherits the queue but not the thread; the parent writes what it
        # queued, the child starts empty with its own writer, connection and spool file.
        if self._closed:
            return
        self._writer.forget_after_fork()
        self._artifacts.after_fork()
        _abandoned.append(self._writer)
        self._writer = self._new_writer()
        self._queue = self._writer.queue
        self._wake = self._writer.wake


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.0)


def _close_at_exit(ref: "weakref.ref[Recorder]") -> None:
    recorder = ref()
    if recorder is not None:
        recorder.close()


def _close_at_process_exit(recorder: Recorder) -> None:
    multiprocessing.util.Finalize(recorder, recorder.close, exitpriority=100)


def _rearm_after_fork(ref: "weakref.ref[Recorder]") -> None:
    recorder = ref()
    if recorder is not None:
        recorder._after_fork()


def _exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit (`Terminated`), so `finally` blocks and atexit (our
    flush) run, unless the application handles SIGTERM itself (servers, workers) or we are
    not allowed to."""
    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return
    signal.signal(signal.SIGTERM, _raise_system_exit)


def _raise_system_exit(signum: int, frame: object) -> None:
    raise Terminated(signum)
