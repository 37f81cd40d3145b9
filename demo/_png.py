"""Tiny PNG bar charts in pure Python (zlib and struct), so the demo agent has real images
to store as artifacts without an imaging library."""

import struct
import zlib
from collections.abc import Sequence

Color = tuple[int, int, int]
BACKGROUND: Color = (250, 250, 252)
AXIS: Color = (120, 120, 130)
PALETTE: tuple[Color, ...] = ((66, 133, 244), (52, 168, 83), (251, 188, 5), (234, 67, 53))


def bar_chart(values: Sequence[float], *, width: int = 160, height: int = 96) -> bytes:
    """One bar per value (scaled to the largest), in palette colours, on a light ground."""
    if not values:
        raise ValueError("a chart needs at least one value")
    top = max(max(values), 1e-9)
    margin, gap = 8, 6
    bar_width = max((width - 2 * margin - gap * (len(values) - 1)) // len(values), 1)
    pixels = [[BACKGROUND] * width for _ in range(height)]
    baseline = height - margin
    for x in range(margin, width - margin):
        pixels[baseline][x] = AXIS
    for i, value in enumerate(values):
        left = margin + i * (bar_width + gap)
        bar_height = round((baseline - margin) * max(value, 0) / top)
        color = PALETTE[i % len(PALETTE)]
        for y in range(baseline - bar_height, baseline):
            for x in range(left, min(left + bar_width, width - margin)):
                pixels[y][x] = color
    return encode_png(pixels)


def encode_png(pixels: Sequence[Sequence[Color]]) -> bytes:
    """8-bit RGB rows, no filter, one IDAT."""
    height, width = len(pixels), len(pixels[0])
    raw = b"".join(b"\x00" + bytes(c for pixel in row for c in pixel) for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
