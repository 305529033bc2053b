"""Face verification rules, one import away: re-exports the modules that hold them, so callers
keep writing ``attendance.verify(...)``.

- :mod:`app.attendance.challenges`: single-use challenges and the attempt limit;
- :mod:`app.attendance.recording`: the analysed burst, replay checks, the attendance event;
- :mod:`app.attendance.templates`: enrolment with the 1:N duplicate check, consent withdrawal;
- :mod:`app.attendance.verification`: verification against the learner's template;
- :mod:`app.attendance.review`: reading events, staff review, evidence and its purge.

Every function takes the request's session, flushes and never commits; each write appends its
audit entry in the same transaction. Refusals that must leave a record (a consumed challenge, a
recorded failed verification) raise errors marked with ``keeping_changes()``. Bad input (not an
image, too large, too many frames) is refused before anything is stored.
"""

from __future__ import annotations

from app.attendance.challenges import create_challenge
from app.attendance.recording import (
    ClientInfo,
    _store_evidence,
    event_payload,
    event_recorded_hooks,
)
from app.attendance.review import (
    evidence,
    get_event,
    list_events,
    purge_evidence,
    refer_to_review,
    review,
    review_decided_hooks,
)
from app.attendance.templates import (
    TEMPLATE_EMBEDDINGS,
    _decode_embeddings,
    _encode_embeddings,
    active_template,
    delete_templates,
    enrol,
    find_duplicates,
    needs_reenrolment,
    template_is_current,
)
from app.attendance.verification import refusal, verify

__all__ = [
    "create_challenge",
    "event_recorded_hooks",
    "ClientInfo",
    "_store_evidence",
    "event_payload",
    "TEMPLATE_EMBEDDINGS",
    "_encode_embeddings",
    "_decode_embeddings",
    "active_template",
    "find_duplicates",
    "needs_reenrolment",
    "template_is_current",
    "enrol",
    "delete_templates",
    "verify",
    "refusal",
    "review_decided_hooks",
    "get_event",
    "list_events",
    "review",
    "refer_to_review",
    "evidence",
    "purge_evidence",
]
