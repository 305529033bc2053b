"""Lesson videos the platform hosts: checked from their bytes, kept in the media store, served
with byte ranges to the learners enrolled in the course (and the owning institution's staff).

A video is accepted when its container is MP4 with an H.264 video track or WebM with VP8/VP9
(what every browser's ``<video>`` plays), its size and length are within the settings, and
OpenCV can decode it: its length comes from the decoded stream and a poster frame (JPEG) is
taken from it. The file's name and declared type are never trusted.
"""

from __future__ import annotations

import hashlib
import math
import struct
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import cv2
from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.aftercommit import after_commit, after_rollback
from app.audit import service as audit
from app.config import get_settings
from app.courses.exceptions import (
    InvalidLesson,
    InvalidVideo,
    VideoNotFound,
    VideoTooLarge,
    VideoTooLong,
)
from app.courses.models import Course, CourseStatus, Enrollment, Lesson, LessonKind
from app.courses.policy import (
    LESSON_MINUTES,
    TITLE_CHARS,
    _bounded,
    _draft_for_write,
    _text,
    may_author,
)
from app.storage import MediaStore, media_store

MP4, WEBM = "video/mp4", "video/webm"
EXTENSIONS = {MP4: "mp4", WEBM: "webm"}
#: Video sample entries of an MP4 that are H.264.
H264_ENTRIES = {b"avc1", b"avc3"}
#: Other video sample entries (refused: browsers do not all play them).
OTHER_VIDEO_ENTRIES = {b"hvc1", b"hev1", b"mp4v", b"av01", b"vp09", b"s263", b"encv"}
WEBM_CODECS = {"VP80", "VP90"}
POSTER_WIDTH = 1280


@dataclass(frozen=True)
class VideoInfo:
    content_type: str
    codec: str
    duration_ms: int
    width: int
    height: int
    size: int
    sha256: str
    poster_jpeg: bytes


def sniff(head: bytes) -> str | None:
    """The container from the first bytes: MP4 (an ``ftyp`` box first) or WebM (an EBML header
    whose DocType is ``webm``); None for anything else."""
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] != b"qt  ":
        return MP4
    if head[:4] == b"\x1a\x45\xdf\xa3" and b"\x42\x82" in head[:64] and b"webm" in head[:64]:
        return WEBM
    return None


