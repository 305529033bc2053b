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
has that many offline minutes (app/courses/progress.py).

Who may do what: signed-in staff of the owning institution schedule, cancel and run stations
(API keys do not); staff, the institution's keys with ``courses:read`` and regulators read
sessions and their attendance; a learner sees the sessions of their own class and their own
attendance. A learner of another institution is refused at the station.

Functions take the request's session, ``flush()`` and never commit; every change appends its
audit entry in the same transaction.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Role, User
from app.accounts.principal import Principal, Scope
from app.attendance import checks
from app.attendance import service as attendance
from app.attendance.checks import FrameAck
from app.attendance.exceptions import ChallengeNotFound
from app.attendance.models import AttendanceEvent, FaceChallenge, Outcome, Purpose
from app.audit import service as audit
from app.courses.exceptions import (
    ClassClosed,
    ClassNotFound,
    EnrollmentNotFound,
    InvalidOfflineSession,
    OfflineAlreadyDone,
    OfflineNotCheckedIn,
    OfflineNotOnRoster,
    OfflineQrNotFound,
    OfflineSessionClosed,
    OfflineSessionFull,
    OfflineSessionNotFound,
    OfflineTokenExpired,
    OfflineTokenInvalid,
    OfflineTokenUsed,
)
from app.courses.models import (
    ClassStatus,
    Course,
    CourseClass,
    Enrollment,
    OfflineAttendance,
    OfflineSession,
    OfflineTokenUse,
    PracticalAssessment,
)
from app.courses.policy import _text, may_author
from app.courses.progress import refresh_completion
from app.crypto import derive_key
from app.errors import Forbidden

# ---------------------------------------------------------------- limits

TITLE_CHARS = 200
SITE_CHARS = 300
NOTE_CHARS = 500
CAPACITY = (1, 1000)
#: The longest one session may run.
MAX_HOURS = 12
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


# ---------------------------------------------------------------- QR tokens


@dataclass(frozen=True)
class QrToken:
    token: str
    expires_at: datetime
    refresh_in_s: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(body: str) -> str:
    key = derive_key("offline-station-qr")
    return _b64(hmac.new(key, f"{_TOKEN_VERSION}.{body}".encode(), hashlib.sha256).digest())


def make_token(session_id: uuid.UUID, user_id: uuid.UUID, expires_at: datetime) -> str:
    """``st1.<payload>.<mac>``: the session, the learner, a one-time id and the expiry."""
    payload = {
        "s": str(session_id),
        "u": str(user_id),
        "j": secrets.token_hex(16),
        "e": int(expires_at.timestamp()),
    }
    body = _b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{_TOKEN_VERSION}.{body}.{_mac(body)}"


@dataclass(frozen=True)
class _Claims:
    session_id: uuid.UUID
    user_id: uuid.UUID
    jti: str
    expires: int


def _read_token(token: str) -> _Claims:
    """The token's claims if the server signed it; its expiry is checked by the caller."""
    parts = token.strip().split(".")
    if len(parts) != 3 or parts[0] != _TOKEN_VERSION or len(token) > 400:
        raise OfflineTokenInvalid("Not a station QR code.")
    body, mac = parts[1], parts[2]
    if not hmac.compare_digest(mac, _mac(body)):
        raise OfflineTokenInvalid("The QR code's signature does not verify.")
    try:
        raw = json.loads(_unb64(body))
        return _Claims(uuid.UUID(raw["s"]), uuid.UUID(raw["u"]), str(raw["j"]), int(raw["e"]))
    except (ValueError, KeyError, TypeError, binascii.Error):  # pragma: no cover - signed by us
        raise OfflineTokenInvalid("The QR code cannot be read.") from None


