"""A run being recorded: the methods an agent calls to record its steps."""

import signal
import time
import uuid
from collections.abc import Iterable
from contextvars import Token
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tracewire.db.enums import RunStatus, StepStatus, StepType
from tracewire.recorder._context import current_run_var, current_step_var
from tracewire.recorder._ids import as_uuid, ids
from tracewire.recorder._records import (
    RUN_CLOSED,
    RUN_UPDATED,
    STEP_INSTANT,
    STEP_STARTED,
    VENDOR_USED,
    ErrorInfo,
)
from tracewire.recorder.step import StepHandle, aware

if TYPE_CHECKING:
    import os

    from tracewire.recorder._artifact_job import Source
    from tracewire.recorder.artifact_dir import ArtifactDirectory
    from tracewire.recorder.recorder import Recorder

_STEP_TYPES = frozenset(StepType)
_INFO = StepType.INFO.value
_COMPLETED = StepStatus.COMPLETED.value
_FAILED = StepStatus.FAILED.value
_clock = time.perf_counter
_get_step = current_step_var.get
_UNSET: Any = object()


class Terminated(SystemExit):
    """Raised in the main thread by the recorder's signal handler (`exit_on_sigterm`): a
    run it ends is stored `cancelled`, with the signal as its reason, not `failed`."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)  # the exit status a shell reports for the signal
        self.signal_name = signal.Signals(signum).name


class RunHandle:
    """One agent run. Use it as a context manager (`with recorder.run(...) as run:`): inside,
    `@node` functions and `current_run()` find it; leaving the block finishes the run as
    completed, or as failed when an exception escapes (cancelled on Ctrl-C, or on a SIGTERM
    the recorder turned into `Terminated`).

    Every method only queues a tuple: nothing here serialises, locks or waits.
    """

    __slots__ = ("_finished", "_iid", "_recorder", "_token", "id")

    def __init__(self, recorder: "Recorder", run_id: uuid.UUID) -> None:
        self.id = run_id
        self._iid = run_id.int
        self._recorder = recorder
        self._finished = False
        self._token: Token[RunHandle | None] | None = None

    @property
    def finished(self) -> bool:
        return self._finished

    # -- steps that take time ---------------------------------------------------------

    def step(
        self,
        name: str,
        *,
        type: StepType | str = _INFO,
        input: Any = None,
        parent: StepHandle | uuid.UUID | None = None,
        model: str | None = None,
        vendor: str | None = None,
        payload: dict[str, Any] | None = None,
        step_id: uuid.UUID | None = None,
        started_at: datetime | None = None,
    ) -> StepHandle:
        """Start a step now; it ends when its `with` block ends or on `step.end(...)`.

        `step_id` and `started_at` are for steps recorded after the fact (spans converted
        from another tracer): an id the caller derives, so that children recorded later or
        elsewhere can name it as their parent, and the time the work really started."""
        if type not in _STEP_TYPES:
            # Checked here: a bad type reaching the database would fail a whole batch.
            raise ValueError(f"unknown step type {type!r}")
        parent_id: int | uuid.UUID | None
        if parent is None:
            current = _get_step()
            parent_id = current._id if current is not None and current.run is self else None
        else:
            parent_id = parent._id if isinstance(parent, StepHandle) else parent
        iid = ids.prefix | next(ids.counter) if step_id is None else step_id.int
        started: float | datetime = (
            _clock() if started_at is None else aware(started_at, "started_at")
        )
        self._recorder._queue.append(  # a RawStepStarted, as a plain tuple (see `_records`)
            (STEP_STARTED, iid, self._iid, parent_id, name, type, input, payload,
             model, vendor, started)
        )  # fmt: skip
        handle = StepHandle(self, iid, name, type, started)
        if model is not None:
            handle.model = model
        if vendor is not None:
            handle.vendor = vendor
        return handle

    def node(self, name: str, *, input: Any = None) -> StepHandle:
        """A span over a graph node or pipeline stage; steps inside become its children."""
        return self.step(name, type=StepType.NODE, input=input)

    stage = node

    def tool_call(self, tool_name: str, arguments: Any = None) -> StepHandle:
        """A tool invocation; end it with the tool's output (`step.end(output)`)."""
        return self.step(
            tool_name,
            type=StepType.TOOL_CALL,
            input=arguments,
            payload={"tool_name": tool_name, "arguments": arguments},
        )

    def llm(
        self, model: str, *, vendor: str | None = None, input: Any = None, name: str | None = None
    ) -> StepHandle:
        """An LLM call in progress; set tokens and cost on the handle or pass them to `end`."""
        return self.step(
            name or model, type=StepType.LLM_CALL, input=input, model=model, vendor=vendor
        )

    # -- steps recorded at once ---------------------------------------------------------

    def thought(
        self, text: str, *, reasoning: str | None = None, name: str = "thought"
    ) -> uuid.UUID:
        return self._instant(name, StepType.THOUGHT, payload={"text": text, "reasoning": reasoning})

    def tool_result(self, tool_name: str, output: Any, *, is_error: bool = False) -> uuid.UUID:
        return self._instant(
            tool_name,
            StepType.TOOL_RESULT,
            output=output,
            payload={"tool_name": tool_name, "is_error": is_error},
            status=_FAILED if is_error else _COMPLETED,
        )

    def llm_call(
        self,
        model: str,
        *,
        vendor: str | None = None,
        input: Any = None,
        output: Any = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cost: float | None = None,
        latency_ms: float = 0.0,
        name: str | None = None,
    ) -> uuid.UUID:
        """An LLM call that already happened (tokens and cost known)."""
        return self._instant(
            name or model,
            StepType.LLM_CALL,
            input=input,
            output=output,
            model=model,
            vendor=vendor,
            usage=(input_tokens, output_tokens, cost),
            latency_ms=latency_ms,
        )

    def error(
        self, error: BaseException | str, *, code: str | None = None, name: str = "error"
    ) -> uuid.UUID:
        """An error the agent handled (a retry, a fallback): recorded with its traceback."""
        return self._instant(name, StepType.ERROR, status=_FAILED, error=ErrorInfo.of(error, code))

    def plan_update(self, plan: Any, *, name: str = "plan") -> uuid.UUID:
        return self._instant(name, StepType.PLAN_UPDATE, payload={"plan": plan})

    def validation(self, name: str, *, passed: bool, details: Any = None) -> uuid.UUID:
        """A check on the agent's work; a failed check is a failed step (it counts as an
        error and shows in failure filters) but does not fail the run."""
        return self._instant(
            name,
            StepType.VALIDATION,
            payload={"passed": passed, "details": details},
            status=_COMPLETED if passed else _FAILED,
        )

    def info(self, message: str, *, name: str = "info", **data: Any) -> uuid.UUID:
        return self._instant(name, StepType.INFO, payload={"message": message, "data": data})

    # -- files ----------------------------------------------------------------------------

    def artifact(
        self,
        source: "Source",
        *,
        name: str | None = None,
        role: str = "output",
        mime_type: str | None = None,
        step: StepHandle | uuid.UUID | None = None,
    ) -> uuid.UUID:
        """Store a file the run produced: `bytes`, a file path, or a binary stream (which the
        recorder then owns and closes). Uploads in the background; the artifact shows on
        the run (and on `step`, if given) once stored. `name` defaults to the file's,
        `mime_type` is guessed from the name or the content. Returns the artifact's id."""
        step_id = step.id if isinstance(step, StepHandle) else step
        return self._recorder._artifacts.submit(
            self.id, step_id, source, name=name, role=role, mime_type=mime_type
        )

    def artifact_dir(
        self,
        path: "str | os.PathLike[str]",
        *,
        role: str = "output",
        step: StepHandle | uuid.UUID | None = None,
        interval: float = 1.0,
    ) -> "ArtifactDirectory":
        """Files written under `path` become artifacts of this run: see `ArtifactDirectory`."""
        from tracewire.recorder.artifact_dir import ArtifactDirectory

        return ArtifactDirectory(
            lambda file, name: self.artifact(file, name=name, role=role, step=step),
            path,
            interval=interval,
        )

    # -- counters and the run's end -----------------------------------------------------

    def vendor_usage(
        self,
        vendor: str,
        *,
        calls: int = 1,
        errors: int = 0,
        rate_limit_hits: int = 0,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost: float = 0.0,
    ) -> None:
        """Count calls to a paid service (search API, email verifier...) against this run."""
        self._recorder._push(  # a RawVendorUsed
            (VENDOR_USED, self._iid, vendor, calls, errors, rate_limit_hits, input_tokens,
             output_tokens, cost)
        )  # fmt: skip

    def update(
        self,
        *,
        agent: str = _UNSET,
        user_id: str | None = _UNSET,
        conversation_id: str | None = _UNSET,
        input: Any = _UNSET,
        output: Any = _UNSET,
        metadata: dict[str, Any] = _UNSET,
        tags: Iterable[str] = _UNSET,
        external_trace_url: str | None = _UNSET,
        started_at: datetime = _UNSET,
    ) -> None:
        """Change the run's fields after it opened; only the arguments given are changed.
        `metadata` is merged into the run's; the rest replace. `external_trace_url` links
        the run to the same trace elsewhere (e.g. in Langfuse)."""
        changes = {k: v for k, v in locals().items() if v is not _UNSET and k != "self"}
        if "metadata" in changes and not isinstance(changes["metadata"], dict):
            raise ValueError("metadata must be a dict")
        if "tags" in changes:
            changes["tags"] = list(changes["tags"])
        if "started_at" in changes:
            aware(changes["started_at"], "started_at")
        if changes:
            self._recorder._push((RUN_UPDATED, self._iid, changes))  # a RawRunUpdated

    def finish(
        self,
        status: RunStatus | str = RunStatus.COMPLETED,
        *,
        output: Any = None,
        error_code: str | None = None,
        error_message: str | None = None,
        finished_at: datetime | None = None,
    ) -> None:
        """End the run with a final status. `finished_at` is for runs recorded after the
        fact; by default it is now."""
        status = RunStatus(status)
        if not status.is_final:
            raise ValueError(
                f"a run finishes as completed, partial, failed or cancelled, not {status}"
            )
        at = _clock() if finished_at is None else aware(finished_at, "finished_at")
        self._finished = True
        self._recorder._open_runs.discard(self._iid)
        self._recorder._push(  # a RawRunClosed
            (RUN_CLOSED, self._iid, status.value, output, error_code, error_message, at)
        )

    def fail(self, error: BaseException | str, *, code: str | None = None) -> None:
        code = code or (type(error).__name__ if isinstance(error, BaseException) else "error")
        self.finish(RunStatus.FAILED, error_code=code, error_message=str(error))

    def cancel(self, reason: str | None = None, *, code: str | None = None) -> None:
        self.finish(RunStatus.CANCELLED, error_code=code, error_message=reason)

    def __enter__(self) -> "RunHandle":
        self._token = current_run_var.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            current_run_var.reset(self._token)
            self._token = None
        if self._finished:
            return
        if exc is None:
            self.finish()
        elif isinstance(exc, KeyboardInterrupt):
            self.cancel()
        elif isinstance(exc, Terminated):
            self.cancel(f"the process received {exc.signal_name}", code=exc.signal_name)
        else:
            self.fail(exc)

    def _instant(
        self,
        name: str,
        type: str,
        *,
        input: Any = None,
        output: Any = None,
        payload: dict[str, Any] | None = None,
        status: str = _COMPLETED,
        model: str | None = None,
        vendor: str | None = None,
        usage: tuple[int | None, int | None, float | None] = (None, None, None),
        error: ErrorInfo | None = None,
        latency_ms: float = 0.0,
    ) -> uuid.UUID:
        step_id = ids.prefix | next(ids.counter)
        now = _clock()
        started = now - latency_ms / 1000 if latency_ms else now
        current = _get_step()
        parent_id = current._id if current is not None and current.run is self else None
        recorder = self._recorder
        queue = recorder._queue
        queue.append(  # a RawStepInstant
            (STEP_INSTANT, step_id, self._iid, parent_id, name, type, input, payload, model,
             vendor, started, status, output, *usage, error, now)
        )  # fmt: skip
        if len(queue) >= recorder._batch_size:
            recorder._wake()
        return as_uuid(step_id)

    def __repr__(self) -> str:
        return f"<RunHandle {self.id}>"
