"""The recorder's artifact side: turning `artifact(...)` calls into upload jobs, the
uploader thread (started on first use), and the offloading of large step values."""

import logging
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tracewire.recorder._artifact_job import ArtifactJob, Source, content_of
from tracewire.recorder._artifact_park import any_parked
from tracewire.recorder._ids import as_uuid, ids
from tracewire.recorder._offload import Offloader
from tracewire.recorder._records import ArtifactAdded
from tracewire.recorder._uploader import ArtifactUploader
from tracewire.recorder.settings import RecorderSettings
from tracewire.storage.media import checked_media_type

if TYPE_CHECKING:
    from tracewire.recorder._writer import BatchWriter

logger = logging.getLogger("tracewire.recorder")


class Artifacts:
    def __init__(self, settings: RecorderSettings, writer: Callable[[], "BatchWriter"]) -> None:
        self._settings = settings
        self._writer = writer
        self._uploader: ArtifactUploader | None = None
        self._lock = threading.Lock()
        self._closed = False
        spool = settings.spool_path()
        self.park_dir: Path | None = spool / "artifacts" if spool is not None else None
        limit = settings.artifact_inline_limit
        self.offload = Offloader(limit, self._submit_bytes) if limit is not None else None
        if self.park_dir is not None and any_parked(self.park_dir):
            self._started()  # artifacts an earlier process parked: retry them now

    def submit(
        self,
        run_id: uuid.UUID,
        step_id: uuid.UUID | None,
        source: Source,
        *,
        name: str | None,
        role: str,
        mime_type: str | None,
    ) -> uuid.UUID:
        if not role:
            raise ValueError("an artifact needs a role (e.g. 'output', 'report', 'render')")
        content, suggested = content_of(source)
        if self._closed:
            logger.warning("tracewire: recorder is closed; dropping artifact %s", suggested)
            return uuid.uuid4()
        job = ArtifactJob(
            as_uuid(ids.new()),
            run_id,
            step_id,
            self._settings.org,
            role,
            name or suggested,
            # A malformed type could never be sent as a download's header: stored as bytes.
            checked_media_type(mime_type) if mime_type is not None else None,
            content,
        )
        self._started().submit(job)
        return job.artifact_id

    def flush(self, timeout: float | None) -> bool:
        uploader = self._uploader
        return uploader is None or uploader.flush(timeout)

    def close(self, timeout: float) -> bool:
        self._closed = True
        uploader = self._uploader
        return uploader is None or uploader.close(timeout)

    def counters(self) -> dict[str, Any]:
        uploader = self._uploader
        return uploader.counters() if uploader is not None else {}

    def after_fork(self) -> None:
        # The parent's uploader thread did not come along; its queue is the parent's.
        self._uploader = None
        self._lock = threading.Lock()

    def _started(self) -> ArtifactUploader:
        uploader = self._uploader
        if uploader is None:
            with self._lock:
                uploader = self._uploader
                if uploader is None:
                    uploader = self._uploader = ArtifactUploader(
                        self._settings.store_config(),
                        self._emit,
                        park_dir=self.park_dir,
                        retry_for=self._settings.artifact_retry_for,
                    )
        return uploader

    def _emit(self, record: ArtifactAdded) -> None:
        writer = self._writer()
        writer.queue.append(record)
        writer.wake()

    def _submit_bytes(
        self,
        run_id: uuid.UUID,
        step_id: uuid.UUID,
        role: str,
        name: str,
        mime_type: str,
        content: bytes,
    ) -> uuid.UUID:
        return self.submit(run_id, step_id, content, name=name, role=role, mime_type=mime_type)
