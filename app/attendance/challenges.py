"""Face challenges (single-use, random liveness actions) and the attempt limit on verification."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta

from sqlmodel import Session

from app import clock
from app.accounts.consent import ConsentState, consent_state
from app.accounts.models import User
from app.attendance import liveness
from app.attendance.exceptions import (
    ChallengeExpired,
    ChallengeNotFound,
    ChallengeUsed,
    ConsentRenewalRequired,
    ConsentRequired,
    VerificationLocked,
)
from app.attendance.models import (
    FaceChallenge,
    VerificationLock,
)
from app.audit import service as audit
from app.audit.service import Actor
from app.config import get_settings

# ---------------------------------------------------------------- consent


def require_consent(user: User) -> None:
    """Face checks need consent to the current text: none → 403 ``consent_required``; given to
    an earlier version → 403 ``consent_renewal_required`` (see app/accounts/consent.py)."""
    state = consent_state(user)
    if state is ConsentState.none:
        raise ConsentRequired()
    if state is ConsentState.outdated:
        raise ConsentRenewalRequired()


# ---------------------------------------------------------------- challenges


def create_challenge(
    session: Session, user: User, *, issued_to: str = "learner", actor: Actor | None = None
) -> FaceChallenge:
    """A fresh single-use challenge with a random nonce and 1–2 random actions."""
    require_consent(user)
    rng = secrets.SystemRandom()
    actions: list[str] = rng.sample(list(liveness.ACTIONS), k=rng.choice((1, 2)))
    if "turn_left" in actions and "turn_right" in actions:
        actions = [actions[0]]  # one turn per burst keeps the capture short on a phone
    now = clock.now()
    challenge = FaceChallenge(
        user_id=user.id,
        nonce=secrets.token_urlsafe(16),
        actions=actions,
        created_at=now,
        expires_at=now + timedelta(seconds=get_settings().face_challenge_ttl_s),
        issued_to=issued_to,
    )
    session.add(challenge)
    session.flush()
    audit.append(
        session,
        actor=actor or Actor.user(user.id),
        action="face.challenge_issued",
        subject=f"challenge:{challenge.id}",
        payload={
            "user": str(user.id),
            "actions": actions,
            "expires_at": audit.format_time(challenge.expires_at),
        },
        institution_id=user.institution_id,
    )
    return challenge


def _load_challenge(session: Session, user: User, challenge_id: uuid.UUID) -> FaceChallenge:
    challenge = session.get(FaceChallenge, challenge_id, with_for_update=True)
    if challenge is None or challenge.user_id != user.id:
        raise ChallengeNotFound()
    if challenge.used_at is not None:
        raise ChallengeUsed()
    if challenge.expires_at <= clock.now():
        raise ChallengeExpired()
    return challenge


# ---------------------------------------------------------------- attempt limits


def _check_lock(session: Session, user: User) -> None:
    lock = session.get(VerificationLock, user.id)
    now = clock.now()
    if lock and lock.locked_until and lock.locked_until > now:
        retry = int((lock.locked_until - now).total_seconds()) + 1
        raise VerificationLocked(
            f"Too many failed face checks; try again in {retry} s.", retry_after=retry
        )


def _count_failure(session: Session, user: User, actor: Actor) -> None:
    s = get_settings()
    lock = session.get(VerificationLock, user.id, with_for_update=True) or VerificationLock(
        user_id=user.id
    )
    lock.failures += 1
    if lock.failures >= s.verify_max_failures:
        over = lock.failures - s.verify_max_failures
        seconds = min(s.verify_backoff_base_s * 2**over, s.verify_backoff_max_s)
        lock.locked_until = clock.now() + timedelta(seconds=seconds)
        audit.append(
            session,
            actor=actor,
            action="face.verification_locked",
            subject=f"user:{user.id}",
            payload={"failures": lock.failures, "seconds": seconds},
            institution_id=user.institution_id,
        )
    session.add(lock)


def _reset_failures(session: Session, user: User) -> None:
    lock = session.get(VerificationLock, user.id)
    if lock and (lock.failures or lock.locked_until):
        lock.failures = 0
        lock.locked_until = None
        session.add(lock)


def _consume(session: Session, challenge: FaceChallenge) -> None:
    challenge.used_at = clock.now()
    session.add(challenge)
    session.flush()
