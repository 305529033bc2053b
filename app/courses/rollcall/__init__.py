"""Roll-calls: drawn at random while a session studies, answered with a face check before their
deadline, or missed (a late answer, a heartbeat past the deadline, the sweep); a roll-call in
review waits for staff, whose decision releases or forfeits the held segment.

A roll-call is a conversation, not a trap (issue 14): within the response window the learner has
:data:`MAX_ATTEMPTS` chances, each a fresh face check with a fresh challenge, every one recorded
(``rollcall_attempts``) and audited. Only the window running out or the last chance failing ends
it as missed or failed — and if one of its checks failed on liveness alone while the face
matched clearly, it goes to staff review instead. Staff may excuse a failed or missed roll-call
(a camera fault) with a reason: the forfeited stretch is credited again and it counts as passed.

The package's modules, by section: :mod:`~app.courses.rollcall.resolution` (drawing a
roll-call, its attempts, how a failure or a miss ends it), :mod:`~app.courses.rollcall.answers`
(answering, settling, the review decision), :mod:`~app.courses.rollcall.excusing` (staff excuse
a failed or missed roll-call) and :mod:`~app.courses.rollcall.sweep` (missed roll-calls of
closed pages). Callers import this package: ``from app.courses import rollcall``.
"""

from __future__ import annotations

from app.courses.rollcall.answers import answer_rollcall, on_review_decided, settle_rollcall
from app.courses.rollcall.excusing import can_excuse, grant_exception
from app.courses.rollcall.resolution import (
    MAX_ATTEMPTS,
    attempts_of,
    next_rollcall_time,
    rollcall_missed_hooks,
)
from app.courses.rollcall.sweep import sweep_missed_rollcalls

__all__ = [
    "MAX_ATTEMPTS",
    "answer_rollcall",
    "attempts_of",
    "can_excuse",
    "grant_exception",
    "next_rollcall_time",
    "on_review_decided",
    "rollcall_missed_hooks",
    "settle_rollcall",
    "sweep_missed_rollcalls",
]
