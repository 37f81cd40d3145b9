"""A run being recorded: the methods an agent calls to record its steps."""

import time
import uuid
from collections.abc import Callable
from contextvars import Token
from types import TracebackType
from typing import Any

from db.enums import RunStatus, StepStatus, StepType
from recorder._context import current_run_var, current_step_var
from recorder._records import (
    ErrorInfo,
    Record,
    RunClosed,
    StepEnded,
    StepStarted,
    Usage,
    VendorUsed,
)
from recorder.step import StepHandle


class RunHandle:
    """One agent run. Use it as a context manager (`with recorder.run(...) as run:`): inside,
    `@node` functions and `current_run()` find it; leaving the block finishes the run as
    completed, or as failed when an exception escapes.

    Every method only queues a record: nothing here waits on the database.
    """

    __slots__ = ("_finished", "_put", "_token", "id")

    def __init__(self, put: Callable[[Record], None], run_id: uuid.UUID) -> None:
        self.id = run_id
        self._put = put
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
        type: StepType | str = StepType.INFO,
        input: Any = None,
        parent: StepHandle | uuid.UUID | None = None,
        model: str | None = None,
        vendor: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> StepHandle:
        """Start a step now; it ends when its `with` block ends or on `step.end(...)`."""
        step_id = uuid.uuid4()
        self._put(
            StepStarted(
                step_id,
                self.id,
                self._parent_id(parent),
                name,
                str(type),
                input,
                payload,
                model,
                vendor,
                time.time(),
            )
        )
        return StepHandle(self, step_id, name, str(type), model, vendor)

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
            status=StepStatus.FAILED if is_error else StepStatus.COMPLETED,
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
            usage=Usage(input_tokens, output_tokens, cost),
            latency_ms=latency_ms,
        )

    def error(
        self, error: BaseException | str, *, code: str | None = None, name: str = "error"
    ) -> uuid.UUID:
        """An error the agent handled (a retry, a fallback): recorded with its traceback."""
        return self._instant(
            name, StepType.ERROR, status=StepStatus.FAILED, error=ErrorInfo.of(error, code)
        )

    def plan_update(self, plan: Any, *, name: str = "plan") -> uuid.UUID:
        return self._instant(name, StepType.PLAN_UPDATE, payload={"plan": plan})

    def validation(self, name: str, *, passed: bool, details: Any = None) -> uuid.UUID:
        """A check on the agent's work; a failed check is a failed step (it counts as an
        error and shows in failure filters) but does not fail the run."""
        return self._instant(
            name,
            StepType.VALIDATION,
            payload={"passed": passed, "details": details},
            status=StepStatus.COMPLETED if passed else StepStatus.FAILED,
        )

    def info(self, message: str, *, name: str = "info", **data: Any) -> uuid.UUID:
        return self._instant(name, StepType.INFO, payload={"message": message, "data": data})

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
        self._put(
            VendorUsed(
                self.id, vendor, calls, errors, rate_limit_hits, input_tokens, output_tokens, cost
            )
        )

    def finish(
        self,
        status: RunStatus | str = RunStatus.COMPLETED,
        *,
        output: Any = None,
        error_code: str | None = None,
        error_message: str | None = None,
    ) -> None:
        status = RunStatus(status)
        if not status.is_final:
            raise ValueError(
                f"a run finishes as completed, partial, failed or cancelled, not {status}"
            )
        self._finished = True
        self._put(RunClosed(self.id, status.value, output, error_code, error_message, time.time()))

    def fail(self, error: BaseException | str, *, code: str | None = None) -> None:
        code = code or (type(error).__name__ if isinstance(error, BaseException) else "error")
        self.finish(RunStatus.FAILED, error_code=code, error_message=str(error))

    def cancel(self) -> None:
        self.finish(RunStatus.CANCELLED)

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
        else:
            self.fail(exc)

    def _parent_id(self, parent: StepHandle | uuid.UUID | None) -> uuid.UUID | None:
        if isinstance(parent, StepHandle):
            return parent.id
        if parent is not None:
            return parent
        current = current_step_var.get()
        return current.id if current is not None and current.run is self else None

    def _instant(
        self,
        name: str,
        type: StepType,
        *,
        input: Any = None,
        output: Any = None,
        payload: dict[str, Any] | None = None,
        status: StepStatus = StepStatus.COMPLETED,
        model: str | None = None,
        vendor: str | None = None,
        usage: Usage | None = None,
        error: ErrorInfo | None = None,
        latency_ms: float = 0.0,
    ) -> uuid.UUID:
        step_id = uuid.uuid4()
        now = time.time()
        parent_id = self._parent_id(None)
        self._put(
            StepStarted(
                step_id,
                self.id,
                parent_id,
                name,
                type.value,
                input,
                payload,
                model,
                vendor,
                now - latency_ms / 1000,
            )
        )
        self._put(
            StepEnded(
                step_id,
                self.id,
                status.value,
                output,
                None,
                None,
                None,
                usage,
                error,
                now,
                latency_ms,
            )
        )
        return step_id

    def __repr__(self) -> str:
        return f"<RunHandle {self.id}>"
