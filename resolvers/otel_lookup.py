"""Finding a run by its OpenTelemetry trace id and a step by its span id. The ids of stored
spans derive from the caller's organization (`tracewire.db.otel_ids`), so a lookup is a read
by primary key, and another organization's trace id names nothing here."""

import string

from tracewire.db.models import Run, Step
from tracewire.db.otel_ids import run_id_for, step_id_for
from tracewire.resolvers.context import Context
from tracewire.resolvers.errors import InvalidArgument

_HEX = frozenset(string.hexdigits)


async def run_by_trace_id(context: Context, trace_id: str) -> Run | None:
    """The run an OTLP trace was recorded as, or None if the caller's organization has none."""
    run_id = run_id_for(context.caller.org_id, _hex_id(trace_id, "traceId", 32))
    return await context.loaders.runs_by_id.load(run_id)


async def step_by_span_id(context: Context, trace_id: str, span_id: str) -> Step | None:
    """The step a span of that trace was recorded as, or None."""
    run_id = run_id_for(context.caller.org_id, _hex_id(trace_id, "traceId", 32))
    return await context.loaders.steps_by_id.load(
        step_id_for(run_id, _hex_id(span_id, "spanId", 16))
    )


def _hex_id(text: str, argument: str, digits: int) -> bytes:
    if len(text) != digits or not _HEX.issuperset(text):
        shown = text if len(text) <= 40 else text[:40] + "…"
        raise InvalidArgument(f"{argument} must be {digits} hexadecimal digits, not {shown!r}")
    return bytes.fromhex(text)
