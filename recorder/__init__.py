"""The library an agent imports to record its runs into Tracewire."""

from typing import TYPE_CHECKING, Any

from tracewire.recorder._context import current_run
from tracewire.recorder._records import ErrorInfo
from tracewire.recorder.artifact_dir import ArtifactDirectory
from tracewire.recorder.node import node, stage
from tracewire.recorder.prices import ModelPrice
from tracewire.recorder.recorder import Recorder
from tracewire.recorder.run import RunHandle
from tracewire.recorder.settings import RecorderSettings
from tracewire.recorder.sink import MemorySink, Sink
from tracewire.recorder.stats import RecorderStats
from tracewire.recorder.step import StepHandle

if TYPE_CHECKING:
    from tracewire.recorder.langchain import TracewireCallbackHandler

__all__ = [
    "ArtifactDirectory",
    "ErrorInfo",
    "MemorySink",
    "ModelPrice",
    "Recorder",
    "RecorderSettings",
    "RecorderStats",
    "RunHandle",
    "Sink",
    "StepHandle",
    "TracewireCallbackHandler",
    "current_run",
    "node",
    "stage",
]


def __getattr__(name: str) -> Any:
    # Imported on first use: LangChain takes over a second to import, and most agents
    # that import the recorder never touch it.
    if name == "TracewireCallbackHandler":
        from tracewire.recorder.langchain import TracewireCallbackHandler

        return TracewireCallbackHandler
    raise AttributeError(f"module 'recorder' has no attribute {name!r}")
