"""The database vocabularies (db/enums.py) exposed as GraphQL enums, so the two can never
drift apart. GraphQL names the values by member name: `RUNNING`, `TOOL_CALL`."""

import strawberry

from db.enums import RunStatus, StepStatus, StepType

__all__ = ["RunStatus", "StepStatus", "StepType"]

# strawberry.enum registers the classes themselves: resolvers and the recorder keep using
# the db.enums members, and GraphQL sees the same types.
strawberry.enum(RunStatus, description="Where a run is in its lifecycle.")
strawberry.enum(StepType, description="What a step is.")
strawberry.enum(StepStatus, description="Whether a step is still going.")
