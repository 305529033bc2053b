"""Heartbeats: the one request every open page sends every interval.

It has a fast path: Core statements on the columns it needs instead of ORM loads. Nearly every
heartbeat only credits the gap and stores its row; those that must resolve an overdue
roll-call or offer a due one (a few per hour per session) take the ORM path, which applies the
same rules through the same step functions (:func:`app.courses.ledger.heartbeat_step`, then
:func:`app.courses.ledger.playback_step` for the lesson the heartbeat names).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app import clock
from app.accounts.models import User
from app.accounts.tokencache import Caller
from app.audit import service as audit
from app.audit.service import Actor
from app.courses import ledger
from app.courses.credit import _course_of, _own_session
from app.courses.exceptions import (
    EnrollmentNotFound,
    LessonNotFound,
    SessionEnded,
    SessionNotFound,
)
from app.courses.heartbeat_sql import (
    _LESSON_CONTEXT,
    _OPEN_LESSON,
    _SET_ASIDE,
    CONTEXT,
    CONTEXT_WITH_LESSON,
    INSERT_HEARTBEAT,
    LOCK_SESSION,
    UPDATE_SESSION,
    WRITE_BOTH,
)
from app.courses.models import (
    Enrollment,
    Heartbeat,
    RollCall,
    RollCallStatus,
    SessionState,
    StudySession,
)
from app.courses.rollcall.resolution import _miss_past_deadline, _pending_rollcall
from app.prepared import first_rows


@dataclass(frozen=True)
class LessonTime:
    """The lesson a heartbeat named, after it: what the study page's lesson list shows live."""

    lesson_id: uuid.UUID
    watched_ms: int  # confirmed (app/courses/progress.py's LessonStatus.watched_ms)
    open_ms: int  # earned in the session's open segment: confirmed at the next roll-call
    required_ms: int

    @property
    def finished(self) -> bool:
        """Finished as completion judges it: on confirmed time only."""
        return self.watched_ms >= self.required_ms


@dataclass(frozen=True)
class _Playback:
    step: ledger.PlaybackStep
    reach_ms: int | None  # the lesson's furthest point after the heartbeat (videos)
    lesson: LessonTime | None = None


def _playback(
    conn: sa.Connection,
    *,
    session_id: uuid.UUID,
    enrollment_id: uuid.UUID,
    course_id: uuid.UUID,
    segment_started_at: datetime,
    lesson_id: uuid.UUID | None,
    position_ms: int | None,
    gap_ms: int,
) -> _Playback:
    """What the heartbeat earns for the lesson it names (ledger.playback_step), from the
    lesson, the enrolment's confirmed progress in it and the session's open segment."""
    if lesson_id is None:
        return _Playback(ledger.PlaybackStep(gap_ms, None), None)
    row = conn.execute(_LESSON_CONTEXT, {"lid": lesson_id, "eid": enrollment_id}).first()
    if row is None or row.course_id != course_id:
        raise LessonNotFound()
    done = conn.execute(
        _OPEN_LESSON, {"sid": session_id, "lid": lesson_id, "since": segment_started_at}
    ).one()
    return _played(
        lesson_id,
        kind=row.kind,
        duration_ms=row.duration_ms,
        minutes=row.minutes,
        confirmed_reach_ms=row.reach_ms,
        watched_ms=row.watched_ms,
        open_reach_ms=done.reach_ms,
        open_earned_ms=done.earned_ms,
        position_ms=position_ms,
        gap_ms=gap_ms,
    )


