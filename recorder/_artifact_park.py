"""Where artifacts wait when the store cannot take them: a folder beside the spool.

A parked artifact is `<id>.data` (its content, copied) and `<id>.json` (who it belongs to),
written in that order, each under a temporary name renamed into place, so a `.json` always
has its whole `.data`. The process that parks a job keeps its `.json` locked (`flock`)
while it lives and retries it; a `.json` whose lock can be taken belongs to a process that
stopped, and the next uploader adopts it. Both files go once the artifact is committed.
"""

import fcntl
import os
import uuid
from pathlib import Path
from typing import Any

import orjson

from tracewire.recorder._artifact_job import ArtifactJob

_META = ".json"
_DATA = ".data"


def park(job: ArtifactJob, directory: Path) -> None:
    """Copy the job's content and metadata under `directory` and hold its lock; the job
    then reads from the copy. Raises OSError when the disk refuses."""
    if job.parked is not None:
        return  # parked already (adopted, or parked before): the files are there
    directory.mkdir(parents=True, exist_ok=True)
    stem = directory / job.artifact_id.hex
    data, meta = stem.with_suffix(_DATA), stem.with_suffix(_META)
    partial = stem.with_suffix(".partial")
    try:
        _write_content(job, partial)
        os.replace(partial, data)
        fd = _write_locked(meta, _metadata(job))
    finally:
        partial.unlink(missing_ok=True)
    job.read_from(data)
    job.parked, job.lock_fd = meta, fd


def any_parked(directory: Path) -> bool:
    return any(directory.glob(f"*{_META}"))


def adopt(directory: Path) -> list[ArtifactJob]:
    """Parked jobs of processes that stopped, locked for this one, oldest first."""
    if not directory.is_dir():
        return []
    jobs = []
    metas = sorted(directory.glob(f"*{_META}"), key=_mtime)
    for meta in metas:
        try:
            fd = os.open(meta, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # committed by its owner meanwhile
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # its owner lives and retries it
        data = meta.with_suffix(_DATA)
        if not meta.exists() or not data.exists():
            os.close(fd)
            continue
        fields = orjson.loads(meta.read_bytes())
        jobs.append(_job(fields, data, meta, fd))
    return jobs


def _metadata(job: ArtifactJob) -> dict[str, Any]:
    return {
        "artifact_id": str(job.artifact_id),
        "run_id": str(job.run_id),
        "step_id": str(job.step_id) if job.step_id else None,
        "org": job.org,
        "role": job.role,
        "name": job.name,
        "mime_type": job.mime_type,
    }


def _job(fields: dict[str, Any], data: Path, meta: Path, fd: int) -> ArtifactJob:
    step = fields["step_id"]
    return ArtifactJob(
        artifact_id=uuid.UUID(fields["artifact_id"]),
        run_id=uuid.UUID(fields["run_id"]),
        step_id=uuid.UUID(step) if step else None,
        org=fields["org"],
        role=fields["role"],
        name=fields["name"],
        mime_type=fields["mime_type"],
        content=data,
        owned_file=data,
        parked=meta,
        lock_fd=fd,
    )


def _write_locked(meta: Path, fields: dict[str, Any]) -> int:
    """Write `meta` atomically and return a descriptor holding its lock. Locked before the
    rename, so no adopter ever sees it unlocked while this process lives."""
    temp = meta.with_suffix(".json-new")
    fd = os.open(temp, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, orjson.dumps(fields))
        os.replace(temp, meta)
    except BaseException:
        os.close(fd)
        temp.unlink(missing_ok=True)
        raise
    return fd


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def copy_to(job: ArtifactJob, path: Path) -> None:
    """Buffer a stream that cannot seek in a file of ours, so a retry can read it again."""
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_content(job, path)
    job.read_from(path)


def _write_content(job: ArtifactJob, path: Path) -> None:
    with path.open("wb") as file:
        for chunk in job.open_chunks():
            file.write(chunk)
