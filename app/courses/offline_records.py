"""What an offline session leaves behind (app/courses/offline.py): the instructor's practical
assessments, and the offline ledger — every enrolment's offline minutes derived again from the
attendance rows and their face events alone.

Functions take the request's session, ``flush()`` and never commit; every change appends its
audit entry in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlmodel import Session, col, select

from app import clock
from app.accounts.principal import Principal
from app.attendance.models import AttendanceEvent, Outcome, Purpose
from app.audit import service as audit
from app.courses.exceptions import (
    EnrollmentNotFound,
    InvalidOfflineSession,
    OfflineNotCheckedIn,
)
from app.courses.models import (
    Course,
    Enrollment,
    OfflineAttendance,
    OfflineSession,
    PracticalAssessment,
)
from app.courses.offline import NOTE_CHARS, _own_session, credited_ms
from app.courses.offline_station import _attendance
from app.courses.policy import _text
from app.courses.progress import refresh_completion
from app.errors import Forbidden

# ---------------------------------------------------------------- practical assessment


def assess(
    session: Session,
    principal: Principal,
    session_id: uuid.UUID,
    enrollment_id: uuid.UUID,
    *,
    passed: bool,
    note: str,
) -> PracticalAssessment:
    """The session's instructor marks a learner who checked in as passed or failed."""
    s = _own_session(session, principal, session_id)
    if principal.user is None or principal.user.id != s.instructor_id:
        raise Forbidden("Only the session's instructor marks its practical assessments.")
    enrollment = session.get(Enrollment, enrollment_id)
    if enrollment is None or enrollment.class_id != s.class_id:
        raise EnrollmentNotFound()
    if _attendance(session, s.id, enrollment.id) is None:
        raise OfflineNotCheckedIn()
    text = note.strip()
    if text:
        text = _text(text, "note", NOTE_CHARS, InvalidOfflineSession)
    mark = session.exec(
        select(PracticalAssessment)
        .where(
            col(PracticalAssessment.session_id) == s.id,
            col(PracticalAssessment.enrollment_id) == enrollment.id,
        )
        .with_for_update()
    ).first()
    now = clock.now()
    if mark is None:
        mark = PracticalAssessment(
            session_id=s.id,
            enrollment_id=enrollment.id,
            passed=passed,
            note=text,
            assessed_by=principal.user.id,
            assessed_at=now,
        )
    else:
        mark.passed, mark.note = passed, text
        mark.assessed_by, mark.assessed_at = principal.user.id, now
    session.add(mark)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="offline.assessed",
        subject=f"practical_assessment:{mark.id}",
        payload={
            "session": str(s.id),
            "enrollment": str(enrollment.id),
            "passed": passed,
            "note": text,
        },
        institution_id=s.institution_id,
    )
    # A pass may be what the learner still lacked (app/courses/progress.py).
    locked = session.get(Enrollment, enrollment.id, with_for_update=True, populate_existing=True)
    course = session.get(Course, enrollment.course_id)
    if locked is not None and course is not None:
        refresh_completion(session, locked, course, principal.actor)
    return mark


# ---------------------------------------------------------------- an enrolment's offline record


@dataclass(frozen=True)
class OfflineRecord:
    """One offline session a learner attended: the session, the check-in/check-out and its
    minutes, and the instructor's assessment if any (staff and regulator learner pages)."""

    offline: OfflineSession
    attendance: OfflineAttendance
    assessment: PracticalAssessment | None


def records_of(
    session: Session, enrollment_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[OfflineRecord]]:
    """Per enrolment, the offline sessions attended, earliest first. The caller has checked
    that its reader may see these enrolments."""
    if not enrollment_ids:
        return {}
    rows = session.exec(
        select(OfflineAttendance, OfflineSession, PracticalAssessment)
        .join(OfflineSession, col(OfflineSession.id) == col(OfflineAttendance.session_id))
        .join(
            PracticalAssessment,
            (col(PracticalAssessment.session_id) == col(OfflineAttendance.session_id))
            & (col(PracticalAssessment.enrollment_id) == col(OfflineAttendance.enrollment_id)),
            isouter=True,
        )
        .where(col(OfflineAttendance.enrollment_id).in_(enrollment_ids))
        .order_by(col(OfflineSession.starts_at), col(OfflineAttendance.checkin_at))
    ).all()
    out: dict[uuid.UUID, list[OfflineRecord]] = {}
    for a, s, mark in rows:
        out.setdefault(a.enrollment_id, []).append(OfflineRecord(s, a, mark))
    return out


# ---------------------------------------------------------------- the offline ledger


@dataclass(frozen=True)
class OfflineLedger:
    stored_ms: int
    recomputed_ms: int
    #: Per attendance row: (stored, recomputed) where they differ.
    mismatched_rows: list[uuid.UUID]

    @property
    def matches(self) -> bool:
        return self.stored_ms == self.recomputed_ms and not self.mismatched_rows


def offline_ledger(session: Session, enrollment: Enrollment) -> OfflineLedger:
    """Derive the enrolment's offline credit again from the raw events alone: each attendance's
    session window and the times of its passed check-in and check-out face events."""
    rows = session.exec(
        select(OfflineAttendance, OfflineSession)
        .join(OfflineSession, col(OfflineSession.id) == col(OfflineAttendance.session_id))
        .where(col(OfflineAttendance.enrollment_id) == enrollment.id)
    ).all()
    event_ids = {a.checkin_event_id for a, _ in rows} | {
        a.checkout_event_id for a, _ in rows if a.checkout_event_id is not None
    }
    events = {
        e.id: e
        for e in session.exec(select(AttendanceEvent).where(col(AttendanceEvent.id).in_(event_ids)))
    }
    total, wrong = 0, []
    for a, s in rows:
        cin = events.get(a.checkin_event_id)
        cout = events.get(a.checkout_event_id) if a.checkout_event_id else None
        ok_in = (
            cin is not None
            and cin.outcome is Outcome.passed
            and cin.purpose is Purpose.offline_checkin
            and cin.user_id == a.user_id
        )
        ok_out = (
            cout is not None
            and cout.outcome is Outcome.passed
            and cout.purpose is Purpose.offline_checkout
            and cout.user_id == a.user_id
        )
        ms = (
            credited_ms(s.starts_at, s.ends_at, cin.created_at, cout.created_at)
            if ok_in and ok_out and cin is not None and cout is not None
            else 0
        )
        if ms != a.credited_ms:
            wrong.append(a.id)
        total += ms
    return OfflineLedger(enrollment.offline_ms, total, wrong)
