"""Inputs of the run lifecycle mutations."""

import strawberry
from strawberry.scalars import JSON

from tracewire.schema.types.enums import RunStatus


@strawberry.input(description="A run to create (PENDING until started).")
class CreateRunInput:
    agent: str = strawberry.field(description="The agent (graph, pipeline) that will run.")
    input: JSON | None = strawberry.field(default=None, description="What it is asked.")
    user_id: str | None = strawberry.field(default=None, description="The end user it runs for.")
    conversation_id: str | None = strawberry.field(
        default=None, description="Its conversation or session."
    )
    tags: list[str] | None = strawberry.field(default=None, description="Labels (at most 50).")
    metadata: JSON | None = strawberry.field(
        default=None, description="Free-form metadata (a JSON object)."
    )


@strawberry.input(description="How a RUNNING (or STALLED) run ended.")
class FinishRunInput:
    status: RunStatus = strawberry.field(
        default=RunStatus.COMPLETED, description="COMPLETED, PARTIAL or FAILED."
    )
    output: JSON | None = strawberry.field(default=None, description="What the run answered.")
    error_code: str | None = strawberry.field(default=None, description="Why it failed, as a code.")
    error_message: str | None = strawberry.field(default=None, description="Why it failed.")
