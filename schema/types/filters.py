"""The filter inputs: `RunFilter` for run lists, exports and QA draws, `StatsFilter` for
dashboards. Both become a `resolvers.filters.RunFilterSpec`, which validates them."""

from datetime import datetime

import strawberry

from tracewire.resolvers.filters import MAX_LAST_HOURS, RunFilterSpec
from tracewire.schema.types.enums import RunStatus

DEFAULT_STATS_HOURS = 24.0


@strawberry.input(
    description="Which runs to list. Every field narrows the list; leave it out for all runs."
)
class RunFilter:
    status: list[RunStatus] | None = strawberry.field(
        default=None, description="Runs in any of these statuses."
    )
    agent: list[str] | None = strawberry.field(
        default=None, description="Runs of any of these agents."
    )
    user_id: str | None = strawberry.field(default=None, description="Runs for this end user.")
    conversation_id: str | None = strawberry.field(
        default=None, description="Runs of this conversation (session)."
    )
    tags: list[str] | None = strawberry.field(
        default=None, description="Runs carrying all of these tags."
    )
    failed_node: str | None = strawberry.field(
        default=None, description="Runs in which a node (a `NODE` step) of this name failed."
    )
    from_: datetime | None = strawberry.field(
        default=None, name="from", description="Runs created at or after this time."
    )
    to: datetime | None = strawberry.field(default=None, description="Runs created before this.")
    last_hours: float | None = strawberry.field(
        default=None,
        description="Runs created in the last N hours (instead of `from`; at most "
        f"{MAX_LAST_HOURS}).",
    )
    error_text: str | None = strawberry.field(
        default=None,
        description="Runs whose error, or a failed step's error, contains this text "
        "(code or message, case-insensitive).",
    )

    def to_spec(self) -> RunFilterSpec:
        return RunFilterSpec.of(
            statuses=self.status,
            agents=self.agent,
            user_id=self.user_id,
            conversation_id=self.conversation_id,
            tags=self.tags,
            failed_node=self.failed_node,
            start=self.from_,
            end=self.to,
            last_hours=self.last_hours,
            error_text=self.error_text,
        )


@strawberry.input(
    description="What the stats cover: a time range (the last 24 hours unless `from` or "
    "`lastHours` is given) and optionally some agents, tags, a user or a conversation."
)
class StatsFilter:
    from_: datetime | None = strawberry.field(
        default=None, name="from", description="From this time on."
    )
    to: datetime | None = strawberry.field(default=None, description="Before this time.")
    last_hours: float | None = strawberry.field(
        default=None, description="The last N hours (instead of `from`)."
    )
    agent: list[str] | None = strawberry.field(
        default=None, description="Only runs of these agents."
    )
    tags: list[str] | None = strawberry.field(
        default=None, description="Only runs carrying all of these tags."
    )
    user_id: str | None = strawberry.field(default=None, description="Only this end user's runs.")
    conversation_id: str | None = strawberry.field(
        default=None, description="Only this conversation's runs."
    )

    def to_spec(self) -> RunFilterSpec:
        last_hours = self.last_hours
        if last_hours is None and self.from_ is None:
            last_hours = DEFAULT_STATS_HOURS
        return RunFilterSpec.of(
            agents=self.agent,
            user_id=self.user_id,
            conversation_id=self.conversation_id,
            tags=self.tags,
            start=self.from_,
            end=self.to,
            last_hours=last_hours,
        )
