"""The artifact uploader: a thread of its own, so a 1 GB upload never delays a step.

Jobs queue in a deque (the agent's threads only append); the thread streams each one to
the store (multipart for large ones, `CHUNK_BYTES` in memory at a time) while hashing it,
and only once the object is stored queues its ARTIFACT_ADDED record for the batch writer,
which commits it with its run event. So a record never points at a missing object.

An outage is retried with backoff for `retry_for` seconds; then the job is parked on disk
(`_artifact_park`) and retried every few seconds, and by the next process if this one
stops first. Nothing is lost unless the disk refuses the copy too (counted as dropped).
"""

import asyncio
import hashlib
import logging
import mimetypes
import tempfile
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from tracewire.recorder._artifact_job import ArtifactJob
from tracewire.recorder._artifact_park import adopt, copy_to, park
from tracewire.recorder._records import ARTIFACT_ADDED, ArtifactAdded
from tracewire.storage import (
    InvalidKey,
    ObjectRefused,
    ObjectWriter,
    StorageError,
    StoreConfig,
    artifact_key,
    guess_mime,
    open_writer,
    safe_name,
)
from tracewire.storage.media import download_of

logger = logging.getLogger("tracewire.recorder")

_FIRST_BACKOFF_S = 0.2
_MAX_BACKOFF_S = 5.0
_SNIFF_BYTES = 512


class _FlushMarker:
    __slots__ = ("done", "ok")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.ok = True


