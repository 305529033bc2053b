"""Appending to the audit log and reading it back.

Every service write calls :func:`append` with the same session as the change it records, so
both commit or neither does. Appends to one chain serialise on the chain's head row: a row lock
(``SELECT … FOR UPDATE``) on PostgreSQL, the database write lock (``BEGIN IMMEDIATE``, see
app/db.py) on SQLite. The unique (chain, seq) constraint is the last line of defence against a
fork. Chains are per institution, so tenants never wait on each other.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert as sa_insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from app import clock
from app.audit import signing
from app.audit.chain import GENESIS, canonical, check_payload, entry_hash
from app.audit.models import AuditChainHead, AuditEntry

PLATFORM_CHAIN = "platform"
EXPORT_BATCH = 1000
#: Rows per INSERT statement of :func:`append_many` (executemany batches).
INSERT_BATCH = 500


@dataclass(frozen=True)
class Actor:
    """Who did it: ``user``, ``api_key`` (by key id) or ``system`` (CLI, jobs)."""

    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def system(cls, name: str = "cli") -> Actor:
        return cls("system", name)

    @classmethod
    def user(cls, user_id: uuid.UUID) -> Actor:
        return cls("user", str(user_id))


def chain_for(institution_id: uuid.UUID | None) -> str:
    return f"inst:{institution_id}" if institution_id else PLATFORM_CHAIN


def format_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _lock_head(session: Session, chain: str, now: datetime) -> AuditChainHead:
    bind = session.get_bind()
    values = {"chain": chain, "seq": 0, "head_hash": GENESIS, "updated_at": now}
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(AuditChainHead).values(**values).on_conflict_do_nothing())
    head = session.exec(
        select(AuditChainHead)
        .where(col(AuditChainHead.chain) == chain)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    return head


def append(
    session: Session,
    *,
    actor: Actor | str,
    action: str,
    subject: str,
    payload: dict[str, Any] | None = None,
    institution_id: uuid.UUID | None = None,
    chain: str | None = None,
) -> AuditEntry:
    """Append one entry to the institution's chain (or the platform chain) and flush."""
    payload = payload or {}
    check_payload(payload)
    chain = chain or chain_for(institution_id)
    head = _lock_head(session, chain, clock.now())
    # Read the clock only once the chain is ours, and never go back in time along a chain
    # (another node's clock may lag): time windows of an export must be seq ranges too.
    now = max(clock.now(), head.updated_at)
    fields = {
        "chain": chain,
        "seq": head.seq + 1,
        "time": format_time(now),
        "actor": str(actor),
        "action": action,
        "subject": subject,
        "payload": payload,
        "prev_hash": head.head_hash,
    }
    digest = entry_hash(fields)
    entry = AuditEntry(
        chain=chain,
        seq=head.seq + 1,
        time=now,
        actor=str(actor),
        action=action,
        subject=subject,
        payload=canonical(payload).decode("utf-8"),
        prev_hash=head.head_hash,
        hash=digest,
    )
    head.seq += 1
    head.head_hash = digest
    head.updated_at = now
    session.add(entry)
    session.add(head)
    session.flush()
    return entry


@dataclass(frozen=True)
class Record:
    """One entry for :func:`append_many`: what :func:`append` takes, without the chain."""

    actor: Actor | str
    action: str
    subject: str
    payload: dict[str, Any]