_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def _boxes(f: BinaryIO, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, box end) of the ISO BMFF boxes between two offsets."""
    pos = start
    while pos + 8 <= end:
        f.seek(pos)
        header = f.read(8)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header)
        payload = pos + 8
        if size == 1:
            large = f.read(8)
            if len(large) < 8:
                return
            size = struct.unpack(">Q", large)[0]
            payload = pos + 16
        elif size == 0:
            size = end - pos
        if size < payload - pos or pos + size > end:
            return  # a broken box: stop rather than guess
        yield kind, payload, pos + size
        pos += size


def mp4_sample_entries(path: Path) -> list[bytes]:
    """The sample entry types (codecs) of every track of an MP4, read from its box tree."""
    found: list[bytes] = []
    with path.open("rb") as f:
        end = f.seek(0, 2)

        def walk(start: int, stop: int, depth: int) -> None:
            for kind, payload, box_end in _boxes(f, start, stop):
                if kind in _CONTAINERS and depth < 6:
                    walk(payload, box_end, depth + 1)
                elif kind == b"stsd":
                    f.seek(payload + 4)  # version and flags
                    count = struct.unpack(">I", f.read(4))[0]
                    entry = payload + 8
                    for _ in range(min(count, 16)):
                        f.seek(entry)
                        header = f.read(8)
                        if len(header) < 8:
                            break
                        size, entry_kind = struct.unpack(">I4s", header)
                        found.append(entry_kind)
                        if size < 8:
                            break
                        entry += size

        walk(0, end, 0)
    return found


def _fourcc(cap: cv2.VideoCapture) -> str:
    code = int(cap.get(cv2.CAP_PROP_FOURCC))
    return code.to_bytes(4, "little").decode("latin-1")


def inspect_video(path: Path, *, max_seconds: int) -> VideoInfo:
    """Check an uploaded file and describe it (type, codec, length, poster); raises
    InvalidVideo or VideoTooLong with the reason in words."""
    with path.open("rb") as f:
        head = f.read(64)
    content_type = sniff(head)
    if content_type is None:
        raise InvalidVideo("The file is not an MP4 or WebM video.", reason="not_a_video")
    if content_type == MP4:
        entries = mp4_sample_entries(path)
        if not entries:
            raise InvalidVideo("The MP4 file has no readable tracks.", reason="unreadable")
        if not H264_ENTRIES & set(entries) or OTHER_VIDEO_ENTRIES & set(entries):
            raise InvalidVideo(
                "The MP4's video is not H.264: convert it to H.264 (or WebM).",
                reason="codec_not_supported",
                codecs=sorted(e.decode("latin-1") for e in entries),
            )
        codec = "h264"
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise InvalidVideo("The video cannot be decoded.", reason="unreadable")
        if content_type == WEBM:
            codec = _fourcc(cap).upper()
            if codec not in WEBM_CODECS:
                raise InvalidVideo(
                    "The WebM's video is not VP8 or VP9.",
                    reason="codec_not_supported",
                    codecs=[codec],
                )
            codec = codec.lower()
        fps = cap.get(cv2.CAP_PROP_FPS)
        frames = cap.get(cv2.CAP_PROP_FRAME_COUNT)
        if not (fps and fps > 0 and frames and frames > 0):
            raise InvalidVideo("The video has no frames to play.", reason="unreadable")
        duration_ms = int(frames * 1000 / fps)
        if duration_ms > max_seconds * 1000:
            raise VideoTooLong(
                f"The video lasts {duration_ms // 1000} s; at most {max_seconds} s are accepted.",
                duration_ms=duration_ms,
                max_seconds=max_seconds,
            )
        # The poster: a frame about a tenth in (at most 1 s), the first one if that fails.
        cap.set(cv2.CAP_PROP_POS_FRAMES, min(int(fps), int(frames) // 10))
        ok, frame = cap.read()
        if not ok:
            cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = cap.read()
        if not ok or frame is None:
            raise InvalidVideo("No frame of the video can be decoded.", reason="unreadable")
        height, width = frame.shape[:2]
        if width > POSTER_WIDTH:
            scale = POSTER_WIDTH / width
            frame = cv2.resize(frame, (POSTER_WIDTH, max(1, round(height * scale))))
        encoded, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
        if not encoded:  # pragma: no cover - OpenCV encodes any decoded frame
            raise InvalidVideo("No poster frame can be made.", reason="unreadable")
    finally:
        cap.release()
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1024 * 1024), b""):
            digest.update(chunk)
    return VideoInfo(
        content_type=content_type,
        codec=codec,
        duration_ms=duration_ms,
        width=int(width),
        height=int(height),
        size=path.stat().st_size,
        sha256=digest.hexdigest(),
        poster_jpeg=jpeg.tobytes(),
    )


def receive_upload(source: BinaryIO, target: Path) -> int:
    """Copy an upload to ``target`` in chunks, refusing it (413) past the configured size."""
    limit = get_settings().video_max_bytes
    written = 0
    with target.open("wb") as out:
        for chunk in iter(lambda: source.read(1024 * 1024), b""):
            written += len(chunk)
            if written > limit:
                raise VideoTooLarge(
                    f"The video is larger than {limit // (1024 * 1024)} MB.", max_bytes=limit
                )
            out.write(chunk)
    if written == 0:
        raise InvalidVideo("The file is empty.", reason="not_a_video")
    return written


def add_video_lesson(
    session: Session,
    principal: Principal,
    course_id: uuid.UUID,
    *,
    title: str,
    minutes: int,
    upload: BinaryIO,
    store: MediaStore | None = None,
) -> Lesson:
    """Append a lesson whose video the platform hosts to a draft course.

    The upload is checked (type from the bytes, size, length, decodable) before anything is
    stored; the video and its poster are written to the media store before the row commits and
    removed if it rolls back. A video lesson cannot require more minutes than the video lasts.
    """
    store = store or media_store()
    course = _draft_for_write(session, principal, course_id)
    title = _text(title, "title", TITLE_CHARS, InvalidLesson)
    _bounded(minutes, "minutes", LESSON_MINUTES, InvalidLesson)
    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="skilltrace-video-") as tmp:
        received = Path(tmp) / "upload"
        receive_upload(upload, received)
        info = inspect_video(received, max_seconds=settings.video_max_seconds)
        longest = math.ceil(info.duration_ms / 60_000)
        if minutes > longest:
            raise InvalidLesson(
                f"The video lasts {info.duration_ms // 1000} s: a lesson of it can require at "
                f"most {longest} minute(s).",
                field="minutes",
            )
        last = session.exec(
            select(func.max(col(Lesson.position))).where(col(Lesson.course_id) == course.id)
        ).one()
        lesson = Lesson(
            course_id=course.id,
            position=(last or 0) + 1,
            title=title,
            kind=LessonKind.video,
            body_or_url="",
            minutes=minutes,
            created_at=clock.now(),
            video_type=info.content_type,
            video_bytes=info.size,
            duration_ms=info.duration_ms,
            video_sha256=info.sha256,
        )
        session.add(lesson)
        session.flush()
        stem = f"lessons/{lesson.id}/{info.sha256[:32]}"
        video_key = f"{stem}.{EXTENSIONS[info.content_type]}"
        poster_key = f"{stem}.jpg"
        after_rollback(session, lambda: store.delete(video_key))
        after_rollback(session, lambda: store.delete(poster_key))
        store.put(video_key, received)
        store.put_bytes(poster_key, info.poster_jpeg)
    lesson.video_key, lesson.poster_key = video_key, poster_key
    session.add(lesson)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="lesson.added",
        subject=f"lesson:{lesson.id}",
        payload={
            "course": str(course.id),
            "position": lesson.position,
            "title": lesson.title,
            "kind": LessonKind.video.value,
            "minutes": minutes,
            "content_sha256": info.sha256,
            "video": {
                "type": info.content_type,
                "codec": info.codec,
                "bytes": info.size,
                "duration_ms": info.duration_ms,
                "width": info.width,
                "height": info.height,
            },
            "course_published": course.status is CourseStatus.published,
        },
        institution_id=course.institution_id,
    )
    return lesson


def forget_video(session: Session, lesson: Lesson, store: MediaStore | None = None) -> None:
    """A removed draft lesson's files go once the removal commits (never before)."""
    store = store or media_store()
    for key in (lesson.video_key, lesson.poster_key):
        if key is not None:
            after_commit(session, lambda key=key: store.delete(key))  # type: ignore[misc]


def watchable_lesson(session: Session, principal: Principal, lesson_id: uuid.UUID) -> Lesson:
    """A hosted video lesson the caller may watch: a learner enrolled in its course, or staff of
    the institution that owns it. Anything else is reported as not found."""
    lesson = session.get(Lesson, lesson_id)
    if lesson is None or lesson.video_key is None:
        raise VideoNotFound()
    course = session.get(Course, lesson.course_id)
    if course is None:  # pragma: no cover - foreign key
        raise VideoNotFound()
    if may_author(principal) and principal.institution_id == course.institution_id:
        return lesson
    user = principal.user
    if user is not None and user.role is Role.learner:
        enrolled = session.exec(
            select(Enrollment.id).where(
                col(Enrollment.course_id) == course.id, col(Enrollment.user_id) == user.id
            )
        ).first()
        if enrolled is not None and course.status is CourseStatus.published:
            return lesson
    raise VideoNotFound()
