"""What the hot path puts on the queue: plain tuples, built without serialising anything.

Values (inputs, outputs, exceptions) are kept as the objects the agent passed; the writer
thread turns them into JSON and rows.
"""

import uuid
from types import TracebackType
from typing import Any, NamedTuple


class RunOpened(NamedTuple):
    run_id: uuid.UUID
    org: str
    agent: str
    user_id: str | None
    conversation_id: str | None
    input: Any
    metadata: dict[str, Any] | None
    tags: list[str] | None
    started_at: float


class RunClosed(NamedTuple):
    run_id: uuid.UUID
    status: str
    output: Any
    error_code: str | None
    error_message: str | None
    finished_at: float


class StepStarted(NamedTuple):
    step_id: uuid.UUID
    run_id: uuid.UUID
    parent_id: uuid.UUID | None
    name: str
    type: str
    input: Any
    payload: dict[str, Any] | None
    model: str | None
    vendor: str | None
    started_at: float


class Usage(NamedTuple):
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost: float | None = None


class ErrorInfo(NamedTuple):
    """An exception or a message; `code` defaults to the exception's class name.

    The traceback is taken when the error is recorded (the exception's own grows while it
    propagates) and formatted by the writer."""

    error: BaseException | str
    code: str | None = None
    traceback: TracebackType | None = None

    @classmethod
    def of(cls, error: BaseException | str, code: str | None = None) -> "ErrorInfo":
        tb = error.__traceback__ if isinstance(error, BaseException) else None
        return cls(error, code, tb)


StepError = ErrorInfo | None


class StepEnded(NamedTuple):
    step_id: uuid.UUID
    run_id: uuid.UUID
    status: str
    output: Any
    payload: dict[str, Any] | None
    model: str | None
    vendor: str | None
    usage: Usage | None
    error: StepError
    ended_at: float
    latency_ms: float


class VendorUsed(NamedTuple):
    run_id: uuid.UUID
    vendor: str
    calls: int
    errors: int
    rate_limit_hits: int
    input_tokens: int
    output_tokens: int
    cost: float


Record = RunOpened | RunClosed | StepStarted | StepEnded | VendorUsed


class Batch(NamedTuple):
    """Records committed together. The id makes a re-sent batch recognisable."""

    id: uuid.UUID
    records: list[Record]