def append_many(
    session: Session,
    records: Sequence[Record],
    *,
    institution_id: uuid.UUID | None = None,
    chain: str | None = None,
) -> tuple[int, str]:
    """Append several entries to one chain, in order, as :func:`append` would one by one.

    The same entries (fields, canonical payload, hash, times that never go back) as the same
    calls to :func:`append` in a row, but the chain head is locked once for the whole batch,
    the entries are hashed in sequence in memory and inserted ``INSERT_BATCH`` rows a
    statement, and the head row is written once. Every payload is checked before anything is
    written. Same session, so it commits or rolls back with the change it records; other
    appends to the chain wait on the head's lock. Returns the chain's new (seq, head hash).
    """
    chain = chain or chain_for(institution_id)
    if not records:
        return chain_head(session, chain)
    for r in records:
        check_payload(r.payload)
    head = _lock_head(session, chain, clock.now())
    seq, prev_hash, last_time = head.seq, head.head_hash, head.updated_at
    rows: list[dict[str, Any]] = []
    for r in records:
        # As append: the clock once the chain is ours, never earlier than the entry before.
        now = max(clock.now(), last_time)
        seq += 1
        actor = str(r.actor)
        fields = {
            "chain": chain,
            "seq": seq,
            "time": format_time(now),
            "actor": actor,
            "action": r.action,
            "subject": r.subject,
            "payload": r.payload,
            "prev_hash": prev_hash,
        }
        digest = entry_hash(fields)
        rows.append(
            {
                "chain": chain,
                "seq": seq,
                "time": now,
                "actor": actor,
                "action": r.action,
                "subject": r.subject,
                "payload": canonical(r.payload).decode("utf-8"),
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        prev_hash, last_time = digest, now
    session.flush()  # whatever the caller added goes first, as with append
    table = AuditEntry.__table__  # type: ignore[attr-defined]
    for start in range(0, len(rows), INSERT_BATCH):
        session.execute(sa_insert(table), rows[start : start + INSERT_BATCH])
    head.seq, head.head_hash, head.updated_at = seq, prev_hash, last_time
    session.add(head)
    session.flush()
    return seq, prev_hash


def entry_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "type": "entry",
        "chain": entry.chain,
        "seq": entry.seq,
        "time": format_time(entry.time),
        "actor": entry.actor,
        "action": entry.action,
        "subject": entry.subject,
        "payload": json.loads(entry.payload),
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def chains(session: Session) -> list[str]:
    return list(
        session.execute(select(AuditChainHead.chain).order_by(AuditChainHead.chain)).scalars()
    )


def checkpoint(session: Session, chain: str) -> dict[str, Any]:
    """The signed head of a chain: ``{chain, seq, head_hash, time, jws}``."""
    head = session.get(AuditChainHead, chain)
    seq, head_hash = (head.seq, head.head_hash) if head else (0, GENESIS)
    return _signed(chain, seq, head_hash)


#: The ``time`` of an empty export's checkpoint (there is no entry to date it by).
EMPTY_EXPORT_TIME = "1970-01-01T00:00:00.000000Z"


def _signed(
    chain: str,
    seq: int,
    head_hash: str,
    extra: dict[str, Any] | None = None,
    *,
    time: str | None = None,
) -> dict[str, Any]:
    claims = {
        "iss": "skilltrace",
        "chain": chain,
        "seq": seq,
        "head_hash": head_hash,
        "time": time or format_time(clock.now()),
        **(extra or {}),
    }
    return {"type": "checkpoint", **claims, "jws": signing.sign_checkpoint(claims)}


def iter_export(
    session: Session,
    chain: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[dict[str, Any]]:
    """Entries of one chain in chain order, in batches (constant memory), then a checkpoint.

    The checkpoint signs the last exported entry and the seq the export starts at, so a window
    export is verifiable too and entries dropped from either end are detected. Its ``time`` is
    the last entry's (Ed25519 signatures are deterministic), so two exports of the same window
    are byte-identical. The column-level fast path for HTTP is app/audit/export.py.
    """
    first_seq: int | None = None
    last_seq, last_hash, last_time = 0, GENESIS, EMPTY_EXPORT_TIME
    after = 0
    while True:
        stmt = (
            select(AuditEntry)
            .where(col(AuditEntry.chain) == chain, col(AuditEntry.seq) > after)
            .order_by(col(AuditEntry.seq))
            .limit(EXPORT_BATCH)
        )
        if since is not None:
            stmt = stmt.where(col(AuditEntry.time) >= since)
        if until is not None:
            stmt = stmt.where(col(AuditEntry.time) < until)
        batch = list(session.exec(stmt))
        if not batch:
            break
        for entry in batch:
            yield entry_dict(entry)
            last_seq, last_hash = entry.seq, entry.hash
            last_time = format_time(entry.time)
        if first_seq is None:
            first_seq = batch[0].seq
        after = batch[-1].seq
        session.expunge_all()
    yield export_checkpoint(chain, first_seq, last_seq, last_hash, last_time)


def export_checkpoint(
    chain: str, first_seq: int | None, last_seq: int, last_hash: str, last_time: str
) -> dict[str, Any]:
    """The signed checkpoint ending an export: its first and last seq and the last hash."""
    return _signed(chain, last_seq, last_hash, {"first_seq": first_seq}, time=last_time)


def export_lines(entries: Iterator[dict[str, Any]]) -> Iterator[bytes]:
    for obj in entries:
        yield canonical(obj) + b"\n"


def recent_entries(
    session: Session,
    *,
    chain: str | None = None,
    subject: str | None = None,
    before_seq: int | None = None,
    limit: int = 50,
) -> list[AuditEntry]:
    """The newest entries of one chain (``before_seq`` pages back along it), or about one
    subject across chains; newest first. For reading on a page, not for export or verification
    (:func:`iter_export` is the chain in order, with its checkpoint)."""
    stmt = select(AuditEntry)
    if chain is not None:
        stmt = stmt.where(col(AuditEntry.chain) == chain)
        if before_seq is not None:
            stmt = stmt.where(col(AuditEntry.seq) < before_seq)
        stmt = stmt.order_by(col(AuditEntry.seq).desc())
    else:
        stmt = stmt.order_by(col(AuditEntry.time).desc(), col(AuditEntry.id).desc())
    if subject is not None:
        stmt = stmt.where(col(AuditEntry.subject) == subject)
    return list(session.exec(stmt.limit(limit)))


def chain_head(session: Session, chain: str) -> tuple[int, str]:
    """A chain's last seq and hash (0 and the genesis hash for a chain with no entry yet)."""
    head = session.get(AuditChainHead, chain)
    return (head.seq, head.head_hash) if head else (0, GENESIS)
