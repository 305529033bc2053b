"""Study-session rules on a real database: roll-call timing, late answers, concurrent
heartbeats, checking in elsewhere, completion. Face verification itself is exercised with real
frames in test_full_path.py; here sessions are opened as a passed check-in would open them."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session, col, select

from app.attendance.service import ClientInfo
from app.audit.models import AuditEntry
from app.courses import study
from app.courses.exceptions import RollCallExpired, SessionEnded
from app.courses.models import (
    Enrollment,
    RollCall,
    RollCallStatus,
    SessionState,
    StudySession,
)
from app.courses.progress import progress
from app.db import transaction
from tests.factories import course_row, make_institution, make_learner, self_enrolled, start_session


@pytest.fixture
def setup(engine: Any, clock: Any) -> dict[str, Any]:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    course = course_row(
        engine,
        inst,
        heartbeat_interval_s=30,
        rollcall_min_interval_s=300,
        rollcall_max_interval_s=900,
        rollcall_response_window_s=90,
        required_minutes=10,
        rollcall_min_pass_rate=50,
    )
    enrollment = self_enrolled(engine, learner, course)
    return {"inst": inst, "learner": learner, "course": course, "enrollment": enrollment}


def no_rollcalls(engine: Any, sid: uuid.UUID) -> None:
    """Take the session's roll-call off the schedule (tests about minutes, not roll-calls)."""
    with transaction(engine) as s:
        sess = s.get(StudySession, sid)
        assert sess is not None
        sess.next_rollcall_at = None
        s.add(sess)


def hb(engine: Any, learner: Any, sid: uuid.UUID, visible: bool = True) -> study.HeartbeatResult:
    with transaction(engine) as s:
        return study.heartbeat(s, s.get(type(learner), learner.id), sid, visible=visible)


def test_rollcall_times_are_random_and_within_policy(
    engine: Any, setup: dict[str, Any], clock: Any
) -> None:
    course, learner, enrollment = setup["course"], setup["learner"], setup["enrollment"]
    offsets = set()
    for _ in range(12):
        sid = start_session(engine, learner, enrollment, course)
        with Session(engine) as s:
            sess = s.get(StudySession, sid)
            assert sess is not None and sess.next_rollcall_at is not None
            offset = (sess.next_rollcall_at - sess.started_at).total_seconds()
        assert 300 <= offset <= 900
        offsets.add(offset)
        clock.advance(seconds=1)
    assert len(offsets) >= 8  # drawn, not fixed


def test_rollcall_offered_when_due_and_late_answer_is_refused_and_recorded(
    engine: Any, setup: dict[str, Any], clock: Any
) -> None:
    course, learner, enrollment = setup["course"], setup["learner"], setup["enrollment"]
    sid = start_session(engine, learner, enrollment, course)
    with Session(engine) as s:
        due = s.get(StudySession, sid).next_rollcall_at  # type: ignore[union-attr]
    offered = None
    while offered is None:
        clock.advance(seconds=30)
        r = hb(engine, learner, sid)
        offered = r.rollcall
        if offered is None:
            assert clock.now() < due
    assert clock.now() >= due
    assert offered.deadline == clock.now() + timedelta(seconds=90)
    credited_before = r.credited_seconds
    assert credited_before > 0
    clock.advance(seconds=91)
    with pytest.raises(RollCallExpired):
        with transaction(engine) as s:
            study.answer_rollcall(
                s,
                s.get(type(learner), learner.id),
                offered.id,
                challenge_id=uuid.uuid4(),
                frames=[b"x"],
                client=ClientInfo(),
            )
    with Session(engine) as s:
        rc = s.get(RollCall, offered.id)
        sess = s.get(StudySession, sid)
        e = s.get(Enrollment, enrollment.id)
        assert rc is not None and sess is not None and e is not None
        assert rc.status is RollCallStatus.missed
        assert sess.state is SessionState.paused
        assert e.credited_seconds == 0  # strict: the open segment is forfeited
        assert (e.rollcalls_total, e.rollcalls_passed) == (1, 0)
        assert s.exec(select(AuditEntry).where(AuditEntry.action == "rollcall.missed")).first()
    # A paused session earns nothing any more.
    clock.advance(seconds=30)
    assert hb(engine, learner, sid).earned == 0


