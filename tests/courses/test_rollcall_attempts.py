"""A roll-call is a conversation, not a trap (issue 14 item 1): several chances within the
response window, only the window or the last chance ends it, a liveness-only failure with a
clear face match goes to staff review, staff can excuse a failed roll-call — and the ledger
replay equals the stored total after every one of these.

Verdicts are stored attendance events made here (faces are tested with real frames elsewhere).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.attendance import service as attendance
from app.attendance.models import AttendanceEvent, Outcome, ReviewStatus
from app.audit.models import AuditEntry
from app.courses import study
from app.courses.exceptions import RollCallNotExcusable, RollCallNotFound
from app.courses.models import (
    CreditSegment,
    Enrollment,
    RollCall,
    RollCallAttempt,
    RollCallStatus,
    SegmentStatus,
    SessionState,
    StudySession,
)
from app.courses.rollcall import MAX_ATTEMPTS, grant_exception
from app.courses.rollcall_report import report_of
from app.db import transaction
from app.errors import Forbidden, ValidationFailed
from tests.courses.rollcall_world import MISMATCH, answer, rollcall_world
from tests.factories import (
    make_institution,
    make_user,
)

LIVENESS_MATCHED = {"reason_code": "liveness_failed", "median_distance": "0.3000"}
#: What the learner studied before the roll-call: ten visible 30 s heartbeats.
STRETCH_MS = 300_000
LIVENESS_UNCLEAR = {"reason_code": "liveness_failed", "median_distance": "0.4500"}


@pytest.fixture
def world(engine: Any, clock: Any) -> dict[str, Any]:
    return rollcall_world(engine, clock)


def ledger_matches(engine: Any, w: dict[str, Any]) -> Enrollment:
    with Session(engine) as s:
        e = s.get(Enrollment, w["enrollment"].id)
        assert e is not None
        check = study.check_ledger(s, e)
        assert check.matches, (check.stored_ms, check.stored_rollcalls, check.recomputed)
        return e


def actions(engine: Any, rollcall_id: uuid.UUID) -> list[str]:
    with Session(engine) as s:
        return [
            a.action
            for a in s.exec(
                select(AuditEntry)
                .where(
                    col(AuditEntry.subject) == f"rollcall:{rollcall_id}",
                    col(AuditEntry.action) != "rollcall.offered",
                )
                .order_by(col(AuditEntry.seq))
            )
        ]


def test_a_failed_first_attempt_leaves_the_rollcall_open_and_a_pass_loses_nothing(
    engine: Any, world: dict[str, Any], clock: Any
) -> None:
    w = world
    clock.advance(seconds=10)
    rc = answer(engine, w, Outcome.failed, **LIVENESS_MATCHED)
    assert rc.status is RollCallStatus.pending
    with Session(engine) as s:
        sess = s.get(StudySession, w["sid"])
        assert sess is not None and sess.state is SessionState.studying
        assert sess.open_ms == STRETCH_MS  # nothing closed, nothing forfeited
        report = report_of(s, s.get(RollCall, rc.id))  # type: ignore[arg-type]
        assert report.attempts_left == MAX_ATTEMPTS - 1
        assert report.reason_category == "liveness"
    clock.advance(seconds=10)
    rc = answer(engine, w, Outcome.passed, median_distance="0.2500")
    assert rc.status is RollCallStatus.passed
    e = ledger_matches(engine, w)
    assert (e.credited_seconds, e.rollcalls_total, e.rollcalls_passed) == (300, 1, 1)
    with Session(engine) as s:
        attempts = s.exec(
            select(RollCallAttempt).where(col(RollCallAttempt.rollcall_id) == rc.id)
        ).all()
        assert sorted((a.attempt, a.outcome, a.reason_code) for a in attempts) == [
            (1, "failed", "liveness_failed"),
            (2, "passed", None),
        ]
    assert actions(engine, rc.id) == ["rollcall.attempt_failed", "rollcall.passed"]


def test_the_last_chance_failing_fails_the_rollcall_and_forfeits_the_stretch(
    engine: Any, world: dict[str, Any], clock: Any
) -> None:
    w = world
    for n in range(1, MAX_ATTEMPTS + 1):
        clock.advance(seconds=5)
        rc = answer(engine, w, Outcome.failed, **MISMATCH)
        expected = RollCallStatus.pending if n < MAX_ATTEMPTS else RollCallStatus.failed
        assert rc.status is expected, n
    e = ledger_matches(engine, w)
    assert (e.credited_seconds, e.rollcalls_total, e.rollcalls_passed) == (0, 1, 0)
    with Session(engine) as s:
        report = report_of(s, s.get(RollCall, rc.id))  # type: ignore[arg-type]
        assert report.forfeited_ms == STRETCH_MS
        assert report.stretch_from is not None and report.reason_category == "match"
        assert len(report.attempts) == MAX_ATTEMPTS and report.attempts_left == 0
        sess = s.get(StudySession, w["sid"])
        assert sess is not None and sess.state is SessionState.paused
    assert actions(engine, rc.id) == ["rollcall.attempt_failed"] * (MAX_ATTEMPTS - 1) + [
        "rollcall.failed"
    ]


def test_a_failure_after_the_deadline_ends_the_rollcall_whatever_chances_are_left(
    engine: Any, world: dict[str, Any], clock: Any
) -> None:
    clock.advance(seconds=91)
    rc = answer(engine, world, Outcome.failed, **MISMATCH)
    assert rc.status is RollCallStatus.failed
    ledger_matches(engine, world)


def test_liveness_failing_on_the_last_chance_with_a_clear_match_goes_to_review(
    engine: Any, world: dict[str, Any], clock: Any
) -> None:
    w = world
    answer(engine, w, Outcome.failed, **MISMATCH)
    answer(engine, w, Outcome.failed, **LIVENESS_UNCLEAR)  # liveness, but no clear match
    rc = answer(engine, w, Outcome.failed, **LIVENESS_MATCHED)
    assert rc.status is RollCallStatus.review
    with Session(engine) as s:
        ev = s.get(AttendanceEvent, rc.attendance_event_id)
        assert ev is not None and ev.review_status is ReviewStatus.pending
        assert ev.outcome is Outcome.failed and ev.reason_code == "liveness_failed"
        sess = s.get(StudySession, w["sid"])
        assert sess is not None and sess.state is SessionState.review
        seg = s.exec(
            select(CreditSegment).where(col(CreditSegment.closed_by) == f"rollcall:{rc.id}")
        ).one()
        assert (seg.status, seg.ms) == (SegmentStatus.held, STRETCH_MS)
        assert s.exec(
            select(AuditEntry).where(col(AuditEntry.action) == "face.review_requested")
        ).one()
    ledger_matches(engine, w)
    # Staff approve: the held five minutes are credited and the roll-call counts as passed.
    clock.advance(minutes=20)
    with transaction(engine) as s:
        staff = s.get(type(w["staff"]), w["staff"].id)
        attendance.review(
            s,
            Principal.of_user(staff),
            rc.attendance_event_id,
            approve=True,
            reason="本人，眨眼未被识别",
        )
    e = ledger_matches(engine, w)
    assert (e.credited_seconds, e.rollcalls_total, e.rollcalls_passed) == (300, 1, 1)


def test_the_window_closing_after_a_liveness_only_failure_goes_to_review_not_missed(
    engine: Any, world: dict[str, Any], clock: Any
) -> None:
    answer(engine, world, Outcome.failed, **LIVENESS_MATCHED)
    clock.advance(seconds=120)
    with transaction(engine) as s:
        assert study.sweep_missed_rollcalls(s) == 1
    with Session(engine) as s:
        rc = s.get(RollCall, world["rollcall_id"])
        assert rc is not None and rc.status is RollCallStatus.review
    assert actions(engine, world["rollcall_id"])[-1] == "rollcall.review"
    ledger_matches(engine, world)


def test_the_window_closing_after_a_mismatch_is_a_miss(
    engine: Any, world: dict[str, Any], clock: Any
) -> None:
    answer(engine, world, Outcome.failed, **MISMATCH)
    clock.advance(seconds=120)
    with transaction(engine) as s:
        study.sweep_missed_rollcalls(s)
    with Session(engine) as s:
        rc = s.get(RollCall, world["rollcall_id"])
        assert rc is not None and rc.status is RollCallStatus.missed
        assert report_of(s, rc).forfeited_ms == STRETCH_MS
    ledger_matches(engine, world)


def test_staff_excuse_a_failed_rollcall_and_the_minutes_come_back(
    engine: Any, world: dict[str, Any], clock: Any
) -> None:
    w = world
    for _ in range(MAX_ATTEMPTS):
        rc = answer(engine, w, Outcome.failed, **MISMATCH)
    assert rc.status is RollCallStatus.failed
    other_inst = make_institution(engine, code="OTHER01")
    outsider = make_user(engine, Role.staff, other_inst)
    clock.advance(minutes=30)
    with transaction(engine) as s:
        learner = s.get(type(w["learner"]), w["learner"].id)
        staff = s.get(type(w["staff"]), w["staff"].id)
        stranger = s.get(type(outsider), outsider.id)
        with pytest.raises(Forbidden):
            grant_exception(s, Principal.of_user(learner), rc.id, reason="我的摄像头坏了")
        with pytest.raises(RollCallNotFound):
            grant_exception(s, Principal.of_user(stranger), rc.id, reason="摄像头故障")
        with pytest.raises(ValidationFailed):
            grant_exception(s, Principal.of_user(staff), rc.id, reason="   ")
        grant_exception(s, Principal.of_user(staff), rc.id, reason="学员电话说明摄像头故障，已核实")
    e = ledger_matches(engine, w)
    assert (e.credited_seconds, e.rollcalls_total, e.rollcalls_passed) == (300, 1, 1)
    with Session(engine) as s:
        stored = s.get(RollCall, rc.id)
        assert stored is not None and stored.excused_by == w["staff"].id
        assert stored.excuse_reason == "学员电话说明摄像头故障，已核实"
        report = report_of(s, stored)
        assert (report.forfeited_ms, report.restored_ms) == (0, STRETCH_MS)
        entry = s.exec(
            select(AuditEntry).where(col(AuditEntry.action) == "rollcall.exception_granted")
        ).one()
        payload = json.loads(entry.payload)
        assert payload["restored_seconds"] == 300
        assert payload["reason"] == "学员电话说明摄像头故障，已核实"
    with transaction(engine) as s:
        staff = s.get(type(w["staff"]), w["staff"].id)
        with pytest.raises(RollCallNotExcusable):
            grant_exception(s, Principal.of_user(staff), rc.id, reason="再来一次")


def test_a_passed_or_reviewed_rollcall_cannot_be_excused(
    engine: Any, world: dict[str, Any], clock: Any
) -> None:
    rc = answer(engine, world, Outcome.passed, median_distance="0.2000")
    with transaction(engine) as s:
        staff = s.get(type(world["staff"]), world["staff"].id)
        with pytest.raises(RollCallNotExcusable):
            grant_exception(s, Principal.of_user(staff), rc.id, reason="不需要")
