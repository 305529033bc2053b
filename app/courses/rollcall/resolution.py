"""Drawing roll-calls and resolving them: each attempt recorded, a failure held for review when
the face matched clearly but liveness failed, otherwise failed or missed (with its hooks)."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app.attendance import reasons
from app.attendance import service as attendance
from app.attendance.models import AttendanceEvent
from app.audit import service as audit
from app.audit.service import Actor
from app.courses.credit import (
    _after,
    _close_segment,
    _course_of,
    _enrollment_of,
    _policy,
)
from app.courses.models import (
    Course,
    Enrollment,
    RollCall,
    RollCallAttempt,
    RollCallStatus,
    SegmentStatus,
    SessionState,
    StudySession,
)

#: Chances to answer one roll-call within its response window, each a fresh face check with a
#: fresh challenge.
MAX_ATTEMPTS = 3


def next_rollcall_time(course: Course, after: datetime) -> datetime:
    """A roll-call time drawn with a CSPRNG, uniformly within the course's interval."""
    lo, hi = course.rollcall_min_interval_s, course.rollcall_max_interval_s
    return after + timedelta(seconds=lo + secrets.randbelow(hi - lo + 1))


# ---------------------------------------------------------------- roll-call resolution

#: Called in the transaction of every roll-call that becomes ``missed`` (a late answer, a
#: heartbeat past the deadline, the sweep), after its audit entry: ``hook(session, rollcall,
#: enrollment, actor)``. Subscribed in app/wiring.py (webhooks); this package never imports them.
rollcall_missed_hooks: list[Callable[[Session, RollCall, Enrollment, Actor], None]] = []


def attempts_of(session: Session, rollcall_id: uuid.UUID) -> list[RollCallAttempt]:
    """The face checks that answered a roll-call, first to last."""
    return list(
        session.exec(
            select(RollCallAttempt)
            .where(col(RollCallAttempt.rollcall_id) == rollcall_id)
            .order_by(col(RollCallAttempt.attempt))
        )
    )


def _record_attempt(session: Session, rc: RollCall, event: AttendanceEvent) -> RollCallAttempt:
    attempt = RollCallAttempt(
        rollcall_id=rc.id,
        attempt=len(attempts_of(session, rc.id)) + 1,
        attendance_event_id=event.id,
        outcome=event.outcome.value,
        reason_code=event.reason_code,
        created_at=event.created_at,
    )
    session.add(attempt)
    session.flush()
    return attempt


def _liveness_referral(session: Session, rc: RollCall) -> AttendanceEvent | None:
    """The last of a roll-call's checks that failed on liveness alone while the face matched
    clearly, if any: then staff review the roll-call instead of it failing outright."""
    for attempt in reversed(attempts_of(session, rc.id)):
        event = session.get(AttendanceEvent, attempt.attendance_event_id)
        if event is not None and reasons.live_but_matched(event):
            return event
    return None


def _hold_for_review(
    session: Session,
    study: StudySession,
    rc: RollCall,
    event_id: uuid.UUID,
    *,
    at: datetime,
    actor: Actor,
    instead_of: RollCallStatus | None = None,
) -> None:
    """The roll-call waits for staff: the open segment is held, the session earns nothing."""
    enrollment = _enrollment_of(session, study.enrollment_id)
    course = _course_of(session, enrollment)
    seg = _close_segment(
        session,
        study,
        enrollment,
        course,
        at=at,
        status=SegmentStatus.held,
        closed_by=f"rollcall:{rc.id}",
        event_id=event_id,
    )
    rc.status, rc.answered_at, rc.attendance_event_id = RollCallStatus.review, at, event_id
    study.state = SessionState.review
    session.add_all([rc, enrollment, study])
    payload: dict[str, object] = {
        "session": str(study.id),
        "held_seconds": seg.seconds,
        "attendance_event": str(event_id),
        "attempts": len(attempts_of(session, rc.id)),
    }
    if instead_of is not None:
        payload["instead_of"] = instead_of.value
        payload["why"] = "liveness failed while the face matched clearly"
    audit.append(
        session,
        actor=actor,
        action="rollcall.review",
        subject=f"rollcall:{rc.id}",
        payload=payload,
        institution_id=enrollment.institution_id,
    )


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
    """A failed or missed roll-call: forfeit (strict) or keep (lenient) the open segment, pause.

    If one of its checks failed on liveness alone while the face matched clearly, staff review
    it instead (the segment is held until they decide)."""
    referral = _liveness_referral(session, rc)
    if referral is not None:
        attendance.refer_to_review(session, referral, why=f"rollcall:{rc.id}", actor=actor)
        _hold_for_review(session, study, rc, referral.id, at=at, actor=actor, instead_of=status)
        return
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
            "segment_started_at": audit.format_time(seg.started_at),
            "attendance_event": str(event_id) if event_id else None,
            "attempts": len(attempts_of(session, rc.id)),
        },
        institution_id=enrollment.institution_id,
    )
    if status is RollCallStatus.missed:
        for hook in rollcall_missed_hooks:
            hook(session, rc, enrollment, actor)


def _miss_past_deadline(session: Session, study: StudySession, rc: RollCall, actor: Actor) -> None:
    """A pending roll-call whose deadline passed unanswered is missed, as of its deadline (just
    after the session's last stored time if that is later): the one rule for a late answer, a
    heartbeat past the deadline and the sweep."""
    _resolve_failure(
        session,
        study,
        rc,
        status=RollCallStatus.missed,
        at=_after(study.last_heartbeat_at, rc.deadline),
        actor=actor,
    )


def _pending_rollcall(session: Session, study: StudySession) -> RollCall | None:
    return session.exec(
        select(RollCall).where(
            col(RollCall.session_id) == study.id, col(RollCall.status) == RollCallStatus.pending
        )
    ).first()
