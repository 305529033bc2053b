"""Study sessions: face check-in, heartbeats, random roll-calls, and the live credit ledger.

The same rules as :mod:`app.courses.ledger` (read its docstring), applied one event at a time.
Times are made strictly increasing within a session (a resolution after the last heartbeat, a
heartbeat after the last resolution) so the replay orders events exactly as they happened.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import User
from app.attendance import service as attendance
from app.attendance.exceptions import FaceMismatch
from app.attendance.models import AttendanceEvent, Outcome, Purpose
from app.audit import service as audit
from app.audit.service import Actor
from app.courses import ledger
from app.courses.exceptions import (
    EnrollmentNotFound,
    RollCallExpired,
    RollCallNotFound,
    RollCallNotPending,
    SessionActiveElsewhere,
    SessionEnded,
    SessionNotFound,
)
from app.courses.models import (
    Course,
    CreditSegment,
    DailyCredit,
    Enrollment,
    Heartbeat,
    RollCall,
    RollCallStatus,
    SegmentStatus,
    SessionState,
    StudySession,
)
from app.courses.progress import refresh_completion

_TICK = timedelta(microseconds=1)
ACTIVE_STATES = (SessionState.studying, SessionState.paused, SessionState.review)


def _policy(course: Course) -> ledger.Policy:
    return ledger.Policy(
        heartbeat_interval_s=course.heartbeat_interval_s,
        daily_cap_s=course.daily_cap_minutes * 60,
        strict=course.credit_policy.value == "strict",
    )


def next_rollcall_time(course: Course, after: datetime) -> datetime:
    """A roll-call time drawn with a CSPRNG, uniformly within the course's interval."""
    lo, hi = course.rollcall_min_interval_s, course.rollcall_max_interval_s
    return after + timedelta(seconds=lo + secrets.randbelow(hi - lo + 1))


def _learner_enrollment(session: Session, user: User, enrollment_id: uuid.UUID) -> Enrollment:
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.user_id != user.id:
        raise EnrollmentNotFound()
    return enrollment


def _own_session(session: Session, user: User, session_id: uuid.UUID) -> StudySession:
    study = session.get(StudySession, session_id, with_for_update=True)
    if study is None or study.user_id != user.id:
        raise SessionNotFound()
    return study


def _enrollment_of(session: Session, enrollment_id: uuid.UUID) -> Enrollment:
    # Locked: credit and roll-call counts are read-modify-write (lock order: session, enrolment).
    enrollment = session.get(
        Enrollment, enrollment_id, with_for_update=True, populate_existing=True
    )
    if enrollment is None:  # pragma: no cover - foreign key
        raise EnrollmentNotFound()
    return enrollment


def _course_of(session: Session, enrollment: Enrollment) -> Course:
    course = session.get(Course, enrollment.course_id)
    if course is None:  # pragma: no cover - foreign key
        raise EnrollmentNotFound()
    return course


def _after(t: datetime | None, now: datetime) -> datetime:
    return now if t is None or now > t else t + _TICK


# ---------------------------------------------------------------- credit


def _open_per_day(session: Session, study: StudySession) -> dict[date, int]:
    """Per-day split of the open segment: the session's heartbeats since it opened."""
    rows = session.exec(
        select(Heartbeat.at, Heartbeat.credited_seconds).where(
            col(Heartbeat.session_id) == study.id,
            col(Heartbeat.at) > study.segment_started_at,
            col(Heartbeat.credited_seconds) > 0,
        )
    ).all()
    per_day: dict[date, int] = defaultdict(int)
    for at, secs in rows:
        per_day[ledger.day_of(at)] += secs
    return dict(per_day)


def _segment_per_day(session: Session, seg: CreditSegment) -> dict[date, int]:
    rows = session.exec(
        select(Heartbeat.at, Heartbeat.credited_seconds).where(
            col(Heartbeat.session_id) == seg.session_id,
            col(Heartbeat.at) > seg.started_at,
            col(Heartbeat.at) <= seg.closed_at,
            col(Heartbeat.credited_seconds) > 0,
        )
    ).all()
    per_day: dict[date, int] = defaultdict(int)
    for at, secs in rows:
        per_day[ledger.day_of(at)] += secs
    return dict(per_day)


