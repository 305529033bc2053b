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

The service's modules, by section: :mod:`app.handoff.codes` (limits, the code and its keyed
hash), :mod:`app.handoff.reading` (a hand-off's state, the computer's poll, the phone's view),
:mod:`app.handoff.creating` (a hand-off for one pending check) and :mod:`app.handoff.phone`
(what the phone does with the code: open, challenge, frames, submit). Callers import this
facade: ``from app.handoff import service as handoff``.
"""

from __future__ import annotations

from app.handoff.codes import (
    ALPHABET,
    CODE_LENGTH,
    HANDOFF_TTL,
    MAX_ATTEMPTS,
    RETRYABLE,
    code_hash,
    new_code,
    normalise,
)
from app.handoff.creating import create
from app.handoff.phone import add_frames, challenge, mark_opened, submit
from app.handoff.reading import (
    HandoffStatus,
    PhoneView,
    effective_state,
    get_own,
    phone_view,
    status,
)

__all__ = [
    "ALPHABET",
    "CODE_LENGTH",
    "HANDOFF_TTL",
    "HandoffStatus",
    "MAX_ATTEMPTS",
    "PhoneView",
    "RETRYABLE",
    "add_frames",
    "challenge",
    "code_hash",
    "create",
    "effective_state",
    "get_own",
    "mark_opened",
    "new_code",
    "normalise",
    "phone_view",
    "status",
    "submit",
]
