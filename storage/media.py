"""Media types: checking one, guessing one for a file, and deciding whether a browser may
show it.

A media type is kept only when it is well formed (RFC 9110's `type/subtype;name=value`):
anything else (a CR LF that cannot go into a header, `video/../../text/html`...) is
`application/octet-stream`, both when an artifact is recorded and when one stored earlier
is served. Only a list of types a browser cannot execute are shown inline; everything else
(HTML, SVG, JavaScript, XML, unknown types...) is served as an attachment, so an artifact
can never run script in the server's origin.
"""

import mimetypes
import re

from tracewire.storage.base import Download

OCTET_STREAM = "application/octet-stream"
MAX_MEDIA_TYPE_CHARS = 255
_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"[ !#-\[\]-~]*"'
_MEDIA_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))*")
# Checked when the name says nothing; longest-known signatures of common artifact types.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"\x1f\x8b", "application/gzip"),
)
_INLINE_TYPES = frozenset(
    {
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "image/avif",
        "image/bmp",
        "text/plain",
        "text/csv",
        "application/json",
        "application/x-ndjson",
        "application/pdf",
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "audio/webm",
        "audio/flac",
        "audio/mp4",
        "audio/aac",
        "video/mp4",
        "video/webm",
        "video/ogg",
    }
)


def checked_media_type(mime: str) -> str:
    """`mime` when it is a well-formed media type, else `application/octet-stream`."""
    if len(mime) <= MAX_MEDIA_TYPE_CHARS and _MEDIA_TYPE.fullmatch(mime):
        return mime
    return OCTET_STREAM


def guess_mime(name: str | None, head: bytes = b"") -> str:
    """From the name's suffix, else from the first bytes (magic numbers, or UTF-8 text)."""
    if name:
        guessed, _ = mimetypes.guess_type(name, strict=False)
        if guessed:
            return guessed
    for magic, mime in _MAGIC:
        if head.startswith(magic):
            return mime
    if head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut at the end of the sample is still text.
            if exc.start < len(head) - 3:
                return OCTET_STREAM
        if b"\x00" not in head:
            return "text/plain"
    return OCTET_STREAM


def essence(mime: str) -> str:
    """`type/subtype` in lower case, without parameters."""
    return mime.split(";", 1)[0].strip().lower()


def is_inline_safe(mime: str) -> bool:
    return essence(checked_media_type(mime)) in _INLINE_TYPES


def download_of(filename: str, mime: str) -> Download:
    """How to serve a stored file; text is always declared UTF-8 (no charset sniffing)."""
    mime = content_type = checked_media_type(mime)
    if essence(mime).startswith("text/") and "charset" not in mime.lower():
        content_type = f"{mime}; charset=utf-8"
    return Download(content_type, filename, attachment=not is_inline_safe(mime))


def disposition(download: Download) -> str:
    """A Content-Disposition value; `download.filename` is a `storage.keys.safe_name`."""
    kind = "attachment" if download.attachment else "inline"
    return f'{kind}; filename="{download.filename}"'
