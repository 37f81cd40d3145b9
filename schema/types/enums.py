"""The database vocabularies (db/enums.py) exposed as GraphQL enums, so the two can never
drift apart. GraphQL names the values by member name: `RUNNING`, `TOOL_CALL`."""

import strawberry

from tracewire.db.enums import QaResult, RunStatus, StepStatus, StepType
from tracewire.resolvers.qa import QaSubject
from tracewire.resolvers.stats import Bucket

__all__ = ["Bucket", "QaResult", "QaSubject", "RunStatus", "StepStatus", "StepType"]

# strawberry.enum registers the classes themselves: resolvers and the recorder keep using
# the db.enums members, and GraphQL sees the same types.
strawberry.enum(RunStatus, description="Where a run is in its lifecycle.")
strawberry.enum(StepType, description="What a step is.")
strawberry.enum(StepStatus, description="Whether a step is still going.")
strawberry.enum(QaResult, description="A QA sample's verdict.")
strawberry.enum(QaSubject, description="What a QA sample checks: a whole run, or one step.")
strawberry.enum(Bucket, description="The width of a stats time-series bucket.")
