"""An event an OpenTelemetry span recorded while it ran."""

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from tracewire.db import step_payload
from tracewire.resolvers.span_details import event_time


@strawberry.type(
    description="An event of an OpenTelemetry span: a log line, a streamed chunk, a retry, "
    "or a recorded exception (name `exception`, with `exception.type|message|stacktrace`)."
)
class SpanEvent:
    name: str = strawberry.field(description="The event's name.")
    time: datetime | None = strawberry.field(description="When it happened, if sent.")
    attributes: JSON = strawberry.field(description="Its attributes, as sent.")

    @classmethod
    def of(cls, event: step_payload.SpanEvent) -> "SpanEvent":
        return cls(name=event["name"], time=event_time(event), attributes=JSON(event["attributes"]))
