"""Hostile and unusual image files, generated (nothing stored in the repo)."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_bomb(width: int = 4000, height: int = 4000) -> bytes:
    """A valid PNG declaring ``width`` x ``height`` 16-bit RGBA, all zero: ~124 KB for
    4000x4000 that inflate to 128 MB (the issue's image bomb). Compressed row by row."""
    row = b"\x00" + b"\x00" * (width * 8)  # filter byte + 4 channels x 2 bytes
    z = zlib.compressobj(9)
    idat = b"".join(z.compress(row) for _ in range(height)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def png16_grey(grey8: np.ndarray) -> bytes:
    """A 16-bit greyscale PNG of an 8-bit grey picture (each value v stored as v * 257)."""
    wide = grey8.astype(np.uint16) * 257
    buf = io.BytesIO()
    Image.fromarray(wide).save(buf, "PNG")  # mode I;16
    return buf.getvalue()


def big_jpeg(width: int = 4000, height: int = 4000, seed: int = 0) -> bytes:
    """A real JPEG of textured content (so its entropy-coded data is substantial)."""
    rng = np.random.default_rng(seed)
    small = (rng.random((height // 8, width // 8, 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(small).resize((width, height)).save(buf, "JPEG", quality=80)
    return buf.getvalue()


def truncated_jpeg(width: int = 4000, height: int = 4000, keep: int = 50 * 1024) -> bytes:
    """The first ``keep`` bytes of a ``width`` x ``height`` JPEG, closed with an EOI marker: the
    header is intact, most of the picture is missing (decoders fill it with grey)."""
    return big_jpeg(width, height)[:keep] + b"\xff\xd9"


def jpeg_with_false_size(data: bytes, width: int = 4000, height: int = 4000) -> bytes:
    """A valid small JPEG whose frame header (SOF0) is patched to claim ``width`` x ``height``."""
    at = data.index(b"\xff\xc0")
    patched = bytearray(data)
    patched[at + 5 : at + 9] = struct.pack(">HH", height, width)
    return bytes(patched)


def plain_frames(n: int, size: tuple[int, int] = (320, 240), start: int = 0) -> list[bytes]:
    """``n`` distinct faceless PNG frames (flat colours)."""
    out = []
    for i in range(start, start + n):
        buf = io.BytesIO()
        Image.new("RGB", size, (40 + (i * 37) % 200, 90, 160 - (i * 11) % 120)).save(buf, "PNG")
        out.append(buf.getvalue())
    return out
