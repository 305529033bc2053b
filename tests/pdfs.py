"""Small real PDFs, written byte by byte (nothing stored in the repo): a one-page document a
viewer opens, and the same with something added to its catalogue, page or extra objects —
optionally packed into a compressed object stream (PDF 1.5), where a byte search cannot see."""

from __future__ import annotations

import zlib

CATALOG = b"<< /Type /Catalog /Pages 2 0 R %s>>"
PAGES = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] %s>>"


def pdf(
    catalog: bytes = b"",
    page: bytes = b"",
    objects: dict[int, bytes] | None = None,
    *,
    packed: dict[int, bytes] | None = None,
) -> bytes:
    """A one-page PDF 1.5: objects 1–3 are the catalogue (with ``catalog`` added inside it),
    the page tree and the page (with ``page`` added); ``objects`` (numbered from 4) are written
    out, ``packed`` ones compressed into one object stream; an xref stream indexes them all."""
    plain = {1: CATALOG % catalog, 2: PAGES, 3: PAGE % page, **(objects or {})}
    packed = packed or {}
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets: dict[int, int] = {}
    for num, body in sorted(plain.items()):
        offsets[num] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (num, body)
    stream_num = max(plain | packed) + 1
    if packed:
        pairs, bodies = [], b""
        for num, body in sorted(packed.items()):
            pairs.append(b"%d %d" % (num, len(bodies)))
            bodies += body + b"\n"
        head = b" ".join(pairs) + b"\n"
        data = zlib.compress(head + bodies)
        offsets[stream_num] = len(out)
        out += b"%d 0 obj\n<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>" % (
            stream_num,
            len(packed),
            len(head),
            len(data),
        )
        out += b"\nstream\n" + data + b"\nendstream\nendobj\n"
    xref_num = stream_num + 1
    size = xref_num + 1
    offsets[xref_num] = len(out)
    rows = bytearray()
    order = sorted(packed)
    for num in range(size):
        if num in offsets:
            rows += b"\x01" + offsets[num].to_bytes(4, "big") + b"\x00\x00"
        elif num in packed:
            rows += b"\x02" + stream_num.to_bytes(4, "big") + order.index(num).to_bytes(2, "big")
        else:
            rows += b"\x00" + bytes(4) + b"\xff\xff"
    out += b"%d 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>" % (
        xref_num,
        size,
        len(rows),
    )
    out += b"\nstream\n" + bytes(rows) + b"\nendstream\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[xref_num]
    return bytes(out)


#: A plain one-page scan a regulator's viewer opens: what the tests upload as a PDF scan.
SCAN_PDF = pdf()
