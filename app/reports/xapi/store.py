"""Reading statements: the filters of a query over built statements, a page in stored order,
and one statement by id (or a voided one by ``voidedStatementId``)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from app import clock
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.models import AuditEntry
from app.config import get_settings
from app.reports.xapi.build import _build, _Built, _load
from app.reports.xapi.query import (
    _ACTIONS_BY_VERB,
    _VOIDING_ACTIONS,
    ACTIONS,
    BATCH,
    CONSISTENCY_LAG,
    VERBS,
    InvalidXapiQuery,
    Page,
    Query,
    _subject_id,
    chain_scope,
    encode_cursor,
    statement_id,
)

__all__ = [
    "FORMATS",
    "statement",
    "statements",
]


def _agents(st: dict[str, Any], related: bool) -> list[str]:
    names = [st["actor"]["account"]["name"]]
    if related:
        names.append(st["authority"]["account"]["name"])
    return names


def _matches_one(st: dict[str, Any], q: Query) -> bool:
    if q.verb is not None and st["verb"]["id"] != VERBS.get(q.verb, {}).get("id"):
        return False
    if q.agent is not None and q.agent not in _agents(st, q.related_agents):
        return False
    if q.activity is not None and st["object"].get("id") != q.activity:
        return False
    if q.registration is not None:
        return bool(st.get("context", {}).get("registration") == q.registration)
    return True


def _matches(b: _Built, q: Query) -> bool:
    """Communication 2.1.4: a statement targeting another (a StatementRef) meets a filter other
    than since/until/limit when the targeted statement does."""
    return _matches_one(b.statement, q) or (b.target is not None and _matches_one(b.target, q))


def _select(chains: list[str] | None, actions: Iterable[str]) -> Any:
    stmt = select(
        col(AuditEntry.id),
        col(AuditEntry.chain),
        col(AuditEntry.seq),
        col(AuditEntry.time),
        col(AuditEntry.action),
        col(AuditEntry.subject),
        col(AuditEntry.payload),
    ).where(col(AuditEntry.action).in_(list(actions)))
    if chains is not None:
        stmt = stmt.where(col(AuditEntry.chain).in_(chains))
    return stmt


def statements(session: Session, principal: Principal, q: Query) -> Page:
    """One page of statements (newest stored first unless ``ascending``), voided ones left out,
    and the cursor of the next page: None exactly when no statement is left (no empty last page).
    """
    chain = chain_scope(session, principal)
    base = get_settings().base_url
    through = audit.format_time(clock.now() - CONSISTENCY_LAG)
    if q.verb == "" or q.agent == "":
        return Page([], None, through)
    actions: Iterable[str] = (
        set(_ACTIONS_BY_VERB[q.verb]) | set(_VOIDING_ACTIONS) if q.verb else ACTIONS
    )
    order = col(AuditEntry.id) if q.ascending else col(AuditEntry.id).desc()
    out: list[tuple[int, dict[str, Any]]] = []
    after = q.after
    while True:
        stmt = _select(chain, actions).order_by(order).limit(BATCH)
        if after is not None:
            stmt = stmt.where(
                col(AuditEntry.id) > after if q.ascending else col(AuditEntry.id) < after
            )
        if q.since is not None:  # exclusive, as the spec says
            stmt = stmt.where(col(AuditEntry.time) > q.since)
        if q.until is not None:  # inclusive
            stmt = stmt.where(col(AuditEntry.time) <= q.until)
        rows = session.execute(stmt).all()
        ctx = _load(session, rows)
        for row in rows:
            after = row.id
            b = _build(base, row, ctx)
            if b is None or b.voided or not _matches(b, q):
                continue
            if len(out) == q.limit:  # one more exists: this page ends at the last one kept
                cursor = encode_cursor(replace(q, after=out[-1][0]))
                return Page([st for _, st in out], cursor, through)
            out.append((row.id, b.statement))
        if len(rows) < BATCH:
            return Page([st for _, st in out], None, through)


def _candidate(row: Any) -> str | None:
    """The id of the statement an entry makes when it follows from the entry alone; None when
    the facts must be loaded to know (roll-call reviews, revocations)."""
    sid = _subject_id(row.subject)
    if row.action == "study.session_started":
        return statement_id("attendance_event", json.loads(row.payload)["checkin_event"])
    if sid is None:
        return None
    if row.action.startswith("rollcall."):
        return statement_id("rollcall", sid)
    if row.action == "quiz.attempt_submitted":
        return statement_id("quiz_attempt", sid)
    if row.action == "enrollment.completed":
        return statement_id("enrollment", sid)
    return None


def statement(
    session: Session, principal: Principal, wanted: str, *, voided: bool = False
) -> dict[str, Any] | None:
    """The statement with this id (``voided``: only if it is voided; else only if it is not),
    among those the caller may read; None if there is none."""
    chain = chain_scope(session, principal)
    base = get_settings().base_url
    try:
        wanted = str(uuid.UUID(wanted))
    except ValueError:
        raise InvalidXapiQuery("A statement id is a UUID.") from None
    after = 0
    while True:
        rows = session.execute(
            _select(chain, ACTIONS)
            .where(col(AuditEntry.id) > after)
            .order_by(col(AuditEntry.id))
            .limit(BATCH)
        ).all()
        if not rows:
            return None
        after = rows[-1].id
        picked = [r for r in rows if _candidate(r) in (wanted, None)]
        ctx = _load(session, picked)
        for row in picked:
            b = _build(base, row, ctx)
            if b is not None and b.statement["id"] == wanted:
                return b.statement if b.voided == voided else None


FORMATS = ("ids", "exact", "canonical")