def _played(
    lesson_id: uuid.UUID,
    *,
    kind: str,
    duration_ms: int | None,
    minutes: int,
    confirmed_reach_ms: int | None,
    watched_ms: int | None,
    open_reach_ms: int | None,
    open_earned_ms: int,
    position_ms: int | None,
    gap_ms: int,
) -> _Playback:
    """The lesson's step (a video earns the newly watched span from the furthest point confirmed
    or reached in the open segment; a text lesson the gap) and its time after the heartbeat."""
    rule = ledger.LessonRule(video=kind == "video", duration_ms=duration_ms)
    need = minutes * 60_000
    required = min(need, duration_ms) if duration_ms else need

    def lesson(earned_ms: int) -> LessonTime:
        return LessonTime(lesson_id, watched_ms or 0, open_earned_ms + earned_ms, required)

    if not rule.video:
        return _Playback(ledger.PlaybackStep(gap_ms, None), None, lesson(gap_ms))
    reach = max(confirmed_reach_ms or 0, open_reach_ms or 0)
    step = ledger.playback_step(gap_ms=gap_ms, rule=rule, position_ms=position_ms, reach_ms=reach)
    return _Playback(
        step, step.reach_ms if step.reach_ms is not None else reach, lesson(step.earned_ms)
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
    credited_ms: int  # the enrolment's confirmed credit plus the open segment
    rollcall: RollCallOffer | None  # the pending roll-call, if any
    earned_ms: int  # what this heartbeat earned
    #: A video lesson's furthest watched point after this heartbeat (the player may seek up to
    #: it, not beyond); None for no lesson or a text lesson.
    lesson_reach_ms: int | None = None
    #: The study time the counter does not (yet) count, as the study page's notes say it
    #: (app/courses/progress.py's StudyTime): this session's open stretch, and the enrolment's
    #: time held for review and forfeited.
    open_ms: int = 0
    held_ms: int = 0
    forfeited_ms: int = 0
    #: The lesson the heartbeat named, after it (None without a lesson).
    lesson: LessonTime | None = None

    @property
    def credited_seconds(self) -> int:
        return self.credited_ms // 1000

    @property
    def earned(self) -> int:
        """Whole seconds this heartbeat earned."""
        return self.earned_ms // 1000


def heartbeat(
    session: Session,
    user: User | Caller,
    session_id: uuid.UUID,
    *,
    visible: bool,
    lesson_id: uuid.UUID | None = None,
    position_ms: int | None = None,
) -> HeartbeatResult:
    """Record a heartbeat: credit the gap (a video lesson: the newly watched span) if studying
    and visible; offer a due roll-call. ``position_ms`` is the video's playback position.
    ``user`` is the caller; only its id is read (the hot path passes the token cache's
    immutable :class:`Caller`, no ORM user).

    The session row lock serialises one session's heartbeats (and roll-call answers, the sweep,
    review decisions: all of them lock that row). A pending roll-call past its deadline is
    resolved as missed first; a due roll-call is offered (audited) after the heartbeat is stored.
    """
    conn = session.connection()
    postgres = conn.dialect.name == "postgresql"
    if lesson_id is None:
        read, params = CONTEXT, {"sid": session_id}
    else:
        read, params = CONTEXT_WITH_LESSON, {"sid": session_id, "lid": lesson_id}
    if postgres:  # the lock, then the read: one round trip (app.prepared.first_rows)
        locked, row = first_rows(conn, (LOCK_SESSION, {"sid": session_id}), (read, params))
        if locked is None:
            raise SessionNotFound()
    else:
        row = read.first(conn, params)
    if row is None or row.user_id != user.id:
        raise SessionNotFound()
    if row.state is SessionState.ended:
        raise SessionEnded()
    now = clock.now()
    pending = RollCallOffer(row.rollcall_id, row.deadline) if row.rollcall_id is not None else None
    studying = row.state is SessionState.studying
    if (pending is not None and now > pending.deadline) or (
        pending is None
        and studying
        and row.next_rollcall_at is not None
        and now >= row.next_rollcall_at
    ):
        return _heartbeat_with_rollcall(
            session, user, session_id, now, visible, lesson_id, position_ms
        )
    step = ledger.heartbeat_step(
        studying=studying,
        started_at=row.started_at,
        segment_started_at=row.segment_started_at,
        last_heartbeat_at=row.last_heartbeat_at,
        now=now,
        visible=visible,
        interval_s=row.heartbeat_interval_s,
    )
    play = _lesson_step(row, lesson_id, position_ms, step.earned_ms)
    earned = play.step.earned_ms
    open_ms = row.open_ms + earned
    values = {
        "hid": uuid.uuid4(),
        "sid": session_id,
        "at": step.at,
        "visible": visible,
        "lid": lesson_id,
        "earned_ms": earned,
        "position_ms": position_ms,
        "reach_ms": play.step.reach_ms,
        "open_ms": open_ms,
    }
    if postgres:
        WRITE_BOTH.execute(conn, values)
    else:
        INSERT_HEARTBEAT.execute(conn, values)
        UPDATE_SESSION.execute(conn, values)
    # Written without a flush (app.db.wrote() still sees it: SQLite counts the changed rows):
    # make a copy of the session row this Session may hold reload instead of going stale.
    loaded = session.identity_map.get(session.identity_key(StudySession, session_id))
    if loaded is not None:
        session.expire(loaded)
    return HeartbeatResult(
        session_id=session_id,
        state=row.state,
        credited_ms=row.credited_ms + open_ms,
        rollcall=pending,
        earned_ms=earned,
        lesson_reach_ms=play.reach_ms,
        open_ms=open_ms,
        held_ms=row.held_ms,
        forfeited_ms=row.forfeited_ms,
        lesson=play.lesson,
    )


def _lesson_step(
    row: Any, lesson_id: uuid.UUID | None, position_ms: int | None, gap_ms: int
) -> _Playback:
    """:func:`_playback` from the lesson columns the context statement read (``row``)."""
    if lesson_id is None:
        return _Playback(ledger.PlaybackStep(gap_ms, None), None)
    if row.lesson_course_id is None or row.lesson_course_id != row.course_id:
        raise LessonNotFound()
    return _played(
        lesson_id,
        kind=row.lesson_kind,
        duration_ms=row.lesson_duration_ms,
        minutes=row.lesson_minutes,
        confirmed_reach_ms=row.lesson_reach_ms,
        watched_ms=row.lesson_watched_ms,
        open_reach_ms=row.open_reach_ms,
        open_earned_ms=row.open_earned_ms,
        position_ms=position_ms,
        gap_ms=gap_ms,
    )


def _heartbeat_with_rollcall(
    session: Session,
    user: User | Caller,
    session_id: uuid.UUID,
    now: datetime,
    visible: bool,
    lesson_id: uuid.UUID | None,
    position_ms: int | None,
) -> HeartbeatResult:
    """The heartbeat through the ORM, when a roll-call is overdue (missed) or due (offered)."""
    study = _own_session(session, user, session_id)
    actor = Actor.user(user.id)
    rollcall = _pending_rollcall(session, study)
    if rollcall is not None and now > rollcall.deadline:
        _miss_past_deadline(session, study, rollcall, actor)
        rollcall = None
    enrollment = session.get(Enrollment, study.enrollment_id)
    if enrollment is None:  # pragma: no cover - foreign key
        raise EnrollmentNotFound()
    course = _course_of(session, enrollment)
    step = ledger.heartbeat_step(
        studying=study.state is SessionState.studying,
        started_at=study.started_at,
        segment_started_at=study.segment_started_at,
        last_heartbeat_at=study.last_heartbeat_at,
        now=now,
        visible=visible,
        interval_s=course.heartbeat_interval_s,
    )
    play = _playback(
        session.connection(),
        session_id=study.id,
        enrollment_id=enrollment.id,
        course_id=enrollment.course_id,
        segment_started_at=study.segment_started_at,
        lesson_id=lesson_id,
        position_ms=position_ms,
        gap_ms=step.earned_ms,
    )
    session.add(
        Heartbeat(
            session_id=study.id,
            at=step.at,
            visible=visible,
            lesson_id=lesson_id,
            credited_ms=play.step.earned_ms,
            position_ms=position_ms,
            reach_ms=play.step.reach_ms,
        )
    )
    study.last_heartbeat_at = step.at
    study.open_ms += play.step.earned_ms
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
    aside = session.connection().execute(_SET_ASIDE, {"eid": enrollment.id}).one()
    return HeartbeatResult(
        session_id=study.id,
        state=study.state,
        credited_ms=enrollment.credited_ms + study.open_ms,
        rollcall=offer,
        earned_ms=play.step.earned_ms,
        lesson_reach_ms=play.reach_ms,
        open_ms=study.open_ms,
        held_ms=aside.held_ms,
        forfeited_ms=aside.forfeited_ms,
        lesson=play.lesson,
    )
