"""Continue a pending face check on a phone: the no-camera fallback.

When the learner's computer has no camera (or its use is refused), the page asks for a hand-off
of the one face check it was about to run — enrolment, check-in, a roll-call answer or the quiz
gate. The hand-off has a short, high-entropy code (12 characters of a 31-letter alphabet without
look-alikes: ~59 bits); only its keyed hash is stored. The code is the credential for exactly
that check of that learner, for a few minutes (never past the roll-call's deadline), once.

The phone opens ``/m/<code>``, takes a challenge through the hand-off and posts its burst here;
the server runs exactly the operation the computer would have run (the same service function)
and records what it returned on the hand-off, where the computer's page finds it by polling.
A failed try leaves the hand-off usable for another (each with a fresh challenge) unless nothing
a new try could change (a roll-call already answered or missed, an open quiz attempt, too many
tries); a passed one closes it. Face failures count towards the learner's verification lock
exactly as on the computer.

Like the other services: takes the request's session, flushes, never commits; every change
appends its audit entry in the same transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app import clock
from app.accounts import registration, throttle
from app.accounts.models import Role, User
from app.accounts.privacy import mask_name
from app.attendance import checks
from app.attendance import service as attendance
from app.attendance.exceptions import (
    ChallengeNotFound,
    ConsentRequired,
    FaceMismatch,
    FaceNotEnrolled,
    FaceReenrolRequired,
    FaceRejected,
    HandoffExpired,
    HandoffNotFound,
    HandoffUsed,
    InvalidHandoff,
    VerificationLocked,
)
from app.attendance.models import FaceChallenge, FaceHandoff, HandoffPurpose, HandoffState
from app.audit import service as audit
from app.audit.service import Actor
from app.courses import quiz, study
from app.courses.exceptions import (
    EnrollmentNotFound,
    RollCallExpired,
    RollCallNotFound,
    RollCallNotPending,
)
from app.courses.models import Course, Enrollment, RollCall, RollCallStatus
from app.courses.rollcall_report import report_of
from app.crypto import derive_key
from app.errors import DomainError, Forbidden

#: How long a hand-off stays usable (capped at a roll-call's deadline).
HANDOFF_TTL = timedelta(minutes=10)
#: Tries per hand-off; enrolment failures do not count towards the verification lock, so the
#: hand-off bounds them itself.
MAX_ATTEMPTS = 6
#: Readable and unambiguous: no i, l, o, 0, 1.
ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
CODE_LENGTH = 12
#: Refusals a new try (fresh challenge, better light, the right person) can overcome.
RETRYABLE: tuple[type[DomainError], ...] = (
    FaceRejected,  # no_face, liveness_failed, challenge_expired, frame_replayed, …
    FaceMismatch,
    ChallengeNotFound,
    VerificationLocked,
)
_OPEN_STATES = (HandoffState.waiting, HandoffState.opened, HandoffState.failed)


# ---------------------------------------------------------------- codes


def new_code() -> str:
    """A fresh code, grouped for reading aloud: ``abcd-efgh-jkmn``."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise(code: str) -> str | None:
    """The code's canonical form (lower case, no separators), or None if it cannot be one."""
    raw = code.strip().lower().replace("-", "").replace(" ", "")
    if len(raw) != CODE_LENGTH or any(c not in ALPHABET for c in raw):
        return None
    return raw


