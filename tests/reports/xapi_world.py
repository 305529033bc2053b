"""The xAPI test world: two institutions whose learners attend, fail, miss, get reviewed, take
quizzes, complete; one check-in rejected on review and one certificate revoked (both voided)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import clock as clock_mod
from app.accounts import service as accounts
from app.accounts.models import Institution, Role, User
from app.accounts.principal import Principal
from app.attendance import service as attendance
from app.attendance.models import AttendanceEvent, Outcome, Purpose, ReviewStatus
from app.audit import service as audit
from app.audit.service import Actor
from app.certificates import service as certificates
from app.courses import study
from app.courses.models import (
    Course,
    Enrollment,
    Level,
    QuizAttempt,
    RollCall,
    RollCallStatus,
    SessionState,
    StudySession,
)
from app.db import transaction
from tests.factories import in_default_class, login, make_institution, make_learner, make_user

URL = "/xapi/statements"
V = {"X-Experience-API-Version": "1.0.3"}


def _course(s: Session, inst: Institution) -> Course:
    c = Course(
        institution_id=inst.id,
        title="电工（初级）",
        occupation_code="6-31-01-03",
        occupation_name="电工",
        level=Level.level5,
        required_minutes=600,
        pass_score=60,
        subsidy_fen=100_000,
    )
    s.add(c)
    s.flush()
    return c


def _event(s: Session, user: User, inst: Institution, purpose: Purpose, outcome: Outcome) -> Any:
    ev = AttendanceEvent(
        user_id=user.id,
        institution_id=inst.id,
        purpose=purpose,
        outcome=outcome,
        accept_threshold="0.3800",
        reject_threshold="0.5000",
        model_name="test",
        model_version="0",
        match_metric="euclidean",
        face_engine="test",
        model_sha256="0" * 64,
        review_status=ReviewStatus.pending if outcome is Outcome.review else None,
        created_at=clock_mod.now(),
    )
    s.add(ev)
    s.flush()
    return ev


def check_in(s: Session, user: User, inst: Institution, en: Enrollment, **kw: Any) -> Any:
    """What a passed check-in stores (the face part is tested elsewhere)."""
    ev = _event(s, user, inst, Purpose.checkin, Outcome.passed)
    for k, v in kw.items():
        setattr(ev, k, v)
    now = clock_mod.now()
    # One active session per learner (the database holds it): a new check-in ends the last.
    for old in s.exec(
        select(StudySession).where(
            col(StudySession.user_id) == user.id, col(StudySession.state) != SessionState.ended
        )
    ):
        old.state, old.ended_at, old.end_reason = SessionState.ended, now, "checkin_elsewhere"
        s.add(old)
    s.flush()
    st = StudySession(
        enrollment_id=en.id,
        user_id=user.id,
        state=SessionState.studying,
        checkin_event_id=ev.id,
        started_at=now,
        segment_started_at=now,
    )
    s.add_all([ev, st])
    s.flush()
    audit.append(
        s,
        actor=Actor.user(user.id),
        action="study.session_started",
        subject=f"study_session:{st.id}",
        payload={
            "enrollment": str(en.id),
            "course": str(en.course_id),
            "checkin_event": str(ev.id),
            "ended_sessions": [],
        },
        institution_id=inst.id,
    )
    return st, ev


def rollcall(s: Session, st: StudySession, minutes: int = 1) -> RollCall:
    now = clock_mod.now()
    rc = RollCall(
        session_id=st.id,
        enrollment_id=st.enrollment_id,
        user_id=st.user_id,
        due_at=now,
        offered_at=now,
        deadline=now + timedelta(minutes=minutes),
        status=RollCallStatus.pending,
    )
    s.add(rc)
    s.flush()
    return rc


@pytest.fixture
def world(engine: Engine, clock: Any, client: TestClient) -> dict[str, Any]:
    """Two institutions; learners who attend, fail, miss, get reviewed, take quizzes, complete."""
    a, b = make_institution(engine), make_institution(engine)
    staff_a = make_user(engine, Role.staff, a)
    reg = make_user(engine, Role.regulator)
    learners = [make_learner(engine, a) for _ in range(3)] + [make_learner(engine, b)]
    with transaction(engine) as s:
        _, key = accounts.create_api_key(
            s, institution_id=a.id, name="x", scopes=["audit:read"], actor=Actor.system()
        )
    ids: dict[str, Any] = {"voided_checkin": None, "revoked_enrollment": None}
    for i, learner in enumerate(learners):
        inst = a if i < 3 else b
        clock.advance(60)
        with transaction(engine) as s:
            course = _course(s, inst)
            en = in_default_class(s, learner, course)
            st, _ = check_in(s, learner, inst, en)
            for outcome in (Outcome.passed, Outcome.failed):
                clock.advance(30)
                rc = rollcall(s, st)
                study.settle_rollcall(
                    s, st, rc, _event(s, learner, inst, Purpose.rollcall, outcome)
                )
                st.state = SessionState.studying
            rc = rollcall(s, st)  # missed
        clock.advance(120)
        with transaction(engine) as s:
            assert study.sweep_missed_rollcalls(s) >= 1
        with transaction(engine) as s:  # a roll-call that goes to review, then is rejected
            st = s.get_one(StudySession, st.id)
            st.state = SessionState.studying
            rc = rollcall(s, st)
            ev = _event(s, learner, inst, Purpose.rollcall, Outcome.review)
            study.settle_rollcall(s, st, rc, ev)
            review_event = ev.id
        if inst is a:
            with transaction(engine) as s:
                attendance.review(
                    s,
                    Principal.of_user(s.get_one(User, staff_a.id)),
                    review_event,
                    approve=i % 2 == 0,
                    reason="checked",
                )
        with transaction(engine) as s:
            for score in (40, 80):
                qa = QuizAttempt(
                    enrollment_id=en.id,
                    user_id=learner.id,
                    attendance_event_id=uuid.uuid4(),
                    started_at=clock.now(),
                    deadline=clock.now(),
                    paper=[],
                    submitted_at=clock.now(),
                    score=score,
                    passed=score >= 60,
                )
                s.add(qa)
                s.flush()
                audit.append(
                    s,
                    actor=Actor.user(learner.id),
                    action="quiz.attempt_submitted",
                    subject=f"quiz_attempt:{qa.id}",
                    payload={"enrollment": str(en.id), "score": score, "passed": score >= 60},
                    institution_id=inst.id,
                )
            en = s.get_one(Enrollment, en.id)
            en.completed_at = clock.now()
            s.add(en)
            audit.append(
                s,
                actor=Actor.user(learner.id),
                action="enrollment.completed",
                subject=f"enrollment:{en.id}",
                payload={"course": str(course.id), "user": str(learner.id)},
                institution_id=inst.id,
            )
        if i == 1:  # a certificate issued, then revoked: the completion is voided
            with transaction(engine) as s:
                en = s.get_one(Enrollment, en.id)
                cert = certificates._issue(s, en, s.get_one(Course, en.course_id), Actor.system())
            clock.advance(10)
            with transaction(engine) as s:
                staff = Principal.of_user(s.get_one(User, staff_a.id))
                certificates.revoke(s, staff, cert.serial, "issued in error")
            ids["revoked_enrollment"] = en.id
        if i == 0:  # a check-in that counted, then staff rejected it on review: voided
            with transaction(engine) as s:
                _, ev = check_in(s, learner, inst, en, review_status=ReviewStatus.pending)
                ids["voided_checkin"] = ev.id
            clock.advance(10)
            with transaction(engine) as s:
                attendance.review(
                    s,
                    Principal.of_user(s.get_one(User, staff_a.id)),
                    ev.id,
                    approve=False,
                    reason="x",
                )
    return {
        "a": a,
        "b": b,
        "learners": learners,
        "staff": login(client, staff_a.username),
        "regulator": login(client, reg.username),
        "learner": login(client, learners[0].username),
        "key": {"Authorization": f"Bearer {key}"},
        **ids,
    }


def fetch_all(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    r = client.get(URL, params=params, headers={**headers, **V})
    while True:
        assert r.status_code == 200, r.text
        assert r.headers["X-Experience-API-Version"] == "1.0.3"
        assert "X-Experience-API-Consistent-Through" in r.headers
        body = r.json()
        out.extend(body["statements"])
        if not body["more"]:
            return out
        r = client.get(body["more"], headers={**headers, **V})
