"""Lesson videos the platform hosts: upload (staff of a draft course) and playback with byte
ranges (learners enrolled in the course, staff of its institution)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile, status
from fastapi.responses import FileResponse, Response

from app.accounts.exceptions import InvalidToken
from app.accounts.principal import Principal
from app.api.deps import CurrentUser, SessionDep, UserPrincipal
from app.config import get_settings
from app.courses import exceptions as cx
from app.courses import media
from app.courses.policy import LESSON_MINUTES, TITLE_CHARS
from app.courses.schemas import LessonOut
from app.errors import Forbidden, NotAuthenticated, problem_responses
from app.http.media import media_response
from app.storage import StorageUnavailable

router = APIRouter(tags=["courses"])

_auth = (NotAuthenticated, InvalidToken, Forbidden)

_VIDEO_BYTES = {
    "description": "The video (or the requested byte range of it: 206 with Content-Range)",
    "content": {
        "video/mp4": {"schema": {"type": "string", "format": "binary"}},
        "video/webm": {"schema": {"type": "string", "format": "binary"}},
    },
}
_RANGE_REFUSED = {
    "description": "The Range starts past the end of the file (Content-Range: bytes */size)",
    "content": {"text/plain": {"schema": {"type": "string"}, "example": "Range Not Satisfiable"}},
}


@router.post(
    "/courses/{course_id}/lessons/video",
    status_code=status.HTTP_201_CREATED,
    response_model=LessonOut,
    responses=problem_responses(
        *_auth,
        cx.CourseNotFound,
        cx.CoursePublished,
        cx.InvalidLesson,
        cx.InvalidVideo,
        cx.VideoTooLong,
        cx.VideoTooLarge,
    ),
)
def upload_video_lesson(
    course_id: uuid.UUID,
    title: Annotated[str, Form(min_length=1, max_length=TITLE_CHARS, examples=["触电急救演示"])],
    minutes: Annotated[
        int, Form(ge=LESSON_MINUTES[0], le=LESSON_MINUTES[1], description="required minutes")
    ],
    file: Annotated[UploadFile, File(description="MP4 (H.264) or WebM (VP8/VP9)")],
    user: CurrentUser,
    session: SessionDep,
    request: Request,
) -> LessonOut:
    """Append a lesson with a video the platform hosts to a draft course (checked from its
    bytes: type, size, length; a poster frame is taken from it)."""
    declared = int(request.headers.get("content-length") or 0)
    if declared > get_settings().video_max_bytes + 64 * 1024:
        raise cx.VideoTooLarge(max_bytes=get_settings().video_max_bytes)
    lesson = media.add_video_lesson(
        session, Principal.of_user(user), course_id, title=title, minutes=minutes, upload=file.file
    )
    return LessonOut.of(lesson)


@router.get(
    "/lessons/{lesson_id}/video",
    response_class=FileResponse,
    responses={
        200: _VIDEO_BYTES,
        206: _VIDEO_BYTES,
        416: _RANGE_REFUSED,
        **problem_responses(*_auth, cx.VideoNotFound, StorageUnavailable),
    },
)
def lesson_video(
    lesson_id: uuid.UUID, principal: UserPrincipal, session: SessionDep, request: Request
) -> Response:
    """A hosted lesson video, with byte ranges (learners enrolled in the course, its staff)."""
    return media_response(media.watchable_lesson(session, principal, lesson_id), request.headers)


@router.get(
    "/lessons/{lesson_id}/poster",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The poster frame",
            "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(*_auth, cx.VideoNotFound, StorageUnavailable),
    },
)
def lesson_poster(
    lesson_id: uuid.UUID, principal: UserPrincipal, session: SessionDep, request: Request
) -> Response:
    """The poster frame taken from a hosted lesson video."""
    lesson = media.watchable_lesson(session, principal, lesson_id)
    return media_response(lesson, request.headers, poster=True)
