"""What `Recorder.stats()` reports, and what each batch carries to the server as the
recorder's ingestion health."""

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RecorderStats:
    """A snapshot of the recorder's backpressure.

    `queued` records wait in memory; `spooled_bytes` wait on disk (the database was down,
    slow, or the memory budget ran out; replayed in order once it is back); `dropped`
    records are lost, which happens only when the disk refuses the spool (full, read-only);
    `last_batch_ms` is how long the last committed batch took; `failed_attempts` counts
    batch writes that failed and were retried, `last_error` says why the last one failed.
    """

    queued: int
    spooled_bytes: int
    dropped: int
    written_records: int
    written_batches: int
    failed_attempts: int
    last_batch_ms: float | None
    last_error: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
