"""The heartbeat over HTTP: its fast path (Core statements, two trips through the thread pool)
keeps the rules, the errors and their order of the endpoint it replaced, on both databases.

Sessions are opened as a passed check-in opens them (``start``); faces are in test_full_path.py.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.audit.models import AuditEntry
from app.audit.service import Actor
from app.courses import study
from app.courses.models import (
    Enrollment,
    Heartbeat,
    Lesson,
    LessonKind,
    RollCall,
    RollCallStatus,
    SessionState,
    StudySession,
)
from app.db import transaction
from tests.factories import (
    course_row,
    login,
    make_institution,
    make_learner,
    make_user,
    self_enrolled,
    start_session,
)

API = "/api/v1"


@pytest.fixture
def studying(engine: Any, clock: Any) -> dict[str, Any]:
    """A learner studying in a session whose roll-call is due exactly 60 s after check-in."""
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    course = course_row(
        engine,
        inst,
        heartbeat_interval_s=30,
        rollcall_min_interval_s=60,
        rollcall_max_interval_s=60,
        rollcall_response_window_s=30,
    )
    enrollment = self_enrolled(engine, learner, course)
    sid = start_session(engine, learner, enrollment, course)
    return {"inst": inst, "learner": learner, "enrollment": enrollment, "sid": sid}


def beat(client: TestClient, sid: uuid.UUID, headers: dict[str, str], **body: Any) -> Any:
    return client.post(
        f"{API}/sessions/{sid}/heartbeat", json=body or {"visible": True}, headers=headers
    )


def test_credit_offer_repeat_and_missed_rollcall_over_http(
    client: TestClient, engine: Any, clock: Any, studying: dict[str, Any]
) -> None:
    sid, enrollment = studying["sid"], studying["enrollment"]
    h = login(client, studying["learner"].username)

    clock.advance(seconds=30)  # a plain heartbeat: credit only
    r = beat(client, sid, h)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "credited_seconds": 30,
        "rollcall": None,
        "state": "studying",
        "earned_seconds": 30,
        "furthest_position_ms": None,
        "open_seconds": 30,
        "held_seconds": 0,
        "forfeited_seconds": 0,
        "lesson": None,
    }

    clock.advance(seconds=30)  # the roll-call is due: offered (and audited) with this heartbeat
    r = beat(client, sid, h)
    offer = r.json()["rollcall"]
    assert offer is not None and r.json()["earned_seconds"] == 30
    deadline = clock.now() + timedelta(seconds=30)
    assert offer["deadline"].replace("Z", "+00:00") == deadline.isoformat()

    clock.advance(seconds=10)  # still pending: offered again, credit goes on
    r = beat(client, sid, h, visible=True)
    assert r.json()["rollcall"] == offer
    assert (r.json()["earned_seconds"], r.json()["credited_seconds"]) == (10, 70)

    clock.advance(seconds=25)  # past the deadline: missed, the open segment forfeited (strict)
    r = beat(client, sid, h)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "credited_seconds": 0,
        "rollcall": None,
        "state": "paused",
        "earned_seconds": 0,
        "furthest_position_ms": None,
        "open_seconds": 0,
        "held_seconds": 0,
        "forfeited_seconds": 70,  # the study page's notes say so at once
        "lesson": None,
    }
    clock.advance(seconds=30)  # paused: stored, earns nothing
    assert beat(client, sid, h).json()["earned_seconds"] == 0

    with Session(engine) as s:
        rc = s.get(RollCall, uuid.UUID(offer["rollcall_id"]))
        sess = s.get(StudySession, sid)
        e = s.get(Enrollment, enrollment.id)
        assert rc is not None and sess is not None and e is not None
        assert rc.status is RollCallStatus.missed
        assert sess.state is SessionState.paused and sess.open_seconds == 0
        assert (e.credited_seconds, e.rollcalls_total, e.rollcalls_passed) == (0, 1, 0)
        beats = s.exec(select(Heartbeat).where(col(Heartbeat.session_id) == sid)).all()
        assert [b.credited_seconds for b in sorted(beats, key=lambda b: b.at)] == [
            30,
            30,
            10,
            0,
            0,
        ]
        actions = set(s.exec(select(AuditEntry.action)).all())
        assert {"rollcall.offered", "rollcall.missed"} <= actions
        assert study.check_ledger(s, e).matches


def test_errors_and_their_order(
    client: TestClient, engine: Any, clock: Any, studying: dict[str, Any]
) -> None:
    sid, inst = studying["sid"], studying["inst"]
    h = login(client, studying["learner"].username)

    def code(r: Any) -> tuple[int, str]:
        return r.status_code, r.json()["code"]

    assert code(beat(client, sid, {})) == (401, "not_authenticated")
    # The caller is checked before the body, as for every other endpoint.
    bad_body = client.post(f"{API}/sessions/{sid}/heartbeat", json={"visible": "maybe"})
    assert code(bad_body) == (401, "not_authenticated")
    assert code(beat(client, sid, {"Authorization": "Bearer nope"})) == (401, "invalid_token")
    client.cookies.set("st_session", h["Authorization"].removeprefix("Bearer "))
    assert code(beat(client, sid, {})) == (401, "not_authenticated")  # cookie without CSRF
    client.cookies.clear()

    staff = make_user(engine, Role.staff, inst)
    assert code(beat(client, sid, login(client, staff.username))) == (403, "forbidden")
    with transaction(engine) as s:
        _, key = accounts.create_api_key(
            s, institution_id=inst.id, name="partner", scopes=["courses:read"], actor=Actor.system()
        )
    assert code(beat(client, sid, {"Authorization": f"Bearer {key}"})) == (403, "forbidden")

    other = make_learner(engine, inst)
    assert code(beat(client, sid, login(client, other.username))) == (404, "session_not_found")
    assert code(beat(client, uuid.uuid4(), h)) == (404, "session_not_found")
    r = client.post(f"{API}/sessions/{sid}/heartbeat", json={"visible": "maybe"}, headers=h)
    assert code(r) == (422, "validation_error")
    r = client.post(f"{API}/sessions/{sid}/heartbeat", json={"visible": True, "x": 1}, headers=h)
    assert code(r) == (422, "validation_error")

    assert client.post(f"{API}/sessions/{sid}/end", headers=h).status_code == 200
    assert code(beat(client, sid, h)) == (409, "session_ended")
    with Session(engine) as s:  # refused heartbeats store nothing
        assert s.exec(select(Heartbeat).where(col(Heartbeat.session_id) == sid)).all() == []


@pytest.mark.parametrize("lesson", [None, "video"])
def test_caller_is_read_outside_the_write_transaction(
    client: TestClient, engine: Any, clock: Any, studying: dict[str, Any], lesson: str | None
) -> None:
    """The user is read in a read of its own (SQLite: without the write lock, which is then held
    for the heartbeat's own statements only). Either way the heartbeat is
    three statements, a video lesson's or not: what it decides on in one read (on PostgreSQL
    after the session row's lock), then the heartbeat and the session's update (on PostgreSQL
    in one statement)."""
    body: dict[str, Any] = {"visible": True}
    if lesson:
        with transaction(engine) as s:
            video = Lesson(
                course_id=studying["enrollment"].course_id,
                position=1,
                title="触电急救视频",
                kind=LessonKind.video,
                body_or_url="",
                minutes=10,
                video_key="lessons/x.webm",
                video_type="video/webm",
                video_bytes=1,
                duration_ms=600_000,
            )
            s.add(video)
            s.flush()
            body |= {"lesson_id": str(video.id), "position_ms": 30_000}
    h = login(client, studying["learner"].username)
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        words = statement.split()
        seen.append(" ".join(words[:2]) if words[0] == "BEGIN" else words[0])

    def committed(conn: Any) -> None:
        seen.append("COMMIT")

    event.listen(engine, "before_cursor_execute", record)
    event.listen(engine, "commit", committed)
    try:
        clock.advance(seconds=30)
        r = beat(client, studying["sid"], h, **body)
        assert r.status_code == 200
        assert r.json()["earned_seconds"] == 30
    finally:
        event.remove(engine, "before_cursor_execute", record)
        event.remove(engine, "commit", committed)
    if engine.dialect.name == "sqlite":
        assert seen == [
            "BEGIN DEFERRED",
            "SELECT",  # the user
            "COMMIT",
            "BEGIN IMMEDIATE",
            "SELECT",  # session, enrolment, course, pending roll-call (and the lesson)
            "INSERT",
            "UPDATE",
            "COMMIT",
        ]
    else:
        assert seen == [
            "SELECT",  # the user
            "COMMIT",
            "SELECT",  # the session row's lock
            "SELECT",  # session, enrolment, course, pending roll-call (and the lesson)
            "WITH",  # the heartbeat's row and the session's update
            "COMMIT",
        ]


def test_a_keyed_heartbeat_commits_with_its_stored_answer(
    client: TestClient, engine: Any, clock: Any, studying: dict[str, Any]
) -> None:
    """With an Idempotency-Key the heartbeat's unit of work is handed to the middleware, which
    commits it with the stored answer: a repeat replays it and credits nothing again."""
    sid = studying["sid"]
    h = login(client, studying["learner"].username) | {"Idempotency-Key": str(uuid.uuid4())}
    clock.advance(seconds=30)
    first = beat(client, sid, h)
    assert first.status_code == 200, first.text
    clock.advance(seconds=30)
    again = beat(client, sid, h)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json() and first.json()["earned_seconds"] == 30
    with Session(engine) as s:
        beats = s.exec(select(Heartbeat).where(col(Heartbeat.session_id) == sid)).all()
        assert [b.credited_seconds for b in beats] == [30]


def test_heartbeats_take_turns_in_the_write_lane(
    client: TestClient,
    engine: Any,
    clock: Any,
    studying: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SQLite lets one writer at a time hold the database: one heartbeat's unit of work runs at
    a time (on the event loop while no other writer holds the database) and the others wait
    their turn, not in worker threads queued on the write lock. (Before, each request took a
    pool thread: here a second one joined the first.)"""
    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's lane is as wide as the pool")
    h = login(client, studying["learner"].username)
    real = study.heartbeat
    lock = threading.Lock()
    company = threading.Event()
    inside = most = 0
    first = [True]

    def watched(*args: Any, **kw: Any) -> Any:
        nonlocal inside, most
        with lock:
            inside += 1
            most = max(most, inside)
            if inside > 1:
                company.set()
            wait = first.pop() if first else False
        try:
            if wait:  # the first one gives the others every chance to join it
                company.wait(2.0)
            return real(*args, **kw)
        finally:
            with lock:
                inside -= 1

    monkeypatch.setattr(study, "heartbeat", watched)
    clock.advance(seconds=30)
    codes: list[int] = []
    threads = [
        threading.Thread(target=lambda: codes.append(beat(client, studying["sid"], h).status_code))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert codes == [200] * 4
    assert most == 1


@pytest.mark.parametrize("writer", ["thread", "process"])
def test_a_heartbeat_waits_for_another_writer_off_the_event_loop(
    client: TestClient,
    engine: Any,
    clock: Any,
    studying: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    writer: str,
) -> None:
    """SQLite: while another writer holds the database (a unit of work in a thread of this
    process, or another process), a heartbeat waits for it in the write lane, and the event loop
    keeps answering; it is stored once the writer is done."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the event loop runs SQLite units of work only")
    import sqlite3

    h = login(client, studying["learner"].username)
    assert beat(client, studying["sid"], h).status_code == 200  # the token is cached now
    real = study.heartbeat
    entered = threading.Event()

    def watched(*args: Any, **kw: Any) -> Any:
        entered.set()
        return real(*args, **kw)

    monkeypatch.setattr(study, "heartbeat", watched)
    clock.advance(seconds=30)
    if writer == "thread":
        holder = transaction(engine)
        s = holder.__enter__()
        s.connection()  # BEGIN IMMEDIATE: this process's write lock
    else:
        other = sqlite3.connect(engine.url.database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
    results: list[Any] = []
    pending = threading.Thread(target=lambda: results.append(beat(client, studying["sid"], h)))
    pending.start()
    try:
        assert entered.wait(30)  # the heartbeat runs, in the lane, waiting for the writer
        answered: list[int] = []
        probe = threading.Thread(target=lambda: answered.append(client.get("/healthz").status_code))
        probe.start()
        probe.join(30)
        assert answered == [200]  # the event loop is free meanwhile
        assert pending.is_alive() and not results
    finally:
        if writer == "thread":
            holder.__exit__(None, None, None)
        else:
            other.execute("ROLLBACK")
            other.close()
    pending.join(30)
    assert results and results[0].status_code == 200, results
    with Session(engine) as s:
        stored = s.exec(select(Heartbeat).where(col(Heartbeat.session_id) == studying["sid"]))
        assert len(stored.all()) == 2


def test_a_session_row_already_loaded_is_refreshed(
    engine: Any, clock: Any, studying: dict[str, Any]
) -> None:
    sid = studying["sid"]
    clock.advance(seconds=20)
    with transaction(engine) as s:
        loaded = s.get(StudySession, sid)
        user = s.get(User, studying["learner"].id)
        assert loaded is not None and user is not None and loaded.open_seconds == 0
        r = study.heartbeat(s, user, sid, visible=True)
        assert r.earned == 20
        assert (loaded.last_heartbeat_at, loaded.open_seconds) == (clock.now(), 20)


def test_video_playback_over_http(
    client: TestClient, engine: Any, clock: Any, studying: dict[str, Any]
) -> None:
    """Positions travel with the heartbeat: the newly watched span is credited, a skip ahead and
    a rewatch are not, the furthest point comes back for the player; an older page's heartbeat
    (no lesson, no position) still earns wall time; a lesson of another course is refused."""
    sid, enrollment = studying["sid"], studying["enrollment"]
    with transaction(engine) as s:
        video = Lesson(
            course_id=enrollment.course_id,
            position=1,
            title="触电急救视频",
            kind=LessonKind.video,
            body_or_url="",
            minutes=10,
            video_key="lessons/x.webm",
            video_type="video/webm",
            video_bytes=1,
            duration_ms=600_000,
        )
        s.add(video)
        s.flush()
        vid = str(video.id)
        sess = s.get(StudySession, sid)
        assert sess is not None
        sess.next_rollcall_at = None  # no roll-call in the way
    h = login(client, studying["learner"].username)

    def play(seconds: int, position_s: float, **extra: Any) -> Any:
        clock.advance(seconds=seconds)
        body = {"visible": True, "lesson_id": vid, "position_ms": int(position_s * 1000), **extra}
        r = beat(client, sid, h, **body)
        assert r.status_code == 200, r.text
        return r.json()

    assert (play(20, 20)["earned_seconds"], play(20, 40)["furthest_position_ms"]) == (20, 40_000)
    skipped = play(20, 300)  # 4 minutes ahead: nothing, the furthest point stays
    assert (skipped["earned_seconds"], skipped["furthest_position_ms"]) == (0, 40_000)
    assert play(20, 30)["earned_seconds"] == 0  # back and watching again: nothing
    assert play(20, 50)["earned_seconds"] == 10  # 10 s past the furthest point
    assert play(20, 70, visible=False)["earned_seconds"] == 0  # hidden: nothing
    paused = play(20, 50)  # paused at 50
    assert (paused["earned_seconds"], paused["furthest_position_ms"]) == (0, 50_000)
    clock.advance(seconds=15)
    old_page = beat(client, sid, h, visible=True).json()
    assert (old_page["earned_seconds"], old_page["furthest_position_ms"]) == (15, None)
    clock.advance(seconds=1)
    other = beat(client, sid, h, visible=True, lesson_id=str(uuid.uuid4()))
    assert (other.status_code, other.json()["code"]) == (404, "lesson_not_found")
    with Session(engine) as s:
        e = s.get(Enrollment, enrollment.id)
        assert e is not None
        study.end_session(s, s.get(User, studying["learner"].id), sid)  # type: ignore[arg-type]
        s.commit()
        s.refresh(e)
        check = study.check_ledger(s, e)
        assert check.matches and e.credited_seconds == 20 + 20 + 10 + 15
        assert check.stored_lessons == {vid: (50_000, 50_000)}