def token_in_picture(data: bytes, *, max_bytes: int) -> str:
    """The station QR token in a camera picture (JPEG/PNG), read with OpenCV's QR detector —
    for stations whose browser cannot read QR codes itself. The picture passes the face frames'
    checks first (size, signature, declared pixels); no QR code, or one that is not a station
    token: 422 ``offline_qr_not_found``."""
    import cv2

    from app.attendance.face import DecodeLimits, decode_image

    rgb = decode_image(data, DecodeLimits(max_bytes=max_bytes, max_decode_side=1280))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    text, _points, _code = cv2.QRCodeDetector().detectAndDecode(grey)
    if not text or not text.startswith(f"{_TOKEN_VERSION}."):
        raise OfflineQrNotFound()
    return str(text)


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


def issue_token(session: Session, user: User, session_id: uuid.UUID) -> QrToken:
    """A fresh QR token for the learner at one of their class's sessions, while its station
    takes check-ins or check-outs (else 409 ``offline_session_closed``)."""
    mine = next((m for m in my_sessions(session, user) if m.offline.id == session_id), None)
    if mine is None or mine.offline.institution_id != user.institution_id:
        raise OfflineSessionNotFound()
    now = clock.now()
    if mine.attendance is not None and mine.attendance.checkout_at is not None:
        raise OfflineAlreadyDone()
    if not mine.token_open(now):
        raise OfflineSessionClosed()
    expires = now + timedelta(seconds=TOKEN_TTL_S)
    return QrToken(make_token(session_id, user.id, expires), expires, TOKEN_REFRESH_S)


# ---------------------------------------------------------------- scheduling


def _window(starts_at: datetime, ends_at: datetime) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidOfflineSession("Times need a UTC offset.", field="starts_at")
    if ends_at <= starts_at:
        raise InvalidOfflineSession("ends_at must be after starts_at.", field="ends_at")
    if ends_at - starts_at > timedelta(hours=MAX_HOURS):
        raise InvalidOfflineSession(f"A session runs at most {MAX_HOURS} hours.", field="ends_at")
    if ends_at <= clock.now():
        raise InvalidOfflineSession("The session must end in the future.", field="ends_at")


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


# ---------------------------------------------------------------- the station


@dataclass(frozen=True)
class StationCheck:
    """A face check the station opened for one learner: check-in or check-out."""

    check: FaceChallenge
    kind: str
    learner: User
    enrollment: Enrollment


def _attendance(
    session: Session, session_id: uuid.UUID, enrollment_id: uuid.UUID, *, lock: bool = False
) -> OfflineAttendance | None:
    stmt = select(OfflineAttendance).where(
        col(OfflineAttendance.session_id) == session_id,
        col(OfflineAttendance.enrollment_id) == enrollment_id,
    )
    if lock:
        stmt = stmt.with_for_update()
    return session.exec(stmt.execution_options(populate_existing=True)).first()


def _roster_enrollment(session: Session, s: OfflineSession, learner: User) -> Enrollment:
    """The learner's enrolment in the session's class; a learner of another institution or
    not on the class roster is refused (403 ``offline_not_on_roster``)."""
    if learner.role is not Role.learner or learner.institution_id != s.institution_id:
        raise OfflineNotOnRoster()
    enrollment = session.exec(
        select(Enrollment).where(
            col(Enrollment.class_id) == s.class_id, col(Enrollment.user_id) == learner.id
        )
    ).first()
    if enrollment is None or enrollment.institution_id != s.institution_id:
        raise OfflineNotOnRoster()
    return enrollment


def _kind_now(session: Session, s: OfflineSession, enrollment: Enrollment) -> str:
    """Check-in or check-out, by what the learner did at this session so far."""
    done = _attendance(session, s.id, enrollment.id)
    if done is None:
        return CHECKIN
    if done.checkout_at is None:
        return CHECKOUT
    raise OfflineAlreadyDone()


def _require_open(session: Session, s: OfflineSession, kind: str) -> None:
    now = clock.now()
    if not _station_open(s, now, checkout=kind == CHECKOUT):
        raise OfflineSessionClosed()
    if kind == CHECKIN and summary(session, s).checked_in >= s.capacity:
        raise OfflineSessionFull()