def test_concurrent_heartbeats_do_not_double_credit(
    engine: Any, setup: dict[str, Any], clock: Any
) -> None:
    course, learner, enrollment = setup["course"], setup["learner"], setup["enrollment"]
    sid = start_session(engine, learner, enrollment, course)
    clock.advance(seconds=30)
    results: list[int] = []
    errors: list[BaseException] = []

    def beat() -> None:
        try:
            results.append(hb(engine, learner, sid).earned)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=beat) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(results) == [0, 0, 0, 0, 0, 30]
    with transaction(engine) as s:
        assert (
            study.end_session(s, s.get(type(learner), learner.id), sid).state is SessionState.ended
        )
    with Session(engine) as s:
        e = s.get(Enrollment, enrollment.id)
        assert e is not None and e.credited_seconds == 30
        assert study.check_ledger(s, e).matches


def test_check_in_elsewhere_ends_the_first_session(
    engine: Any, setup: dict[str, Any], clock: Any
) -> None:
    course, learner, enrollment = setup["course"], setup["learner"], setup["enrollment"]
    first = start_session(engine, learner, enrollment, course)
    for _ in range(4):
        clock.advance(seconds=30)
        hb(engine, learner, first)
    clock.advance(seconds=5)
    second = start_session(engine, learner, enrollment, course)
    with Session(engine) as s:
        a, b = s.get(StudySession, first), s.get(StudySession, second)
        assert a is not None and b is not None
        assert (a.state, a.end_reason) == (SessionState.ended, "checkin_elsewhere")
        assert b.state is SessionState.studying
        e = s.get(Enrollment, enrollment.id)
        assert e is not None and e.credited_seconds == 120  # the first session's time is kept
    with pytest.raises(SessionEnded):
        hb(engine, learner, first)


def test_heartbeats_while_hidden_earn_nothing(
    engine: Any, setup: dict[str, Any], clock: Any
) -> None:
    course, learner, enrollment = setup["course"], setup["learner"], setup["enrollment"]
    sid = start_session(engine, learner, enrollment, course)
    no_rollcalls(engine, sid)
    for visible in (True, False, False, True):
        clock.advance(seconds=30)
        hb(engine, learner, sid, visible=visible)
    clock.advance(seconds=300)  # the page slept: the gap is capped at the interval
    assert hb(engine, learner, sid).earned == 30
    with transaction(engine) as s:
        study.end_session(s, s.get(type(learner), learner.id), sid)
    with Session(engine) as s:
        e = s.get(Enrollment, enrollment.id)
        assert e is not None and e.credited_seconds == 90


def test_completion_flips_exactly_when_the_last_condition_is_met(
    engine: Any, setup: dict[str, Any], clock: Any
) -> None:
    course, learner, enrollment = setup["course"], setup["learner"], setup["enrollment"]
    with transaction(engine) as s:
        e = s.get(Enrollment, enrollment.id)
        assert e is not None
        e.quiz_passed, e.best_quiz_score = True, 90
        s.add(e)
    sid = start_session(engine, learner, enrollment, course)
    no_rollcalls(engine, sid)
    for _ in range(19):  # 9.5 minutes, confirmed when the session ends
        clock.advance(seconds=30)
        hb(engine, learner, sid)
    with transaction(engine) as s:
        study.end_session(s, s.get(type(learner), learner.id), sid)
    with Session(engine) as s:
        e = s.get(Enrollment, enrollment.id)
        assert e is not None and e.completed_at is None
        p = progress(e, course)
        assert not p.complete and p.missing == ["1 more verified minutes of study"]
    sid = start_session(engine, learner, enrollment, course)
    no_rollcalls(engine, sid)
    clock.advance(seconds=30)
    hb(engine, learner, sid)
    with Session(engine) as s:
        e = s.get(Enrollment, enrollment.id)
        assert e is not None and e.completed_at is None  # open segment: not confirmed yet
    with transaction(engine) as s:
        study.end_session(s, s.get(type(learner), learner.id), sid)
    with Session(engine) as s:
        e = s.get(Enrollment, enrollment.id)
        assert e is not None and e.completed_at == clock.now()
        done = s.exec(select(AuditEntry).where(AuditEntry.action == "enrollment.completed")).all()
        assert len(done) == 1


