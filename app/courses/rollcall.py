"""Roll-calls: drawn at random while a session studies, answered with a face burst before their
deadline, or missed (a late answer, a heartbeat past the deadline, the sweep); a roll-call in
review waits for staff, whose decision releases or forfeits the held segment.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

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
    _policy,
    _segment_credit,
)
from app.courses.exceptions import (
    RollCallExpired,
    RollCallNotFound,
    RollCallNotPending,
    SessionNotFound,
)
from app.courses.models import (
    Course,
    CreditSegment,
    Enrollment,
    RollCall,
    RollCallStatus,
    SegmentStatus,
    SessionState,
    StudySession,
)
from app.courses.progress import refresh_completion


def next_rollcall_time(course: Course, after: datetime) -> datetime:
    """A roll-call time drawn with a CSPRNG, uniformly within the course's interval."""
    lo, hi = course.rollcall_min_interval_s, course.rollcall_max_interval_s
    return after + timedelta(seconds=lo + secrets.randbelow(hi - lo + 1))


# ---------------------------------------------------------------- roll-call resolution

#: Called in the transaction of every roll-call that becomes ``missed`` (a late answer, a
#: heartbeat past the deadline, the sweep), after its audit entry: ``hook(session, rollcall,
#: enrollment, actor)``. Subscribed in app/wiring.py (webhooks); this package never imports them.
rollcall_missed_hooks: list[Callable[[Session, RollCall, Enrollment, Actor], None]] = []


def _resolve_failure(
    session: Session,
    study: StudySession,
    rc: RollCall,
    *,
    status: RollCallStatus,
    at: datetime,
    actor: Actor,
    event_id: uuid.UUID | None = None,
) -> None:
    """A failed or missed roll-call: forfeit (strict) or keep (lenient) the open segment, pause."""
    enrollment = _enrollment_of(session, study.enrollment_id)
    course = _course_of(session, enrollment)
    strict = _policy(course).strict
    seg = _close_segment(
        session,
        study,
        enrollment,
        course,
        at=at,
        status=SegmentStatus.forfeited if strict else SegmentStatus.credited,
        closed_by=f"rollcall:{rc.id}",
        event_id=event_id,
    )
    rc.status = status
    rc.answered_at = at
    rc.attendance_event_id = event_id
    session.add(rc)
    enrollment.rollcalls_total += 1
    session.add(enrollment)
    study.state = SessionState.paused
    study.next_rollcall_at = None
    session.add(study)
    audit.append(
        session,
        actor=actor,
        action=f"rollcall.{status.value}",
        subject=f"rollcall:{rc.id}",
        payload={
            "session": str(study.id),
            "enrollment": str(enrollment.id),
            "deadline": audit.format_time(rc.deadline),
            "segment_seconds": seg.seconds,
            "segment": seg.status.value,
            "attendance_event": str(event_id) if event_id else None,
        },
        institution_id=enrollment.institution_id,
    )
    if status is RollCallStatus.missed:
        for hook in rollcall_missed_hooks:
            hook(session, rc, enrollment, actor)


def _pending_rollcall(session: Session, study: StudySession) -> RollCall | None:
    return session.exec(
        select(RollCall).where(
            col(RollCall.session_id) == study.id, col(RollCall.status) == RollCallStatus.pending
        )
    ).first()


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
    """Answer a roll-call with a face burst before its deadline.

    Passed: the open segment is credited and studying goes on. Failed: paused (credit per
    policy). Review: credit held until staff decide. After the deadline: 410, recorded as missed.
    A refusal before a decision (no face, bad challenge) leaves the roll-call open until the
    deadline, so the learner can try again.
    """
    rc = session.get(RollCall, rollcall_id, with_for_update=True)
    if rc is None or rc.user_id != user.id:
        raise RollCallNotFound()
    study = _own_session(session, user, rc.session_id)
    actor = Actor.user(user.id)
    now = clock.now()
    if rc.status is RollCallStatus.pending and now > rc.deadline:
        _resolve_failure(
            session,
            study,
            rc,
            status=RollCallStatus.missed,
            at=_after(study.last_heartbeat_at, rc.deadline),
            actor=actor,
        )
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
    """Apply a verification's outcome to a pending roll-call and the session's credit."""
    enrollment = _enrollment_of(session, study.enrollment_id)
    course = _course_of(session, enrollment)
    actor = Actor.user(study.user_id)
    at = _after(study.last_heartbeat_at, clock.now())

    def close(status: RollCallStatus, segment: SegmentStatus, seconds_key: str) -> None:
        seg = _close_segment(
            session,
            study,
            enrollment,
            course,
            at=at,
            status=segment,
            closed_by=f"rollcall:{rc.id}",
            event_id=event.id,
        )
        rc.status, rc.answered_at, rc.attendance_event_id = status, at, event.id
        session.add_all([rc, enrollment, study])
        audit.append(
            session,
            actor=actor,
            action=f"rollcall.{status.value}",
            subject=f"rollcall:{rc.id}",
            payload={
                "session": str(study.id),
                seconds_key: seg.seconds,
                "attendance_event": str(event.id),
            },
            institution_id=enrollment.institution_id,
        )

    if event.outcome is Outcome.passed:
        enrollment.rollcalls_total += 1
        enrollment.rollcalls_passed += 1
        study.next_rollcall_at = next_rollcall_time(course, at)
        close(RollCallStatus.passed, SegmentStatus.credited, "segment_seconds")
        refresh_completion(session, enrollment, course, actor)
    elif event.outcome is Outcome.review:
        study.state = SessionState.review
        close(RollCallStatus.review, SegmentStatus.held, "held_seconds")
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


def sweep_missed_rollcalls(session: Session, *, now: datetime | None = None) -> int:
    """Mark roll-calls whose deadline passed with no answer as missed (a closed page sends no
    heartbeat). Runs periodically in the app and as ``skilltrace sweep``.

    Safe with any number of sweepers on any number of nodes: a roll-call is resolved under its
    study session's row lock, after reading it again there, so it is resolved once. A session
    another process holds (a heartbeat, an answer, another sweeper) is skipped rather than
    waited for (``SKIP LOCKED`` on PostgreSQL): that process resolves the roll-call, or the next
    sweep does. SQLite's one writer serialises sweeps anyway."""
    now = now or clock.now()
    due = session.exec(
        select(RollCall.id, RollCall.session_id).where(
            col(RollCall.status) == RollCallStatus.pending, col(RollCall.deadline) < now
        )
    ).all()
    n = 0
    for rollcall_id, session_id in due:
        study = session.exec(
            select(StudySession)
            .where(col(StudySession.id) == session_id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        ).first()
        if study is None:  # held by another process right now (or gone)
            continue
        rc = session.get(RollCall, rollcall_id, populate_existing=True)
        if rc is None or rc.status is not RollCallStatus.pending:
            continue  # resolved since we listed it
        _resolve_failure(
            session,
            study,
            rc,
            status=RollCallStatus.missed,
            at=_after(study.last_heartbeat_at, rc.deadline),
            actor=Actor.system("sweep"),
        )
        n += 1
    session.flush()
    return n
