"""Recovery items: a revoked certificate or a regulator's finding on a paid line; settled as
recovered or written off."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlmodel import Session, col, select

from app import clock
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.service import Actor
from app.certificates.models import Certificate
from app.claims.common import (
    REASON_CHARS,
    _batch_for_regulator,
    _regulator,
    _staff_institution,
    in_jurisdiction,
)
from app.claims.exceptions import (
    InvalidClaimInput,
    LineNotFound,
    LineNotPaid,
    RecoveryClosed,
    RecoveryNotFound,
)
from app.claims.models import (
    BatchStatus,
    ClaimBatch,
    ClaimLine,
    LineDecision,
    RecoveryItem,
    RecoverySource,
    RecoveryStatus,
)
from app.claims.payment import _close_if_nothing_to_pay, paid_line_ids
from app.claims.review import _decide, _reason, latest_decision
from app.config import get_settings
from app.programmes.jurisdiction import jurisdiction_filter

__all__ = [
    "list_recoveries",
    "on_certificate_revoked",
    "record_finding",
    "settle_recovery",
]


# ---------------------------------------------------------------- recovery


def _new_recovery(
    session: Session,
    line: ClaimLine,
    batch: ClaimBatch,
    *,
    source: RecoverySource,
    amount_fen: int,
    reason: str,
    actor: Actor,
) -> RecoveryItem:
    now = clock.now()
    item = RecoveryItem(
        institution_id=batch.institution_id,
        batch_id=batch.id,
        line_id=line.id,
        certificate_id=line.certificate_id,
        source=source,
        amount_fen=amount_fen,
        reason=reason,
        due_at=now + timedelta(days=get_settings().claims_recovery_due_days),
        created_at=now,
        created_by=str(actor),
    )
    session.add(item)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="claim.recovery_opened",
        subject=f"claim_recovery:{item.id}",
        institution_id=batch.institution_id,
        payload={
            "batch_id": str(batch.id),
            "line_id": str(line.id),
            "serial": line.serial,
            "source": source.value,
            "amount_fen": amount_fen,
            "reason": reason,
            "due_at": audit.format_time(item.due_at),
        },
    )
    return item


def on_certificate_revoked(session: Session, cert: Certificate, actor: Actor) -> None:
    """A certificate was revoked: its paid line becomes a recovery item; a line not yet paid is
    rejected (by the system, with the revocation's reason) so it is never paid."""
    line = session.exec(
        select(ClaimLine)
        .where(col(ClaimLine.certificate_id) == cert.id)
        .order_by(col(ClaimLine.revision).desc())
    ).first()
    if line is None:
        return
    batch = session.get(ClaimBatch, line.batch_id, with_for_update=True)
    assert batch is not None  # noqa: S101 - the foreign key
    reason = f"证书已撤销 certificate revoked: {cert.revoked_reason or ''}"[:REASON_CHARS]
    if line.id in paid_line_ids(session, batch):
        _new_recovery(
            session,
            line,
            batch,
            source=RecoverySource.revocation,
            amount_fen=line.amount_fen,
            reason=reason,
            actor=actor,
        )
    elif batch.status in (BatchStatus.filed, BatchStatus.approved):
        if latest_decision(session, line) is not LineDecision.rejected:
            _decide(
                session,
                line,
                batch,
                LineDecision.rejected,
                reason,
                Actor.system("claims"),
                action="claim.line_withdrawn",
            )
            _close_if_nothing_to_pay(session, batch)


def record_finding(
    session: Session,
    principal: Principal,
    line_id: uuid.UUID,
    *,
    reason: str,
    amount_fen: int | None = None,
) -> RecoveryItem:
    """A regulator's finding on a paid line (e.g. fraud): money to recover from the institution
    (the line's amount unless a smaller amount is named)."""
    _regulator(principal)
    line = session.get(ClaimLine, line_id)
    if line is None:
        raise LineNotFound()
    batch = _batch_for_regulator(session, principal, line.batch_id)
    if line.id not in paid_line_ids(session, batch):
        raise LineNotPaid()
    text = _reason(reason, field="reason")
    amount = line.amount_fen if amount_fen is None else amount_fen
    if not 0 < amount <= line.amount_fen:
        raise InvalidClaimInput("amount_fen: more than 0 and at most the line's amount.")
    return _new_recovery(
        session,
        line,
        batch,
        source=RecoverySource.finding,
        amount_fen=amount,
        reason=text,
        actor=principal.actor,
    )


def list_recoveries(
    session: Session,
    principal: Principal,
    *,
    status: RecoveryStatus | None = None,
    institution_id: uuid.UUID | None = None,
) -> list[RecoveryItem]:
    """Staff: their institution's recovery items; regulators: those in their jurisdiction."""
    stmt = select(RecoveryItem).order_by(col(RecoveryItem.created_at).desc())
    if status is not None:
        stmt = stmt.where(col(RecoveryItem.status) == status)
    if not principal.is_regulator:
        _staff_institution(principal)
    elif institution_id is not None:
        stmt = stmt.where(col(RecoveryItem.institution_id) == institution_id)
    return list(
        session.exec(stmt.where(jurisdiction_filter(principal, RecoveryItem.institution_id)))
    )


def settle_recovery(
    session: Session,
    principal: Principal,
    recovery_id: uuid.UUID,
    *,
    outcome: RecoveryStatus,
    reference: str,
) -> RecoveryItem:
    """Close a recovery item: ``recovered`` (the receipt's reference) or ``written_off`` (why)."""
    _regulator(principal)
    item = session.get(RecoveryItem, recovery_id, with_for_update=True)
    if item is None:
        raise RecoveryNotFound()
    batch = session.get(ClaimBatch, item.batch_id)
    if batch is None or not in_jurisdiction(session, principal, batch):
        raise RecoveryNotFound()
    if item.status is not RecoveryStatus.open:
        raise RecoveryClosed()
    if outcome is RecoveryStatus.open:
        raise InvalidClaimInput("outcome: recovered or written_off.", field="outcome")
    text = _reason(reference, field="reference")
    item.status = outcome
    item.settled_at = clock.now()
    item.settled_by = str(principal.actor)
    item.settled_reference = text
    session.add(item)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="claim.recovery_settled",
        subject=f"claim_recovery:{item.id}",
        institution_id=item.institution_id,
        payload={"status": outcome.value, "reference": text, "amount_fen": item.amount_fen},
    )
    return item
