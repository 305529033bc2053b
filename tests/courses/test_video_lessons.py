"""Hosted lesson videos: upload checked from the bytes (type, codec, size, length, poster),
stored under the data dir, served with byte ranges to enrolled learners only, on both databases.

The clips are made at test time from ../shared/faces/videos (a WebM written by OpenCV; the
shared H.264 clip; the shared MPEG-4 Part 2 clip as a codec browsers do not all play)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit.models import AuditEntry
from app.courses import service as courses
from app.courses.models import Lesson
from app.db import transaction
from tests.conftest import new_s3_bucket, use_s3
from tests.face_data import FACES
from tests.factories import (
    login,
    make_course,
    make_enrollment,
    make_institution,
    make_learner,
    make_user,
    sign_in,
)
from tests.video_clips import source_mp4, webm_clip

API = "/api/v1"
H264_MP4 = FACES / "videos" / "hamilton_clip.mp4"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return webm_clip(tmp_path_factory.mktemp("clips") / "lesson.webm", seconds=6, width=160)


@pytest.fixture
def world(client: TestClient, engine: Any) -> dict[str, Any]:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    course = make_course(engine, inst, staff=staff, publish=False)
    return {"inst": inst, "staff": staff, "course": course, "h": login(client, staff.username)}


def upload(
    client: TestClient, w: dict[str, Any], path: Path, *, minutes: int = 1, name: str = "v.webm"
) -> Any:
    with path.open("rb") as f:
        return client.post(
            f"{API}/courses/{w['course'].id}/lessons/video",
            data={"title": "触电急救演示", "minutes": str(minutes)},
            files={"file": (name, f, "application/octet-stream")},
            headers=w["h"],
        )


def publish_and_enrol(engine: Any, w: dict[str, Any]) -> Any:
    with transaction(engine) as s:
        courses.publish_course(s, Principal.of_user(w["staff"]), w["course"].id)
    learner = make_learner(engine, w["inst"])
    make_enrollment(engine, learner, w["course"])
    return learner


def test_upload_checks_the_bytes_and_stores_video_and_poster(
    storage: str, client: TestClient, engine: Any, world: dict[str, Any], clip: Path
) -> None:
    r = upload(client, world, clip, name="lesson.txt")  # the name is not what decides
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["kind"], out["hosted"], out["video_type"]) == ("video", True, "video/webm")
    assert out["duration_ms"] == 6_000 and out["body_or_url"] == ""
    assert out["video_url"] == f"{API}/lessons/{out['id']}/video"
    with Session(engine) as s:
        lesson = s.get(Lesson, uuid.UUID(out["id"]))
        assert lesson is not None and lesson.video_key and lesson.poster_key
        from app.storage import media_store

        assert media_store().read(lesson.video_key) == clip.read_bytes()
        assert media_store().read(lesson.poster_key)[:3] == b"\xff\xd8\xff"
        entry = s.exec(
            select(AuditEntry).where(col(AuditEntry.subject) == f"lesson:{lesson.id}")
        ).one()
        payload = json.loads(entry.payload)
        assert entry.action == "lesson.added"
        assert payload["content_sha256"] == lesson.video_sha256
        assert payload["video"]["codec"] == "vp80"

    mp4 = upload(client, world, H264_MP4, name="lesson.mp4")  # H.264 in MP4: accepted
    assert mp4.status_code == 201, mp4.text
    assert (mp4.json()["video_type"], mp4.json()["duration_ms"]) == ("video/mp4", 9_175)


def test_uploads_that_are_refused_say_why(
    client: TestClient,
    world: dict[str, Any],
    clip: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.config import get_settings

    mpeg4 = upload(client, world, source_mp4(), name="lesson.mp4")  # MPEG-4 Part 2, not H.264
    assert (mpeg4.status_code, mpeg4.json()["code"]) == (422, "invalid_video")
    assert mpeg4.json()["reason"] == "codec_not_supported" and "mp4v" in mpeg4.json()["codecs"]
    fake = tmp_path / "lesson.mp4"
    fake.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 100)  # a JPEG's first bytes
    named = upload(client, world, fake, name="lesson.mp4")  # the name says MP4, the bytes do not
    assert (named.json()["code"], named.json()["reason"]) == ("invalid_video", "not_a_video")
    truncated = tmp_path / "cut.webm"
    truncated.write_bytes(clip.read_bytes()[:200])
    cut = upload(client, world, truncated)
    assert (cut.status_code, cut.json()["code"]) == (422, "invalid_video")
    too_many = upload(client, world, clip, minutes=2)  # 6 s of video cannot require 2 minutes
    assert (too_many.status_code, too_many.json()["code"]) == (422, "invalid_lesson")

    monkeypatch.setenv("SKILLTRACE_VIDEO_MAX_SECONDS", "5")
    get_settings.cache_clear()
    long = upload(client, world, clip)
    assert (long.status_code, long.json()["code"]) == (422, "video_too_long")
    monkeypatch.setenv("SKILLTRACE_VIDEO_MAX_BYTES", "4096")
    get_settings.cache_clear()
    large = upload(client, world, clip)
    assert (large.status_code, large.json()["code"]) == (413, "video_too_large")
    get_settings.cache_clear()
    # Nothing refused left a lesson or a file behind.
    lessons = client.get(f"{API}/courses/{world['course'].id}/lessons", headers=world["h"])
    assert [lesson["kind"] for lesson in lessons.json()] == ["text"]
    media = Path(get_settings().data_dir) / "media"
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))


def test_byte_ranges_for_enrolled_learners_only(
    storage: str, client: TestClient, engine: Any, world: dict[str, Any], clip: Path
) -> None:
    lesson_id = upload(client, world, clip).json()["id"]
    learner = publish_and_enrol(engine, world)
    h = login(client, learner.username)
    data = clip.read_bytes()
    size = len(data)
    url = f"{API}/lessons/{lesson_id}/video"

    whole = client.get(url, headers=h)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-type"] == "video/webm"
    assert whole.headers["cache-control"].startswith("private")

    first = client.get(url, headers={**h, "Range": "bytes=0-99"})
    assert first.status_code == 206 and first.content == data[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{size}"
    assert first.headers["content-length"] == "100"
    middle = client.get(url, headers={**h, "Range": f"bytes=1000-{size + 500}"})  # clipped
    assert middle.status_code == 206 and middle.content == data[1000:]
    assert middle.headers["content-range"] == f"bytes 1000-{size - 1}/{size}"
    tail = client.get(url, headers={**h, "Range": "bytes=-64"})
    assert tail.status_code == 206 and tail.content == data[-64:]
    past = client.get(url, headers={**h, "Range": f"bytes={size}-"})
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{size}"
    backwards = client.get(url, headers={**h, "Range": "bytes=500-100"})
    assert backwards.status_code in (400, 416)

    # If-Range: the range only while the validator still names these bytes, else all of them.
    etag = whole.headers["etag"]
    same = client.get(url, headers={**h, "Range": "bytes=5-9", "If-Range": etag})
    assert same.status_code == 206 and same.content == data[5:10]
    stale = client.get(url, headers={**h, "Range": "bytes=5-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == data
    malformed = client.get(url, headers={**h, "Range": "pages=1-2"})
    assert malformed.status_code == 400

    poster = client.get(f"{API}/lessons/{lesson_id}/poster", headers=h)
    assert poster.status_code == 200 and poster.content[:3] == b"\xff\xd8\xff"

    # The page's <video> takes it with the session cookie, through the same response.
    assert sign_in(client, learner.username).status_code == 303
    page = client.get(f"/media/lessons/{lesson_id}/video", headers={"Range": "bytes=10-19"})
    assert page.status_code == 206 and page.content == data[10:20]
    client.cookies.clear()

    # Not enrolled, another institution's staff, nobody: not found / sign in.
    stranger = make_learner(engine, world["inst"])
    other_staff = make_user(engine, Role.staff, make_institution(engine))
    for who in (stranger, other_staff):
        r = client.get(url, headers=login(client, who.username))
        assert (r.status_code, r.json()["code"]) == (404, "video_not_found")
    assert client.get(url).status_code == 401
    assert client.get(url, headers=world["h"]).status_code == 200  # the course's own staff
    assert client.get(f"{API}/lessons/{uuid.uuid4()}/video", headers=h).status_code == 404


@pytest.fixture
def on_s3(app_env: str, s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    bucket = new_s3_bucket(s3_endpoint)
    use_s3(monkeypatch, s3_endpoint, bucket)
    return bucket


def test_a_second_node_serves_what_the_first_stored(
    on_s3: str,
    client: TestClient,
    engine: Any,
    world: dict[str, Any],
    clip: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two app nodes with their own data dirs and one bucket: the video uploaded through the
    first, and an evidence crop it recorded, are served by the second; neither node wrote
    them to its own disk."""
    from app.attendance import service as attendance
    from app.attendance.models import AttendanceEvent, Outcome, Purpose
    from app.config import get_settings
    from app.main import create_app

    node_a = get_settings().data_dir
    lesson_id = upload(client, world, clip).json()["id"]
    learner = publish_and_enrol(engine, world)
    crop = b"\xff\xd8\xff\xe0 evidence \xff\xd9"
    with transaction(engine) as s:
        event = AttendanceEvent(
            user_id=learner.id,
            institution_id=learner.institution_id,
            purpose=Purpose.checkin,
            outcome=Outcome.passed,
            accept_threshold="0.3800",
            reject_threshold="0.5000",
            model_name="test",
            model_version="0",
            match_metric="euclidean",
            face_engine="test",
            model_sha256="0" * 64,
        )
        attendance._store_evidence(s, event, crop)
        s.add(event)
        s.flush()
        event_id = event.id

    monkeypatch.setenv("SKILLTRACE_DATA_DIR", str(tmp_path / "node-b"))
    get_settings.cache_clear()
    with TestClient(create_app(), raise_server_exceptions=False) as node_b:
        h = login(node_b, learner.username)
        r = node_b.get(f"{API}/lessons/{lesson_id}/video", headers={**h, "Range": "bytes=0-63"})
        assert r.status_code == 206 and r.content == clip.read_bytes()[:64]
        poster = node_b.get(f"{API}/lessons/{lesson_id}/poster", headers=h)
        assert poster.status_code == 200 and poster.content[:3] == b"\xff\xd8\xff"
        staff = login(node_b, world["staff"].username)
        got = node_b.get(f"{API}/attendance-events/{event_id}/evidence", headers=staff)
        assert got.status_code == 200 and got.content == crop
    for node in (node_a, tmp_path / "node-b"):
        assert not (node / "media").exists() and not (node / "evidence").exists()


