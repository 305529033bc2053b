"""The institution registry (机构备案/核准): each institution's record — unified social credit
code, legal name, kind, region — and the status the regulator of its jurisdiction sets:

    pending ──approve──▶ approved ──suspend──▶ suspended ──approve──▶ approved
       │                   │  ▲ approve (a new scope)                   │
       └──────revoke───────┴──┴────────────revoke───────────────────────┴──▶ revoked (final)

Every change names a reason and is audited in the institution's chain, in the same transaction.
An approval says for which occupations and levels (``approved_scope``).

The rules the other domains call: :func:`ensure_approved` — opening a class
(app/courses/classes.py), issuing a certificate (app/certificates/service.py) and filing a claim
(app/claims/filing.py) need an approved institution; everything else (reading, studying) does not.
:func:`ensure_in_scope` — opening a class, filing its opening (app/filing/service.py) and issuing
a certificate need, besides, that the approval covers the course's occupation and level
(409 ``outside_approved_scope``). Institutions trading before the registry were approved by
migration 0032 for their courses' occupations and levels; migration 0034 widened that to the
courses created before the scope was enforced, so no course that existed when the rule started
is refused by it (both audited ``institution.registry.migrated``).
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_
from sqlmodel import Session, col, select

from app import clock
from app.accounts.exceptions import InstitutionNotFound, InvalidInput
from app.accounts.models import Institution, InstitutionKind, RegistryStatus, Role, User
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.models import AuditEntry
from app.audit.service import Actor, chain_for
from app.errors import Forbidden
from app.paging import PER_PAGE, Page, bounds, like
from app.programmes.exceptions import (
    InstitutionNotApproved,
    OutsideApprovedScope,
    RegistryIncomplete,
    RegistryLocked,
    RegistryReasonRequired,
    RegistryTransitionRefused,
)
from app.programmes.jurisdiction import jurisdiction_filter, supervised_institution
from app.programmes.registry_fields import LEVEL_WORDS as LEVEL_WORDS
from app.programmes.registry_fields import MAX_SCOPE as MAX_SCOPE
from app.programmes.registry_fields import ScopeItem as ScopeItem
from app.programmes.registry_fields import normalise_credit_code as normalise_credit_code
from app.programmes.registry_fields import normalise_kind as normalise_kind
from app.programmes.registry_fields import normalise_legal_name as normalise_legal_name
from app.programmes.registry_fields import normalise_scope as normalise_scope
from app.programmes.registry_fields import parse_scope as parse_scope
from app.programmes.registry_fields import scope_of as scope_of
from app.validation import check_text

MIN_REASON = 4
MAX_REASON = 500

#: Audit actions of the registry, in the institution's chain (subject ``institution:<id>``).
ACTIONS = {
    RegistryStatus.approved: "institution.registry.approved",
    RegistryStatus.suspended: "institution.registry.suspended",
    RegistryStatus.revoked: "institution.registry.revoked",
}
RECORD_UPDATED = "institution.registry.updated"
MIGRATED = "institution.registry.migrated"  # migration 0032: trading institutions approved
#: What an institution's registry history shows (with its creation and region moves).
HISTORY_ACTIONS = (
    "institution.created",
    "institution.updated",  # an admin renamed it or moved it to another region
    "institution.suspended",  # the platform admin's account measure (staff cannot sign in)
    "institution.reactivated",
    MIGRATED,
    RECORD_UPDATED,
    *ACTIONS.values(),
)

#: Which status each action may start from.
_FROM: dict[RegistryStatus, frozenset[RegistryStatus]] = {
    RegistryStatus.approved: frozenset(
        {RegistryStatus.pending, RegistryStatus.approved, RegistryStatus.suspended}
    ),
    RegistryStatus.suspended: frozenset({RegistryStatus.approved}),
    RegistryStatus.revoked: frozenset(
        {RegistryStatus.pending, RegistryStatus.approved, RegistryStatus.suspended}
    ),
}

_UNSET: Any = object()


@dataclass(frozen=True)
class HistoryItem:
    time: datetime
    actor: str
    action: str
    payload: dict[str, Any]


def _reason(raw: str) -> str:
    text = (raw or "").strip()
    if len(text) < MIN_REASON or len(text) > MAX_REASON:
        raise RegistryReasonRequired(field="reason")
    return check_text(text, field="reason")


# ---------------------------------------------------------------- the one rule


def ensure_approved(session: Session, institution_id: uuid.UUID) -> Institution:
    """The institution, if the regulator has approved it; 409 ``institution_not_approved``
    (with ``registry_status``) while it is pending, suspended or revoked."""
    inst = session.get(Institution, institution_id)
    if inst is None:
        raise InstitutionNotFound()
    if inst.registry_status is not RegistryStatus.approved:
        raise InstitutionNotApproved(registry_status=inst.registry_status.value)
    return inst


def in_scope(inst: Institution, occupation_code: str, level: str) -> bool:
    """Whether the institution's approved scope covers the occupation and level."""
    return ScopeItem(occupation_code, level) in set(scope_of(inst))


