"""Face-gated quizzes over HTTP with the real face engine on real frames.

The learner enrols with the blink burst "a"; the quiz gate of the main path uses the burst "b"
with a blink challenge, and the others one fresh real frame of the same person under a challenge
whose actions were emptied (identity only, as in tests/api/test_face_api.py).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.attendance.models import AttendanceEvent, Purpose
from app.courses.models import Enrollment, Question, QuizAttempt
from tests.face_data import blink_burst, lfw_person
from tests.factories import (
    audit_actions,
    audit_log,
    bank,
    face_learner,
    login,
    make_course,
    make_enrollment,
    make_institution,
    make_learner,
    make_user,
    right_answers,
    set_enrollment,
    start_quiz,
)

pytestmark = pytest.mark.slow
API = "/api/v1"


def keys_in(value: Any) -> set[str]:
    """Every key of every object anywhere in a JSON value."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_in(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_in(v)}
    return set()


def submit(client: TestClient, h: dict[str, str], attempt_id: str, answers: dict[str, Any]) -> Any:
    return client.post(
        f"{API}/quiz-attempts/{attempt_id}/submit", json={"answers": answers}, headers=h
    )


def stored_attempt(engine: Any, attempt_id: str) -> QuizAttempt:
    with Session(engine) as s:
        a = s.get(QuizAttempt, uuid.UUID(attempt_id))
        assert a is not None
        return a


def enrollment_row(engine: Any, enrollment_id: Any) -> Enrollment:
    with Session(engine) as s:
        e = s.get(Enrollment, uuid.UUID(str(enrollment_id)))
        assert e is not None
        return e


def test_quiz_with_real_faces_answers_never_sent(
    client: TestClient, engine: Any, clock: Any
) -> None:
    inst = make_institution(engine)
    course = make_course(engine, inst, quiz_question_count=3, pass_score=60, quiz_time_limit_s=600)
    learner, h = face_learner(client, engine, inst, burst="a")
    eid = make_enrollment(engine, learner, course).id

    r = start_quiz(client, engine, h, eid, frames=blink_burst("b"), actions=["blink"])
    assert r.status_code == 201, r.text
    body = r.json()
    assert not any(k.startswith("answer") for k in keys_in(body)), body
    assert not any("answer" in k for k in keys_in(json.loads(r.text)))
    assert len(body["questions"]) == 3 and body["state"] == "open"
    assert {q["kind"] for q in body["questions"]} == {"single", "multiple", "judge"}
    assert body["deadline"].startswith("2026-01-05T01:10:00")  # the frozen clock + 600 s
    with Session(engine) as s:
        event = s.get(AttendanceEvent, uuid.UUID(body["attendance_event_id"]))
        assert event is not None and event.purpose is Purpose.quiz
        assert event.outcome.value == "passed" and event.institution_id == inst.id
    # what was shown is what was stored: the bank's options in the paper's order
    attempt = stored_attempt(engine, body["attempt_id"])
    questions = bank(engine, course.id)
    for shown, item in zip(body["questions"], attempt.paper, strict=True):
        q = questions[shown["id"]]
        assert shown["options"] == [q.options[i] for i in item["order"]]
        assert shown["stem"] == q.stem
    # a reload shows the same paper, still without answers
    again = client.get(f"{API}/quiz-attempts/{body['attempt_id']}", headers=h).json()
    assert again["questions"] == body["questions"]
    assert not any("answer" in k for k in keys_in(again))

    clock.advance(seconds=120)
    r = submit(client, h, body["attempt_id"], right_answers(engine, course.id, body["questions"]))
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["score"], result["passed"], result["correct"], result["total"]) == (
        100,
        True,
        3,
        3,
    )
    assert result["quiz_passed"] is True and result["completed"] is False  # no minutes yet
    e = enrollment_row(engine, eid)
    assert e.quiz_passed is True and e.best_quiz_score == 100 and e.completed_at is None

    r = submit(client, h, body["attempt_id"], right_answers(engine, course.id, body["questions"]))
    assert (r.status_code, r.json()["code"]) == (409, "attempt_closed")
    # A repeat (a retry after a lost answer) is told what the first submission scored.
    assert {k: r.json().get(k) for k in result} == result
    subject = f"quiz_attempt:{body['attempt_id']}"
    log = audit_log(engine, subject)
    assert [a for a, _ in log] == ["quiz.attempt_started", "quiz.attempt_submitted"]
    assert sorted(log[0][1]["questions"]) == sorted(q["id"] for q in body["questions"])
    assert log[0][1]["attendance_event"] == body["attendance_event_id"]
    assert (log[1][1]["score"], log[1][1]["passed"]) == (100, True)


