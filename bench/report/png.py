"""Encode an RGB image as PNG: 8-bit truecolor, no interlace, filter 0 on every row, one
zlib-compressed IDAT chunk.  Enough for charts, and readable by every viewer."""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def encode(width: int, height: int, rgb: bytes | bytearray) -> bytes:
    """`rgb` holds `height` rows of `width` pixels, three bytes each, top row first."""
    stride = 3 * width
    if len(rgb) != stride * height:
        raise ValueError(f"expected {stride * height} bytes of RGB, got {len(rgb)}")
    view = memoryview(rgb)
    raw = b"".join(b"\x00" + view[y * stride:(y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB
    return (SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b""))


def _chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))
