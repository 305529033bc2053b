"""The study page's live figures, from the heartbeat itself (issue 15 item 3, issue 14's
"smaller gaps"): the lesson on screen with its confirmed and open minutes against what it
requires, and the time the counter does not count (the open stretch, held, forfeited), on both
databases. The page and the API show the same numbers on a reload."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.courses import study
from app.courses.models import Enrollment, Lesson, LessonKind, StudySession
from app.courses.progress import open_lesson_ms, study_time
from app.db import transaction
from tests.factories import (
    course_row,
    login,
    make_institution,
    make_learner,
    self_enrolled,
    start_session,
)

API = "/api/v1"


@pytest.fixture
def world(engine: Any, clock: Any) -> dict[str, Any]:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    course = course_row(
        engine,
        inst,
        heartbeat_interval_s=30,
        rollcall_min_interval_s=300,
        rollcall_max_interval_s=300,
        rollcall_response_window_s=60,
        required_minutes=3,
    )
    with transaction(engine) as s:
        lessons = [
            Lesson(
                course_id=course.id,
                position=n,
                title=f"第 {n} 课",
                kind=LessonKind.text,
                body_or_url="安全用电。",
                minutes=2,
            )
            for n in (1, 2)
        ]
        s.add_all(lessons)
        s.flush()
    enrollment = self_enrolled(engine, learner, course)
    return {"learner": learner, "course": course, "enrollment": enrollment, "lessons": lessons}


def beat(
    engine: Any, learner: Any, sid: uuid.UUID, lesson: uuid.UUID | None
) -> study.HeartbeatResult:
    with transaction(engine) as s:
        return study.heartbeat(
            s, s.get(type(learner), learner.id), sid, visible=True, lesson_id=lesson
        )


def test_each_heartbeat_carries_the_lesson_and_the_time_set_aside(
    engine: Any, world: dict[str, Any], clock: Any
) -> None:
    learner, course, enrollment = world["learner"], world["course"], world["enrollment"]
    first, second = (lesson.id for lesson in world["lessons"])
    sid = start_session(engine, learner, enrollment, course)

    r = beat(engine, learner, sid, first)  # the first beat earns nothing (no gap yet)
    assert r.lesson is not None and r.lesson.lesson_id == first
    assert (r.lesson.watched_ms, r.lesson.open_ms, r.lesson.required_ms) == (0, 0, 120_000)
    for _ in range(3):
        clock.advance(seconds=30)
        r = beat(engine, learner, sid, first)
    # About 90 s read in lesson 1, all in the open stretch (confirmed at the next roll-call)
    assert r.lesson is not None and r.lesson.watched_ms == 0 and not r.lesson.finished
    in_first = r.lesson.open_ms
    assert 89_000 < in_first <= 90_000 and (r.open_ms, r.held_ms, r.forfeited_ms) == (
        in_first,
        0,
        0,
    )
    clock.advance(seconds=30)
    r = beat(engine, learner, sid, second)  # the other lesson: its own minutes
    assert r.lesson is not None and r.lesson.lesson_id == second
    in_second = r.lesson.open_ms
    assert 29_000 < in_second <= 30_000 and r.open_ms == in_first + in_second
    with Session(engine) as s:  # the page on a reload shows the same per lesson
        e = s.get(Enrollment, enrollment.id)
        assert e is not None
        assert open_lesson_ms(s, e) == {first: in_first, second: in_second}

    # The roll-call is offered at 300 s and left unanswered: the missed roll-call forfeits the
    # open stretch (strict policy), and the heartbeat that records the miss says so.
    while r.rollcall is None:
        clock.advance(seconds=30)
        r = beat(engine, learner, sid, first)
    open_at_offer = r.open_ms
    clock.advance(seconds=61)
    r = beat(engine, learner, sid, first)
    assert r.state.value == "paused" and r.rollcall is None
    assert (r.open_ms, r.held_ms, r.forfeited_ms) == (0, 0, open_at_offer)
    assert r.lesson is not None and (r.lesson.watched_ms, r.lesson.open_ms) == (0, 0)
    with Session(engine) as s:  # the same figures as the page's notes (study_time)
        e = s.get(Enrollment, enrollment.id)
        assert e is not None
        t = study_time(s, e)
        assert (t.open_ms, t.held_ms, t.forfeited_ms) == (0, 0, open_at_offer)
        assert open_lesson_ms(s, e) == {}

    # A new stretch, confirmed by ending the session: the minutes move from open to watched.
    sid = start_session(engine, learner, enrollment, course)
    beat(engine, learner, sid, second)
    for _ in range(4):
        clock.advance(seconds=30)
        r = beat(engine, learner, sid, second)
    # lesson 2's first 30 s were in the forfeited stretch: nothing of it is confirmed yet
    assert r.lesson is not None and r.lesson.watched_ms == 0
    stretch = r.lesson.open_ms
    assert stretch == r.open_ms and 119_000 < stretch <= 120_000
    with transaction(engine) as s:
        study.end_session(s, s.get(type(learner), learner.id), sid)
    sid = start_session(engine, learner, enrollment, course)
    r = beat(engine, learner, sid, second)
    assert r.lesson is not None
    assert (r.lesson.watched_ms, r.lesson.open_ms) == (stretch, 0)
    assert r.lesson.finished is (stretch >= 120_000)
    assert (r.open_ms, r.forfeited_ms) == (0, open_at_offer)


def test_the_api_and_the_study_page_show_the_live_figures(
    client: TestClient, engine: Any, world: dict[str, Any], clock: Any
) -> None:
    learner, course, enrollment = world["learner"], world["course"], world["enrollment"]
    first = world["lessons"][0].id
    sid = start_session(engine, learner, enrollment, course)
    h = login(client, learner.username)
    url = f"{API}/sessions/{sid}/heartbeat"
    assert client.post(url, json={"visible": True, "lesson_id": str(first)}, headers=h).is_success
    clock.advance(seconds=30)
    r = client.post(url, json={"visible": True, "lesson_id": str(first)}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    open_s = body["open_seconds"]
    assert 29 <= open_s <= 30 and (body["held_seconds"], body["forfeited_seconds"]) == (0, 0)
    assert body["lesson"] == {
        "lesson_id": str(first),
        "watched_seconds": 0,
        "open_seconds": open_s,
        "required_seconds": 120,
        "finished": False,
    }
    none = client.post(url, json={"visible": True}, headers=h).json()
    assert none["lesson"] is None and none["open_seconds"] == open_s

    # The page opened again shows the lesson's open half-minute and the note on it.
    from tests.factories import sign_in

    with Session(engine) as s:
        sess = s.get(StudySession, sid)
        assert sess is not None
        open_ms = sess.open_ms
    assert sign_in(client, learner.username).status_code == 303
    page = client.get(f"/study/{enrollment.id}").text
    assert f'data-open-ms="{open_ms}"' in page and "已学 0.5 / 2.0 分钟" in page
    assert f'data-open="{open_ms // 1000}"' in page and "将在下次点名通过后确认" in page
