"""Live traces: one LISTEN connection per process, fan-out to subscribers, catch-up by seq."""

from tracewire.live.hub import CHANNEL, Listener, RunEventHub
from tracewire.live.notifier import RESYNC, PostgresNotifyBackend
from tracewire.live.reader import LiveEvent, LiveReader
from tracewire.live.stream import run_event_batches, run_events

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
