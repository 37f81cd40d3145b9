"""GraphQL object types, one per module."""

from tracewire.schema.types.enums import RunStatus, StepStatus, StepType
from tracewire.schema.types.pagination import Connection, Edge, PageInfo
from tracewire.schema.types.query import Query
from tracewire.schema.types.run import Run
from tracewire.schema.types.step import Step

__all__ = [
    "Connection",
    "Edge",
    "PageInfo",
    "Query",
    "Run",
    "RunStatus",
    "Step",
    "StepStatus",
    "StepType",
]