def test_an_unreachable_store_is_a_503_not_a_500(
    on_s3: str,
    client: TestClient,
    engine: Any,
    world: dict[str, Any],
    clip: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The bucket's store goes away after the upload: the video and its page route answer
    503 ``storage_unavailable`` (the operator's problem, in words), never a server error."""
    from app.config import get_settings

    lesson_id = upload(client, world, clip).json()["id"]
    learner = publish_and_enrol(engine, world)
    h = login(client, learner.username)
    monkeypatch.setenv("SKILLTRACE_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    get_settings.cache_clear()
    r = client.get(f"{API}/lessons/{lesson_id}/video", headers={**h, "Range": "bytes=0-9"})
    assert (r.status_code, r.json()["code"]) == (503, "storage_unavailable")
    assert "文件存储暂时无法访问" in r.json()["message_zh"]
    assert sign_in(client, learner.username).status_code == 303
    assert client.get(f"/media/lessons/{lesson_id}/video").status_code == 503


def test_removing_a_draft_video_lesson_deletes_its_files_after_commit(
    storage: str, client: TestClient, engine: Any, world: dict[str, Any], clip: Path
) -> None:
    from app.storage import media_store

    lesson_id = upload(client, world, clip).json()["id"]
    with Session(engine) as s:
        lesson = s.get(Lesson, uuid.UUID(lesson_id))
        assert lesson is not None and lesson.video_key and lesson.poster_key
        keys = [lesson.video_key, lesson.poster_key]
    assert all(media_store().stat(k) is not None for k in keys)
    r = client.delete(f"{API}/courses/{world['course'].id}/lessons/{lesson_id}", headers=world["h"])
    assert r.status_code == 204, r.text
    assert all(media_store().stat(k) is None for k in keys)
    # A hosted lesson keeps its video: turning it into a text or URL lesson is refused.
    again = upload(client, world, clip).json()["id"]
    r = client.patch(
        f"{API}/courses/{world['course'].id}/lessons/{again}",
        json={"body_or_url": "https://example.com/v.mp4"},
        headers=world["h"],
    )
    assert (r.status_code, r.json()["code"]) == (422, "invalid_lesson")
    renamed = client.patch(
        f"{API}/courses/{world['course'].id}/lessons/{again}",
        json={"title": "触电急救演示（修订）"},
        headers=world["h"],
    )
    assert renamed.status_code == 200, renamed.text


def test_a_course_can_require_every_lesson_finished(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    """Hours, quiz and roll-calls met are not enough when the course requires each lesson: the
    unfinished lesson is named, and completion comes once it is read."""
    from app.audit.service import Actor
    from app.courses.models import Enrollment, LessonProgress
    from app.courses.progress import lesson_statuses, progress, refresh_completion

    course_id = world["course"].id
    r = client.patch(
        f"{API}/courses/{course_id}", json={"require_each_lesson": True}, headers=world["h"]
    )
    assert r.status_code == 200 and r.json()["require_each_lesson"] is True, r.text
    learner = publish_and_enrol(engine, world)
    with transaction(engine) as s:
        e = s.exec(select(Enrollment).where(col(Enrollment.user_id) == learner.id)).one()
        course = s.get(type(world["course"]), course_id)
        assert course is not None
        e.credited_ms = course.required_minutes * 60_000
        e.quiz_passed, e.best_quiz_score = True, 90
        lesson = s.exec(select(Lesson).where(col(Lesson.course_id) == course_id)).one()
        assert not refresh_completion(s, e, course, Actor.system())
        p = progress(e, course, lesson_statuses(s, e))
        assert (p.complete, p.lessons_finished, p.lessons_total) == (False, 0, 1)
        assert p.missing_zh == ["每个课时都需学完（还有 1 个课时未学完）"]
        s.add(
            LessonProgress(
                enrollment_id=e.id, lesson_id=lesson.id, watched_ms=lesson.minutes * 60_000
            )
        )
        s.flush()
        assert refresh_completion(s, e, course, Actor.system())
    got = client.get(f"{API}/enrollments/{e.id}", headers=login(client, learner.username)).json()
    assert got["complete"] is True and got["lessons"][0]["finished"] is True
