"""Study sessions: a face check-in opens one (ending an active one elsewhere), the learner or a
check-in elsewhere ends it, crediting the open segment.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import User
from app.attendance import service as attendance
from app.attendance.models import AttendanceEvent, Outcome, Purpose
from app.audit import service as audit
from app.audit.service import Actor
from app.courses.credit import (
    ACTIVE_STATES,
    _after,
    _close_segment,
    _course_of,
    _enrollment_of,
    _own_session,
)
from app.courses.exceptions import (
    EnrollmentNotFound,
    SessionActiveElsewhere,
)
from app.courses.models import (
    Course,
    Enrollment,
    RollCallStatus,
    SegmentStatus,
    SessionState,
    StudySession,
)
from app.courses.progress import refresh_completion
from app.courses.rollcall import next_rollcall_time
from app.courses.rollcall.resolution import _pending_rollcall, _resolve_failure


def _learner_enrollment(session: Session, user: User, enrollment_id: uuid.UUID) -> Enrollment:
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.user_id != user.id:
        raise EnrollmentNotFound()
    return enrollment


def _end(
    session: Session, study: StudySession, *, reason: str, actor: Actor, now: datetime
) -> None:
    at = _after(study.last_heartbeat_at, now)
    rc = _pending_rollcall(session, study)
    if rc is not None:
        # Leaving (or checking in elsewhere) during a roll-call counts as missing it.
        miss_at = min(at, rc.deadline)
        _resolve_failure(session, study, rc, status=RollCallStatus.missed, at=miss_at, actor=actor)
        at = _after(miss_at, at)
    enrollment = _enrollment_of(session, study.enrollment_id)
    course = _course_of(session, enrollment)
    seg = None
    if study.state is SessionState.studying:
        seg = _close_segment(
            session,
            study,
            enrollment,
            course,
            at=at,
            status=SegmentStatus.credited,
            closed_by=reason,
        )
    study.state = SessionState.ended
    study.ended_at = at
    study.end_reason = reason
    study.next_rollcall_at = None
    session.add(study)
    audit.append(
        session,
        actor=actor,
        action="study.session_ended",
        subject=f"study_session:{study.id}",
        payload={
            "reason": reason,
            "segment_seconds": seg.seconds if seg else 0,
            "credited_seconds": enrollment.credited_seconds,
        },
        institution_id=enrollment.institution_id,
    )
    refresh_completion(session, enrollment, course, actor)


# ---------------------------------------------------------------- check-in


def check_in(
    session: Session,
    user: User,
    *,
    enrollment_id: uuid.UUID,
    challenge_id: uuid.UUID,
    frames: list[bytes],
    client: attendance.ClientInfo,
    take_over: bool = True,
) -> tuple[StudySession, AttendanceEvent]:
    """Face check-in opens a study session; an active one elsewhere is ended (or 409).

    One active session per learner is a database rule (a partial unique index): after the
    verification, which takes a while (and on SQLite ends the transaction), the learner's active
    sessions are read again under lock; a concurrent check-in that opened one in between is
    ended like any other (or 409 without ``take_over``), and if it committed between that look
    and our insert, the index refuses ours and we look once more.
    """
    enrollment = _learner_enrollment(session, user, enrollment_id)
    course = _course_of(session, enrollment)
    active = _active_sessions(session, user.id)
    if active and not take_over:
        raise SessionActiveElsewhere(session_id=str(active[0].id))
    event = attendance.verify(
        session,
        user,
        challenge_id=challenge_id,
        frames=frames,
        purpose=Purpose.checkin,
        institution_id=enrollment.institution_id,
        client=client,
    )
    if event.outcome is not Outcome.passed:
        raise attendance.refusal(event)
    study = open_after_checkin(session, user, enrollment, course, event, take_over=take_over)
    return study, event


def open_after_checkin(
    session: Session,
    user: User,
    enrollment: Enrollment,
    course: Course,
    event: AttendanceEvent,
    *,
    take_over: bool = True,
) -> StudySession:
    """Open the study session a passed check-in ``event`` allows: the part of :func:`check_in`
    after the face decision (the demo's simulated history, app/attendance/simulation.py, comes
    in here with its recorded decision)."""
    if event.outcome is not Outcome.passed or event.purpose is not Purpose.checkin:
        raise attendance.refusal(event)
    actor = Actor.user(user.id)
    ended: list[uuid.UUID] = []
    for attempt in range(2):
        now = clock.now()
        active = _active_sessions(session, user.id, lock=True)
        if active and not take_over:
            raise SessionActiveElsewhere(session_id=str(active[0].id)).keeping_changes(
                attendance_event_id=str(event.id)
            )
        for old in active:
            _end(session, old, reason="checkin_elsewhere", actor=actor, now=now)
            ended.append(old.id)
        session.flush()  # the ended sessions leave the index before the new one enters it
        study = StudySession(
            enrollment_id=enrollment.id,
            user_id=user.id,
            state=SessionState.studying,
            checkin_event_id=event.id,
            started_at=now,
            segment_started_at=now,
            next_rollcall_at=next_rollcall_time(course, now),
        )
        try:
            with session.begin_nested():
                session.add(study)
                session.flush()
            break
        except IntegrityError:
            # A concurrent check-in committed its session after our look (PostgreSQL: our
            # insert waited for it on the unique index). Look again, once.
            if attempt:
                raise SessionActiveElsewhere().keeping_changes(
                    attendance_event_id=str(event.id)
                ) from None
    audit.append(
        session,
        actor=actor,
        action="study.session_started",
        subject=f"study_session:{study.id}",
        payload={
            "enrollment": str(enrollment.id),
            "course": str(course.id),
            "checkin_event": str(event.id),
            "ended_sessions": [str(i) for i in ended],
        },
        institution_id=enrollment.institution_id,
    )
    return study


def _active_sessions(
    session: Session, user_id: uuid.UUID, *, lock: bool = False
) -> list[StudySession]:
    """The learner's sessions that are not ended (at most one, the database sees to it),
    re-read from the database; ``lock`` locks them (``FOR UPDATE``) for ending."""
    stmt = select(StudySession).where(
        col(StudySession.user_id) == user_id, col(StudySession.state).in_(ACTIVE_STATES)
    )
    if lock:
        stmt = stmt.with_for_update()
    return list(session.exec(stmt.execution_options(populate_existing=True)))


# ---------------------------------------------------------------- ending


def end_session(session: Session, user: User, session_id: uuid.UUID) -> StudySession:
    study = _own_session(session, user, session_id)
    if study.state is SessionState.ended:
        return study
    _end(session, study, reason="ended_by_learner", actor=Actor.user(user.id), now=clock.now())
    session.flush()
    return study
