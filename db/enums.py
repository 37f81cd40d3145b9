"""The vocabularies shared by the recorder, the database and the API.

Stored as text with CHECK constraints (not Postgres enums) so that adding a value is a
one-line migration that never rewrites or locks a table.
"""

from enum import StrEnum


class RunStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    NEEDS_REVIEW = "needs_review"
    COMPLETED = "completed"
    PARTIAL = "partial"
    FAILED = "failed"
    CANCELLED = "cancelled"
    STALLED = "stalled"

    @property
    def is_final(self) -> bool:
        return self in _FINAL_RUN_STATUSES


_FINAL_RUN_STATUSES = frozenset(
    {RunStatus.COMPLETED, RunStatus.PARTIAL, RunStatus.FAILED, RunStatus.CANCELLED}
)


class StepType(StrEnum):
    """What a step is. `node` is a span over a graph node or pipeline stage; the rest follow
    seeds 000/001 (input/output/validation/error/info, thought/tool/plan) and LLM calls."""

    NODE = "node"
    INPUT = "input"
    OUTPUT = "output"
    THOUGHT = "thought"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    LLM_CALL = "llm_call"
    VALIDATION = "validation"
    PLAN_UPDATE = "plan_update"
    ERROR = "error"
    INFO = "info"


class StepStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class EventKind(StrEnum):
    """Entries of a run's append-only event log, in the run's seq order."""

    RUN_CREATED = "run_created"
    RUN_STATUS_CHANGED = "run_status_changed"
    STEP_STARTED = "step_started"
    STEP_FINISHED = "step_finished"
    ARTIFACT_ADDED = "artifact_added"


class QaResult(StrEnum):
    """A QA sample's verdict (seed 004): waiting for a reviewer, or passed/failed."""

    NEEDS_REVIEW = "needs_review"
    PASS = "pass"
    FAIL = "fail"


def check_in(column: str, values: type[StrEnum]) -> str:
    """SQL for a CHECK constraint that keeps `column` inside an enum's values."""
    quoted = ", ".join(f"'{member.value}'" for member in values)
    return f"{column} IN ({quoted})"