def open_station_check(
    session: Session, principal: Principal, session_id: uuid.UUID, token: str
) -> StationCheck:
    """The station scanned a learner's QR: check the token (signature, this session, expiry,
    never used before), the learner (on the class roster, of this institution) and the session
    (open for this step, a seat left), spend the token and open a streamed face check that only
    this station may feed."""
    s = _own_session(session, principal, session_id)
    claims = _read_token(token)
    if claims.session_id != s.id:
        raise OfflineTokenInvalid("This QR code is for another offline session.")
    if claims.expires <= int(clock.now().timestamp()):
        raise OfflineTokenExpired()
    if session.get(OfflineTokenUse, claims.jti) is not None:
        raise OfflineTokenUsed()
    learner = session.get(User, claims.user_id)
    if learner is None:  # pragma: no cover - the server signed it for a learner
        raise OfflineTokenInvalid()
    enrollment = _roster_enrollment(session, s, learner)
    kind = _kind_now(session, s, enrollment)
    _require_open(session, s, kind)
    try:
        with session.begin_nested():
            session.add(
                OfflineTokenUse(
                    jti=claims.jti, session_id=s.id, user_id=learner.id, used_at=clock.now()
                )
            )
            session.flush()
    except IntegrityError:  # scanned twice at once: the other scan took it
        raise OfflineTokenUsed() from None
    check = checks.open_check(
        session, learner, issued_to=checks.station_issuer(s.id, kind), actor=principal.actor
    )
    return StationCheck(check, kind, learner, enrollment)


def open_station_check_from_picture(
    session: Session, principal: Principal, session_id: uuid.UUID, data: bytes, *, max_bytes: int
) -> StationCheck:
    """:func:`open_station_check` with the token read from the station camera's picture of the
    learner's phone (:func:`token_in_picture`); who may run the station is checked first."""
    _own_session(session, principal, session_id)
    token = token_in_picture(data, max_bytes=max_bytes)
    return open_station_check(session, principal, session_id, token)


def _station_learner(
    session: Session, s: OfflineSession, check_id: uuid.UUID
) -> tuple[User, str, str]:
    """The learner and kind of a check this station opened; anything else: 404."""
    check = session.get(FaceChallenge, check_id)
    prefix = f"{checks.STATION_PREFIX}{s.id}:"
    if check is None or not check.issued_to.startswith(prefix):
        raise ChallengeNotFound()
    learner = session.get(User, check.user_id)
    if learner is None:  # pragma: no cover - a foreign key guarantees it
        raise ChallengeNotFound()
    return learner, check.issued_to.removeprefix(prefix), check.issued_to


def station_frame(
    session: Session,
    principal: Principal,
    session_id: uuid.UUID,
    check_id: uuid.UUID,
    *,
    seq: int,
    data: bytes,
) -> FrameAck:
    """One frame of the station's camera for a check it opened."""
    s = _own_session(session, principal, session_id)
    learner, _kind, issuer = _station_learner(session, s, check_id)
    return checks.add_frame(session, learner, check_id, seq=seq, data=data, issued_to=issuer)


@dataclass(frozen=True)
class StationResult:
    kind: str
    learner: User
    attendance: OfflineAttendance
    event: AttendanceEvent
    enrollment: Enrollment


