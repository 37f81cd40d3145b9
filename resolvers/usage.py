"""Usage of models and paid services, from two sources added together: steps that name a
vendor or model (LLM and tool calls), and the per-run vendor counters the recorder keeps for
calls that are not steps (seed 004's `bump_vendor`).

A failed step counts as a rate-limit hit when its error code says so (`RateLimitError`,
`rate_limit_exceeded`, `HTTP_429`...).
"""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, func

from tracewire.db.enums import StepStatus
from tracewire.db.models import Step

RATE_LIMIT_CODE = "rate.?limit|429"


def step_is_error() -> ColumnElement[bool]:
    return Step.status == StepStatus.FAILED.value


def step_is_rate_limited() -> ColumnElement[bool]:
    return Step.error_code.regexp_match(RATE_LIMIT_CODE, flags="i")


def step_usage_columns() -> list[Any]:
    """Aggregates over steps, in `UsageLine` field order after vendor and model."""
    return [
        func.count().label("calls"),
        func.count().filter(step_is_error()).label("errors"),
        func.count().filter(step_is_rate_limited()).label("rate_limit_hits"),
        func.coalesce(func.sum(Step.input_tokens), 0).cast(Integer).label("input_tokens"),
        func.coalesce(func.sum(Step.output_tokens), 0).cast(Integer).label("output_tokens"),
        func.coalesce(func.sum(Step.cost), 0).label("cost"),
    ]


@dataclass(slots=True)
class UsageLine:
    """Calls, errors, tokens and cost of one vendor (and model, when known)."""

    vendor: str | None
    model: str | None
    calls: int = 0
    errors: int = 0
    rate_limit_hits: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: Decimal = Decimal(0)

    def add(self, other: "UsageLine") -> None:
        self.calls += other.calls
        self.errors += other.errors
        self.rate_limit_hits += other.rate_limit_hits
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost += other.cost


def merge(lines: list[UsageLine]) -> list[UsageLine]:
    """Lines with the same (vendor, model) added up, ordered by cost, then calls."""
    merged: dict[tuple[str | None, str | None], UsageLine] = {}
    for line in lines:
        key = (line.vendor, line.model)
        if key not in merged:
            merged[key] = UsageLine(line.vendor, line.model)
        merged[key].add(line)
    return sorted(
        merged.values(),
        key=lambda u: (-u.cost, -u.calls, u.vendor or "", u.model or ""),
    )
