"""Answering a roll-call with a face check, settling it, and the reaction to a staff review
decision on a held roll-call."""

from __future__ import annotations

import uuid

from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import User
from app.attendance import service as attendance
from app.attendance.models import AttendanceEvent, Outcome, Purpose
from app.audit import service as audit
from app.audit.service import Actor
from app.courses.credit import (
    _after,
    _close_segment,
    _confirm,
    _course_of,
    _enrollment_of,
    _own_session,
    _segment_credit,
)
from app.courses.exceptions import (
    RollCallExpired,
    RollCallNotFound,
    RollCallNotPending,
    SessionNotFound,
)
from app.courses.models import (
    CreditSegment,
    RollCall,
    RollCallStatus,
    SegmentStatus,
    SessionState,
    StudySession,
)
from app.courses.progress import refresh_completion
from app.courses.rollcall.resolution import (
    MAX_ATTEMPTS,
    _hold_for_review,
    _miss_past_deadline,
    _record_attempt,
    _resolve_failure,
    next_rollcall_time,
)

# ---------------------------------------------------------------- roll-call answers


def answer_rollcall(
    session: Session,
    user: User,
    rollcall_id: uuid.UUID,
    *,
    challenge_id: uuid.UUID,
    frames: list[bytes],
    client: attendance.ClientInfo,
) -> tuple[RollCall, AttendanceEvent]:
    """Answer a roll-call with a face burst before its deadline (one attempt).

    Passed: the open segment is credited and studying goes on. Failed: another attempt while
    chances and time are left, else paused (credit per policy; review if only liveness failed
    while the face matched clearly). Review: credit held until staff decide. After the
    deadline: 410, recorded as missed. A refusal before a decision (no face, bad challenge)
    uses no chance and leaves the roll-call open until the deadline.
    """
    rc = session.get(RollCall, rollcall_id, with_for_update=True)
    if rc is None or rc.user_id != user.id:
        raise RollCallNotFound()
    study = _own_session(session, user, rc.session_id)
    actor = Actor.user(user.id)
    now = clock.now()
    if rc.status is RollCallStatus.pending and now > rc.deadline:
        _miss_past_deadline(session, study, rc, actor)
        raise RollCallExpired().keeping_changes()
    if rc.status is RollCallStatus.missed:
        raise RollCallExpired()
    if rc.status is not RollCallStatus.pending:
        raise RollCallNotPending()
    enrollment = _enrollment_of(session, study.enrollment_id)
    event = attendance.verify(
        session,
        user,
        challenge_id=challenge_id,
        frames=frames,
        purpose=Purpose.rollcall,
        institution_id=enrollment.institution_id,
        client=client,
    )
    if rc.status is not RollCallStatus.pending:
        # Resolved while the frames were analysed (the deadline sweep): the event stays.
        raise RollCallExpired().keeping_changes(attendance_event_id=str(event.id))
    settle_rollcall(session, study, rc, event)
    return rc, event


