"""Mirrors what the recorder committed to a Langfuse project, and finds each run's Langfuse
trace URL.

Fed by the writer after each commit (`offer`, a deque append), so recording never waits for
Langfuse: the mirror has its own thread and a bounded backlog, and what it cannot keep up
with, or fails on, it drops and counts. The `langfuse` SDK is imported on that thread, so an
agent that mirrors does not pay for the import either. Delivery to Langfuse is the SDK's
(its batch exporter); the trace URL needs the project id, which the SDK looks up once over
HTTP, retried now and then while Langfuse is away.
"""

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tracewire.recorder._records import RUN_OPENED, Batch

if TYPE_CHECKING:
    from langfuse import Langfuse
    from opentelemetry.sdk.trace import Tracer


logger = logging.getLogger("tracewire.recorder")

MAX_BACKLOG_RECORDS = 100_000
MAX_UNTRACKED_RUNS = 10_000  # runs waiting for the project id while Langfuse is away
# How long one request to Langfuse may take (the project lookup), and how often the lookup is
# retried while it fails.
REQUEST_TIMEOUT_S = 2
LOOKUP_RETRY_S = 30.0
# How often the SDK exports the spans it has (its default is 5 s).
EXPORT_INTERVAL_S = 1.0


@dataclass(frozen=True, slots=True)
class LangfuseTarget:
    public_key: str
    secret_key: str
    host: str


class _Export:
    """One Langfuse client and tracer per public key and process, shared by the recorders
    that mirror with that key: the SDK keeps one exporter per public key per process anyway,
    and a second client with the same key silently gets the first one's."""

    def __init__(self, target: LangfuseTarget) -> None:
        from langfuse import Langfuse, __version__
        from opentelemetry.sdk.trace import TracerProvider

        from tracewire.recorder._langfuse_observations import GivenIds, Observations

        ids = GivenIds()
        # Our own provider, never the global one: the agent's own OpenTelemetry setup must
        # neither receive the mirrored spans nor have its spans sent to Langfuse.
        self.provider: TracerProvider = TracerProvider(id_generator=ids)
        self.client: Langfuse = Langfuse(
            public_key=target.public_key,
            secret_key=target.secret_key,
            base_url=target.host,
            timeout=REQUEST_TIMEOUT_S,
            flush_interval=EXPORT_INTERVAL_S,
            tracer_provider=self.provider,
        )
        resources = getattr(self.client, "_resources", None)
        if getattr(resources, "tracer_provider", None) is not self.provider:
            raise RuntimeError(
                "a Langfuse client with this public key already exists in this process; "
                "the mirror needs its own (use another key pair for the mirror)"
            )
        # The SDK exports only spans of its own tracer (by name) for its own key.
        tracer: Tracer = self.provider.get_tracer(
            "langfuse-sdk", __version__, attributes={"public_key": target.public_key}
        )
        self.observations: Observations = Observations(self.client, tracer, ids)
        self.lock = threading.Lock()  # recorders sharing the key share the open observations
        self.project_id: str | None = None


_exports: dict[str, _Export] = {}
_exports_lock = threading.Lock()


def _export_for(target: LangfuseTarget) -> _Export:
    with _exports_lock:
        export = _exports.get(target.public_key)
        if export is None:
            export = _exports[target.public_key] = _Export(target)
        return export


class LangfuseMirror:
    """`offer(batch)` after each commit; `drain` then `close` when the recorder closes.

    `set_trace_url(run_hex, url)` is called (on the mirror's thread) once per run opened here,
    when its Langfuse trace URL is known."""

    def __init__(
        self,
        target: LangfuseTarget,
        set_trace_url: Callable[[str, str], None],
        max_backlog: int = MAX_BACKLOG_RECORDS,
    ) -> None:
        self._target = target
        self._max_backlog = max_backlog
        self._set_trace_url = set_trace_url
        self._backlog: deque[Batch] = deque()
        self._backlog_records = 0
        self._lock = threading.Lock()  # the backlog, its count, and `_idle` change together
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self._flushed = threading.Event()
        self._untracked_runs: list[str] = []
        self._lookup_at = 0.0
        self.mirrored = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._loop, name="tracewire-langfuse", daemon=True)
        self._thread.start()

    # -- the writer's thread and the recorder's ------------------------------------------

    def offer(self, batch: Batch) -> None:
        """Queue a committed batch; dropped (and counted) past the backlog budget."""
        size = len(batch.records)
        with self._lock:
            if self._stopping or self._backlog_records + size > self._max_backlog:
                self.dropped += size
                return
            self._backlog_records += size
            self._backlog.append(batch)
            self._idle.clear()
        self._wake.set()

    def drain(self, timeout: float) -> bool:
        """Wait until every offered batch is mirrored and known trace URLs are handed over."""
        self._wake.set()
        return self._idle.wait(timeout)

    def close(self, timeout: float) -> None:
        """Hand what the SDK holds to Langfuse, waiting at most `timeout`, and stop."""
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout)

    # -- the mirror's thread ---------------------------------------------------------------

    def _loop(self) -> None:
        export: _Export | None = None
        try:
            export = _export_for(self._target)
        except Exception as exc:  # a missing SDK, a clashing client: recording goes on
            logger.error("tracewire: not mirroring to Langfuse: %s", exc)
        while True:
            # Waking now and then retries a failed project lookup while nothing arrives.
            self._wake.wait(LOOKUP_RETRY_S / 4)
            self._wake.clear()
            while (batch := self._next()) is not None:
                if export is None:
                    self.dropped += len(batch.records)
                    continue
                self._mirror(export, batch)
            if export is not None:
                self._hand_over_urls(export)
            with self._lock:
                if not self._backlog:
                    self._idle.set()
            if self._stopping:
                break
        if export is not None:
            try:
                export.client.flush()
            except Exception as exc:
                logger.warning("tracewire: flushing to Langfuse failed: %s", exc)

    def _next(self) -> Batch | None:
        with self._lock:
            if not self._backlog:
                return None
            batch = self._backlog.popleft()
            self._backlog_records -= len(batch.records)
            return batch

    def _mirror(self, export: _Export, batch: Batch) -> None:
        with export.lock:
            for record in batch.records:
                try:
                    export.observations.apply(record)
                    self.mirrored += 1
                except Exception as exc:
                    self.dropped += 1
                    logger.warning("tracewire: could not mirror a record to Langfuse: %s", exc)
                if record.kind == RUN_OPENED:
                    self._untracked_runs.append(record.run_id)
        del self._untracked_runs[:-MAX_UNTRACKED_RUNS]

    def _hand_over_urls(self, export: _Export) -> None:
        if not self._untracked_runs:
            return
        if export.project_id is None:
            if time.monotonic() < self._lookup_at:
                return
            self._lookup_at = time.monotonic() + LOOKUP_RETRY_S
            export.project_id = _project_id(export.client)
            if export.project_id is None:
                return
        runs, self._untracked_runs = self._untracked_runs, []
        for run in runs:
            url = f"{self._target.host}/project/{export.project_id}/traces/{run}"
            self._set_trace_url(run, url)


def _project_id(client: "Langfuse") -> str | None:
    try:
        projects: Any = client.api.projects.get()
    except Exception as exc:
        logger.warning("tracewire: Langfuse project lookup failed (will retry): %s", exc)
        return None
    if not projects.data:
        return None
    project_id: str = projects.data[0].id
    return project_id