def _confirm(
    session: Session, enrollment: Enrollment, course: Course, per_day: dict[date, int]
) -> int:
    """Add a segment's seconds to the enrolment under the daily cap; returns what was granted."""
    days = {
        d.day: d
        for d in session.exec(
            select(DailyCredit).where(
                col(DailyCredit.enrollment_id) == enrollment.id,
                col(DailyCredit.day).in_(list(per_day)),
            )
        )
    }
    used = {day: row.seconds for day, row in days.items()}
    granted = ledger.grant(per_day, used, course.daily_cap_minutes * 60)
    for day, g in granted.items():
        if g:
            row = days.get(day) or DailyCredit(enrollment_id=enrollment.id, day=day, seconds=0)
            row.seconds += g
            session.add(row)
    total = sum(granted.values())
    enrollment.credited_seconds += total
    session.add(enrollment)
    return total


def _close_segment(
    session: Session,
    study: StudySession,
    enrollment: Enrollment,
    course: Course,
    *,
    at: datetime,
    status: SegmentStatus,
    closed_by: str,
    event_id: uuid.UUID | None = None,
) -> CreditSegment:
    per_day = _open_per_day(session, study)
    seconds = sum(per_day.values())
    if status is SegmentStatus.credited:
        seconds = _confirm(session, enrollment, course, per_day)
    seg = CreditSegment(
        session_id=study.id,
        enrollment_id=enrollment.id,
        started_at=study.segment_started_at,
        closed_at=at,
        seconds=seconds,
        status=status,
        closed_by=closed_by,
        attendance_event_id=event_id,
    )
    session.add(seg)
    study.segment_started_at = at
    study.open_seconds = 0
    session.add(study)
    session.flush()
    return seg


# ---------------------------------------------------------------- roll-call resolution

#: Called in the transaction of every roll-call that becomes ``missed`` (a late answer, a
#: heartbeat past the deadline, the sweep), after its audit entry: ``hook(session, rollcall,
#: enrollment, actor)``. Other packages subscribe (webhooks); this one never imports them.
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
    """Face check-in opens a study session; an active one elsewhere is ended (or 409)."""
    enrollment = _learner_enrollment(session, user, enrollment_id)
    course = _course_of(session, enrollment)
    actor = Actor.user(user.id)
    active = list(
        session.exec(
            select(StudySession).where(
                col(StudySession.user_id) == user.id, col(StudySession.state).in_(ACTIVE_STATES)
            )
        )
    )
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
        raise FaceMismatch().keeping_changes(
            attendance_event_id=str(event.id),
            outcome=event.outcome.value,
            reason_code=event.reason_code,
        )
    now = clock.now()
    for old in active:
        locked = session.get(StudySession, old.id, with_for_update=True)
        if locked is not None and locked.state in ACTIVE_STATES:
            _end(session, locked, reason="checkin_elsewhere", actor=actor, now=now)
    study = StudySession(
        enrollment_id=enrollment.id,
        user_id=user.id,
        state=SessionState.studying,
        checkin_event_id=event.id,
        started_at=now,
        segment_started_at=now,
        next_rollcall_at=next_rollcall_time(course, now),
    )
    session.add(study)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="study.session_started",
        subject=f"study_session:{study.id}",
        payload={
            "enrollment": str(enrollment.id),
            "course": str(course.id),
            "checkin_event": str(event.id),
            "ended_sessions": [str(s.id) for s in active],
        },
        institution_id=enrollment.institution_id,
    )
    return study, event


# ---------------------------------------------------------------- heartbeats
# A heartbeat is the one request every open page sends every interval, so it has a fast path:
# Core statements on the columns it needs instead of ORM loads. Nearly every heartbeat only
# credits the gap and stores its row; those that must resolve an overdue roll-call or offer a
# due one (a few per hour per session) take the ORM path below, which applies the same rules.

_SESSIONS = StudySession.__table__  # type: ignore[attr-defined]
_ENROLLMENTS = Enrollment.__table__  # type: ignore[attr-defined]
_COURSES = Course.__table__  # type: ignore[attr-defined]
_ROLLCALLS = RollCall.__table__  # type: ignore[attr-defined]
_HEARTBEATS = Heartbeat.__table__  # type: ignore[attr-defined]