def test_someone_else_at_the_quiz_gate_is_refused_and_recorded(
    client: TestClient, engine: Any
) -> None:
    inst = make_institution(engine)
    course = make_course(engine, inst)
    learner, h = face_learner(client, engine, inst)
    eid = make_enrollment(engine, learner, course).id
    r = start_quiz(client, engine, h, eid, frames=lfw_person("George_W_Bush")[:1], actions=[])
    assert (r.status_code, r.json()["code"]) == (403, "face_mismatch"), r.text
    assert r.json()["reason_code"] == "face_mismatch"
    with Session(engine) as s:
        event = s.get(AttendanceEvent, uuid.UUID(r.json()["attendance_event_id"]))
        assert event is not None and event.purpose is Purpose.quiz
        assert event.outcome.value == "failed" and event.user_id == learner.id
        assert s.exec(select(QuizAttempt)).all() == []
    assert "face.quiz.failed" in audit_actions(engine, f"attendance_event:{event.id}")


def test_scoring_is_all_or_nothing_per_question(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine)
    course = make_course(engine, inst, quiz_question_count=3, pass_score=60)
    learner, h = face_learner(client, engine, inst)
    eid = make_enrollment(engine, learner, course).id
    body = start_quiz(client, engine, h, eid).json()
    answers = right_answers(engine, course.id, body["questions"])
    multiple = next(q["id"] for q in body["questions"] if q["kind"] == "multiple")
    assert len(answers[multiple]) == 2
    answers[multiple] = answers[multiple][:1]  # one of the two right options: not right
    r = submit(client, h, body["attempt_id"], answers)
    assert r.status_code == 200, r.text
    assert (r.json()["score"], r.json()["passed"], r.json()["correct"]) == (66, True, 2)

    # a second attempt with the judge question left out and a wrong single answer
    body = start_quiz(client, engine, h, eid).json()
    answers = right_answers(engine, course.id, body["questions"])
    by_kind = {q["kind"]: q for q in body["questions"]}
    del answers[by_kind["judge"]["id"]]
    single = by_kind["single"]
    answers[single["id"]] = [(answers[single["id"]][0] + 1) % len(single["options"])]
    r = submit(client, h, body["attempt_id"], answers)
    assert (r.json()["score"], r.json()["passed"]) == (33, False)
    e = enrollment_row(engine, eid)
    assert e.quiz_passed is True and e.best_quiz_score == 66  # the best attempt counts


def test_options_are_shuffled_and_scored_through_the_shown_order(
    client: TestClient, engine: Any
) -> None:
    inst = make_institution(engine)
    course = make_course(engine, inst, quiz_question_count=4, quiz_max_attempts=3, pass_score=100)
    learner, h = face_learner(client, engine, inst)
    eid = make_enrollment(engine, learner, course).id
    questions = bank(engine, course.id)
    reordered = False
    orders = set()
    for _ in range(3):
        body = start_quiz(client, engine, h, eid).json()
        orders.add(tuple(q["id"] for q in body["questions"]))
        for q in body["questions"]:
            original = questions[q["id"]].options
            assert sorted(q["options"]) == sorted(original)
            if q["kind"] == "judge":
                assert q["options"] == original  # 正确/错误 stay in place
            reordered |= q["options"] != original
        r = submit(
            client, h, body["attempt_id"], right_answers(engine, course.id, body["questions"])
        )
        assert r.json()["score"] == 100
    # 3 attempts x 3 shuffled 4-option questions: all unshuffled has odds of 24**-9
    assert reordered


def test_deadline_closes_the_attempt_and_records_nothing(
    client: TestClient, engine: Any, clock: Any
) -> None:
    inst = make_institution(engine)
    course = make_course(engine, inst, quiz_time_limit_s=300, quiz_max_attempts=2)
    learner, h = face_learner(client, engine, inst)
    eid = make_enrollment(engine, learner, course).id
    body = start_quiz(client, engine, h, eid).json()
    clock.advance(seconds=300)
    assert client.get(f"{API}/quiz-attempts/{body['attempt_id']}", headers=h).json()["state"] == (
        "open"
    )
    clock.advance(seconds=1)
    r = submit(client, h, body["attempt_id"], right_answers(engine, course.id, body["questions"]))
    assert (r.status_code, r.json()["code"]) == (409, "attempt_closed")
    assert "时间已到" in r.json()["detail"]
    r = client.post(
        f"{API}/quiz-attempts/{body['attempt_id']}/submit",
        json={"answers": {}},
        headers={**h, "Accept-Language": "en"},
    )
    assert "Time ran out" in r.json()["detail"]
    a = stored_attempt(engine, body["attempt_id"])
    assert a.submitted_at is None and a.score is None and a.answers is None
    assert enrollment_row(engine, eid).best_quiz_score is None
    assert audit_actions(engine, f"quiz_attempt:{body['attempt_id']}") == ["quiz.attempt_started"]
    got = client.get(f"{API}/quiz-attempts/{body['attempt_id']}", headers=h).json()
    assert got["state"] == "expired"
    # the expired attempt counts: one more, then the limit
    assert start_quiz(client, engine, h, eid).status_code == 201
    clock.advance(seconds=301)
    r = start_quiz(client, engine, h, eid)
    assert (r.status_code, r.json()["code"]) == (409, "attempt_limit_reached")