class ArtifactUploader:
    def __init__(
        self,
        config: StoreConfig,
        emit: Callable[[ArtifactAdded], None],
        *,
        park_dir: Path | None,
        retry_for: float,
    ) -> None:
        self.queue: deque[ArtifactJob | _FlushMarker] = deque()
        self._config = config
        self._emit = emit
        self._park_dir = park_dir
        self._retry_for = retry_for
        self._parked: list[ArtifactJob] = []
        self._unflushed_parks = 0  # parked since the last flush marker passed
        self._busy = False
        self._wake = threading.Event()
        self._interrupt = threading.Event()
        self._stopping = threading.Event()
        self._deadline = float("inf")
        self._failing_since: float | None = None
        self._next_park_retry = 0.0
        self.uploaded = self.uploaded_bytes = self.failed_attempts = self.dropped = 0
        self.last_error: str | None = None
        self._loop = asyncio.new_event_loop()
        self._store: ObjectWriter | None = None
        self._thread = threading.Thread(target=self._run, name="tracewire-artifacts", daemon=True)
        self._thread.start()

    # -- called from the agent's threads ----------------------------------------------

    def submit(self, job: ArtifactJob) -> None:
        self.queue.append(job)
        if not self._wake.is_set():
            self._wake.set()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every artifact submitted so far is stored and queued for the writer;
        False on timeout, or when one of them had to be parked."""
        if not self._thread.is_alive():
            return not self.queue
        marker = _FlushMarker()
        self.queue.append(marker)
        self._wake.set()
        return marker.done.wait(timeout) and marker.ok

    def close(self, timeout: float) -> bool:
        """Keep uploading for up to `timeout` seconds, then park what is left and stop.
        True if every artifact was stored."""
        if not self._stopping.is_set():
            self._deadline = time.monotonic() + timeout
            self._stopping.set()
            self._interrupt.set()
            self._wake.set()
        self._thread.join(timeout + 30.0)  # parking copies to disk: give it time
        return not self.queue and not self._parked and not self._busy

    @property
    def pending(self) -> int:
        return len(self.queue) + self._busy

    @property
    def parked(self) -> int:
        return len(self._parked)

    # -- the uploader thread ------------------------------------------------------------

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._store = open_writer(self._config)
            if self._park_dir is not None:
                self._parked = adopt(self._park_dir)
                if self._parked:
                    logger.warning("tracewire: retrying %d parked artifacts", len(self._parked))
            while True:
                self._cycle()
                if self._stopping.is_set() and (
                    not self.queue or time.monotonic() >= self._deadline
                ):
                    break
                self._wake.wait(_MAX_BACKOFF_S)
                self._wake.clear()
        except Exception:
            logger.exception("tracewire: the artifact uploader failed")
        finally:
            self._shut_down()

    def _cycle(self) -> None:
        while self.queue:
            item = self.queue.popleft()
            if isinstance(item, _FlushMarker):
                item.ok = self._unflushed_parks == 0
                self._unflushed_parks = 0
                item.done.set()
                continue
            self._busy = True
            try:
                self._deliver(item)
            finally:
                self._busy = False
        if self._parked and time.monotonic() >= self._next_park_retry:
            self._next_park_retry = time.monotonic() + _MAX_BACKOFF_S
            while self._parked:
                try:
                    if not self._attempt(self._parked[0]):
                        break
                except Exception as exc:  # the parked copy is unreadable
                    self._drop(self._parked[0], exc)
                self._parked.pop(0)

    def _deliver(self, job: ArtifactJob) -> None:
        if not job.rereadable:
            try:
                copy_to(job, self._buffer_path(job))
            except Exception as exc:
                self._drop(job, exc)
                return
        backoff = _FIRST_BACKOFF_S
        while True:
            try:
                if self._attempt(job):
                    return
            except Exception as exc:  # unreadable content, or refused for good: no retry
                self._drop(job, exc)
                return
            now = time.monotonic()
            assert self._failing_since is not None
            if now - self._failing_since >= self._retry_for or now >= self._deadline:
                self._park(job)
                return
            self._interrupt.wait(min(backoff, max(0.0, self._deadline - now)))
            backoff = min(backoff * 2, _MAX_BACKOFF_S)

    def _attempt(self, job: ArtifactJob) -> bool:
        """One upload; False when the store failed (retry later). Errors reading the
        content, and a refusal no retry can change, propagate."""
        try:
            self._loop.run_until_complete(self._upload(job))
        except (InvalidKey, ObjectRefused):
            raise
        except (StorageError, TimeoutError) as exc:
            self.failed_attempts += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            logger.warning("tracewire: artifact upload failed, will retry: %s", self.last_error)
            if self._failing_since is None:
                self._failing_since = time.monotonic()
            return False
        self._failing_since = None
        return True

    async def _upload(self, job: ArtifactJob) -> None:
        assert self._store is not None
        chunks = job.open_chunks()
        first = next(chunks, b"")
        if job.mime_type is None:
            job.mime_type = guess_mime(job.name, first[:_SNIFF_BYTES])
        if job.name is None:
            job.name = _default_name(job.role, job.mime_type)
        name = job.name = safe_name(job.name)
        key = artifact_key(job.org, job.run_id, job.step_id, job.artifact_id, name)
        digest = hashlib.sha256()
        size = 0

        async def hashed() -> AsyncIterator[bytes]:
            nonlocal size
            chunk = first
            while chunk:
                digest.update(chunk)
                size += len(chunk)
                yield chunk
                chunk = next(chunks, b"")

        await self._store.put(key, hashed(), download=download_of(name, job.mime_type))
        self._emit(
            ArtifactAdded(
                ARTIFACT_ADDED,
                artifact_id=job.artifact_id.hex,
                run_id=job.run_id.hex,
                step_id=job.step_id.hex if job.step_id else None,
                role=job.role,
                name=name,
                storage_key=key,
                mime_type=job.mime_type,
                size_bytes=size,
                sha256=digest.hexdigest(),
                created_at=time.time(),
            )
        )
        self.uploaded += 1
        self.uploaded_bytes += size
        job.release()

    def _park(self, job: ArtifactJob) -> None:
        if self._park_dir is None:
            self._drop(job, RuntimeError("the store is down and there is no spool to park in"))
            return
        try:
            park(job, self._park_dir)
        except OSError as exc:
            self._drop(job, exc)
            return
        self._unflushed_parks += 1
        self._parked.append(job)
        logger.error("tracewire: artifact %s parked on disk until the store is back", job.name)

    def _drop(self, job: ArtifactJob, error: BaseException) -> None:
        self.dropped += 1
        self._unflushed_parks += 1
        self.last_error = f"{type(error).__name__}: {error}"
        logger.error("tracewire: artifact %s lost: %s", job.name, self.last_error)
        job.release()

    def _buffer_path(self, job: ArtifactJob) -> Path:
        base = self._park_dir or Path(tempfile.gettempdir()) / "tracewire-artifacts"
        return base / f"{job.artifact_id.hex}.buffer"

    def _shut_down(self) -> None:
        try:
            while self.queue:
                item = self.queue.popleft()
                if isinstance(item, _FlushMarker):
                    item.ok = False
                    item.done.set()
                else:
                    self._park(item)
            for job in self._parked:
                job.unlock()  # left on disk for the next process
            if self._store is not None:
                self._loop.run_until_complete(self._store.close())
        except Exception:
            logger.exception("tracewire: closing the artifact uploader failed")
        finally:
            self._loop.close()

    def counters(self) -> dict[str, Any]:
        return {
            "artifacts_queued": self.pending,
            "artifacts_uploaded": self.uploaded,
            "artifact_bytes_uploaded": self.uploaded_bytes,
            "artifacts_parked": self.parked,
            "artifacts_dropped": self.dropped,
            "artifact_failed_attempts": self.failed_attempts,
        }


def _default_name(role: str, mime_type: str) -> str:
    extension = mimetypes.guess_extension(mime_type.split(";")[0].strip()) or ".bin"
    return f"{role}{extension}"
