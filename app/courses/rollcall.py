"""Roll-calls: drawn at random while a session studies, answered with a face check before their
deadline, or missed (a late answer, a heartbeat past the deadline, the sweep); a roll-call in
review waits for staff, whose decision releases or forfeits the held segment.

A roll-call is a conversation, not a trap (issue 14): within the response window the learner has
:data:`MAX_ATTEMPTS` chances, each a fresh face check with a fresh challenge, every one recorded
(``rollcall_attempts``) and audited. Only the window running out or the last chance failing ends
it as missed or failed — and if one of its checks failed on liveness alone while the face
matched clearly, it goes to staff review instead. Staff may excuse a failed or missed roll-call
(a camera fault) with a reason: the forfeited stretch is credited again and it counts as passed.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.attendance import reasons
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
    RollCallNotExcusable,
    RollCallNotFound,
    RollCallNotPending,
    SessionNotFound,
)
from app.courses.models import (
    Course,
    CreditSegment,
    Enrollment,
    RollCall,
    RollCallAttempt,
    RollCallStatus,
    SegmentStatus,
    SessionState,
    StudySession,
)
from app.courses.progress import refresh_completion
from app.errors import Forbidden
from app.validation import check_text

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


def can_excuse(session: Session, rc: RollCall) -> bool:
    """A failed or missed roll-call, not excused yet, that staff did not already decide in
    review."""
    if rc.status not in (RollCallStatus.failed, RollCallStatus.missed) or rc.excused_at:
        return False
    if rc.attendance_event_id is None:
        return True
    decided = session.get(AttendanceEvent, rc.attendance_event_id)
    return decided is None or decided.review_status is None


def grant_exception(
    session: Session, principal: Principal, rollcall_id: uuid.UUID, *, reason: str
) -> RollCall:
    """Staff excuse a failed or missed roll-call (a camera fault, a network cut): the stretch it
    forfeited is credited again (under the daily cap, as of now) and it counts as passed. The
    reason is required and audited; the ledger replays the exception from the roll-call row."""
    user = principal.user
    if user is None or principal.role not in (Role.staff, Role.admin):
        raise Forbidden("Only staff of the learner's institution grant exceptions.")
    rc = session.get(RollCall, rollcall_id, with_for_update=True)
    if rc is None:
        raise RollCallNotFound()
    enrollment = _enrollment_of(session, rc.enrollment_id)
    if not principal.can_see_institution(enrollment.institution_id):
        raise RollCallNotFound()
    why = check_text(reason, field="reason", multiline=True, required=True)[:500]
    if not can_excuse(session, rc):
        raise RollCallNotExcusable()
    course = _course_of(session, enrollment)
    seg = session.exec(
        select(CreditSegment).where(col(CreditSegment.closed_by) == f"rollcall:{rc.id}")
    ).first()
    restored_ms = 0
    if seg is not None and seg.status is SegmentStatus.forfeited:
        restored_ms = _confirm(session, enrollment, course, _segment_credit(session, seg))
        seg.ms, seg.status = restored_ms, SegmentStatus.credited
        session.add(seg)
    now = clock.now()
    rc.excused_at, rc.excused_by, rc.excuse_reason = now, user.id, why
    enrollment.rollcalls_passed += 1
    session.add_all([rc, enrollment])
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="rollcall.exception_granted",
        subject=f"rollcall:{rc.id}",
        payload={
            "enrollment": str(enrollment.id),
            "learner": str(rc.user_id),
            "rollcall": rc.status.value,
            "reason": why,
            "restored_seconds": restored_ms // 1000,
            "credited_seconds": enrollment.credited_seconds,
            "rollcalls_total": enrollment.rollcalls_total,
            "rollcalls_passed": enrollment.rollcalls_passed,
        },
        institution_id=enrollment.institution_id,
    )
    refresh_completion(session, enrollment, course, principal.actor)
    return rc


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
