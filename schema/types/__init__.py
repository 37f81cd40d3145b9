"""GraphQL object types, one per module."""

from schema.types.enums import RunStatus, StepStatus, StepType
from schema.types.pagination import Connection, Edge, PageInfo
from schema.types.query import Query
from schema.types.run import Run
from schema.types.step import Step

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
