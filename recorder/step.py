"""A step that is in progress: created started, ended once."""

import time
import uuid
from contextvars import Token
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from tracewire.db.enums import StepStatus
from tracewire.recorder._context import current_step_var
from tracewire.recorder._ids import as_uuid
from tracewire.recorder._records import STEP_ENDED, ErrorInfo

if TYPE_CHECKING:
    import os

    from tracewire.recorder._artifact_job import Source
    from tracewire.recorder.artifact_dir import ArtifactDirectory
    from tracewire.recorder.run import RunHandle

_UNSET: Any = object()
_COMPLETED = StepStatus.COMPLETED.value
_FAILED = StepStatus.FAILED.value
_STATUSES = frozenset(StepStatus)
_clock = time.perf_counter


def aware(at: datetime, what: str) -> datetime:
    """A given time must say its timezone: a naive one would be read as local time."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime")
    return at


class StepHandle:
    """Returned by `run.step(...)` and friends. Use it as a context manager (steps started
    inside become its children; an exception ends it as failed and propagates) or call
    `end(...)` yourself. Set `output`, `model`, `vendor` or usage before it ends, or pass
    them to `end`."""

    # Class-level defaults instead of __slots__: __init__ sets only what every step has,
    # and an attribute the agent never sets costs nothing.
    output: Any = None
    model: str | None = None
    vendor: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None
    _ended = False
    _token: "Token[StepHandle | None] | None" = None

    def __init__(
        self, run: "RunHandle", step_id: int, name: str, type: str, started: float | datetime
    ):
        self.run = run
        self._id = step_id
        self.name = name
        self.type = type
        self._started = started

    @property
    def id(self) -> uuid.UUID:
        return as_uuid(self._id)

    @property
    def ended(self) -> bool:
        return self._ended

    def end(
        self,
        output: Any = _UNSET,
        *,
        status: StepStatus | str | None = None,
        error: ErrorInfo | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cost: float | None = None,
        model: str | None = None,
        vendor: str | None = None,
        payload: dict[str, Any] | None = None,
        ended_at: datetime | None = None,
    ) -> None:
        """End the step (later calls are ignored). `error` ends it as failed. `ended_at` is
        for steps recorded after the fact; by default it is now."""
        if self._ended:
            return
        if status is None:
            status = _FAILED if error is not None else _COMPLETED
        elif status not in _STATUSES:
            # Checked here: a bad status reaching the database would fail a whole batch.
            raise ValueError(f"unknown step status {status!r}")
        self._ended = True
        if output is not _UNSET:
            self.output = output
        if model:
            self.model = model
        if vendor:
            self.vendor = vendor
        self.run._recorder._push(  # a RawStepEnded, as a plain tuple (see `_records`)
            (STEP_ENDED, self._id, self.run._iid, status, self.output, payload, self.model,
             self.vendor, self.input_tokens if input_tokens is None else input_tokens,
             self.output_tokens if output_tokens is None else output_tokens,
             self.cost if cost is None else cost, error,
             _clock() if ended_at is None else aware(ended_at, "ended_at"), self._started)
        )  # fmt: skip

    def fail(
        self, error: BaseException | str, *, code: str | None = None, traceback: str | None = None
    ) -> None:
        """End the step as failed with an exception or a message; `traceback` is a stack
        trace as text, for an error that happened elsewhere (another process, a span)."""
        info = ErrorInfo.of(error, code)
        self.end(error=info if traceback is None else info._replace(traceback=traceback))

    def artifact(
        self,
        source: "Source",
        *,
        name: str | None = None,
        role: str = "output",
        mime_type: str | None = None,
    ) -> uuid.UUID:
        """Store a file this step produced: see `RunHandle.artifact`."""
        return self.run.artifact(source, name=name, role=role, mime_type=mime_type, step=self)

    def artifact_dir(
        self, path: "str | os.PathLike[str]", *, role: str = "output", interval: float = 1.0
    ) -> "ArtifactDirectory":
        """Files written under `path` become artifacts of this step."""
        return self.run.artifact_dir(path, role=role, step=self, interval=interval)

    def __enter__(self) -> "StepHandle":
        self._token = current_step_var.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            current_step_var.reset(self._token)
            self._token = None
        if exc is not None:
            self.end(error=ErrorInfo.of(exc))
            return
        if self._ended:
            return
        # `end()` inlined: this is half of the hot path of `with run.step(...)`.
        self._ended = True
        run = self.run
        recorder = run._recorder
        queue = recorder._queue
        queue.append(  # a RawStepEnded
            (STEP_ENDED, self._id, run._iid, _COMPLETED, self.output, None, self.model,
             self.vendor, self.input_tokens, self.output_tokens, self.cost, None, _clock(),
             self._started)
        )  # fmt: skip
        if len(queue) >= recorder._batch_size:
            recorder._wake()

    def __repr__(self) -> str:
        return f"<StepHandle {self.type} {self.name!r} {self.id}>"