def test_one_open_attempt_and_the_attempt_limit(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine)
    course = make_course(engine, inst, quiz_max_attempts=2, pass_score=100)
    learner, h = face_learner(client, engine, inst)
    eid = make_enrollment(engine, learner, course).id
    first = start_quiz(client, engine, h, eid).json()
    with Session(engine) as s:
        events_before = len(s.exec(select(AttendanceEvent)).all())
    r = start_quiz(client, engine, h, eid)
    assert (r.status_code, r.json()["code"]) == (409, "attempt_open")
    assert r.json()["attempt_id"] == first["attempt_id"]
    with Session(engine) as s:  # refused before the face check: no event, no spent challenge
        assert len(s.exec(select(AttendanceEvent)).all()) == events_before
    assert submit(client, h, first["attempt_id"], {}).json()["score"] == 0
    second = start_quiz(client, engine, h, eid)
    assert second.status_code == 201
    assert submit(client, h, second.json()["attempt_id"], {}).json()["passed"] is False
    r = start_quiz(client, engine, h, eid)
    assert (r.status_code, r.json()["code"]) == (409, "attempt_limit_reached")
    attempts = client.get(f"{API}/enrollments/{eid}/quiz-attempts", headers=h).json()
    assert [a["state"] for a in attempts] == ["submitted", "submitted"]


def test_only_the_learner_takes_and_submits_their_quiz(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine)
    course = make_course(engine, inst)
    learner, h = face_learner(client, engine, inst)
    eid = make_enrollment(engine, learner, course).id
    body = start_quiz(client, engine, h, eid).json()
    answers = right_answers(engine, course.id, body["questions"])

    other = make_learner(engine, inst)
    ho = login(client, other.username)
    r = submit(client, ho, body["attempt_id"], answers)
    assert (r.status_code, r.json()["code"]) == (404, "attempt_not_found")
    r = client.get(f"{API}/quiz-attempts/{body['attempt_id']}", headers=ho)
    assert (r.status_code, r.json()["code"]) == (404, "attempt_not_found")
    r = client.post(f"{API}/enrollments/{eid}/quiz-attempts", headers=ho, data={}, files={})
    assert r.status_code == 422  # the form is checked first
    other_cid = str(uuid.uuid4())
    r = client.post(
        f"{API}/enrollments/{eid}/quiz-attempts",
        data={"challenge_id": other_cid},
        files=[("frames", ("f.jpg", b"x", "image/jpeg"))],
        headers=ho,
    )
    assert (r.status_code, r.json()["code"]) == (404, "enrollment_not_found")
    staff = make_user(engine, Role.staff, inst)
    hs = login(client, staff.username)
    r = submit(client, hs, body["attempt_id"], answers)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    # staff of the institution read the attempt, still without answers
    seen = client.get(f"{API}/quiz-attempts/{body['attempt_id']}", headers=hs)
    assert seen.status_code == 200 and not any("answer" in k for k in keys_in(seen.json()))
    other_staff = make_user(engine, Role.staff, make_institution(engine))
    r = client.get(
        f"{API}/quiz-attempts/{body['attempt_id']}", headers=login(client, other_staff.username)
    )
    assert r.status_code == 404
    assert submit(client, h, body["attempt_id"], answers).json()["score"] == 100


@pytest.mark.parametrize(
    "bad",
    ["unknown_question", "not_an_id", "index_out_of_range", "negative", "two_for_single", "twice"],
)
def test_invalid_answers_are_refused_and_the_attempt_stays_open(
    client: TestClient, engine: Any, bad: str
) -> None:
    inst = make_institution(engine)
    course = make_course(engine, inst)
    learner, h = face_learner(client, engine, inst)
    eid = make_enrollment(engine, learner, course).id
    body = start_quiz(client, engine, h, eid).json()
    answers = right_answers(engine, course.id, body["questions"])
    single = next(q for q in body["questions"] if q["kind"] == "single")
    multiple = next(q for q in body["questions"] if q["kind"] == "multiple")
    broken = dict(answers)
    if bad == "unknown_question":
        broken[str(uuid.uuid4())] = [0]
    elif bad == "not_an_id":
        broken["第一题"] = [0]
    elif bad == "index_out_of_range":
        broken[single["id"]] = [len(single["options"])]
    elif bad == "negative":
        broken[multiple["id"]] = [-1]
    elif bad == "two_for_single":
        broken[single["id"]] = [0, 1]
    else:
        broken[multiple["id"]] = [0, 0]
    r = submit(client, h, body["attempt_id"], broken)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_answers"), r.text
    assert stored_attempt(engine, body["attempt_id"]).submitted_at is None
    assert submit(client, h, body["attempt_id"], answers).json()["score"] == 100