def code_hash(code: str) -> str:
    """The stored form of a code: keyed, so a copy of the table alone cannot test guesses."""
    raw = normalise(code) or ""
    return hmac.new(derive_key("face_handoff"), raw.encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------- reading


def effective_state(h: FaceHandoff, now: datetime | None = None) -> HandoffState:
    """The stored state, except that an open hand-off past its expiry is ``expired``."""
    if h.closed_at is None and (now or clock.now()) >= h.expires_at:
        return HandoffState.expired
    return h.state


def _by_code(
    session: Session, code: str, *, for_update: bool = False, client: str | None = None
) -> FaceHandoff:
    """The hand-off of ``code``. Unknown codes from one address (``client``) are counted and
    limited (app/accounts/throttle.py): guessing codes meets 429 ``rate_limited``."""
    throttle.check(session, "handoff", client)
    h = None
    if normalise(code) is not None:
        stmt = select(FaceHandoff).where(col(FaceHandoff.code_sha256) == code_hash(code))
        if for_update:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        h = session.exec(stmt).first()
    if h is None:
        if client is None:
            raise HandoffNotFound()
        throttle.record(session, "handoff", client)
        raise HandoffNotFound().keeping_changes()  # the miss counts
    return h


def _locked(session: Session, handoff_id: uuid.UUID) -> FaceHandoff:
    h = session.get(FaceHandoff, handoff_id, with_for_update=True, populate_existing=True)
    if h is None:  # pragma: no cover - rows are never deleted
        raise HandoffNotFound()
    return h


def _check_usable(h: FaceHandoff, now: datetime) -> None:
    if h.closed_at is not None:
        raise HandoffExpired() if h.state is HandoffState.expired else HandoffUsed()
    if now >= h.expires_at:
        raise HandoffExpired()


def _rollcall(session: Session, h: FaceHandoff) -> RollCall | None:
    return session.get(RollCall, h.rollcall_id) if h.rollcall_id else None


def _user(session: Session, h: FaceHandoff) -> User:
    user = session.get(User, h.user_id)
    if user is None:  # pragma: no cover - foreign key
        raise HandoffNotFound()
    return user


@dataclass(frozen=True)
class HandoffStatus:
    """What the computer's page polls for."""

    handoff: FaceHandoff
    state: HandoffState
    reason: str | None
    #: What the operation returned (passed, or a roll-call answered with another outcome).
    result: dict[str, Any] | None
    #: The refusal's details when a try failed (e.g. ``attempt_id`` of ``attempt_open``).
    error: dict[str, Any] | None
    #: No further try is possible: passed, failed for good, or expired.
    closed: bool
    expires_in_s: int


def get_own(session: Session, user: User, handoff_id: uuid.UUID) -> FaceHandoff:
    h = session.get(FaceHandoff, handoff_id)
    if h is None or h.user_id != user.id:
        raise HandoffNotFound()
    return h


def status(session: Session, user: User, handoff_id: uuid.UUID) -> HandoffStatus:
    """The learner's own hand-off as the polling page sees it (read-only)."""
    h = get_own(session, user, handoff_id)
    now = clock.now()
    state = effective_state(h, now)
    reason = h.reason
    if state is HandoffState.expired:
        rc = _rollcall(session, h)
        late = rc is not None and (now > rc.deadline or rc.status is RollCallStatus.missed)
        reason = RollCallExpired.code if late else HandoffExpired.code
    stored = h.result or {}
    return HandoffStatus(
        handoff=h,
        state=state,
        reason=reason,
        result=stored.get("result"),
        error=stored.get("error"),
        closed=h.closed_at is not None or state is HandoffState.expired,
        expires_in_s=max(0, int((h.expires_at - now).total_seconds())),
    )


@dataclass(frozen=True)
class PhoneView:
    """What the phone page shows: little enough that a stranger with the link learns little."""

    handoff: FaceHandoff
    state: HandoffState
    name_masked: str
    purpose: HandoffPurpose
    course_title: str | None
    expires_in_s: int


def phone_view(session: Session, code: str, *, client: str | None = None) -> PhoneView:
    """The phone page's view of a code (read-only but for counting a miss from ``client``);
    404 ``handoff_not_found`` if unknown."""
    h = _by_code(session, code, client=client)
    now = clock.now()
    user = _user(session, h)
    title = None
    if h.enrollment_id is not None:
        enrollment = session.get(Enrollment, h.enrollment_id)
        course = session.get(Course, enrollment.course_id) if enrollment else None
        title = course.title if course else None
    return PhoneView(
        handoff=h,
        state=effective_state(h, now),
        name_masked=mask_name(user.real_name or user.username),
        purpose=h.purpose,
        course_title=title,
        expires_in_s=max(0, int((h.expires_at - now).total_seconds())),
    )


# ---------------------------------------------------------------- creating


def _audit(session: Session, h: FaceHandoff, user: User, action: str, **payload: Any) -> None:
    audit.append(
        session,
        actor=Actor.user(user.id),
        action=f"face.handoff_{action}",
        subject=f"face_handoff:{h.id}",
        payload={"user": str(user.id), "purpose": h.purpose.value, **payload},
        institution_id=user.institution_id,
    )


def create(
    session: Session,
    user: User,
    *,
    purpose: HandoffPurpose,
    enrollment_id: uuid.UUID | None = None,
    rollcall_id: uuid.UUID | None = None,
) -> tuple[FaceHandoff, str]:
    """A hand-off of one pending face check of ``user``; returns it and its code (shown once).

    The context must be the learner's own: an enrolment for check-in and quiz, a pending
    roll-call for a roll-call answer (404 otherwise). A newer hand-off replaces the learner's
    open ones, so at most one code of a learner works at a time.
    """
    if user.role is not Role.learner:
        raise Forbidden("Only learners hand a face check over to a phone.")
    if not user.biometric_consent:
        raise ConsentRequired()
    now = clock.now()
    expires = now + HANDOFF_TTL
    if purpose is HandoffPurpose.enrol:
        if enrollment_id is not None or rollcall_id is not None:
            raise InvalidHandoff("Face enrolment takes no enrolment or roll-call.")
        registration.require_institution(user)  # as the enrolment itself would, only sooner
    elif purpose in (HandoffPurpose.checkin, HandoffPurpose.quiz):
        if enrollment_id is None or rollcall_id is not None:
            raise InvalidHandoff("Check-in and quiz hand-offs name an enrollment_id only.")
        enrollment = session.get(Enrollment, enrollment_id)
        if enrollment is None or enrollment.user_id != user.id:
            raise EnrollmentNotFound()
    else:
        if rollcall_id is None or enrollment_id is not None:
            raise InvalidHandoff("A roll-call hand-off names a rollcall_id only.")
        rc = session.get(RollCall, rollcall_id)
        if rc is None or rc.user_id != user.id:
            raise RollCallNotFound()
        if rc.status is RollCallStatus.missed or (
            rc.status is RollCallStatus.pending and now > rc.deadline
        ):
            raise RollCallExpired()
        if rc.status is not RollCallStatus.pending:
            raise RollCallNotPending()
        enrollment_id = rc.enrollment_id
        expires = min(expires, rc.deadline)
    if purpose is not HandoffPurpose.enrol and attendance.active_template(session, user.id) is None:
        raise FaceNotEnrolled()
    if purpose is not HandoffPurpose.enrol and attendance.needs_reenrolment(session, user.id):
        raise FaceReenrolRequired()
    for old in session.exec(
        select(FaceHandoff).where(
            col(FaceHandoff.user_id) == user.id,
            col(FaceHandoff.closed_at).is_(None),
            col(FaceHandoff.expires_at) > now,
        )
    ):
        old.state, old.closed_at, old.reason = HandoffState.expired, now, "replaced"
        old.challenge_id = None
        session.add(old)
        _audit(session, old, user, "replaced")
    code = new_code()
    h = FaceHandoff(
        user_id=user.id,
        code_sha256=code_hash(code),
        purpose=purpose,
        enrollment_id=enrollment_id,
        rollcall_id=rollcall_id,
        state=HandoffState.waiting,
        created_at=now,
        expires_at=expires,
    )
    session.add(h)
    session.flush()
    _audit(
        session,
        h,
        user,
        "created",
        enrollment=str(enrollment_id) if enrollment_id else None,
        rollcall=str(rollcall_id) if rollcall_id else None,
        expires_at=audit.format_time(expires),
    )
    return h, code


# ---------------------------------------------------------------- the phone


def mark_opened(session: Session, code: str, *, client: str | None = None) -> FaceHandoff:
    """The phone page loaded: the computer can say so. Refuses a used or expired code."""
    h = _by_code(session, code, for_update=True, client=client)
    _check_usable(h, clock.now())
    if h.state is HandoffState.waiting:
        h.state = HandoffState.opened
        h.opened_at = clock.now()
        session.add(h)
        session.flush()
        _audit(session, h, _user(session, h), "opened")
    return h


def challenge(session: Session, code: str, *, client: str | None = None) -> FaceChallenge:
    """A fresh streamed check for the hand-off's learner; the next frames must answer it."""
    h = _by_code(session, code, for_update=True, client=client)
    now = clock.now()
    _check_usable(h, now)
    user = _user(session, h)
    c = checks.open_check(session, user, issued_to=f"handoff:{h.id}")
    h.challenge_id = c.id
    if h.opened_at is None:
        h.opened_at = now
    h.state, h.reason = HandoffState.opened, None
    session.add(h)
    session.flush()
    return c


def add_frame(
    session: Session,
    code: str,
    check_id: uuid.UUID,
    *,
    seq: int,
    data: bytes,
    client: str | None = None,
) -> checks.FrameAck:
    """One frame of the phone's streamed check (the hand-off's current check only)."""
    h = _by_code(session, code, client=client)
    _check_usable(h, clock.now())
    if h.challenge_id is None or h.challenge_id != check_id:
        raise ChallengeNotFound("Take a challenge through this link first.")
    return checks.add_frame(session, _user(session, h), check_id, seq=seq, data=data)


def _late_rollcall(session: Session, h: FaceHandoff, now: datetime) -> bool:
    """A roll-call hand-off used after the roll-call's deadline: the roll-call answers 410."""
    rc = _rollcall(session, h)
    return rc is not None and (now > rc.deadline or rc.status is RollCallStatus.missed)


def _run(
    session: Session,
    h: FaceHandoff,
    user: User,
    *,
    challenge_id: uuid.UUID,
    frames: list[bytes],
    client: attendance.ClientInfo,
) -> tuple[dict[str, Any], bool, str | None]:
    """Run the operation the computer would have run: (result, passed, reason)."""
    purpose, enrollment_id, rollcall_id = h.purpose, h.enrollment_id, h.rollcall_id
    if purpose is HandoffPurpose.enrol:
        template, event = attendance.enrol(
            session, user, challenge_id=challenge_id, frames=frames, client=client
        )
        result = {
            "template_id": str(template.id),
            "attendance_event_id": str(event.id),
            "frames": len(event.frame_sha256),
            "embeddings": template.n_embeddings,
        }
        return result, True, None
    if purpose is HandoffPurpose.checkin:
        assert enrollment_id is not None  # noqa: S101 - checked at creation
        sess, event = study.check_in(
            session,
            user,
            enrollment_id=enrollment_id,
            challenge_id=challenge_id,
            frames=frames,
            client=client,
        )
        enrollment = session.get(Enrollment, enrollment_id)
        course = session.get(Course, enrollment.course_id) if enrollment else None
        result = {
            "session_id": str(sess.id),
            "attendance_event_id": str(event.id),
            "heartbeat_interval_s": course.heartbeat_interval_s if course else 30,
            "state": sess.state.value,
        }
        return result, True, None
    if purpose is HandoffPurpose.rollcall:
        assert rollcall_id is not None  # noqa: S101 - checked at creation
        rc, event = study.answer_rollcall(
            session, user, rollcall_id, challenge_id=challenge_id, frames=frames, client=client
        )
        report = report_of(session, rc)
        result = {
            "outcome": event.outcome.value,
            "attendance_event_id": str(event.id),
            "rollcall_status": rc.status.value,
            "attempt": len(report.attempts),
            "attempts_left": report.attempts_left,
            "reason_code": event.reason_code,
            "forfeited_seconds": report.forfeited_ms // 1000,
            "stretch_from": report.stretch_from.isoformat() if report.stretch_from else None,
        }
        passed = rc.status is RollCallStatus.passed
        return result, passed, None if passed else (event.reason_code or event.outcome.value)
    assert enrollment_id is not None  # noqa: S101 - checked at creation
    attempt = quiz.start_attempt(
        session, user, enrollment_id, challenge_id=challenge_id, frames=frames, client=client
    )
    return {"attempt_id": str(attempt.id)}, True, None


def _json_safe(extra: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in extra.items() if v is None or isinstance(v, str | int | bool)}


def submit(
    session: Session,
    code: str,
    *,
    challenge_id: uuid.UUID,
    frames: Sequence[bytes],
    client: attendance.ClientInfo = attendance.ClientInfo(),
) -> FaceHandoff:
    """The phone's burst: run the hand-off's operation and record its outcome on the hand-off.

    Refusals of the operation reach the phone unchanged (with their codes and messages) and are
    recorded on the hand-off for the computer; they keep what the operation recorded (a failed
    verification, a missed roll-call).
    """
    h = _by_code(session, code, client=client.ip)
    now = clock.now()
    if h.closed_at is not None:
        _check_usable(h, now)
    # After a roll-call's deadline the roll-call itself refuses (410 rollcall_expired) and
    # records the miss, exactly as a late answer from the computer would.
    late = h.purpose is HandoffPurpose.rollcall and _late_rollcall(session, h, now)
    if not late:
        _check_usable(h, now)
        if h.challenge_id is None or h.challenge_id != challenge_id:
            raise ChallengeNotFound("Take a challenge through this link first.")
    user = _user(session, h)
    handoff_id = h.id
    try:
        result, passed, reason = _run(
            session, h, user, challenge_id=challenge_id, frames=list(frames), client=client
        )
    except (HandoffNotFound, HandoffExpired, HandoffUsed):
        raise
    except DomainError as err:
        if not err.commit:
            session.rollback()  # drop what the refused operation left; keep the hand-off's record
        h = _locked(session, handoff_id)
        if h.closed_at is not None or (not late and h.challenge_id != challenge_id):
            raise  # a newer try of this hand-off took over meanwhile: it records its own outcome
        h.attempts += 1
        terminal = late or not isinstance(err, RETRYABLE) or h.attempts >= MAX_ATTEMPTS
        h.state, h.reason = HandoffState.failed, err.code
        h.result = {"error": _json_safe(err.extra)}
        h.challenge_id = None
        if terminal:
            h.closed_at = clock.now()
        session.add(h)
        session.flush()
        _audit(
            session,
            h,
            user,
            "failed" if terminal else "attempt_failed",
            reason=err.code,
            attempts=h.attempts,
            attendance_event=_json_safe(err.extra).get("attendance_event_id"),
        )
        raise err.keeping_changes(handoff_closed=terminal) from None
    h = _locked(session, handoff_id)
    if h.closed_at is not None or h.challenge_id != challenge_id:
        # Another try of this hand-off finished first: undo this one (one operation per code).
        raise HandoffUsed()
    h.attempts += 1
    h.state = HandoffState.passed if passed else HandoffState.failed
    h.reason = reason
    h.challenge_id = None
    # A roll-call attempt that failed with chances left: the roll-call stays open, and so does
    # this hand-off (the phone tries again with a fresh challenge, the computer keeps polling).
    again = not passed and result.get("rollcall_status") == RollCallStatus.pending.value
    if again and h.attempts < MAX_ATTEMPTS:
        h.result = {"error": _json_safe(result)}
    else:
        h.result = {"result": result}
        h.closed_at = clock.now()
    session.add(h)
    session.flush()
    _audit(
        session,
        h,
        user,
        "passed" if passed else ("attempt_failed" if h.closed_at is None else "failed"),
        reason=reason,
        attempts=h.attempts,
        attendance_event=result.get("attendance_event_id"),
    )
    return h
