"""Blended training (线上线下相结合): offline practical sessions and their check-in station.

Staff schedule an **offline session** for a class: a site address, a time window, seats and an
instructor (a staff member of the institution). At the site a **station** — the staff's tablet or
phone, signed in — checks learners in and out:

1. the learner opens the session on their own phone and shows a **QR token**
   (:func:`issue_token`): signed by the server (HMAC-SHA256 with a key of its own), bound to the
   learner and the session, valid for :data:`TOKEN_TTL_S` seconds and good for one scan (its id
   is kept in ``offline_token_uses``), so a photographed or forwarded code is worthless soon and
   once used;
2. the station scans it (:func:`open_station_check`), which opens a streamed face check of that
   learner (the same server-paced liveness protocol the learner pages use,
   app/attendance/checks.py) that **only this station** may feed and decide
   (``issued_to`` = :func:`app.attendance.checks.station_issuer`);
3. the station's camera streams the frames (:func:`station_frame`) and submits
   (:func:`decide_station_check`): the face service verifies them against the learner's template
   with purpose ``offline_checkin`` or ``offline_checkout``. A stranger's face fails there;
4. the first passed check records the check-in, the second the check-out.

**Credit (the offline ledger).** A learner's offline minutes at a session are the time between
the verified check-in and the verified check-out, both taken as their face decisions' times and
capped by the session's window (:func:`credited_ms`, a pure function). Each attendance row keeps
the two face events it rests on; :func:`offline_ledger` derives every enrolment's total again
from those events alone and compares it with the stored total (``enrollments.offline_ms``),
as ``skilltrace ledger-check`` does for online credit. A check-in without a check-out earns
nothing. Offline credit has no daily cap beyond the session's own window.

**Practical assessment.** The session's instructor marks each learner who checked in as passed or
failed, with a note (:func:`assess`); marking again replaces the result; every marking is audited.

**Completion.** A course with ``offline_required_minutes`` > 0 completes only once the learner
has that many offline minutes and the instructor's latest practical assessment of them is a
pass (a learner not yet assessed, or marked failed, waits; a later pass completes them). Decided
in app/courses/progress.py; completion once recorded is never taken back.

Who may do what: signed-in staff of the owning institution schedule, cancel and run stations
(API keys do not); staff, the institution's keys with ``courses:read`` and regulators read
sessions and their attendance; a learner sees the sessions of their own class and their own
attendance. A learner of another institution is refused at the station.

This module holds the sessions (scheduling, reading, the learner's view) and the credit rule;
the QR tokens and the station are app/courses/offline_station.py, the assessments and the
offline ledger app/courses/offline_records.py.

Functions take the request's session, ``flush()`` and never commit; every change appends its
audit entry in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Role, User
from app.accounts.principal import Principal, Scope
from app.audit import service as audit
from app.courses.exceptions import (
    ClassClosed,
    ClassNotFound,
    InvalidOfflineSession,
    OfflineSessionClosed,
    OfflineSessionNotFound,
)
from app.courses.models import (
    ClassStatus,
    Course,
    CourseClass,
    Enrollment,
    OfflineAttendance,
    OfflineSession,
    PracticalAssessment,
)
from app.courses.policy import _text, may_author
from app.errors import Forbidden

# ---------------------------------------------------------------- limits

TITLE_CHARS = 200
SITE_CHARS = 300
NOTE_CHARS = 500
CAPACITY = (1, 1000)
#: The longest one session may run.
MAX_HOURS = 12
#: The furthest ahead a session may be scheduled: a year past that is a typo (2206 for 2026), and
#: a time near year 9999 cannot even be turned into UTC (it was a 500).
MAX_AHEAD = timedelta(days=366)
#: Check-in opens this long before the session starts (credit still counts from the start).
EARLY_CHECKIN = timedelta(minutes=30)
#: Check-out stays possible this long after the session ends (credit stops at the end).
LATE_CHECKOUT = timedelta(hours=2)
#: A QR token's lifetime; the learner's page fetches a new one every :data:`TOKEN_REFRESH_S`.
TOKEN_TTL_S = 60
TOKEN_REFRESH_S = 20
_TOKEN_VERSION = "st1"  # noqa: S105 - a format tag, not a secret
CHECKIN = "checkin"
CHECKOUT = "checkout"


# ---------------------------------------------------------------- credit (pure)


def credited_ms(
    starts_at: datetime, ends_at: datetime, checkin_at: datetime, checkout_at: datetime | None
) -> int:
    """Offline milliseconds one attendance earns: verified check-in to verified check-out,
    within the session's window; nothing without a check-out."""
    if checkout_at is None:
        return 0
    start, end = max(checkin_at, starts_at), min(checkout_at, ends_at)
    return max(0, (end - start) // timedelta(milliseconds=1))


# ---------------------------------------------------------------- reading


def can_see_session(principal: Principal, s: OfflineSession) -> bool:
    """Staff and keys (``courses:read``) of its institution, regulators over it; learners see
    their own sessions through :func:`my_sessions`."""
    if principal.role is Role.learner:
        return False
    if principal.api_key is not None and Scope.courses_read.value not in principal.scopes:
        return False
    return principal.can_see_institution(s.institution_id)


def get_session(
    session: Session, principal: Principal, session_id: uuid.UUID, *, for_update: bool = False
) -> OfflineSession:
    s = session.get(
        OfflineSession, session_id, with_for_update=for_update, populate_existing=for_update
    )
    if s is None or not can_see_session(principal, s):
        raise OfflineSessionNotFound()
    return s


def _own_session(
    session: Session, principal: Principal, session_id: uuid.UUID, *, for_update: bool = False
) -> OfflineSession:
    """A session the caller runs: signed-in staff of its institution (else 403 / 404)."""
    if not may_author(principal):
        raise Forbidden("Only signed-in staff of the institution run its offline sessions.")
    s = get_session(session, principal, session_id, for_update=for_update)
    if s.institution_id != principal.institution_id:
        raise OfflineSessionNotFound()
    return s


@dataclass(frozen=True)
class SessionSummary:
    """A session with how many checked in and out."""

    offline: OfflineSession
    checked_in: int
    checked_out: int
    instructor_name: str | None = None
    class_code: str | None = None

    @property
    def seats_left(self) -> int:
        return max(self.offline.capacity - self.checked_in, 0)


def _summaries(session: Session, rows: list[OfflineSession]) -> list[SessionSummary]:
    if not rows:
        return []
    ids = [r.id for r in rows]
    counts = {
        sid: (int(n), int(out))
        for sid, n, out in session.exec(
            select(
                col(OfflineAttendance.session_id),
                func.count(),
                func.count(col(OfflineAttendance.checkout_at)),
            )
            .where(col(OfflineAttendance.session_id).in_(ids))
            .group_by(col(OfflineAttendance.session_id))
        )
    }
    users = {
        u.id: (u.real_name or u.username)
        for u in session.exec(select(User).where(col(User.id).in_({r.instructor_id for r in rows})))
    }
    codes = {
        k.id: k.code
        for k in session.exec(
            select(CourseClass).where(col(CourseClass.id).in_({r.class_id for r in rows}))
        )
    }
    return [
        SessionSummary(
            r, *counts.get(r.id, (0, 0)), users.get(r.instructor_id), codes.get(r.class_id)
        )
        for r in rows
    ]


def summary(session: Session, s: OfflineSession) -> SessionSummary:
    return _summaries(session, [s])[0]


def list_sessions(
    session: Session, principal: Principal, course_id: uuid.UUID
) -> list[SessionSummary]:
    """A course's offline sessions, earliest first (cancelled ones too, marked)."""
    course = session.get(Course, course_id)
    if (
        course is None
        or principal.role is Role.learner
        or not principal.can_see_institution(course.institution_id)
        or (principal.api_key is not None and Scope.courses_read.value not in principal.scopes)
    ):
        raise OfflineSessionNotFound("Course not found.")
    rows = list(
        session.exec(
            select(OfflineSession)
            .where(col(OfflineSession.course_id) == course.id)
            .order_by(col(OfflineSession.starts_at), col(OfflineSession.id))
        )
    )
    return _summaries(session, rows)


@dataclass(frozen=True)
class AttendanceLine:
    """One learner of a session's class: their attendance (if any) and assessment (if any)."""

    enrollment: Enrollment
    learner: User
    attendance: OfflineAttendance | None
    assessment: PracticalAssessment | None


def attendance_sheet(
    session: Session, principal: Principal, session_id: uuid.UUID
) -> tuple[OfflineSession, list[AttendanceLine]]:
    """Every learner on the session's class roster with their check-in, check-out, minutes and
    assessment, in enrolment order."""
    s = get_session(session, principal, session_id)
    rows = session.exec(
        select(Enrollment, User)
        .join(User, col(User.id) == col(Enrollment.user_id))
        .where(col(Enrollment.class_id) == s.class_id)
        .order_by(col(Enrollment.created_at), col(Enrollment.id))
    ).all()
    seen = {
        a.enrollment_id: a
        for a in session.exec(
            select(OfflineAttendance).where(col(OfflineAttendance.session_id) == s.id)
        )
    }
    marks = {
        m.enrollment_id: m
        for m in session.exec(
            select(PracticalAssessment).where(col(PracticalAssessment.session_id) == s.id)
        )
    }
    return s, [AttendanceLine(e, u, seen.get(e.id), marks.get(e.id)) for e, u in rows]


@dataclass(frozen=True)
class MySession:
    """An offline session of the learner's class, with what the learner did there."""

    offline: OfflineSession
    enrollment: Enrollment
    course_title: str
    attendance: OfflineAttendance | None
    assessment: PracticalAssessment | None

    def token_open(self, now: datetime) -> bool:
        """Whether the learner's QR works now (check-in or check-out may happen)."""
        return _station_open(self.offline, now, checkout=self.attendance is not None)


def my_sessions(session: Session, user: User) -> list[MySession]:
    """The offline sessions of the classes the learner is enrolled in, earliest first."""
    rows = session.exec(
        select(OfflineSession, Enrollment, Course)
        .join(Enrollment, col(Enrollment.class_id) == col(OfflineSession.class_id))
        .join(Course, col(Course.id) == col(OfflineSession.course_id))
        .where(col(Enrollment.user_id) == user.id)
        .order_by(col(OfflineSession.starts_at), col(OfflineSession.id))
    ).all()
    ids = [s.id for s, _, _ in rows]
    seen = {
        a.session_id: a
        for a in session.exec(
            select(OfflineAttendance).where(
                col(OfflineAttendance.session_id).in_(ids),
                col(OfflineAttendance.user_id) == user.id,
            )
        )
    }
    enrolments = [e.id for _, e, _ in rows]
    marks = {
        m.session_id: m
        for m in session.exec(
            select(PracticalAssessment).where(
                col(PracticalAssessment.session_id).in_(ids),
                col(PracticalAssessment.enrollment_id).in_(enrolments),
            )
        )
    }
    return [MySession(s, e, c.title, seen.get(s.id), marks.get(s.id)) for s, e, c in rows]


def _station_open(s: OfflineSession, now: datetime, *, checkout: bool) -> bool:
    if s.cancelled_at is not None:
        return False
    if checkout:
        return now <= s.ends_at + LATE_CHECKOUT
    return s.starts_at - EARLY_CHECKIN <= now < s.ends_at


# ---------------------------------------------------------------- scheduling


def _window(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidOfflineSession("Times need a UTC offset.", field="starts_at")
    if ends_at <= starts_at:
        raise InvalidOfflineSession("ends_at must be after starts_at.", field="ends_at")
    if ends_at - starts_at > timedelta(hours=MAX_HOURS):
        raise InvalidOfflineSession(f"A session runs at most {MAX_HOURS} hours.", field="ends_at")
    now = clock.now()
    if ends_at <= now:
        raise InvalidOfflineSession("The session must end in the future.", field="ends_at")
    if starts_at - now > MAX_AHEAD:
        raise InvalidOfflineSession(
            f"A session starts within {MAX_AHEAD.days} days from now.", field="starts_at"
        )


def _instructor(session: Session, institution_id: uuid.UUID, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None or user.role is not Role.staff or user.institution_id != institution_id:
        raise InvalidOfflineSession(
            "instructor_id must be a staff member of the course's institution.",
            field="instructor_id",
        )
    return user


def _payload(s: OfflineSession) -> dict[str, object]:
    return {
        "course": str(s.course_id),
        "class": str(s.class_id),
        "title": s.title,
        "site_address": s.site_address,
        "starts_at": audit.format_time(s.starts_at),
        "ends_at": audit.format_time(s.ends_at),
        "capacity": s.capacity,
        "instructor": str(s.instructor_id),
    }


def schedule_session(
    session: Session,
    principal: Principal,
    class_id: uuid.UUID,
    *,
    title: str,
    site_address: str,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    instructor_id: uuid.UUID,
) -> OfflineSession:
    """Schedule an offline session for a class of the caller's institution (not ended)."""
    if not may_author(principal) or principal.user is None:
        raise Forbidden("Only staff of the institution schedule its offline sessions.")
    klass = session.get(CourseClass, class_id)
    if klass is None or klass.institution_id != principal.institution_id:
        raise ClassNotFound()
    if klass.status is ClassStatus.closed:
        raise ClassClosed()
    low, high = CAPACITY
    if isinstance(capacity, bool) or not low <= capacity <= high:
        raise InvalidOfflineSession(f"capacity must be between {low} and {high}.", field="capacity")
    _window(starts_at, ends_at)
    _instructor(session, klass.institution_id, instructor_id)
    s = OfflineSession(
        course_id=klass.course_id,
        class_id=klass.id,
        institution_id=klass.institution_id,
        title=_text(title, "title", TITLE_CHARS, InvalidOfflineSession),
        site_address=_text(site_address, "site_address", SITE_CHARS, InvalidOfflineSession),
        starts_at=starts_at,
        ends_at=ends_at,
        capacity=capacity,
        instructor_id=instructor_id,
        created_by=principal.user.id,
        created_at=clock.now(),
    )
    session.add(s)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="offline.session_scheduled",
        subject=f"offline_session:{s.id}",
        payload=_payload(s),
        institution_id=s.institution_id,
    )
    return s


def cancel_session(
    session: Session, principal: Principal, session_id: uuid.UUID, *, reason: str
) -> OfflineSession:
    """Cancel a session nobody checked in to yet (credit already earned is never taken back)."""
    s = _own_session(session, principal, session_id, for_update=True)
    if s.cancelled_at is not None:
        return s
    note = _text(reason, "reason", NOTE_CHARS, InvalidOfflineSession)
    if summary(session, s).checked_in:
        raise OfflineSessionClosed("Learners have checked in: the session cannot be cancelled.")
    s.cancelled_at = clock.now()
    s.cancel_reason = note
    session.add(s)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="offline.session_cancelled",
        subject=f"offline_session:{s.id}",
        payload={"reason": note},
        institution_id=s.institution_id,
    )
    return s
