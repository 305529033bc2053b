"""Sending a stored media object (a lesson video, its poster) to the browser: byte ranges
(``Range`` → 206 with ``Content-Range``, 416 for a range past the end, ``If-Range``) are
Starlette's ``FileResponse``; the pages' ``<video>`` and the API send the same response."""

from __future__ import annotations

from fastapi.responses import FileResponse

from app.courses.exceptions import VideoNotFound
from app.courses.models import Lesson
from app.storage import media_store


def media_response(lesson: Lesson, *, poster: bool = False) -> FileResponse:
    """The lesson's video (or poster frame) from the media store, private to the caller."""
    key = lesson.poster_key if poster else lesson.video_key
    if key is None:
        raise VideoNotFound()
    path = media_store().path(key)
    if not path.is_file():
        raise VideoNotFound()
    return FileResponse(
        path,
        media_type="image/jpeg" if poster else (lesson.video_type or "application/octet-stream"),
        headers={
            # Only the signed-in caller's browser may keep it; never a shared cache.
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
        },
        content_disposition_type="inline",
    )
