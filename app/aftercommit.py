"""File work that follows the transaction: done after commit, undone after rollback.

Rows and the files they point to cannot commit together, so the order decides what a failure
leaves behind. A file a row will point to is written *before* commit (the row never points to a
missing file) and removed again if the transaction rolls back (no orphan); a file a row stops
pointing to is deleted only *after* commit (a rolled-back purge leaves row and file as they
were). Savepoints do not count: only the outermost transaction's end runs the callbacks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger(__name__)

_KEY = "skilltrace.after_transaction"


def _pending(session: Session) -> list[tuple[Callable[[], None] | None, Callable[[], None] | None]]:
    pending: list[tuple[Callable[[], None] | None, Callable[[], None] | None]]
    pending = session.info.setdefault(_KEY, [])
    return pending


def after_commit(session: Session, fn: Callable[[], None]) -> None:
    """Run ``fn`` once the session's transaction has committed (never if it rolls back)."""
    _pending(session).append((fn, None))


def after_rollback(session: Session, fn: Callable[[], None]) -> None:
    """Run ``fn`` if the session's transaction rolls back (never if it commits)."""
    _pending(session).append((None, fn))


def _run(fn: Callable[[], None]) -> None:
    try:
        fn()
    except Exception:  # the transaction is over: log, never turn it into an error
        log.exception("file work after the transaction failed")


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    for on_commit, _ in session.info.pop(_KEY, []):
        if on_commit is not None:
            _run(on_commit)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return  # a savepoint: the outer transaction decides
    # Still pending when the outermost transaction ends: it did not commit.
    for _, on_rollback in session.info.pop(_KEY, []):
        if on_rollback is not None:
            _run(on_rollback)
