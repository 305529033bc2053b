"""The heartbeat's Core statements (app/courses/heartbeat.py): the session's lock, the one read
of everything the fast path decides on, and its writes; and the ORM path's extra reads.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.courses.models import (
    Course,
    CreditSegment,
    Enrollment,
    Heartbeat,
    Lesson,
    LessonProgress,
    RollCall,
    RollCallStatus,
    SegmentStatus,
    StudySession,
)
from app.prepared import Prepared

_SESSIONS = StudySession.__table__  # type: ignore[attr-defined]
_ENROLLMENTS = Enrollment.__table__  # type: ignore[attr-defined]
_COURSES = Course.__table__  # type: ignore[attr-defined]
_ROLLCALLS = RollCall.__table__  # type: ignore[attr-defined]
_HEARTBEATS = Heartbeat.__table__  # type: ignore[attr-defined]
_LESSONS = Lesson.__table__  # type: ignore[attr-defined]
_PROGRESS = LessonProgress.__table__  # type: ignore[attr-defined]
_SEGMENTS = CreditSegment.__table__  # type: ignore[attr-defined]

#: The session row's lock (PostgreSQL; SQLite transactions here hold the write lock from BEGIN,
#: so there the context below is read under it already): concurrent heartbeats of one session
#: queue here, so none is credited twice.
_LOCK_SESSION = (
    sa.select(_SESSIONS.c.id).where(_SESSIONS.c.id == sa.bindparam("sid")).with_for_update()
)


def _set_aside(status: SegmentStatus, enrollment_id: Any) -> Any:
    """The enrolment's closed segments of one status, in milliseconds (a scalar subquery)."""
    return (
        sa.select(sa.func.coalesce(sa.func.sum(_SEGMENTS.c.ms), 0))
        .where(_SEGMENTS.c.enrollment_id == enrollment_id, _SEGMENTS.c.status == status)
        .scalar_subquery()
    )


#: Everything the fast path decides on, in one statement read after the lock is held: the
#: session, its enrolment and course, a pending roll-call, the time set aside, and — when the
#: heartbeat names a lesson — the lesson, the enrolment's confirmed progress in it and what the
#: session's open segment did there. After the lock, because a PostgreSQL statement that waited
#: for a row lock re-reads only the locked row: it would see the enrolment and the roll-calls as
#: they were before the heartbeat it waited for committed.
_CONTEXT_COLUMNS = (
    _SESSIONS.c.user_id,
    _SESSIONS.c.enrollment_id,
    _SESSIONS.c.state,
    _SESSIONS.c.started_at,
    _SESSIONS.c.last_heartbeat_at,
    _SESSIONS.c.segment_started_at,
    _SESSIONS.c.open_ms,
    _SESSIONS.c.next_rollcall_at,
    _ENROLLMENTS.c.credited_ms,
    _ENROLLMENTS.c.course_id,
    _COURSES.c.heartbeat_interval_s,
    _ROLLCALLS.c.id.label("rollcall_id"),
    _ROLLCALLS.c.deadline,
    _set_aside(SegmentStatus.held, _ENROLLMENTS.c.id).label("held_ms"),
    _set_aside(SegmentStatus.forfeited, _ENROLLMENTS.c.id).label("forfeited_ms"),
)
_CONTEXT_FROM = (
    _SESSIONS.join(_ENROLLMENTS, _ENROLLMENTS.c.id == _SESSIONS.c.enrollment_id)
    .join(_COURSES, _COURSES.c.id == _ENROLLMENTS.c.course_id)
    .outerjoin(
        _ROLLCALLS,
        sa.and_(
            _ROLLCALLS.c.session_id == _SESSIONS.c.id,
            _ROLLCALLS.c.status == RollCallStatus.pending,
        ),
    )
)
_CONTEXT = (
    sa.select(*_CONTEXT_COLUMNS)
    .select_from(_CONTEXT_FROM)
    .where(_SESSIONS.c.id == sa.bindparam("sid"))
)
_HB = _HEARTBEATS.alias("open_heartbeats")
_IN_OPEN_SEGMENT = sa.and_(
    _HB.c.session_id == _SESSIONS.c.id,
    _HB.c.lesson_id == sa.bindparam("lid"),
    _HB.c.at > _SESSIONS.c.segment_started_at,
)
_CONTEXT_WITH_LESSON = (
    sa.select(
        *_CONTEXT_COLUMNS,
        _LESSONS.c.course_id.label("lesson_course_id"),
        _LESSONS.c.kind.label("lesson_kind"),
        _LESSONS.c.duration_ms.label("lesson_duration_ms"),
        _LESSONS.c.minutes.label("lesson_minutes"),
        _PROGRESS.c.reach_ms.label("lesson_reach_ms"),
        _PROGRESS.c.watched_ms.label("lesson_watched_ms"),
        sa.select(sa.func.max(_HB.c.reach_ms))
        .where(_IN_OPEN_SEGMENT)
        .scalar_subquery()
        .label("open_reach_ms"),
        sa.select(sa.func.coalesce(sa.func.sum(_HB.c.credited_ms), 0))
        .where(_IN_OPEN_SEGMENT)
        .scalar_subquery()
        .label("open_earned_ms"),
    )
    .select_from(
        _CONTEXT_FROM.outerjoin(_LESSONS, _LESSONS.c.id == sa.bindparam("lid")).outerjoin(
            _PROGRESS,
            sa.and_(
                _PROGRESS.c.lesson_id == _LESSONS.c.id,
                _PROGRESS.c.enrollment_id == _ENROLLMENTS.c.id,
            ),
        )
    )
    .where(_SESSIONS.c.id == sa.bindparam("sid"))
)
#: The lesson a heartbeat names, with the enrolment's confirmed furthest point in it.
_LESSON_CONTEXT = (
    sa.select(
        _LESSONS.c.course_id,
        _LESSONS.c.kind,
        _LESSONS.c.duration_ms,
        _LESSONS.c.minutes,
        _PROGRESS.c.reach_ms,
        _PROGRESS.c.watched_ms,
    )
    .select_from(
        _LESSONS.outerjoin(
            _PROGRESS,
            sa.and_(
                _PROGRESS.c.lesson_id == _LESSONS.c.id,
                _PROGRESS.c.enrollment_id == sa.bindparam("eid"),
            ),
        )
    )
    .where(_LESSONS.c.id == sa.bindparam("lid"))
)
#: What the session's open segment did in a lesson (not yet confirmed): the furthest point it
#: reached and the milliseconds it earned there.
_OPEN_LESSON = sa.select(
    sa.func.max(_HEARTBEATS.c.reach_ms).label("reach_ms"),
    sa.func.coalesce(sa.func.sum(_HEARTBEATS.c.credited_ms), 0).label("earned_ms"),
).where(
    _HEARTBEATS.c.session_id == sa.bindparam("sid"),
    _HEARTBEATS.c.lesson_id == sa.bindparam("lid"),
    _HEARTBEATS.c.at > sa.bindparam("since", type_=_HEARTBEATS.c.at.type),
)


