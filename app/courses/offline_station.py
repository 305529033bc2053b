"""The check-in station of an offline session (线下实训, app/courses/offline.py): the learner's
signed, one-scan QR token; the station opening a streamed face check of the learner whose QR it
read, feeding it the station camera's frames, and deciding it — the check-in, then the check-out
with the minutes it credits.

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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.attendance import checks
from app.attendance import service as attendance
from app.attendance.checks import FrameAck
from app.attendance.exceptions import ChallengeNotFound
from app.attendance.models import AttendanceEvent, FaceChallenge, Outcome, Purpose
from app.audit import service as audit
from app.courses.exceptions import (
    EnrollmentNotFound,
    OfflineAlreadyDone,
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
    Course,
    Enrollment,
    OfflineAttendance,
    OfflineSession,
    OfflineTokenUse,
)
from app.courses.offline import (
    _TOKEN_VERSION,
    CHECKIN,
    CHECKOUT,
    TOKEN_REFRESH_S,
    TOKEN_TTL_S,
    _own_session,
    _station_open,
    credited_ms,
    my_sessions,
    summary,
)
from app.courses.progress import refresh_completion
from app.crypto import derive_key
from app.errors import Forbidden

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
    frames: Sequence[bytes],
    captured_ms: Sequence[int] | None = None,
) -> FrameAck:
    """One upload of the station's camera for a check it opened (:func:`checks.add_frames`)."""
    s = _own_session(session, principal, session_id)
    learner, _kind, issuer = _station_learner(session, s, check_id)
    return checks.add_frames(
        session,
        learner,
        check_id,
        seq=seq,
        frames=frames,
        captured_ms=captured_ms,
        issued_to=issuer,
    )


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
    return record_station_event(session, principal, s, learner, kind, event)


def record_station_event(
    session: Session,
    principal: Principal,
    s: OfflineSession,
    learner: User,
    kind: str,
    event: AttendanceEvent,
) -> StationResult:
    """Record a passed station check (``event``, purpose ``offline_checkin`` or
    ``offline_checkout``, of ``learner``) on the session ``s`` locked by the caller: a check-in
    opens the learner's attendance, a check-out closes it and credits the minutes. The station
    calls it after its face check; the demo seeder with a simulated decision."""
    actor = principal.actor
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
