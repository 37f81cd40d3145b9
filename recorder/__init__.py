"""The library an agent imports to record its runs into Tracewire."""

from typing import TYPE_CHECKING, Any

from recorder._context import current_run
from recorder._records import ErrorInfo
from recorder.artifact_dir import ArtifactDirectory
from recorder.node import node, stage
from recorder.prices import ModelPrice
from recorder.recorder import Recorder
from recorder.run import RunHandle
from recorder.settings import RecorderSettings
from recorder.sink import MemorySink, Sink
from recorder.stats import RecorderStats
from recorder.step import StepHandle

if TYPE_CHECKING:
    from recorder.langchain import TracewireCallbackHandler

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
        from recorder.langchain import TracewireCallbackHandler

        return TracewireCallbackHandler
    raise AttributeError(f"module 'recorder' has no attribute {name!r}")
