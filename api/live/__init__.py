"""Live traces: one LISTEN connection per process, fan-out to subscribers, catch-up by seq."""

from api.live.hub import CHANNEL, Listener, RunEventHub
from api.live.notifier import RESYNC, PostgresNotifyBackend
from api.live.reader import LiveEvent, LiveReader
from api.live.stream import run_event_batches, run_events

__all__ = [
    "CHANNEL",
    "RESYNC",
    "Listener",
    "LiveEvent",
    "LiveReader",
    "PostgresNotifyBackend",
    "RunEventHub",
    "run_event_batches",
    "run_events",
]
