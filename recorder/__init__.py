"""The library an agent imports to record its runs into Tracewire."""

from recorder._context import current_run
from recorder.node import node, stage
from recorder.recorder import Recorder
from recorder.run import RunHandle
from recorder.settings import RecorderSettings
from recorder.sink import MemorySink, Sink
from recorder.stats import RecorderStats
from recorder.step import StepHandle

__all__ = [
    "MemorySink",
    "Recorder",
    "RecorderSettings",
    "RecorderStats",
    "RunHandle",
    "Sink",
    "StepHandle",
    "current_run",
    "node",
    "stage",
]
