"""A cache of the users behind access tokens, for the hot path (the heartbeat).

Checking a bearer token costs a signature check and a read of the user (is the account active,
is the token's version still the user's?) on every request. Here a token that was checked is
remembered with the user as read then, for :attr:`Settings.token_cache_ttl_s` seconds (default
300: ten 30 s heartbeats, one of which reads the user; 0 turns the cache off),
keyed by the token itself: a hit needs neither the signature check nor the database, and no
thread.

Consistency — a change that ends tokens (``token_version``, ``is_active`` or ``role`` changed:
sign-out everywhere, lock, password reset; an institution's suspension, a bulk update, forgets
everything) reaches:

- **this process** when it commits (an after-commit hook), so the next request is refused here
  exactly as without the cache;
- **other processes and nodes on PostgreSQL** through ``NOTIFY skilltrace_tokens`` sent in the
  same transaction (delivered only if it commits): each process listens (:func:`listen`) and
  forgets the user within milliseconds; a listener that lost its connection forgets everything
  before listening again, so a missed notification cannot leave an entry behind;
- in any case within ``token_cache_ttl_s``: that is the bound on staleness if notifications
  cannot flow at all (SQLite with several processes, which this app does not recommend). A study
  session that a lock ended is refused by the heartbeat itself, which reads it under a row lock.

A token past its expiry (``exp``, against the app clock) is never served from the cache.

A hit returns a :class:`Caller`: an immutable snapshot of the fields a hot path decides on (who,
in what role), shared by every request that presents the token; nothing is rebuilt per hit.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session

from app import clock
from app.accounts.models import Role, User
from app.aftercommit import after_commit
from app.config import get_settings

log = logging.getLogger("skilltrace.tokens")

#: Entries kept at most (a learner holds one token per device): ~1 KB each.
MAX_ENTRIES = 50_000
#: Changing these ends a user's tokens (or what a token may do).
_TOKEN_FIELDS = ("token_version", "is_active", "role")

_MAPPER = inspect(User)


@dataclass(frozen=True, slots=True)
class Caller:
    """A signed-in user as the hot path needs them, read when their token was checked: an
    immutable snapshot (a request cannot change what another sees), no ORM object."""

    id: uuid.UUID
    role: Role
    institution_id: uuid.UUID | None

    @classmethod
    def of(cls, user: User) -> Caller:
        return cls(id=user.id, role=user.role, institution_id=user.institution_id)


@dataclass(frozen=True, slots=True)
class _Entry:
    caller: Caller
    exp: float  # the token's expiry (epoch seconds)
    fresh_until: float  # time.monotonic() after which the user is read again


_lock = threading.Lock()
_entries: OrderedDict[str, _Entry] = OrderedDict()


def lookup(token: str) -> Caller | None:
    """Who a recently checked token belongs to, or None (never past the token's expiry)."""
    entry = _entries.get(token)
    if entry is None:
        return None
    if time.monotonic() >= entry.fresh_until or clock.now().timestamp() >= entry.exp:
        with _lock:
            _entries.pop(token, None)
        return None
    return entry.caller


def remember(token: str, claims: dict[str, Any], user: User) -> None:
    """Keep a token that was just checked against the database, with its user."""
    ttl = get_settings().token_cache_ttl_s
    if ttl <= 0:
        return
    entry = _Entry(
        caller=Caller.of(user),
        exp=float(claims["exp"]),
        fresh_until=time.monotonic() + ttl,
    )
    with _lock:
        _entries[token] = entry
        _entries.move_to_end(token)
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def forget_user(user_id: uuid.UUID) -> None:
    """Drop every cached token of a user (its tokens just ended, or what they may do changed)."""
    with _lock:
        for token in [t for t, e in _entries.items() if e.caller.id == user_id]:
            del _entries[token]


def clear() -> None:
    with _lock:
        _entries.clear()


# ---------------------------------------------------------------- invalidation on commit


CHANNEL = "skilltrace_tokens"
_EVERYONE = "*"


def _notify(session: Session, payload: str) -> None:
    """Tell the other processes, on PostgreSQL, when (and only if) the transaction commits."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().exec_driver_sql(
            "SELECT pg_notify(%(channel)s, %(payload)s)", {"channel": CHANNEL, "payload": payload}
        )


@event.listens_for(Session, "after_flush")
def _users_changed(session: Session, _flush_context: Any) -> None:
    for obj in session.dirty:
        if not isinstance(obj, User):
            continue
        state = inspect(obj)
        if any(state.attrs[name].history.has_changes() for name in _TOKEN_FIELDS):
            after_commit(session, partial(forget_user, obj.id))
            _notify(session, str(obj.id))


@event.listens_for(Session, "do_orm_execute")
def _bulk_user_update(state: ORMExecuteState) -> None:
    # UPDATE/DELETE statements on users (e.g. an institution's suspension ends its staff's
    # tokens with one statement): which users is not known here, so forget every entry.
    if (state.is_update or state.is_delete) and state.bind_mapper is _MAPPER:
        after_commit(state.session, clear)
        _notify(state.session, _EVERYONE)


# ---------------------------------------------------------------- other processes (PostgreSQL)


def _forget(payload: str) -> None:
    if payload == _EVERYONE:
        clear()
        return
    try:
        forget_user(uuid.UUID(payload))
    except ValueError:
        clear()


def listen(
    database_url: str, stop: threading.Event, ready: threading.Event | None = None
) -> threading.Thread | None:
    """Forget users as other processes change them (PostgreSQL ``LISTEN``), in a daemon thread
    until ``stop`` is set; ``ready`` is set once it listens. None on SQLite (one process: the
    after-commit hook suffices)."""
    if not database_url.startswith("postgresql"):
        return None
    import psycopg

    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://", 1)

    def run() -> None:
        while not stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    clear()  # whatever was missed while not listening
                    if ready is not None:
                        ready.set()
                    while not stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            _forget(note.payload)
            except psycopg.Error:
                log.warning("token cache: lost the notification connection; reconnecting")
                clear()
                stop.wait(1.0)

    thread = threading.Thread(target=run, name="token-cache-listener", daemon=True)
    thread.start()
    return thread
