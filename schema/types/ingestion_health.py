"""A recording process's ingestion health, as it reported it with its latest batch."""

from datetime import datetime

import strawberry

from tracewire.db import models


@strawberry.type(
    description="One recording process's backpressure, as shipped with its latest batch."
)
class RecorderHealth:
    recorder_id: strawberry.ID = strawberry.field(description="The recorder (process) id.")
    host: str = strawberry.field(description="The host it runs on.")
    pid: int = strawberry.field(description="Its process id.")
    queued: int = strawberry.field(description="Records waiting in its memory.")
    spooled_bytes: float = strawberry.field(
        description="Bytes waiting in its disk spool (the database was away or slow)."
    )
    dropped: float = strawberry.field(
        description="Records lost (only when the disk refused the spool)."
    )
    written_records: float = strawberry.field(description="Records it has committed.")
    failed_attempts: int = strawberry.field(description="Batch writes that failed and retried.")
    last_batch_ms: float | None = strawberry.field(description="How long its last batch took.")
    last_error: str | None = strawberry.field(description="Why its last failed write failed.")
    updated_at: datetime = strawberry.field(description="When it last reported.")

    @classmethod
    def from_row(cls, row: models.RecorderHealth) -> "RecorderHealth":
        return cls(
            recorder_id=strawberry.ID(str(row.recorder_id)),
            host=row.host,
            pid=row.pid,
            queued=row.queued,
            spooled_bytes=row.spooled_bytes,
            dropped=row.dropped,
            written_records=row.written_records,
            failed_attempts=row.failed_attempts,
            last_batch_ms=row.last_batch_ms,
            last_error=row.last_error,
            updated_at=row.updated_at,
        )
