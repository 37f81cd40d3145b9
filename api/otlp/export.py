"""An OTLP export request's bytes into the batch the ingest service writes: parsed,
converted and made into wire records on one thread of its own, not on the event loop.

Converting 500 spans holds the CPU for tens of milliseconds; on the event loop that would
stall everything else the server does, the ingest writer's database round trips first (so
Postgres would wait while we convert). On a thread the loop gets its turn every switch
interval, and Postgres writes one group while the next request is converted. One thread:
the conversions share the GIL anyway, and a hundred senders cost no more threads."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

from tracewire.api.otlp import _decode
from tracewire.api.otlp._convert import Converted, convert
from tracewire.api.otlp._wire import batch_of
from tracewire.recorder._records import Batch

_converter = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tracewire-otlp-convert")


async def converted(
    raw: bytes, format: str, project: str | None, org_id: uuid.UUID
) -> tuple[Converted, Batch | None]:
    """The request's spans (and what was rejected), and their batch (None without any);
    raises `BodyError` for a malformed request."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_converter, _convert, raw, format, project, org_id)


def _convert(
    raw: bytes, format: str, project: str | None, org_id: uuid.UUID
) -> tuple[Converted, Batch | None]:
    spans = convert(_decode.parse(raw, format), project)
    return spans, batch_of(org_id, spans.traces) if spans.traces else None