def test_bank_edits_never_change_a_started_attempt(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    course = make_course(engine, inst, staff=staff, quiz_question_count=3)
    learner, h = face_learner(client, engine, inst)
    eid = make_enrollment(engine, learner, course).id
    body = start_quiz(client, engine, h, eid).json()
    answers = right_answers(engine, course.id, body["questions"])
    hs = login(client, staff.username)
    r = client.post(  # a published course's bank is frozen (409)...
        f"{API}/courses/{course.id}/questions",
        json={"kind": "single", "stem": "新题", "options": ["甲", "乙"], "answer": [1]},
        headers=hs,
    )
    assert (r.status_code, r.json()["code"]) == (409, "course_published")
    with Session(engine) as s:  # ...and even an edit of a drawn question in place
        q = s.get(Question, uuid.UUID(body["questions"][0]["id"]))
        assert q is not None
        q.options = list(reversed(q.options))
        s.add(q)
        s.commit()
    got = client.get(f"{API}/quiz-attempts/{body['attempt_id']}", headers=h).json()
    assert got["questions"] == body["questions"]
    assert submit(client, h, body["attempt_id"], answers).json()["score"] == 100


def test_completion_flips_exactly_when_the_last_condition_is_met(
    client: TestClient, engine: Any
) -> None:
    inst = make_institution(engine)
    learner, h = face_learner(client, engine, inst)

    # minutes short: passing the quiz does not complete
    short = make_course(engine, inst, required_minutes=30, pass_score=60)
    e_short = make_enrollment(engine, learner, short)
    set_enrollment(engine, e_short.id, credited_ms=(29 * 60 + 59) * 1000)
    body = start_quiz(client, engine, h, e_short.id).json()
    r = submit(client, h, body["attempt_id"], right_answers(engine, short.id, body["questions"]))
    assert (r.json()["passed"], r.json()["completed"]) == (True, False)
    assert enrollment_row(engine, e_short.id).completed_at is None

    # minutes met: a failed quiz does not complete, the passing one does, once
    full = make_course(engine, inst, required_minutes=30, pass_score=60, quiz_max_attempts=3)
    e_full = make_enrollment(engine, learner, full)
    set_enrollment(engine, e_full.id, credited_ms=30 * 60 * 1000)
    body = start_quiz(client, engine, h, e_full.id).json()
    r = submit(client, h, body["attempt_id"], {})
    assert (r.json()["passed"], r.json()["completed"]) == (False, False)
    assert enrollment_row(engine, e_full.id).completed_at is None
    body = start_quiz(client, engine, h, e_full.id).json()
    r = submit(client, h, body["attempt_id"], right_answers(engine, full.id, body["questions"]))
    assert (r.json()["passed"], r.json()["completed"]) == (True, True)
    done = enrollment_row(engine, e_full.id)
    assert done.completed_at is not None
    body = start_quiz(client, engine, h, e_full.id).json()  # a later pass changes nothing
    submit(client, h, body["attempt_id"], right_answers(engine, full.id, body["questions"]))
    assert enrollment_row(engine, e_full.id).completed_at == done.completed_at
    completed = audit_log(engine, f"enrollment:{e_full.id}", "enrollment.completed")
    assert len(completed) == 1 and completed[0][1]["quiz_score"] == 100
    assert audit_log(engine, f"enrollment:{e_short.id}", "enrollment.completed") == []
    mine = {m["enrollment_id"]: m for m in client.get(f"{API}/me/enrollments", headers=h).json()}
    assert mine[str(e_full.id)]["completed_at"] and not mine[str(e_short.id)]["completed_at"]


def test_staff_and_keys_cannot_start_a_quiz(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine)
    course = make_course(engine, inst)
    learner = make_learner(engine, inst)
    eid = make_enrollment(engine, learner, course).id
    staff = make_user(engine, Role.staff, inst)
    r = client.post(
        f"{API}/enrollments/{eid}/quiz-attempts",
        data={"challenge_id": str(uuid.uuid4())},
        files=[("frames", ("f.jpg", b"x", "image/jpeg"))],
        headers=login(client, staff.username),
    )
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    with Session(engine) as s:
        assert s.exec(select(QuizAttempt).where(col(QuizAttempt.enrollment_id) == eid)).all() == []