def settle_rollcall(
    session: Session, study: StudySession, rc: RollCall, event: AttendanceEvent
) -> None:
    """Apply one face check's outcome to a pending roll-call and the session's credit.

    Passed: the open segment is credited. Review: held until staff decide. Failed: while
    chances and time are left the roll-call stays pending (the learner tries again with a
    fresh challenge); the last chance failing fails it (or sends it to review, see
    :func:`_resolve_failure`)."""
    attempt = _record_attempt(session, rc, event)
    enrollment = _enrollment_of(session, study.enrollment_id)
    course = _course_of(session, enrollment)
    actor = Actor.user(study.user_id)
    now = clock.now()
    at = _after(study.last_heartbeat_at, now)
    if event.outcome is Outcome.passed:
        seg = _close_segment(
            session,
            study,
            enrollment,
            course,
            at=at,
            status=SegmentStatus.credited,
            closed_by=f"rollcall:{rc.id}",
            event_id=event.id,
        )
        rc.status, rc.answered_at, rc.attendance_event_id = RollCallStatus.passed, at, event.id
        enrollment.rollcalls_total += 1
        enrollment.rollcalls_passed += 1
        study.next_rollcall_at = next_rollcall_time(course, at)
        session.add_all([rc, enrollment, study])
        audit.append(
            session,
            actor=actor,
            action="rollcall.passed",
            subject=f"rollcall:{rc.id}",
            payload={
                "session": str(study.id),
                "segment_seconds": seg.seconds,
                "attendance_event": str(event.id),
                "attempts": attempt.attempt,
            },
            institution_id=enrollment.institution_id,
        )
        refresh_completion(session, enrollment, course, actor)
    elif event.outcome is Outcome.review:
        _hold_for_review(session, study, rc, event.id, at=at, actor=actor)
    elif attempt.attempt < MAX_ATTEMPTS and now <= rc.deadline:
        audit.append(
            session,
            actor=actor,
            action="rollcall.attempt_failed",
            subject=f"rollcall:{rc.id}",
            payload={
                "session": str(study.id),
                "attempt": attempt.attempt,
                "attempts_left": MAX_ATTEMPTS - attempt.attempt,
                "reason_code": event.reason_code,
                "attendance_event": str(event.id),
            },
            institution_id=enrollment.institution_id,
        )
    else:
        _resolve_failure(
            session, study, rc, status=RollCallStatus.failed, at=at, actor=actor, event_id=event.id
        )
    session.flush()


def on_review_decided(
    session: Session, event: AttendanceEvent, approved: bool, actor: Actor
) -> None:
    """Staff decided a roll-call in review: release or forfeit the held segment."""
    if event.purpose is not Purpose.rollcall:
        return
    rc = session.exec(select(RollCall).where(col(RollCall.attendance_event_id) == event.id)).first()
    seg = session.exec(
        select(CreditSegment).where(
            col(CreditSegment.attendance_event_id) == event.id,
            col(CreditSegment.status) == SegmentStatus.held,
        )
    ).first()
    if rc is None or seg is None:
        return
    study = session.get(StudySession, rc.session_id, with_for_update=True)
    if study is None:  # pragma: no cover - foreign key
        raise SessionNotFound()
    enrollment = _enrollment_of(session, rc.enrollment_id)
    course = _course_of(session, enrollment)
    now = clock.now()
    enrollment.rollcalls_total += 1
    if approved:
        seg.ms = _confirm(session, enrollment, course, _segment_credit(session, seg))
        seg.status = SegmentStatus.credited
        enrollment.rollcalls_passed += 1
        rc.status = RollCallStatus.passed
        if study.state is SessionState.review:
            study.state = SessionState.studying
            study.segment_started_at = _after(study.last_heartbeat_at, now)
            study.next_rollcall_at = next_rollcall_time(course, now)
    else:
        seg.status = SegmentStatus.forfeited
        rc.status = RollCallStatus.failed
        if study.state is SessionState.review:
            study.state = SessionState.paused
    session.add_all([seg, enrollment, rc, study])
    session.flush()
    # The decision's own entry (face.review_*) says what staff decided; this one what it changed
    # here: the roll-call, the held segment, the session and the enrolment's counts.
    audit.append(
        session,
        actor=actor,
        action="rollcall.review_settled",
        subject=f"rollcall:{rc.id}",
        payload={
            "session": str(study.id),
            "enrollment": str(enrollment.id),
            "attendance_event": str(event.id),
            "approved": approved,
            "rollcall": rc.status.value,
            "segment": seg.status.value,
            "segment_seconds": seg.seconds,
            "session_state": study.state.value,
            "credited_seconds": enrollment.credited_seconds,
            "rollcalls_total": enrollment.rollcalls_total,
            "rollcalls_passed": enrollment.rollcalls_passed,
        },
        institution_id=enrollment.institution_id,
    )
    refresh_completion(session, enrollment, course, actor)
