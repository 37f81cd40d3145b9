"""A folder whose files land in the artifact store: point a tool that writes files (a
renderer's `/renders/`, a report generator's output dir) at it, and its files become
artifacts of the run, with no change to the tool."""

import logging
import os
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

logger = logging.getLogger("tracewire.recorder")

# (file, name) -> the artifact's id
Submit = Callable[[Path, str], uuid.UUID]


class ArtifactDirectory:
    """Watches `path` (made if missing) by scanning it every `interval` seconds on a
    thread of its own. A new or changed file is stored once its size and modification time
    held still for one scan (the tool is done writing it); `close()` (the end of the `with`
    block) scans a last time and stores whatever is left, finished or not. Files there
    before the watch began are left alone unless `include_existing`. A file changed after
    it was stored is stored again, as a new artifact.

    Files are read by the uploader in the background: leave them in place until the
    recorder has flushed (or closed)."""

    def __init__(
        self,
        submit: Submit,
        path: str | os.PathLike[str],
        *,
        interval: float = 1.0,
        include_existing: bool = False,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.stored: dict[Path, uuid.UUID] = {}
        self._submit = submit
        self._interval = interval
        self._lock = threading.Lock()
        self._seen: dict[Path, tuple[int, int]] = {}  # last scan's (size, mtime)
        self._done: dict[Path, tuple[int, int]] = {}  # the version stored
        if not include_existing:
            self._done = self._snapshot()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="tracewire-artifact-dir")
        self._thread.daemon = True
        self._thread.start()

    def scan(self, *, final: bool = False) -> list[uuid.UUID]:
        """Store what is ready now (everything new, when `final`); the new artifacts' ids."""
        with self._lock:
            current = self._snapshot()
            added = []
            for file, version in current.items():
                if self._done.get(file) == version:
                    continue
                if final or self._seen.get(file) == version:
                    name = file.relative_to(self.path).as_posix().replace("/", "_")
                    try:
                        artifact_id = self._submit(file, name)
                    except FileNotFoundError:
                        continue  # removed since the snapshot
                    self._done[file] = version
                    self.stored[file] = artifact_id
                    added.append(artifact_id)
            self._seen = current
            return added

    def close(self) -> list[uuid.UUID]:
        """Stop watching, after a last scan; the ids it added."""
        if self._stop.is_set():
            return []
        self._stop.set()
        self._thread.join()
        return self.scan(final=True)

    def __enter__(self) -> "ArtifactDirectory":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.scan()
            except OSError:
                logger.exception("tracewire: scanning %s failed; trying again", self.path)

    def _snapshot(self) -> dict[Path, tuple[int, int]]:
        found = {}
        for root, _, names in os.walk(self.path):
            for name in names:
                if name.startswith("."):
                    continue  # editors' and tools' temporary files
                file = Path(root, name)
                try:
                    stat = file.stat()
                except FileNotFoundError:
                    continue
                found[file] = (stat.st_size, stat.st_mtime_ns)
        return found
