"""Sending a stored media object (a lesson video, its poster) to the browser with byte ranges
(``Range`` → 206 with ``Content-Range``, 416 for a range past the end, ``If-Range``); the
pages' ``<video>`` and the API send the same response.

From the local store the file goes out as Starlette's ``FileResponse``. From an object store
(S3) the app streams the requested range itself (``GetObject`` with ``Range``) rather than
redirecting to a presigned URL: access control stays in the app on every request (a presigned
URL works for anyone who has it until it expires, and a learner's browser would need to reach the
store), the responses are the same on both stores, and the store needs no public endpoint. The
cost is the video's bytes passing through an app node (benchmarks/video_serving.py measures it).
A multi-range request gets the whole object (RFC 9110 lets a server ignore ``Range``; browsers'
``<video>`` asks for one range).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from email.utils import format_datetime
from urllib.parse import quote

from fastapi.responses import FileResponse, PlainTextResponse, StreamingResponse
from starlette.responses import Response

from app.courses.exceptions import VideoNotFound
from app.courses.models import Lesson
from app.programmes.models import ExternalCertificate
from app.storage import LocalMediaStore, MediaStore, ObjectMissing, media_store

_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


class MalformedRange(ValueError):
    pass


class Unsatisfiable(ValueError):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The one byte range (first, last: inclusive) a ``Range`` header asks of an object of
    ``size`` bytes; None to send it whole (several ranges). :class:`MalformedRange` (400) and
    :class:`Unsatisfiable` (416) as Starlette's ``FileResponse`` answers them."""
    units, _, spec = header.partition("=")
    if units.strip().lower() != "bytes" or not spec.strip():
        raise MalformedRange(header)
    if "," in spec:
        return None
    m = _RANGE.fullmatch(spec)
    if m is None or (not m[1] and not m[2]):
        raise MalformedRange(header)
    if not m[1]:  # the last n bytes
        n = int(m[2])
        if n == 0 or size == 0:
            raise Unsatisfiable(header)
        return max(size - n, 0), size - 1
    first = int(m[1])
    last = int(m[2]) if m[2] else size - 1
    if first >= size:
        raise Unsatisfiable(header)
    if last < first:
        raise MalformedRange(header)
    return first, min(last, size - 1)


def object_response(
    store: MediaStore,
    key: str,
    request_headers: Mapping[str, str],
    *,
    media_type: str,
    headers: dict[str, str],
) -> Response:
    """An object of a store that is not the local filesystem, with byte ranges."""
    info = store.stat(key)
    if info is None:
        raise VideoNotFound()
    last_modified = format_datetime(info.modified, usegmt=True)
    common = {
        **headers,
        "Accept-Ranges": "bytes",
        "ETag": info.etag,
        "Last-Modified": last_modified,
    }
    wanted: tuple[int, int] | None = None
    http_range = request_headers.get("range")
    if_range = request_headers.get("if-range")
    if http_range and (if_range is None or if_range in (info.etag, last_modified)):
        try:
            wanted = parse_range(http_range, info.size)
        except MalformedRange:
            return PlainTextResponse("Malformed range header.", status_code=400)
        except Unsatisfiable:
            return PlainTextResponse(
                "Range Not Satisfiable",
                status_code=416,
                headers={"Content-Range": f"bytes */{info.size}"},
            )
    try:
        if wanted is None:
            body = store.open_range(key, 0, info.size - 1) if info.size else iter([b""])
            return StreamingResponse(
                body,
                media_type=media_type,
                headers={**common, "Content-Length": str(info.size)},
            )
        first, last = wanted
        return StreamingResponse(
            store.open_range(key, first, last),
            status_code=206,
            media_type=media_type,
            headers={
                **common,
                "Content-Range": f"bytes {first}-{last}/{info.size}",
                "Content-Length": str(last - first + 1),
            },
        )
    except ObjectMissing:
        raise VideoNotFound() from None


def media_response(
    lesson: Lesson, request_headers: Mapping[str, str], *, poster: bool = False
) -> Response:
    """The lesson's video (or poster frame) from the media store, private to the caller."""
    key = lesson.poster_key if poster else lesson.video_key
    if key is None:
        raise VideoNotFound()
    media_type = "image/jpeg" if poster else (lesson.video_type or "application/octet-stream")
    headers = {
        # Only the signed-in caller's browser may keep it; never a shared cache.
        "Cache-Control": "private, max-age=3600",
        "X-Content-Type-Options": "nosniff",
    }
    store = media_store()
    if not isinstance(store, LocalMediaStore):
        return object_response(store, key, request_headers, media_type=media_type, headers=headers)
    path = store.path(key)
    if not path.is_file():
        raise VideoNotFound()
    return FileResponse(
        path,
        media_type=media_type,
        headers=headers,
        content_disposition_type="inline",
    )


def disposition(kind: str, filename: str) -> str:
    """A ``Content-Disposition`` value (RFC 6266; non-ASCII names as ``filename*``)."""
    quoted = quote(filename)
    if quoted != filename:
        return f"{kind}; filename*=utf-8''{quoted}"
    return f'{kind}; filename="{filename}"'


def scan_response(cert: ExternalCertificate, data: bytes) -> Response:
    """An external certificate's scan (bytes checked against its hash by the domain): a PDF as
    an attachment, an image inline; never cached. The API and the pages send the same."""
    ext = cert.scan_key.rsplit(".", 1)[-1]
    return Response(
        data,
        media_type=cert.scan_media_type,
        headers={
            "Content-Disposition": disposition(
                "attachment" if ext == "pdf" else "inline", f"{cert.number}.{ext}"
            ),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