def decide_station_check(
    session: Session,
    principal: Principal,
    session_id: uuid.UUID,
    check_id: uuid.UUID,
    *,
    client: attendance.ClientInfo = attendance.ClientInfo(),
) -> StationResult:
    """Decide the station's streamed check: verify the face against the learner's template
    (purpose ``offline_checkin`` / ``offline_checkout``); a check that does not pass is refused
    with its reason (the event is kept). A passed check-in records the attendance; a passed
    check-out closes it and credits the minutes (:func:`credited_ms`) to the enrolment, which
    may complete the course."""
    s = _own_session(session, principal, session_id)
    learner, kind, issuer = _station_learner(session, s, check_id)
    enrollment = _roster_enrollment(session, s, learner)
    if _kind_now(session, s, enrollment) != kind:
        raise OfflineAlreadyDone("This step was recorded already; scan the learner's QR again.")
    _require_open(session, s, kind)
    purpose = Purpose.offline_checkin if kind == CHECKIN else Purpose.offline_checkout
    actor = principal.actor
    event = attendance.verify(
        session,
        learner,
        challenge_id=check_id,
        frames=[],
        purpose=purpose,
        institution_id=s.institution_id,
        client=client,
        actor=actor,
        issued_to=issuer,
    )
    if event.outcome is not Outcome.passed:
        raise attendance.refusal(event)
    # The verification may have ended the transaction (SQLite): a fresh look under lock.
    s = _own_session(session, principal, session_id, for_update=True)
    enrollment = _roster_enrollment(session, s, learner)
    if principal.user is None:  # pragma: no cover - _own_session admits signed-in staff only
        raise Forbidden()
    staff = principal.user.id
    done = _attendance(session, s.id, enrollment.id, lock=True)
    at = event.created_at
    if kind == CHECKIN:
        if done is not None:
            raise OfflineAlreadyDone().keeping_changes(attendance_event_id=str(event.id))
        if summary(session, s).checked_in >= s.capacity:
            raise OfflineSessionFull().keeping_changes(attendance_event_id=str(event.id))
        done = OfflineAttendance(
            session_id=s.id,
            enrollment_id=enrollment.id,
            user_id=learner.id,
            checkin_event_id=event.id,
            checkin_at=at,
            checkin_by=staff,
        )
        session.add(done)
        session.flush()
        audit.append(
            session,
            actor=actor,
            action="offline.checked_in",
            subject=f"offline_attendance:{done.id}",
            payload={
                "session": str(s.id),
                "enrollment": str(enrollment.id),
                "user": str(learner.id),
                "event": str(event.id),
                "at": audit.format_time(at),
            },
            institution_id=s.institution_id,
        )
        return StationResult(kind, learner, done, event, enrollment)
    if done is None or done.checkout_at is not None:
        raise OfflineAlreadyDone().keeping_changes(attendance_event_id=str(event.id))
    done.checkout_event_id = event.id
    done.checkout_at = at
    done.checkout_by = staff
    done.credited_ms = credited_ms(s.starts_at, s.ends_at, done.checkin_at, at)
    session.add(done)
    locked = session.get(Enrollment, enrollment.id, with_for_update=True, populate_existing=True)
    if locked is None:  # pragma: no cover - a foreign key guarantees it
        raise EnrollmentNotFound()
    locked.offline_ms += done.credited_ms
    session.add(locked)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="offline.checked_out",
        subject=f"offline_attendance:{done.id}",
        payload={
            "session": str(s.id),
            "enrollment": str(locked.id),
            "user": str(learner.id),
            "event": str(event.id),
            "at": audit.format_time(at),
            "credited_ms": done.credited_ms,
            "offline_ms": locked.offline_ms,
        },
        institution_id=s.institution_id,
    )
    course = session.get(Course, locked.course_id)
    if course is None:  # pragma: no cover - a foreign key guarantees it
        raise EnrollmentNotFound()
    refresh_completion(session, locked, course, actor)
    return StationResult(kind, learner, done, event, locked)


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
    return mark


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


__all__ = [
    "CHECKIN",
    "CHECKOUT",
    "AttendanceLine",
    "MySession",
    "OfflineLedger",
    "QrToken",
    "SessionSummary",
    "StationCheck",
    "StationResult",
    "assess",
    "attendance_sheet",
    "cancel_session",
    "credited_ms",
    "decide_station_check",
    "get_session",
    "issue_token",
    "list_sessions",
    "make_token",
    "my_sessions",
    "offline_ledger",
    "open_station_check",
    "open_station_check_from_picture",
    "schedule_session",
    "station_frame",
    "summary",
    "token_in_picture",
]
