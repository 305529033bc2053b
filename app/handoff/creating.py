"""Creating a hand-off for one pending face check of the signed-in learner (:func:`create`)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session, col, select

from app import clock
from app.accounts import registration
from app.accounts.models import Role, User
from app.attendance import service as attendance
from app.attendance.exceptions import (
    ConsentRequired,
    FaceNotEnrolled,
    FaceReenrolRequired,
    InvalidHandoff,
)
from app.attendance.models import FaceHandoff, HandoffPurpose, HandoffState
from app.audit import service as audit
from app.audit.service import Actor
from app.courses.exceptions import (
    EnrollmentNotFound,
    RollCallExpired,
    RollCallNotFound,
    RollCallNotPending,
)
from app.courses.models import Enrollment, RollCall, RollCallStatus
from app.errors import Forbidden
from app.handoff.codes import HANDOFF_TTL, code_hash, new_code

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
