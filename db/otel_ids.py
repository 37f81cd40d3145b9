"""The ids an OpenTelemetry trace and its spans get here.

A trace is a run whose id derives from the organization and the trace id, so a trace sent
in several requests, or to several server processes, lands in one run, and one
organization can never name another's run. A span is a step whose id derives from its run
and the span id, so a child that arrives before or after its parent still names it.

Both are UUIDv5. `run_bytes` and `step_hex` make them without UUID objects (most of what
`uuid.uuid5` costs), for the OTLP converter's per-span loop; `run_id_for` and
`step_id_for` are the same ids as UUIDs.
"""

import uuid
from hashlib import sha1

_RUN_NAMESPACE = uuid.UUID("5b0f6f0e-7a8e-4c1b-9a57-3c1f3e0a7e11").bytes


def run_bytes(org: str, trace_id: bytes) -> bytes:
    """The run id's 16 bytes, `org` being `str(org_id)`."""
    return bytes(_uuid5(_RUN_NAMESPACE, f"{org}:{trace_id.hex()}"))


def step_hex(run: bytes, span_id: bytes) -> str:
    """The step id as 32 hex digits, `run` being the run id's bytes."""
    return _uuid5(run, span_id.hex()).hex()


def run_id_for(org_id: uuid.UUID, trace_id: bytes) -> uuid.UUID:
    return uuid.UUID(bytes=run_bytes(str(org_id), trace_id))


def step_id_for(run_id: uuid.UUID, span_id: bytes) -> uuid.UUID:
    return uuid.UUID(hex=step_hex(run_id.bytes, span_id))


def _uuid5(namespace: bytes, name: str) -> bytearray:
    """`uuid.uuid5(namespace, name).bytes`: the SHA-1 of namespace and name, with the
    version and variant bits set."""
    digest = bytearray(sha1(namespace + name.encode()).digest()[:16])
    digest[6] = digest[6] & 0x0F | 0x50  # version 5
    digest[8] = digest[8] & 0x3F | 0x80  # RFC 4122 variant
    return digest
