"""Per-client-address limits: failed logins, self-registrations, unknown hand-off codes,
password-reset codes asked for and tried, objections to public notices (公示异议) received.

The per-username back-off (service.authenticate) stops guessing one account's password; it
does nothing against *spraying* (one common password tried on many usernames) or against
guessing hand-off codes or enumerating ID numbers through registration. These limits count
attempts per client address and kind (``scope``) in a fixed window that starts at the first
counted attempt; past the limit every attempt of that kind from the address gets 429
``rate_limited`` with ``Retry-After`` until the window ends.

Counts live in the database (``client_throttles``), one row per (scope, address), updated by one
atomic upsert, so several app nodes share them; rows of ended windows are deleted whenever a new
window starts, so the table holds at most the addresses active in the last window. An IPv6
client is counted by its /64 network (one subscriber's allocation). Addresses come from the
ASGI server: behind a reverse proxy run uvicorn with ``--proxy-headers`` and
``--forwarded-allow-ips`` set to the proxy (``skilltrace serve`` passes ``proxy_headers``).

Callers pass ``client=None`` where no address applies (the CLI, a partner creating learners
with its API key): nothing is counted then.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import case, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from app import clock
from app.accounts.exceptions import RateLimited
from app.accounts.models import ClientThrottle
from app.config import get_settings
from app.db import release_read_lock

Scope = Literal["login", "register", "handoff", "reset", "objection"]


@dataclass(frozen=True)
class Limit:
    max_attempts: int
    window_s: int


def limit_of(scope: Scope) -> Limit:
    s = get_settings()
    if scope == "login":
        return Limit(s.login_ip_max_failures, s.login_ip_window_s)
    if scope == "register":
        return Limit(s.register_ip_max, s.register_ip_window_s)
    if scope == "reset":
        return Limit(s.password_reset_ip_max, s.password_reset_ip_window_s)
    if scope == "objection":
        return Limit(s.objection_ip_max, s.objection_ip_window_s)
    return Limit(s.handoff_ip_max_failures, s.handoff_ip_window_s)


def client_key(address: str | None) -> str | None:
    """What a client is counted by: its IPv4 address, its IPv6 /64, or the name the server
    gave (a test client's "testclient"); None when there is no address."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _retry_after(window_ends_at: datetime, now: datetime) -> int:
    return max(1, math.ceil((window_ends_at - now).total_seconds()))


def check(session: Session, scope: Scope, client: str | None) -> None:
    """Refuse (429 ``rate_limited``) if ``client`` used up its attempts of ``scope``."""
    key = client_key(client)
    if key is None:
        return
    row = session.exec(
        select(ClientThrottle.count, ClientThrottle.window_ends_at).where(
            col(ClientThrottle.scope) == scope, col(ClientThrottle.client) == key
        )
    ).first()
    if row is None:
        return
    count, ends = row
    now = clock.now()
    if ends > now and count >= limit_of(scope).max_attempts:
        retry = _retry_after(ends, now)
        raise RateLimited(
            f"Too many attempts from your network; try again in {retry} s.",
            retry_after=retry,
            scope=scope,
        )


def _end_deferred_read(session: Session) -> None:
    """A GET's transaction on SQLite is a deferred read (app/db.py ``read_only``): end it, so
    this write begins its own IMMEDIATE transaction instead of upgrading a read snapshot that
    another writer may have made stale (SQLITE_BUSY_SNAPSHOT)."""
    if session.get_bind().dialect.name != "sqlite" or not session.in_transaction():
        return
    if session.connection().get_execution_options().get("sqlite_begin") == "DEFERRED":
        release_read_lock(session)


def record(session: Session, scope: Scope, client: str | None) -> int:
    """Count one attempt of ``scope`` from ``client``; returns the count in the window.

    Written in the caller's transaction: a refusal that should keep the count must commit
    (``DomainError.keeping_changes``; pages commit what they render).
    """
    key = client_key(client)
    if key is None:
        return 0
    _end_deferred_read(session)
    now = clock.now()
    ends = now + timedelta(seconds=limit_of(scope).window_s)
    table = ClientThrottle.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    ended = table.c.window_ends_at <= now
    stmt = (
        insert(table)
        .values(scope=scope, client=key, count=1, window_ends_at=ends)
        .on_conflict_do_update(
            index_elements=[table.c.scope, table.c.client],
            set_={
                "count": case((ended, 1), else_=table.c.count + 1),
                "window_ends_at": case((ended, ends), else_=table.c.window_ends_at),
            },
        )
        .returning(table.c.count)
    )
    count = int(session.execute(stmt).scalar_one())
    if count == 1:  # a new window: forget the windows that have ended (bounds the table)
        session.execute(delete(table).where(table.c.window_ends_at <= now))
    return count


def attempt(session: Session, scope: Scope, client: str | None) -> None:
    """:func:`check`, then :func:`record`: for limits on every attempt (registration)."""
    check(session, scope, client)
    record(session, scope, client)