#: The session row, locked (PostgreSQL; SQLite transactions here hold the write lock already):
#: concurrent heartbeats of one session queue here, so none is credited twice.
_LOCK_SESSION = (
    sa.select(
        _SESSIONS.c.user_id,
        _SESSIONS.c.enrollment_id,
        _SESSIONS.c.state,
        _SESSIONS.c.started_at,
        _SESSIONS.c.last_heartbeat_at,
        _SESSIONS.c.segment_started_at,
        _SESSIONS.c.open_seconds,
        _SESSIONS.c.next_rollcall_at,
    )
    .where(_SESSIONS.c.id == sa.bindparam("sid"))
    .with_for_update()
)
#: The rest, read after the lock is held: a separate statement, because a PostgreSQL statement
#: that waited for a row lock re-reads only the locked row, and would see the enrolment and the
#: roll-calls as they were before the heartbeat it waited for committed.
_HEARTBEAT_CONTEXT = (
    sa.select(
        _ENROLLMENTS.c.credited_seconds,
        _COURSES.c.heartbeat_interval_s,
        _ROLLCALLS.c.id,
        _ROLLCALLS.c.deadline,
    )
    .select_from(
        _ENROLLMENTS.join(_COURSES, _COURSES.c.id == _ENROLLMENTS.c.course_id).outerjoin(
            _ROLLCALLS,
            sa.and_(
                _ROLLCALLS.c.session_id == sa.bindparam("sid"),
                _ROLLCALLS.c.status == RollCallStatus.pending,
            ),
        )
    )
    .where(_ENROLLMENTS.c.id == sa.bindparam("eid"))
)
_INSERT_HEARTBEAT = sa.insert(_HEARTBEATS)
_UPDATE_SESSION = (
    sa.update(_SESSIONS)
    .where(_SESSIONS.c.id == sa.bindparam("sid"))
    .values(
        last_heartbeat_at=sa.bindparam("at", type_=_SESSIONS.c.last_heartbeat_at.type),
        open_seconds=sa.bindparam("open_seconds", type_=_SESSIONS.c.open_seconds.type),
    )
)


@dataclass(frozen=True)
class RollCallOffer:
    """A pending roll-call the page must show: answer it before the deadline."""

    id: uuid.UUID
    deadline: datetime


@dataclass(frozen=True)
class HeartbeatResult:
    session_id: uuid.UUID
    state: SessionState
    credited_seconds: int  # the enrolment's confirmed credit plus the open segment
    rollcall: RollCallOffer | None  # the pending roll-call, if any
    earned: int  # what this heartbeat earned


def heartbeat(
    session: Session,
    user: User,
    session_id: uuid.UUID,
    *,
    visible: bool,
    lesson_id: uuid.UUID | None = None,
) -> HeartbeatResult:
    """Record a heartbeat: credit the gap if studying and visible; offer a due roll-call.

    The session row lock serialises one session's heartbeats (and roll-call answers, the sweep,
    review decisions: all of them lock that row). A pending roll-call past its deadline is
    resolved as missed first; a due roll-call is offered (audited) after the heartbeat is stored.
    """
    conn = session.connection()
    row = conn.execute(_LOCK_SESSION, {"sid": session_id}).first()
    if row is None or row.user_id != user.id:
        raise SessionNotFound()
    if row.state is SessionState.ended:
        raise SessionEnded()
    now = clock.now()
    ctx = conn.execute(_HEARTBEAT_CONTEXT, {"sid": session_id, "eid": row.enrollment_id}).first()
    if ctx is None:  # pragma: no cover - foreign keys
        raise EnrollmentNotFound()
    pending = RollCallOffer(ctx.id, ctx.deadline) if ctx.id is not None else None
    studying = row.state is SessionState.studying
    if (pending is not None and now > pending.deadline) or (
        pending is None
        and studying
        and row.next_rollcall_at is not None
        and now >= row.next_rollcall_at
    ):
        return _heartbeat_with_rollcall(session, user, session_id, now, visible, lesson_id)
    last = max(row.segment_started_at, row.last_heartbeat_at or row.segment_started_at)
    at = _after(last, now)
    earned = 0
    if studying:
        prev = row.last_heartbeat_at or row.started_at
        earned = ledger.heartbeat_credit(prev, at, visible, ctx.heartbeat_interval_s)
    open_seconds = row.open_seconds + earned
    conn.execute(
        _INSERT_HEARTBEAT,
        {
            "id": uuid.uuid4(),
            "session_id": session_id,
            "at": at,
            "visible": visible,
            "lesson_id": lesson_id,
            "credited_seconds": earned,
        },
    )
    conn.execute(_UPDATE_SESSION, {"sid": session_id, "at": at, "open_seconds": open_seconds})
    # Written without a flush: tell app.db (release_read_lock) that this transaction wrote, and
    # make a copy of the session row this Session may hold reload instead of going stale.
    session.info["flushed"] = True
    loaded = session.identity_map.get(session.identity_key(StudySession, session_id))
    if loaded is not None:
        session.expire(loaded)
    return HeartbeatResult(
        session_id=session_id,
        state=row.state,
        credited_seconds=ctx.credited_seconds + open_seconds,
        rollcall=pending,
        earned=earned,
    )


