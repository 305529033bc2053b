"""Reading hand-offs: the effective state, the computer's poll (:func:`status`) and what the
phone's page shows (:func:`phone_view`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app import clock
from app.accounts import throttle
from app.accounts.models import User
from app.accounts.privacy import mask_name
from app.attendance.exceptions import (
    HandoffExpired,
    HandoffNotFound,
    HandoffUsed,
)
from app.attendance.models import FaceHandoff, HandoffPurpose, HandoffState
from app.courses.exceptions import (
    RollCallExpired,
)
from app.courses.models import Course, Enrollment, RollCall, RollCallStatus
from app.handoff.codes import code_hash, normalise

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
        if h.state is HandoffState.expired:
            raise HandoffExpired()
        raise HandoffUsed(passed=h.state is HandoffState.passed)
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
