"""The live ledger (study service, real database) always equals the replay of its stored events.

Roll-call verdicts are stored attendance events made directly here: this file tests time and
credit rules, not faces (the full path with real faces is in test_study_api.py).
"""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest
from sqlmodel import Session, select

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.attendance import service as attendance
from app.attendance.models import Outcome
from app.courses import study
from app.courses.models import (
    CreditPolicy,
    Enrollment,
    RollCall,
    RollCallStatus,
    SessionState,
    StudySession,
)
from app.db import transaction
from tests.factories import (
    attendance_verdict,
    course_row,
    make_institution,
    make_learner,
    make_user,
    start_session,
)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("policy", [CreditPolicy.strict, CreditPolicy.lenient])
def test_live_credit_equals_replay(
    engine: Any, clock: Any, seed: int, policy: CreditPolicy
) -> None:
    rng = random.Random(seed)
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    learner = make_learner(engine, inst)
    course = course_row(
        engine,
        inst,
        credit_policy=policy,
        heartbeat_interval_s=30,
        rollcall_min_interval_s=60,
        rollcall_max_interval_s=240,
        rollcall_response_window_s=60,
        daily_cap_minutes=rng.choice([10, 30, 480]),
    )
    with transaction(engine) as s:
        enrollment = Enrollment(course_id=course.id, user_id=learner.id, institution_id=inst.id)
        s.add(enrollment)
        s.flush()
    clock.set(clock.now().replace(hour=15, minute=rng.randint(0, 59)))  # around Shanghai midnight
    sid = start_session(engine, learner, enrollment, course)
    pending_reviews: list[uuid.UUID] = []
    for _ in range(200):
        op = rng.choices(
            ["hb", "answer", "expire", "end", "restart", "decide"], [60, 25, 2, 1, 4, 6]
        )[0]
        # Fractions of a second too: the ledger keeps milliseconds, live and replayed alike.
        clock.advance(
            seconds=rng.choice([0, 0.001, 0.25, 0.9, 1, 1.5, 5, 20, 29, 29.9999, 30, 31, 45, 90])
        )
        with transaction(engine) as s:
            user = s.get(type(learner), learner.id)
            current = s.get(StudySession, sid)
            assert current is not None
            if op == "hb":
                if current.state is not SessionState.ended:
                    study.heartbeat(s, user, sid, visible=rng.random() < 0.85)
            elif op == "answer":
                rc = s.exec(
                    select(RollCall).where(
                        RollCall.session_id == sid, RollCall.status == RollCallStatus.pending
                    )
                ).first()  # type: ignore[arg-type]
                if rc is not None and clock.now() <= rc.deadline:
                    outcome = rng.choice(
                        [Outcome.passed, Outcome.passed, Outcome.failed, Outcome.review]
                    )
                    ev = attendance_verdict(s, learner, outcome, inst)
                    study.settle_rollcall(s, s.get(StudySession, sid), rc, ev)  # type: ignore[arg-type]
                    if outcome is Outcome.review:
                        pending_reviews.append(ev.id)
            elif op == "expire":
                study.sweep_missed_rollcalls(s)
            elif op == "end":
                if current.state is not SessionState.ended:
                    study.end_session(s, user, sid)
            elif op == "decide" and pending_reviews:
                ev_id = pending_reviews.pop(0)
                staff_user = s.get(type(staff), staff.id)
                attendance.review(
                    s,
                    Principal.of_user(staff_user),
                    ev_id,
                    approve=rng.random() < 0.6,
                    reason="checked",
                )
        if op == "restart":
            sid = start_session(engine, learner, enrollment, course)
    with Session(engine) as s:
        e = s.get(Enrollment, enrollment.id)
        assert e is not None
        check = study.check_ledger(s, e)
    assert check.matches, (check.stored_ms, check.stored_rollcalls, check.recomputed)
    assert check.stored_seconds > 0 or check.recomputed.forfeited_seconds >= 0
