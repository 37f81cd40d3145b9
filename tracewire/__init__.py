"""Tracewire: record every run of an LLM agent, and watch it live.

    from tracewire import Recorder, current_run, node, stage

This package is the recorder an agent imports (`tracewire.recorder`, re-exported here);
the server lives in its subpackages (`tracewire.api`, `tracewire.cli`...) and needs
`pip install 'tracewire[server]'`. Importing `tracewire` imports nothing of the server.
"""

from tracewire.recorder import (
    ArtifactDirectory,
    ErrorInfo,
    MemorySink,
    ModelPrice,
    Recorder,
    RecorderSettings,
    RecorderStats,
    RunHandle,
    Sink,
    StepHandle,
    current_run,
    node,
    stage,
)

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
    "current_run",
    "node",
    "stage",
]
