"""What the phone does with the code: open the hand-off, take a challenge, stream its frames
and submit the check, which runs the operation the computer asked for (same rules, same
errors)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app import clock
from app.accounts.models import User
from app.attendance import checks
from app.attendance import service as attendance
from app.attendance.exceptions import (
    ChallengeNotFound,
    HandoffExpired,
    HandoffNotFound,
    HandoffUsed,
)
from app.attendance.models import FaceChallenge, FaceHandoff, HandoffPurpose, HandoffState
from app.courses import quiz, study
from app.courses.models import Course, Enrollment, RollCallStatus
from app.courses.rollcall_report import report_of
from app.errors import DomainError
from app.handoff.codes import MAX_ATTEMPTS, RETRYABLE
from app.handoff.creating import _audit
from app.handoff.reading import _by_code, _check_usable, _locked, _rollcall, _user

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


def add_frames(
    session: Session,
    code: str,
    check_id: uuid.UUID,
    *,
    seq: int,
    frames: Sequence[bytes],
    captured_ms: Sequence[int] | None = None,
    client: str | None = None,
) -> checks.FrameAck:
    """One upload of the phone's streamed check (the hand-off's current check only)."""
    h = _by_code(session, code, client=client)
    _check_usable(h, clock.now())
    if h.challenge_id is None or h.challenge_id != check_id:
        raise ChallengeNotFound("Take a challenge through this link first.")
    return checks.add_frames(
        session, _user(session, h), check_id, seq=seq, frames=frames, captured_ms=captured_ms
    )


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
        if h.closed_at is not None:
            # The same burst sent twice at once (a double tap): the other finished the hand-off
            # (its refusal here, the challenge used, is not this phone's news). Used / expired.
            _check_usable(h, clock.now())
        if not late and h.challenge_id != challenge_id:
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
        raise HandoffUsed(passed=h.state is HandoffState.passed)
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
