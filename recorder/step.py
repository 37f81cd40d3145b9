"""A step that is in progress: created started, ended once."""

import time
import uuid
from types import TracebackType
from typing import TYPE_CHECKING, Any

from db.enums import StepStatus
from recorder._context import current_step_var
from recorder._records import ErrorInfo, StepEnded, StepError, Usage

if TYPE_CHECKING:
    from contextvars import Token

    from recorder.run import RunHandle

_UNSET: Any = object()


class StepHandle:
    """Returned by `run.step(...)` and friends. Use it as a context manager (steps started
    inside become its children; an exception ends it as failed and propagates) or call
    `end(...)` yourself. Set `output`, `model`, `vendor` or usage before it ends, or pass
    them to `end`."""

    __slots__ = (
        "_ended",
        "_started",
        "_token",
        "cost",
        "id",
        "input_tokens",
        "model",
        "name",
        "output",
        "output_tokens",
        "run",
        "type",
        "vendor",
    )

    def __init__(
        self,
        run: "RunHandle",
        step_id: uuid.UUID,
        name: str,
        type: str,
        model: str | None,
        vendor: str | None,
    ) -> None:
        self.run = run
        self.id = step_id
        self.name = name
        self.type = type
        self.output: Any = None
        self.model = model
        self.vendor = vendor
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cost: float | None = None
        self._started = time.perf_counter()
        self._ended = False
        self._token: Token[StepHandle | None] | None = None

    @property
    def ended(self) -> bool:
        return self._ended

    def end(
        self,
        output: Any = _UNSET,
        *,
        status: StepStatus | str | None = None,
        error: StepError = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        cost: float | None = None,
        model: str | None = None,
        vendor: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        """End the step (later calls are ignored). `error` ends it as failed."""
        if self._ended:
            return
        self._ended = True
        if output is not _UNSET:
            self.output = output
        input_tokens = input_tokens if input_tokens is not None else self.input_tokens
        output_tokens = output_tokens if output_tokens is not None else self.output_tokens
        cost = cost if cost is not None else self.cost
        usage = (
            Usage(input_tokens, output_tokens, cost)
            if input_tokens is not None or output_tokens is not None or cost is not None
            else None
        )
        if status is None:
            status = StepStatus.FAILED if error is not None else StepStatus.COMPLETED
        latency_ms = (time.perf_counter() - self._started) * 1000
        self.run._put(
            StepEnded(
                self.id,
                self.run.id,
                str(status),
                self.output,
                payload,
                model or self.model,
                vendor or self.vendor,
                usage,
                error,
                time.time(),
                latency_ms,
            )
        )

    def fail(self, error: BaseException | str, *, code: str | None = None) -> None:
        """End the step as failed with an exception or a message."""
        self.end(error=ErrorInfo.of(error, code))

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
        else:
            self.end()

    def __repr__(self) -> str:
        return f"<StepHandle {self.type} {self.name!r} {self.id}>"