def test_sweep_and_ledger_check_commands(
    app_env: str, engine: Any, setup: dict[str, Any], clock: Any
) -> None:
    from typer.testing import CliRunner

    from app.cli import app as cli

    course, learner, enrollment = setup["course"], setup["learner"], setup["enrollment"]
    sid = start_session(engine, learner, enrollment, course)
    offered = None
    while offered is None:
        clock.advance(seconds=30)
        offered = hb(engine, learner, sid).rollcall
    runner = CliRunner()
    assert runner.invoke(cli, ["sweep"]).stdout.strip() == '{"missed": 0}'
    clock.advance(seconds=91)  # the page was closed: no heartbeat arrives
    assert runner.invoke(cli, ["sweep"]).stdout.strip() == '{"missed": 1}'
    with Session(engine) as s:
        rc = s.get(RollCall, offered.id)
        assert rc is not None and rc.status is RollCallStatus.missed
    result = runner.invoke(cli, ["ledger-check"])
    assert result.exit_code == 0, result.stdout
    assert '"mismatches": 0' in result.stdout


def test_sub_second_gaps_are_credited_to_the_millisecond(
    engine: Any, setup: dict[str, Any], clock: Any
) -> None:
    """Heartbeats 1.5 s apart earn 1.5 s each, on both heartbeat paths' shared step; the
    stored total replays exactly (whole-second truncation credited 1 s each)."""
    course, learner, enrollment = setup["course"], setup["learner"], setup["enrollment"]
    sid = start_session(engine, learner, enrollment, course)
    no_rollcalls(engine, sid)
    results = []
    for _ in range(4):
        clock.advance(seconds=1.5)
        results.append(hb(engine, learner, sid))
    assert [r.earned_ms for r in results] == [1500] * 4
    assert [r.credited_seconds for r in results] == [1, 3, 4, 6]
    with transaction(engine) as s:
        study.end_session(s, s.get(type(learner), learner.id), sid)
    with Session(engine) as s:
        e = s.get(Enrollment, enrollment.id)
        assert e is not None and (e.credited_ms, e.credited_seconds) == (6000, 6)
        check = study.check_ledger(s, e)
        assert check.matches and check.recomputed.credited_ms == 6000


# ---------------------------------------------------------------- one active session per learner


