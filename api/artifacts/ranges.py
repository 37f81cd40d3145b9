"""`Range: bytes=...` requests (RFC 9110 §14), for video seeking and resumed downloads.

One range is served as 206; several ranges, or a header we cannot read, get the whole
file (as the RFC allows); a range that starts past the end is a 416.
"""

import re
from dataclasses import dataclass

_SINGLE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    length: int

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.start + self.length - 1}/{size}"


class Unsatisfiable(Exception):
    """The range lies wholly past the end of the file."""


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range asked for, clipped to the file; None for the whole file."""
    if not header:
        return None
    match = _SINGLE.match(header)
    if match is None:
        return None  # several ranges, or not bytes: serve it all
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0:
            raise Unsatisfiable
        start = max(size - suffix, 0)
        return ByteRange(start, size - start)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size:
        raise Unsatisfiable
    if end < start:
        return None  # malformed: ignore it
    return ByteRange(start, end - start + 1)
