"""Object keys are made here, from ids and a cleaned file name, never from a path a user
gave: `org/run/step/<artifact>-<name>`. Every store checks a key again before using it."""

import re
import unicodedata
import uuid

from tracewire.storage.errors import InvalidKey

MAX_NAME_CHARS = 120
MAX_KEY_CHARS = 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_RUN_LEVEL = "run"  # the step segment of an artifact that belongs to the run itself
# What `artifact_key` makes, after its organization segment: run, step (or "run"), and
# `<artifact>-<name>`; the name is captured.
_AFTER_ORG = re.compile(
    rf"[0-9a-f]{{32}}/(?:[0-9a-f]{{32}}|{_RUN_LEVEL})/[0-9a-f]{{32}}-([A-Za-z0-9._-]+)"
)


def safe_name(name: str, default: str = "file") -> str:
    """A file name fit for a key and a download: the last path component only, ASCII
    letters, digits, `._-`, no leading dot, at most `MAX_NAME_CHARS` (keeping the suffix)."""
    base = re.split(r"[/\\]", name)[-1]
    base = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode()
    base = _UNSAFE.sub("_", base).strip("._-")
    if not base:
        return default
    if len(base) > MAX_NAME_CHARS:
        stem, dot, suffix = base.rpartition(".")
        if dot and 0 < len(suffix) <= 16:
            base = f"{stem[: MAX_NAME_CHARS - len(suffix) - 1]}.{suffix}"
        else:
            base = base[:MAX_NAME_CHARS]
    return base


def safe_segment(text: str) -> str:
    """An organization slug (or any label) as one key segment."""
    return safe_name(text, default="org")


def artifact_key(
    org: str, run_id: uuid.UUID, step_id: uuid.UUID | None, artifact_id: uuid.UUID, name: str
) -> str:
    step = step_id.hex if step_id is not None else _RUN_LEVEL
    return f"{safe_segment(org)}/{run_id.hex}/{step}/{artifact_id.hex}-{safe_name(name)}"


def with_org(key: str, org_slug: str) -> str:
    """`key` with its first segment, the organization, made `org_slug`'s. A server stores
    what a client sends under the caller's own organization this way, whatever the client
    named, so a client never writes into another organization's keys. Raises `InvalidKey`
    for a key without an organization segment and something after it."""
    _, slash, rest = check_key(key).partition("/")
    if not slash:
        raise InvalidKey(f"key has no organization segment: {key!r}")
    return check_key(f"{safe_segment(org_slug)}/{rest}")


def artifact_name(key: str) -> str:
    """The file name an `artifact_key` ends with; raises `InvalidKey` for a key shaped
    otherwise (a server takes only such keys from clients, so every object of an
    organization sits at the same depth, and names its file)."""
    _, slash, rest = check_key(key).partition("/")
    match = _AFTER_ORG.fullmatch(rest) if slash else None
    if match is None:
        raise InvalidKey(f"not an artifact key (<org>/<run>/<step>/<artifact>-<name>): {key!r}")
    return match.group(1)


def check_key(key: str) -> str:
    """The key itself when it is relative, made of plain segments (no empty, `.` or `..`
    one), without backslashes or control characters; raises `InvalidKey` otherwise."""
    if not key or len(key) > MAX_KEY_CHARS:
        raise InvalidKey(f"key must be 1-{MAX_KEY_CHARS} characters")
    if key.startswith("/") or "\\" in key or any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise InvalidKey(f"not a relative key: {key!r}")
    if any(part in ("", ".", "..") for part in key.split("/")):
        raise InvalidKey(f"key has an empty, '.' or '..' segment: {key!r}")
    return key
