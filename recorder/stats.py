"""What `Recorder.stats()` reports, and what each batch carries to the server as the
recorder's ingestion health."""

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class RecorderStats:
    """A snapshot of the recorder's backpressure.

    Records are counted as the agent recorded them: a step's start, its end, an instant
    step (`run.info(...)`), a run opened or closed, one each; `queued`, `dropped` and
    `written_records` are in that one unit.

    `queued` records wait in memory; `spooled_bytes` wait on disk (the database was down,
    hung, slow, or the memory budget ran out; replayed in order once it is back);
    `dropped` records are lost, which happens only when the disk refuses the spool (full,
    read-only) while memory is past `max_queue` too;
    `last_batch_ms` is how long the last committed batch took; `failed_attempts` counts
    batch writes that failed and were retried, `last_error` says why the last one failed.
    When mirroring to Langfuse, `mirrored` records were handed to the `langfuse` SDK and
    `mirror_dropped` were not (Langfuse too slow, or the mirror failed on them): they are in
    Tracewire all the same.

    Artifacts: `artifacts_queued` wait for (or are in) upload; `artifacts_uploaded` are
    stored (`artifact_bytes_uploaded` bytes) and queued as records; `artifacts_parked` wait
    on disk after the store failed for `artifact_retry_for` seconds (retried every few
    seconds, and by the next process); `artifacts_dropped` are lost (their content could
    not be read, or the disk refused the parked copy); `artifact_failed_attempts` counts
    failed uploads that were retried.
    """

    queued: int
    spooled_bytes: int
    dropped: int
    written_records: int
    written_batches: int
    failed_attempts: int
    last_batch_ms: float | None
    last_error: str | None
    mirrored: int = 0
    mirror_dropped: int = 0
    artifacts_queued: int = 0
    artifacts_uploaded: int = 0
    artifact_bytes_uploaded: int = 0
    artifacts_parked: int = 0
    artifacts_dropped: int = 0
    artifact_failed_attempts: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
