"""Credit: the open segment of a study session, its confirmation under the daily cap, and the
recomputation of an enrolment's credit from its stored events.

The same rules as :mod:`app.courses.ledger` (read its docstring), applied one event at a time.
Times are made strictly increasing within a session (a resolution after the last heartbeat, a
heartbeat after the last resolution) so the replay orders events exactly as they happened.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.accounts.tokencache import Caller
from app.attendance.models import AttendanceEvent, Outcome
from app.config import get_settings
from app.courses import ledger
from app.courses.exceptions import (
    EnrollmentNotFound,
    SessionNotFound,
)
from app.courses.models import (
    Course,
    CreditSegment,
    DailyCredit,
    Enrollment,
    Heartbeat,
    LearnerDailyCredit,
    Lesson,
    LessonProgress,
    RollCall,
    RollCallStatus,
    SegmentStatus,
    SessionState,
    StudySession,
)

ACTIVE_STATES = (SessionState.studying, SessionState.paused, SessionState.review)


def _policy(course: Course, lessons: dict[str, ledger.LessonRule] | None = None) -> ledger.Policy:
    return ledger.Policy(
        heartbeat_interval_s=course.heartbeat_interval_s,
        daily_cap_s=course.daily_cap_minutes * 60,
        strict=course.credit_policy.value == "strict",
        lessons=lessons or {},
    )


def lesson_rule(lesson: Lesson) -> ledger.LessonRule:
    """What the ledger needs of a lesson (a video lesson's credit follows its playback)."""
    return ledger.LessonRule(video=lesson.kind.value == "video", duration_ms=lesson.duration_ms)


def learner_cap_ms() -> int:
    return get_settings().learner_daily_cap_minutes * 60_000


def _own_session(session: Session, user: User | Caller, session_id: uuid.UUID) -> StudySession:
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


_after = ledger.after


# ---------------------------------------------------------------- credit


@dataclass
class SegmentCredit:
    """What a segment's heartbeats earned: per Shanghai day, per lesson, and each video
    lesson's furthest point."""

    per_day: dict[date, int]
    lesson_ms: dict[uuid.UUID, int]
    reach: dict[uuid.UUID, int]

    @property
    def ms(self) -> int:
        return sum(self.per_day.values())


def _credit_of(session: Session, *where: sa.ColumnElement[bool]) -> SegmentCredit:
    rows = session.exec(
        select(Heartbeat.at, Heartbeat.credited_ms, Heartbeat.lesson_id, Heartbeat.reach_ms).where(
            *where, col(Heartbeat.credited_ms) > 0
        )
    ).all()
    per_day: dict[date, int] = defaultdict(int)
    lesson_ms: dict[uuid.UUID, int] = defaultdict(int)
    reach: dict[uuid.UUID, int] = {}
    for at, ms, lesson, reach_ms in rows:
        per_day[ledger.day_of(at)] += ms
        if lesson is not None:
            lesson_ms[lesson] += ms
            if reach_ms is not None:
                reach[lesson] = max(reach.get(lesson, 0), reach_ms)
    return SegmentCredit(dict(per_day), dict(lesson_ms), reach)


def _open_credit(session: Session, study: StudySession) -> SegmentCredit:
    """The open segment: the session's heartbeats since it opened."""
    return _credit_of(
        session,
        col(Heartbeat.session_id) == study.id,
        col(Heartbeat.at) > study.segment_started_at,
    )


def _segment_credit(session: Session, seg: CreditSegment) -> SegmentCredit:
    return _credit_of(
        session,
        col(Heartbeat.session_id) == seg.session_id,
        col(Heartbeat.at) > seg.started_at,
        col(Heartbeat.at) <= seg.closed_at,
    )


def _learner_days(session: Session, user_id: uuid.UUID, days: list[date]) -> dict[date, int]:
    """The learner's confirmed credit on these days, the rows locked (created if missing, so
    two confirmations of one learner's credit queue here on PostgreSQL too)."""
    table = LearnerDailyCredit.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [{"user_id": user_id, "day": d, "ms": 0} for d in days]
    session.execute(insert(table).values(rows).on_conflict_do_nothing())
    locked = session.execute(
        sa.select(table.c.day, table.c.ms)
        .where(table.c.user_id == user_id, table.c.day.in_(days))
        .with_for_update()
    )
    return {row.day: row.ms for row in locked}


def _confirm(
    session: Session, enrollment: Enrollment, course: Course, credit: SegmentCredit
) -> int:
    """Add a segment's milliseconds to the enrolment under the daily caps (the course's and the
    learner's across enrolments) and its lessons' progress; returns what was granted."""
    per_day = {d: ms for d, ms in credit.per_day.items() if ms}
    total = 0
    if per_day:
        days = {
            d.day: d
            for d in session.exec(
                select(DailyCredit).where(
                    col(DailyCredit.enrollment_id) == enrollment.id,
                    col(DailyCredit.day).in_(list(per_day)),
                )
            )
        }
        used = {day: row.ms for day, row in days.items()}
        learner_used = _learner_days(session, enrollment.user_id, list(per_day))
        granted = ledger.grant(
            per_day, used, _policy(course).daily_cap_ms, learner_used, learner_cap_ms()
        )
        table = LearnerDailyCredit.__table__  # type: ignore[attr-defined]
        for day, g in granted.items():
            if g:
                row = days.get(day) or DailyCredit(enrollment_id=enrollment.id, day=day, ms=0)
                row.ms += g
                session.add(row)
                session.execute(
                    sa.update(table)
                    .where(table.c.user_id == enrollment.user_id, table.c.day == day)
                    .values(ms=table.c.ms + g)
                )
        total = sum(granted.values())
        enrollment.credited_ms += total
        session.add(enrollment)
    touched = set(credit.lesson_ms) | set(credit.reach)
    if touched:  # lessons of this course only (older pages sent any lesson id)
        touched &= set(
            session.exec(
                select(Lesson.id).where(
                    col(Lesson.course_id) == course.id, col(Lesson.id).in_(list(touched))
                )
            ).all()
        )
    for lesson_id in touched:
        progress = session.get(
            LessonProgress, (enrollment.id, lesson_id), with_for_update=True
        ) or LessonProgress(enrollment_id=enrollment.id, lesson_id=lesson_id)
        progress.watched_ms += credit.lesson_ms.get(lesson_id, 0)
        progress.reach_ms = max(progress.reach_ms, credit.reach.get(lesson_id, 0))
        session.add(progress)
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
    credit = _open_credit(session, study)
    ms = credit.ms
    if status is SegmentStatus.credited:
        ms = _confirm(session, enrollment, course, credit)
    seg = CreditSegment(
        session_id=study.id,
        enrollment_id=enrollment.id,
        started_at=study.segment_started_at,
        closed_at=at,
        ms=ms,
        status=status,
        closed_by=closed_by,
        attendance_event_id=event_id,
    )
    session.add(seg)
    study.segment_started_at = at
    study.open_ms = 0
    session.add(study)
    session.flush()
    return seg


# ---------------------------------------------------------------- recomputation


@dataclass(frozen=True)
class LedgerCheck:
    stored_ms: int
    recomputed: ledger.LedgerResult
    stored_rollcalls: tuple[int, int]
    #: Per lesson id: (watched ms, furthest point ms) as stored in lesson_progress.
    stored_lessons: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def stored_seconds(self) -> int:
        return self.stored_ms // 1000

    @property
    def recomputed_lessons(self) -> dict[str, tuple[int, int]]:
        r = self.recomputed
        return {
            lesson: (r.lesson_ms.get(lesson, 0), r.lesson_reach_ms.get(lesson, 0))
            for lesson in set(r.lesson_ms) | set(r.lesson_reach_ms)
        }

    @property
    def matches(self) -> bool:
        """Stored and recomputed agree to the millisecond (credit, roll-calls, lessons)."""
        r = self.recomputed
        stored_lessons = {k: v for k, v in self.stored_lessons.items() if v != (0, 0)}
        return (self.stored_ms, self.stored_rollcalls, stored_lessons) == (
            r.credited_ms,
            (r.rollcalls_total, r.rollcalls_passed),
            self.recomputed_lessons,
        )


def ledger_events(session: Session, enrollment: Enrollment) -> list[ledger.Event]:
    """The raw events of an enrolment, as the ledger replays them (tagged with the enrolment)."""
    eid = str(enrollment.id)
    events: list[ledger.Event] = []
    studies = session.exec(
        select(StudySession).where(col(StudySession.enrollment_id) == enrollment.id)
    ).all()
    ids = [s.id for s in studies]
    for s in studies:
        sid = str(s.id)
        events.append(ledger.Event.make("start", s.started_at, sid, enrollment=eid))
        if s.ended_at is not None:
            events.append(ledger.Event.make("end", s.ended_at, sid, enrollment=eid))
    if not ids:
        return events
    for hb_session, at, visible, lesson, position in session.execute(
        sa.select(
            col(Heartbeat.session_id),
            col(Heartbeat.at),
            col(Heartbeat.visible),
            col(Heartbeat.lesson_id),
            col(Heartbeat.position_ms),
        ).where(col(Heartbeat.session_id).in_(ids))
    ):
        events.append(
            ledger.Event.make(
                "hb",
                at,
                str(hb_session),
                visible=visible,
                enrollment=eid,
                lesson=str(lesson) if lesson else "",
                position_ms=position,
            )
        )
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
        # In review: a check in the uncertain band, or one staff were asked to review after it
        # failed on liveness alone (app/courses/rollcall.py).
        if ev is not None and (ev.outcome is Outcome.review or ev.review_status is not None):
            ref = str(ev.id)
            events.append(ledger.Event.make("hold", rc.answered_at, sid, ref=ref, enrollment=eid))
            if ev.reviewed_at is not None and ev.review_status is not None:
                events.append(
                    ledger.Event.make(
                        "decide",
                        ev.reviewed_at,
                        sid,
                        ref=ref,
                        approved=ev.review_status.value == "approved",
                        enrollment=eid,
                    )
                )
        elif rc.status is RollCallStatus.passed:
            events.append(ledger.Event.make("pass", rc.answered_at, sid, enrollment=eid))
        elif rc.status in (RollCallStatus.failed, RollCallStatus.missed):
            kind: ledger.EventKind = "fail" if rc.status is RollCallStatus.failed else "miss"
            ref = str(rc.id)
            events.append(ledger.Event.make(kind, rc.answered_at, sid, ref=ref, enrollment=eid))
            if rc.excused_at is not None:
                events.append(
                    ledger.Event.make("excuse", rc.excused_at, sid, ref=ref, enrollment=eid)
                )
    return events


def ledger_policy(session: Session, course: Course) -> ledger.Policy:
    """The course's credit rules, with its lessons."""
    lessons = session.exec(select(Lesson).where(col(Lesson.course_id) == course.id)).all()
    return _policy(course, {str(lesson.id): lesson_rule(lesson) for lesson in lessons})


def check_ledger(session: Session, enrollment: Enrollment) -> LedgerCheck:
    """Recompute an enrolment's credit from stored events and compare with the stored totals.

    The learner's daily cap is shared by all their enrolments, so the replay covers them all."""
    enrollments = session.exec(
        select(Enrollment).where(col(Enrollment.user_id) == enrollment.user_id)
    ).all()
    policies: dict[str, ledger.Policy] = {}
    events: list[ledger.Event] = []
    for e in enrollments:
        policies[str(e.id)] = ledger_policy(session, _course_of(session, e))
        events += ledger_events(session, e)
    results = ledger.replay_learner(policies.__getitem__, events, learner_cap_ms())
    stored = session.exec(
        select(LessonProgress).where(col(LessonProgress.enrollment_id) == enrollment.id)
    ).all()
    return LedgerCheck(
        stored_ms=enrollment.credited_ms,
        recomputed=results.get(str(enrollment.id), ledger.LedgerResult()),
        stored_rollcalls=(enrollment.rollcalls_total, enrollment.rollcalls_passed),
        stored_lessons={str(p.lesson_id): (p.watched_ms, p.reach_ms) for p in stored},
    )
