"""A keyed request's transaction commits together with its stored response.

For a request carrying an ``Idempotency-Key`` the middleware (app/idempotency/middleware.py)
opens a :class:`Deferred` slot before the request runs. The request's session dependency, instead
of committing its transaction, hands the still-open session over (:func:`defer_commit`); the
middleware writes the response into the key's row *in that transaction* and commits once. So the
work and its outcome commit together or not at all: a process that dies in between leaves the
key in progress with nothing done, and a retry after ``idempotency_stale_after_s`` runs the
request (once); a process that dies after the commit leaves the outcome to be replayed.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from sqlmodel import Session


@dataclass
class Deferred:
    """The open transaction of the keyed request being run, once its dependency hands it over."""

    session: Session | None = None


current: ContextVar[Deferred | None] = ContextVar("idempotency_deferred", default=None)


def defer_commit(session: Session) -> bool:
    """Leave ``session``'s transaction open for the middleware to commit with the request's
    stored response: True if it was taken (the caller must neither commit nor close it);
    False outside a keyed request (the caller commits as usual)."""
    slot = current.get()
    if slot is None or (slot.session is not None and slot.session is not session):
        return False
    slot.session = session
    return True


def deferred(session: Session) -> bool:
    """Whether ``session`` is the one a keyed request commits with its outcome (a handler that
    commits mid-request, such as ``app.db.run_and_finish``, hands it over instead)."""
    slot = current.get()
    return slot is not None and (slot.session is None or slot.session is session)


def taken(session: Session) -> bool:
    """Whether :func:`defer_commit` took ``session`` (its owner must not commit or close it)."""
    slot = current.get()
    return slot is not None and slot.session is session