def _heartbeat_with_rollcall(
    session: Session,
    user: User,
    session_id: uuid.UUID,
    now: datetime,
    visible: bool,
    lesson_id: uuid.UUID | None,
) -> HeartbeatResult:
    """The heartbeat through the ORM, when a roll-call is overdue (missed) or due (offered)."""
    study = _own_session(session, user, session_id)
    actor = Actor.user(user.id)
    rollcall = _pending_rollcall(session, study)
    if rollcall is not None and now > rollcall.deadline:
        _resolve_failure(
            session,
            study,
            rollcall,
            status=RollCallStatus.missed,
            at=_after(study.last_heartbeat_at, rollcall.deadline),
            actor=actor,
        )
        rollcall = None
    enrollment = session.get(Enrollment, study.enrollment_id)
    if enrollment is None:  # pragma: no cover - foreign key
        raise EnrollmentNotFound()
    course = _course_of(session, enrollment)
    last = max(study.segment_started_at, study.last_heartbeat_at or study.segment_started_at)
    at = _after(last, now)
    earned = 0
    if study.state is SessionState.studying:
        prev = study.last_heartbeat_at or study.started_at
        earned = ledger.heartbeat_credit(prev, at, visible, course.heartbeat_interval_s)
    session.add(
        Heartbeat(
            session_id=study.id,
            at=at,
            visible=visible,
            lesson_id=lesson_id,
            credited_seconds=earned,
        )
    )
    study.last_heartbeat_at = at
    study.open_seconds += earned
    if (
        rollcall is None
        and study.state is SessionState.studying
        and study.next_rollcall_at is not None
        and now >= study.next_rollcall_at
    ):
        rollcall = RollCall(
            session_id=study.id,
            enrollment_id=enrollment.id,
            user_id=user.id,
            due_at=study.next_rollcall_at,
            offered_at=now,
            deadline=now + timedelta(seconds=course.rollcall_response_window_s),
            status=RollCallStatus.pending,
        )
        session.add(rollcall)
        study.next_rollcall_at = None
        session.flush()
        audit.append(
            session,
            actor=Actor.system("rollcall"),
            action="rollcall.offered",
            subject=f"rollcall:{rollcall.id}",
            payload={
                "session": str(study.id),
                "due_at": audit.format_time(rollcall.due_at),
                "deadline": audit.format_time(rollcall.deadline),
            },
            institution_id=enrollment.institution_id,
        )
    session.add(study)
    session.flush()
    offer = None
    if rollcall is not None and rollcall.status is RollCallStatus.pending:
        offer = RollCallOffer(rollcall.id, rollcall.deadline)
    return HeartbeatResult(
        session_id=study.id,
        state=study.state,
        credited_seconds=enrollment.credited_seconds + study.open_seconds,
        rollcall=offer,
        earned=earned,
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


def _on_review_decided(
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
        seg.seconds = _confirm(session, enrollment, course, _segment_per_day(session, seg))
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
    refresh_completion(session, enrollment, course, actor)


if _on_review_decided not in attendance.review_decided_hooks:
    attendance.review_decided_hooks.append(_on_review_decided)


# ---------------------------------------------------------------- recomputation


@dataclass(frozen=True)
class LedgerCheck:
    stored_seconds: int
    recomputed: ledger.LedgerResult
    stored_rollcalls: tuple[int, int]

    @property
    def matches(self) -> bool:
        r = self.recomputed
        return (self.stored_seconds, self.stored_rollcalls) == (
            r.credited_seconds,
            (r.rollcalls_total, r.rollcalls_passed),
        )


def ledger_events(session: Session, enrollment: Enrollment) -> list[ledger.Event]:
    """The raw events of an enrolment, as the ledger replays them."""
    events: list[ledger.Event] = []
    studies = session.exec(
        select(StudySession).where(col(StudySession.enrollment_id) == enrollment.id)
    ).all()
    ids = [s.id for s in studies]
    for s in studies:
        sid = str(s.id)
        events.append(ledger.Event.make("start", s.started_at, sid))
        if s.ended_at is not None:
            events.append(ledger.Event.make("end", s.ended_at, sid))
    if not ids:
        return events
    for hb_session, at, visible in session.exec(
        select(Heartbeat.session_id, Heartbeat.at, Heartbeat.visible).where(
            col(Heartbeat.session_id).in_(ids)
        )
    ):
        events.append(ledger.Event.make("hb", at, str(hb_session), visible=visible))
    rollcalls = session.exec(select(RollCall).where(col(RollCall.session_id).in_(ids))).all()
    event_ids = [rc.attendance_event_id for rc in rollcalls if rc.attendance_event_id]
    verdicts = {
        e.id: e
        for e in session.exec(select(AttendanceEvent).where(col(AttendanceEvent.id).in_(event_ids)))
    }
    for rc in rollcalls:
        if rc.answered_at is None:
            continue
        sid = str(rc.session_id)
        ev = verdicts.get(rc.attendance_event_id) if rc.attendance_event_id else None
        if ev is not None and ev.outcome is Outcome.review:
            ref = str(ev.id)
            events.append(ledger.Event.make("hold", rc.answered_at, sid, ref=ref))
            if ev.reviewed_at is not None and ev.review_status is not None:
                events.append(
                    ledger.Event.make(
                        "decide",
                        ev.reviewed_at,
                        sid,
                        ref=ref,
                        approved=ev.review_status.value == "approved",
                    )
                )
        elif rc.status is RollCallStatus.passed:
            events.append(ledger.Event.make("pass", rc.answered_at, sid))
        elif rc.status is RollCallStatus.failed:
            events.append(ledger.Event.make("fail", rc.answered_at, sid))
        elif rc.status is RollCallStatus.missed:
            events.append(ledger.Event.make("miss", rc.answered_at, sid))
    return events


def check_ledger(session: Session, enrollment: Enrollment) -> LedgerCheck:
    """Recompute an enrolment's credit from its stored events and compare with the total."""
    course = _course_of(session, enrollment)
    result = ledger.replay(_policy(course), ledger_events(session, enrollment))
    return LedgerCheck(
        stored_seconds=enrollment.credited_seconds,
        recomputed=result,
        stored_rollcalls=(enrollment.rollcalls_total, enrollment.rollcalls_passed),
    )


# ---------------------------------------------------------------- ending and sweeping


def end_session(session: Session, user: User, session_id: uuid.UUID) -> StudySession:
    study = _own_session(session, user, session_id)
    if study.state is SessionState.ended:
        return study
    _end(session, study, reason="ended_by_learner", actor=Actor.user(user.id), now=clock.now())
    session.flush()
    return study


def sweep_missed_rollcalls(session: Session, *, now: datetime | None = None) -> int:
    """Mark roll-calls whose deadline passed with no answer as missed (a closed page sends no
    heartbeat). Runs periodically in the app and as ``skilltrace sweep``."""
    now = now or clock.now()
    due = session.exec(
        select(RollCall).where(
            col(RollCall.status) == RollCallStatus.pending, col(RollCall.deadline) < now
        )
    ).all()
    n = 0
    for rc in due:
        study = session.get(StudySession, rc.session_id, with_for_update=True)
        if study is None:
            continue
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