def test_two_concurrent_check_ins_leave_one_active_session(
    engine: Any, setup: dict[str, Any], clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both check-ins read "no active session" before their (slow) verification, then both
    open one: the database refuses the second active session and the later check-in takes
    over, ending the first, as a check-in elsewhere does."""
    from app.attendance import service as attendance
    from app.attendance.models import AttendanceEvent, Outcome
    from app.db import release_read_lock

    learner, enrollment = setup["learner"], setup["enrollment"]
    both_verifying = threading.Barrier(2, timeout=60)

    def verify(session: Any, user: Any, **kw: Any) -> AttendanceEvent:
        release_read_lock(session)  # as the real verification does before analysing frames
        both_verifying.wait()
        event = AttendanceEvent(
            user_id=user.id,
            institution_id=kw["institution_id"],
            purpose=kw["purpose"],
            outcome=Outcome.passed,
            accept_threshold="0.3800",
            reject_threshold="0.5000",
            model_name="test",
            model_version="0",
            match_metric="euclidean",
            face_engine="test",
            model_sha256="0" * 64,
            created_at=clock.now(),
        )
        session.add(event)
        session.flush()
        return event

    monkeypatch.setattr(attendance, "verify", verify)
    opened: list[uuid.UUID] = []
    errors: list[BaseException] = []

    def check_in() -> None:
        try:
            with transaction(engine) as s:
                study_session, _ = study.check_in(
                    s,
                    s.get(type(learner), learner.id),
                    enrollment_id=enrollment.id,
                    challenge_id=uuid.uuid4(),
                    frames=[b"frame"],
                    client=ClientInfo(),
                )
                opened.append(study_session.id)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=check_in) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(opened) == 2
    with Session(engine) as s:
        rows = s.exec(select(StudySession).where(StudySession.user_id == learner.id)).all()
        assert sorted(r.state.value for r in rows) == ["ended", "studying"]
        ended = next(r for r in rows if r.state is SessionState.ended)
        assert ended.end_reason == "checkin_elsewhere"
        e = s.get(Enrollment, enrollment.id)
        assert e is not None and study.check_ledger(s, e).matches


def test_the_database_refuses_a_second_active_session(
    engine: Any, setup: dict[str, Any], clock: Any
) -> None:
    from sqlalchemy.exc import IntegrityError

    course, learner, enrollment = setup["course"], setup["learner"], setup["enrollment"]
    start_session(engine, learner, enrollment, course)
    with pytest.raises(IntegrityError), transaction(engine) as s:
        now = clock.now()
        s.add(
            StudySession(
                enrollment_id=enrollment.id,
                user_id=learner.id,
                state=SessionState.paused,
                checkin_event_id=uuid.uuid4(),
                started_at=now,
                segment_started_at=now,
            )
        )
        s.flush()


# ---------------------------------------------------------------- review decisions


def test_a_review_decision_on_a_rollcall_writes_its_own_audit_entry(
    engine: Any, setup: dict[str, Any], clock: Any
) -> None:
    """Staff approving a roll-call in review changes the roll-call, the held segment, the
    session and the enrolment: that reaction is audited in the same transaction, with what it
    changed, beside the decision's own face.review_approved."""
    import json

    from app.accounts.models import Role
    from app.accounts.principal import Principal
    from app.attendance import service as attendance
    from app.attendance.models import Outcome
    from tests.factories import attendance_verdict, make_user

    inst, course, learner, enrollment = (
        setup["inst"],
        setup["course"],
        setup["learner"],
        setup["enrollment"],
    )
    staff = make_user(engine, Role.staff, inst)
    sid = start_session(engine, learner, enrollment, course)
    for _ in range(3):
        clock.advance(seconds=30)
        hb(engine, learner, sid)
    with transaction(engine) as s:
        sess = s.get(StudySession, sid)
        assert sess is not None
        rc = RollCall(
            session_id=sid,
            enrollment_id=enrollment.id,
            user_id=learner.id,
            due_at=clock.now(),
            offered_at=clock.now(),
            deadline=clock.now() + timedelta(seconds=90),
            status=RollCallStatus.pending,
        )
        s.add(rc)
        s.flush()
        event = attendance_verdict(s, learner, Outcome.review, inst)
        study.settle_rollcall(s, sess, rc, event)
        rc_id, event_id = rc.id, event.id
    clock.advance(seconds=60)
    with transaction(engine) as s:
        attendance.review(
            s,
            Principal.of_user(s.get(type(staff), staff.id)),
            event_id,
            approve=True,
            reason="本人",
        )
    with Session(engine) as s:
        entries = s.exec(
            select(AuditEntry)
            .where(AuditEntry.subject == f"rollcall:{rc_id}")
            .order_by(col(AuditEntry.id))
        ).all()
        settled = [json.loads(e.payload) for e in entries if e.action == "rollcall.review_settled"]
        assert settled == [
            {
                "session": str(sid),
                "enrollment": str(enrollment.id),
                "attendance_event": str(event_id),
                "approved": True,
                "rollcall": "passed",
                "segment": "credited",
                "segment_seconds": 90,
                "session_state": "studying",
                "credited_seconds": 90,
                "rollcalls_total": 1,
                "rollcalls_passed": 1,
            }
        ]
        e = s.get(Enrollment, enrollment.id)
        assert e is not None and study.check_ledger(s, e).matches
