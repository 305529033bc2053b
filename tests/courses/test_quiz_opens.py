"""When a course's quiz opens: after the required verified minutes (the default), or at any time.

The rule is the course's setting, applied by the quiz service before any face check (so no
challenge is spent on a refusal); the API answers 409 ``quiz_not_open`` with the numbers, and the
quiz page (tests/web/test_course_pages.py) refuses the same way.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.attendance.models import AttendanceEvent
from app.courses import exceptions as cx
from app.courses import service as courses
from app.courses.models import Course, QuizOpens
from app.db import transaction
from tests.factories import (
    audit_log,
    face_learner,
    login,
    make_course,
    make_enrollment,
    make_institution,
    make_user,
    set_enrollment,
    start_quiz,
)

pytestmark = pytest.mark.slow
API = "/api/v1"


def _events(engine: Any) -> int:
    with Session(engine) as s:
        return len(s.exec(select(AttendanceEvent)).all())


def test_after_hours_the_quiz_waits_for_the_required_minutes(
    client: TestClient, engine: Any
) -> None:
    inst = make_institution(engine)
    course = make_course(
        engine, inst, required_minutes=30, quiz_opens=QuizOpens.after_hours, quiz_max_attempts=3
    )
    learner, h = face_learner(client, engine, inst)
    eid = make_enrollment(engine, learner, course).id
    set_enrollment(engine, eid, credited_ms=29 * 60_000 + 59_999)  # a second short
    before = _events(engine)
    r = start_quiz(client, engine, h, eid)
    assert (r.status_code, r.json()["code"]) == (409, "quiz_not_open"), r.text
    body = r.json()
    assert (body["required_minutes"], body["credited_minutes"], body["minutes_short"]) == (
        30,
        29,
        1,
    )
    assert body["message_zh"] == cx.QuizNotOpen.message_zh
    assert _events(engine) == before  # refused before the face check: no challenge spent

    set_enrollment(engine, eid, credited_ms=30 * 60_000)
    r = start_quiz(client, engine, h, eid)
    assert r.status_code == 201, r.text
    # The submission says how many attempts are left after it (the quiz page shows it).
    done = client.post(
        f"{API}/quiz-attempts/{r.json()['attempt_id']}/submit", json={"answers": {}}, headers=h
    )
    assert done.status_code == 200 and done.json()["attempts_left"] == 2


def test_any_time_opens_from_enrolment(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine)
    course = make_course(engine, inst, required_minutes=600, quiz_opens=QuizOpens.any_time)
    learner, h = face_learner(client, engine, inst)
    eid = make_enrollment(engine, learner, course).id
    assert start_quiz(client, engine, h, eid).status_code == 201


def course_body(**quiz: Any) -> dict[str, Any]:
    return {
        "title": "中式烹调师（初级）",
        "occupation_code": "4-03-02-01",
        "occupation_name": "中式烹调师",
        "level": "level5",
        "required_minutes": 120,
        "pass_score": 60,
        "subsidy_fen": 0,
        "quiz": {"question_count": 2, **quiz},
    }


def test_the_rule_is_a_course_setting_in_the_api(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    h = login(client, staff.username)
    r = client.post(f"{API}/courses", json=course_body(opens="any_time"), headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["quiz"]["opens"] == "any_time"
    cid = r.json()["id"]
    r = client.patch(f"{API}/courses/{cid}", json={"quiz": {"opens": "after_hours"}}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["quiz"]["opens"] == "after_hours"
    with Session(engine) as s:
        stored = s.get(Course, uuid.UUID(cid))
        assert stored is not None and stored.quiz_opens is QuizOpens.after_hours
    r = client.patch(f"{API}/courses/{cid}", json={"quiz": {"opens": "weekends"}}, headers=h)
    assert r.status_code == 422
    # The service refuses a bad value itself, naming the field, for callers not using HTTP.
    with transaction(engine) as s, pytest.raises(cx.InvalidCourse) as err:
        courses.update_course(
            s, Principal.of_user(staff), uuid.UUID(cid), courses.CourseChanges(quiz_opens="x")
        )
    assert err.value.extra["field"] == "opens"
    # The audit says what changed.
    [(_, payload)] = audit_log(engine, f"course:{cid}", "course.updated")
    assert payload["changed"]["quiz_opens"] == ["any_time", "after_hours"]