#: The enrolment's study time set aside by roll-calls (held for a staff review, forfeited), for
#: the ORM path (the fast path reads it with its context, in the same statement).
_SET_ASIDE = sa.select(
    _set_aside(SegmentStatus.held, sa.bindparam("eid")).label("held_ms"),
    _set_aside(SegmentStatus.forfeited, sa.bindparam("eid")).label("forfeited_ms"),
)
_INSERT_HEARTBEAT = sa.insert(_HEARTBEATS).values(
    id=sa.bindparam("hid", type_=_HEARTBEATS.c.id.type),
    session_id=sa.bindparam("sid", type_=_HEARTBEATS.c.session_id.type),
    at=sa.bindparam("at", type_=_HEARTBEATS.c.at.type),
    visible=sa.bindparam("visible", type_=_HEARTBEATS.c.visible.type),
    lesson_id=sa.bindparam("lid", type_=_HEARTBEATS.c.lesson_id.type),
    credited_ms=sa.bindparam("earned_ms", type_=_HEARTBEATS.c.credited_ms.type),
    position_ms=sa.bindparam("position_ms", type_=_HEARTBEATS.c.position_ms.type),
    reach_ms=sa.bindparam("reach_ms", type_=_HEARTBEATS.c.reach_ms.type),
)
_UPDATE_SESSION = (
    sa.update(_SESSIONS)
    .where(_SESSIONS.c.id == sa.bindparam("sid", type_=_SESSIONS.c.id.type))
    .values(
        last_heartbeat_at=sa.bindparam("at", type_=_SESSIONS.c.last_heartbeat_at.type),
        open_ms=sa.bindparam("open_ms", type_=_SESSIONS.c.open_ms.type),
    )
)
#: PostgreSQL: the heartbeat's row and the session's update in one statement (one round trip).
_WRITE_BOTH = _UPDATE_SESSION.add_cte(_INSERT_HEARTBEAT.cte("new_heartbeat"))

#: The fast path's statements, run on every heartbeat: prepared (app/prepared.py), so each call
#: is the cursor's work and the type conversions, not Core's per-call compilation look-up.
LOCK_SESSION = Prepared(_LOCK_SESSION)
CONTEXT = Prepared(_CONTEXT)
CONTEXT_WITH_LESSON = Prepared(_CONTEXT_WITH_LESSON)
INSERT_HEARTBEAT = Prepared(_INSERT_HEARTBEAT)
UPDATE_SESSION = Prepared(_UPDATE_SESSION)
WRITE_BOTH = Prepared(_WRITE_BOTH)
