"""What a PDF scan may hold: a scanned certificate is pages of pictures and text, nothing that
acts. A PDF can carry JavaScript, actions that launch programs or open other files, embedded
files and XFA forms (ISO 32000-1 §12.6, §7.11.4, §12.7.8) — in a regulator's PDF viewer they
run, or tempt, on opening. Such a scan is refused (422 ``invalid_scan``) before it is stored.

The document is read with pypdf and every object reachable from its trailer is looked at —
dictionaries and arrays, compressed object streams included, names with their ``#xx`` escapes
decoded — but no page content stream is decoded, so the look costs little even on a 5 MB scan.
A PDF pypdf cannot read has no catalogue a viewer could open either: refused as damaged.
"""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject

from app.programmes.exceptions import ActiveScan, InvalidScan

log = logging.getLogger(__name__)

#: Actions that run code, launch a program, fetch or send data, or open another or an embedded
#: file (ISO 32000-1 table 198, ISO 32000-2 adds RichMediaExecute).
REFUSED_ACTIONS = frozenset(
    {
        "/JavaScript",
        "/Launch",
        "/GoToR",
        "/GoToE",
        "/ImportData",
        "/SubmitForm",
        "/Rendition",
        "/RichMediaExecute",
    }
)
#: Keys that only active or embedded content has: script text, the document's script and
#: embedded-file name trees, a file specification's embedded file, an XFA form.
REFUSED_KEYS = frozenset({"/JS", "/JavaScript", "/EmbeddedFiles", "/EF", "/XFA"})
#: Annotations that carry a file or play media.
REFUSED_ANNOTATIONS = frozenset({"/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/Sound"})


def active_content(data: bytes) -> str | None:
    """What in the PDF acts (``"/JavaScript action"``, ``"/EF key"``…), or None for a plain
    document; :class:`InvalidScan` when the PDF cannot be read or is password-protected."""
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise InvalidScan("The PDF is password-protected; upload it unprotected.", field="scan")
        if "/Root" not in reader.trailer:
            raise InvalidScan("The PDF has no document catalogue.", field="scan")
        return _walk(reader.trailer)
    except InvalidScan:
        raise
    except Exception as exc:  # a parser on hostile bytes: whatever it trips on, we cannot vouch
        log.info("PDF scan refused as unreadable: %s: %s", type(exc).__name__, exc)
        raise InvalidScan("The PDF cannot be read: it is damaged.", field="scan") from None


def check_pdf(data: bytes) -> None:
    """Refuse a PDF that holds anything that acts (:class:`ActiveScan`)."""
    found = active_content(data)
    if found is not None:
        raise ActiveScan(f"The PDF holds active content ({found}).", field="scan", found=found)


def _walk(start: PdfObject) -> str | None:
    seen: set[tuple[int, int]] = set()
    stack: list[PdfObject] = [start]
    while stack:
        obj = stack.pop()
        if isinstance(obj, IndirectObject):
            ref = (obj.idnum, obj.generation)
            if ref in seen:
                continue
            seen.add(ref)
            resolved = obj.get_object()
            if resolved is not None:
                stack.append(resolved)
        elif isinstance(obj, DictionaryObject):  # a stream's dictionary too; its data unread
            found = _acts(obj)
            if found is not None:
                return found
            stack.extend(obj.values())
        elif isinstance(obj, ArrayObject):
            stack.extend(obj)
    return None


def _acts(d: DictionaryObject) -> str | None:
    for key in d:
        if key in REFUSED_KEYS:
            return f"{key} key"
    action = d.get("/S")
    if action in REFUSED_ACTIONS:
        return f"{action} action"
    if d.get("/Subtype") in REFUSED_ANNOTATIONS and "/Rect" in d:
        return f"{d['/Subtype']} annotation"
    return None
