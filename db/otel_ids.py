"""The ids an OpenTelemetry trace and its spans get here.

A trace is a run whose id derives from the organization and the trace id, so a trace sent
in several requests, or to several server processes, lands in one run, and one
organization can never name another's run. A span is a step whose id derives from its run
and the span id, so a child that arrives before or after its parent still names it.
"""

import uuid

_RUN_NAMESPACE = uuid.UUID("5b0f6f0e-7a8e-4c1b-9a57-3c1f3e0a7e11")


def run_id_for(org_id: uuid.UUID, trace_id: bytes) -> uuid.UUID:
    return uuid.uuid5(_RUN_NAMESPACE, f"{org_id}:{trace_id.hex()}")


def step_id_for(run_id: uuid.UUID, span_id: bytes) -> uuid.UUID:
    return uuid.uuid5(run_id, span_id.hex())
