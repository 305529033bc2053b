"""A hand-off's limits and its code: short, high-entropy, only its keyed hash stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from app.attendance.exceptions import (
    ChallengeNotFound,
    FaceMismatch,
    FaceRejected,
    VerificationLocked,
)
from app.attendance.models import HandoffState
from app.crypto import derive_key
from app.errors import DomainError

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
