"""Credit: the open segment of a study session, its confirmation under the daily cap, and the
recomputation of an enrolment's credit from its stored events.

The same rules as :mod:`app.courses.ledger` (read its docstring), applied one event at a time.
Times are made strictly increasing within a session (a resolution after the last heartbeat, a
heartbeat after the last resolution) so the replay orders events exactly as they happened.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, select

from app.accounts.models import User
from app.attendance.models import AttendanceEvent, Outcome
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
    RollCall,
    RollCallStatus,
    SegmentStatus,
    SessionState,
    StudySession,
)

ACTIVE_STATES = (SessionState.studying, SessionState.paused, SessionState.review)


def _policy(course: Course) -> ledger.Policy:
    return ledger.Policy(
        heartbeat_interval_s=course.heartbeat_interval_s,
        daily_cap_s=course.daily_cap_minutes * 60,
        strict=course.credit_policy.value == "strict",
    )


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


_after = ledger.after


# ---------------------------------------------------------------- credit


def _open_per_day(session: Session, study: StudySession) -> dict[date, int]:
    """Per-day split of the open segment: the session's heartbeats since it opened."""
    rows = session.exec(
        select(Heartbeat.at, Heartbeat.credited_ms).where(
            col(Heartbeat.session_id) == study.id,
            col(Heartbeat.at) > study.segment_started_at,
            col(Heartbeat.credited_ms) > 0,
        )
    ).all()
    per_day: dict[date, int] = defaultdict(int)
    for at, ms in rows:
        per_day[ledger.day_of(at)] += ms
    return dict(per_day)


def _segment_per_day(session: Session, seg: CreditSegment) -> dict[date, int]:
    rows = session.exec(
        select(Heartbeat.at, Heartbeat.credited_ms).where(
            col(Heartbeat.session_id) == seg.session_id,
            col(Heartbeat.at) > seg.started_at,
            col(Heartbeat.at) <= seg.closed_at,
            col(Heartbeat.credited_ms) > 0,
        )
    ).all()
    per_day: dict[date, int] = defaultdict(int)
    for at, ms in rows:
        per_day[ledger.day_of(at)] += ms
    return dict(per_day)


def _confirm(
    session: Session, enrollment: Enrollment, course: Course, per_day: dict[date, int]
) -> int:
    """Add a segment's milliseconds to the enrolment under the daily cap; returns what was
    granted."""
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
    granted = ledger.grant(per_day, used, _policy(course).daily_cap_ms)
    for day, g in granted.items():
        if g:
            row = days.get(day) or DailyCredit(enrollment_id=enrollment.id, day=day, ms=0)
            row.ms += g
            session.add(row)
    total = sum(granted.values())
    enrollment.credited_ms += total
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
    ms = sum(per_day.values())
    if status is SegmentStatus.credited:
        ms = _confirm(session, enrollment, course, per_day)
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

    @property
    def stored_seconds(self) -> int:
        return self.stored_ms // 1000

    @property
    def matches(self) -> bool:
        """Stored and recomputed agree to the millisecond."""
        r = self.recomputed
        return (self.stored_ms, self.stored_rollcalls) == (
            r.credited_ms,
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
        stored_ms=enrollment.credited_ms,
        recomputed=result,
        stored_rollcalls=(enrollment.rollcalls_total, enrollment.rollcalls_passed),
    )
