"""A learner five minutes into a study session with a roll-call just offered, and a way to answer
it with a stored verdict: the world of the roll-call tests (tests/courses/test_rollcall_attempts.py)
and of the pages that list what became of roll-calls (the review queue's exceptions)."""

from __future__ import annotations

from typing import Any

from app.accounts.models import Role
from app.attendance.models import Outcome
from app.courses import study
from app.courses.models import RollCall, StudySession
from app.db import transaction
from tests.factories import (
    attendance_verdict,
    course_row,
    make_institution,
    make_learner,
    make_user,
    self_enrolled,
    start_session,
)

MISMATCH = {"reason_code": "face_mismatch", "median_distance": "0.6200"}


def rollcall_world(engine: Any, clock: Any) -> dict[str, Any]:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    staff = make_user(engine, Role.staff, inst)
    course = course_row(
        engine,
        inst,
        heartbeat_interval_s=30,
        rollcall_min_interval_s=300,
        rollcall_max_interval_s=300,
        rollcall_response_window_s=90,
        required_minutes=600,
    )
    enrollment = self_enrolled(engine, learner, course)
    sid = start_session(engine, learner, enrollment, course)
    # Five minutes of visible study, then the roll-call is offered (300 s after check-in).
    for _ in range(10):
        clock.advance(seconds=30)
        with transaction(engine) as s:
            r = study.heartbeat(s, s.get(type(learner), learner.id), sid, visible=True)
    assert r.rollcall is not None
    return {
        "inst": inst,
        "learner": learner,
        "staff": staff,
        "course": course,
        "enrollment": enrollment,
        "sid": sid,
        "rollcall_id": r.rollcall.id,
    }


def answer(engine: Any, w: dict[str, Any], outcome: Outcome, **kw: Any) -> RollCall:
    with transaction(engine) as s:
        rc = s.get(RollCall, w["rollcall_id"])
        sess = s.get(StudySession, w["sid"])
        assert rc is not None and sess is not None
        ev = attendance_verdict(s, w["learner"], outcome, w["inst"], **kw)
        study.settle_rollcall(s, sess, rc, ev)
        s.expunge(rc)
        return rc