def ensure_in_scope(
    session: Session, institution_id: uuid.UUID, occupation_code: str, level: str
) -> Institution:
    """:func:`ensure_approved`, and the approval covers this occupation and level; otherwise
    409 ``outside_approved_scope`` naming them."""
    inst = ensure_approved(session, institution_id)
    if not in_scope(inst, occupation_code, level):
        raise OutsideApprovedScope(occupation_code=occupation_code, level=level)
    return inst


# ---------------------------------------------------------------- reading


def _read_by_regulator(principal: Principal) -> None:
    if principal.user is None or not principal.is_regulator:
        raise Forbidden("The registry is read by regulators.")


def listing(
    session: Session,
    principal: Principal,
    *,
    status: RegistryStatus | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Institution], str | None]:
    """The institutions in a regulator's jurisdiction (national: all), by code, ``limit`` of
    them after ``cursor``, and the cursor of the next page (None after the last); others 403,
    a cursor this did not give 400 ``invalid_input``. Keyed on the code (unique), a page holds
    no row twice and skips none when institutions are added meanwhile."""
    _read_by_regulator(principal)
    stmt = select(Institution).where(jurisdiction_filter(principal, Institution.id))
    if status is not None:
        stmt = stmt.where(col(Institution.registry_status) == status)
    if cursor:
        stmt = stmt.where(col(Institution.code) > _code_after(cursor))
    rows = list(session.exec(stmt.order_by(col(Institution.code)).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, base64.urlsafe_b64encode(rows[-1].code.encode()).decode()


def _code_after(cursor: str) -> str:
    try:
        code = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeError):
        raise InvalidInput("invalid cursor") from None
    if not code or len(code) > 32 or not code.isprintable():  # as Institution.code
        raise InvalidInput("invalid cursor")
    return code


def listing_page(
    session: Session,
    principal: Principal,
    *,
    status: RegistryStatus | None = None,
    q: str = "",
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page[Institution]:
    """One page of :func:`listing`, matching ``q`` in the code, name, legal name or credit
    code (the regulator's page searches and pages it like the other lists)."""
    _read_by_regulator(principal)
    page, per_page = bounds(page, per_page)
    where: list[Any] = [jurisdiction_filter(principal, Institution.id)]
    if status is not None:
        where.append(col(Institution.registry_status) == status)
    if q.strip():
        pattern = like(q.strip())
        where.append(
            or_(
                *(
                    col(c).ilike(pattern, escape="\\")
                    for c in (
                        Institution.code,
                        Institution.name,
                        Institution.legal_name,
                        Institution.credit_code,
                    )
                )
            )
        )
    total = int(session.exec(select(func.count()).select_from(Institution).where(*where)).one())
    rows = session.exec(
        select(Institution)
        .where(*where)
        .order_by(col(Institution.code))
        .offset((page - 1) * per_page)
        .limit(per_page)
    )
    return Page(list(rows), total, page, per_page)


def status_counts(session: Session, principal: Principal) -> dict[RegistryStatus, int]:
    """How many institutions of the jurisdiction stand at each registry status (one query)."""
    _read_by_regulator(principal)
    rows = session.exec(
        select(col(Institution.registry_status), func.count())
        .where(jurisdiction_filter(principal, Institution.id))
        .group_by(col(Institution.registry_status))
    )
    counts = dict.fromkeys(RegistryStatus, 0)
    for status, n in rows:
        counts[RegistryStatus(status)] = int(n)
    return counts


def own_record(session: Session, principal: Principal) -> Institution:
    """The registry record of the staff member's own institution (403 for anyone else)."""
    if principal.user is None or principal.role is not Role.staff:
        raise Forbidden("This is the institution's own record, for its staff.")
    if principal.institution_id is None:
        raise Forbidden()
    inst = session.get(Institution, principal.institution_id)
    if inst is None:
        raise InstitutionNotFound()
    return inst


def history(session: Session, institution_id: uuid.UUID) -> list[HistoryItem]:
    """The registry's entries of the institution's audit chain, oldest first."""
    rows = session.exec(
        select(AuditEntry)
        .where(
            col(AuditEntry.chain) == chain_for(institution_id),
            col(AuditEntry.subject) == f"institution:{institution_id}",
            col(AuditEntry.action).in_(HISTORY_ACTIONS),
        )
        .order_by(col(AuditEntry.seq))
    )
    return [HistoryItem(e.time, e.actor, e.action, json.loads(e.payload)) for e in rows]


def actor_names(session: Session, items: Iterable[HistoryItem]) -> dict[str, str]:
    """``user:<id>`` of the history's actors → the user's real name (or username)."""
    ids = {uuid.UUID(h.actor.removeprefix("user:")) for h in items if h.actor.startswith("user:")}
    if not ids:
        return {}
    users = session.exec(select(User).where(col(User.id).in_(ids)))
    return {f"user:{u.id}": u.real_name or u.username for u in users}


# ---------------------------------------------------------------- the regulator's decisions


def _decide(
    session: Session,
    principal: Principal,
    institution_id: uuid.UUID,
    to: RegistryStatus,
    reason: str,
    scope: Sequence[tuple[str, str]] | None = None,
) -> Institution:
    if principal.user is None or principal.role is not Role.regulator:
        raise Forbidden("Registry decisions are made by the regulator of the institution's region.")
    inst = supervised_institution(session, principal, institution_id, lock=True)
    return _record(session, inst, to, reason, scope, principal.actor)


def _record(
    session: Session,
    inst: Institution,
    to: RegistryStatus,
    reason: str,
    scope: Sequence[tuple[str, str]] | None,
    actor: Actor,
) -> Institution:
    reason = _reason(reason)
    before = inst.registry_status
    if before not in _FROM[to]:
        raise RegistryTransitionRefused(registry_status=before.value, requested=to.value)
    payload: dict[str, Any] = {"from": before.value, "to": to.value, "reason": reason}
    if to is RegistryStatus.approved:
        items = normalise_scope(scope or [])
        missing = [
            name
            for name, value in (
                ("credit_code", inst.credit_code),
                ("legal_name", inst.legal_name),
                ("kind", inst.kind),
            )
            if not value
        ]
        if missing:
            raise RegistryIncomplete(missing=missing)
        inst.approved_scope = [s.as_dict() for s in items]
        payload["approved_scope"] = list(inst.approved_scope)
    inst.registry_status = to
    inst.registry_changed_at = clock.now()
    session.add(inst)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=ACTIONS[to],
        subject=f"institution:{inst.id}",
        payload=payload,
        institution_id=inst.id,
    )
    return inst


def approve(
    session: Session,
    principal: Principal,
    institution_id: uuid.UUID,
    *,
    scope: Sequence[tuple[str, str]],
    reason: str,
) -> Institution:
    """核准 for the occupations and levels in ``scope`` (pending or suspended institutions; an
    approved one gets the new scope). Needs the record's credit code, legal name and kind
    (409 ``registry_incomplete``, naming what is ``missing``)."""
    return _decide(session, principal, institution_id, RegistryStatus.approved, reason, scope)


def approve_as_system(
    session: Session,
    institution_id: uuid.UUID,
    *,
    scope: Sequence[tuple[str, str]],
    reason: str,
    actor: Actor,
) -> Institution:
    """The same approval, recorded for an operator's ``actor`` (the demo's seed, test builders):
    the same transitions, record checks and audit entry as a regulator's :func:`approve`."""
    inst = session.get(Institution, institution_id, with_for_update=True)
    if inst is None:
        raise InstitutionNotFound()
    return _record(session, inst, RegistryStatus.approved, reason, scope, actor)


def suspend(
    session: Session, principal: Principal, institution_id: uuid.UUID, *, reason: str
) -> Institution:
    """暂停 an approved institution: its staff keep reading; no classes, certificates, claims."""
    return _decide(session, principal, institution_id, RegistryStatus.suspended, reason)


def revoke(
    session: Session, principal: Principal, institution_id: uuid.UUID, *, reason: str
) -> Institution:
    """撤销 (final): the institution never trains for subsidy again under this record."""
    return _decide(session, principal, institution_id, RegistryStatus.revoked, reason)


# ---------------------------------------------------------------- the institution's own edits


def update_record(
    session: Session,
    principal: Principal,
    *,
    credit_code: str | None = _UNSET,
    legal_name: str | None = _UNSET,
    kind: str | InstitutionKind | None = _UNSET,
) -> Institution:
    """Staff edit their institution's record while it is pending; afterwards only an empty
    field may be filled in (institutions registered before the registry), anything else is
    409 ``registry_locked``. Audited with the fields that changed."""
    inst = own_record(session, principal)
    session.refresh(inst, with_for_update=True)
    wanted: dict[str, Any] = {}
    if credit_code is not _UNSET:
        wanted["credit_code"] = normalise_credit_code(session, credit_code, institution_id=inst.id)
    if legal_name is not _UNSET:
        wanted["legal_name"] = normalise_legal_name(legal_name)
    if kind is not _UNSET:
        wanted["kind"] = normalise_kind(kind)
    changed = {k: v for k, v in wanted.items() if getattr(inst, k) != v}
    if not changed:
        return inst
    if inst.registry_status is not RegistryStatus.pending:
        locked = sorted(k for k in changed if getattr(inst, k) is not None or changed[k] is None)
        if locked:
            raise RegistryLocked(fields=locked)
    for k, v in changed.items():
        setattr(inst, k, v)
    session.add(inst)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action=RECORD_UPDATED,
        subject=f"institution:{inst.id}",
        payload={k: (v.value if isinstance(v, InstitutionKind) else v) for k, v in changed.items()},
        institution_id=inst.id,
    )
    return inst
