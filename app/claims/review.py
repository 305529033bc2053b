"""The regulator's line-by-line review (approve, reject with a reason, request evidence), the
institution's answers, and approving the batch into its public notice."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta

from sqlmodel import Session, col, select

from app import clock
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.service import Actor
from app.claims.common import (
    FINAL,
    REASON_CHARS,
    _batch_for_regulator,
    _regulator,
    _staff_institution,
    approved_hooks,
    lines_of,
    subject,
)
from app.claims.exceptions import (
    BatchNotReviewable,
    InvalidClaimInput,
    LineNotFound,
    LinesUndecided,
)
from app.claims.models import (
    BatchStatus,
    ClaimBatch,
    ClaimLine,
    ClaimLineReview,
    LineDecision,
)
from app.config import get_settings
from app.validation import check_text

__all__ = [
    "approve_batch",
    "approved_lines",
    "latest_decision",
    "provide_evidence",
    "review_line",
    "reviews_of",
    "standing",
]


# ---------------------------------------------------------------- review


def _reason(value: str | None, *, field: str, required: bool = True) -> str:
    text = check_text(value or "", field=field, multiline=True, required=required)
    if len(text) > REASON_CHARS:
        raise InvalidClaimInput(f"{field}: at most {REASON_CHARS} characters.", field=field)
    return text


def reviews_of(
    session: Session, line_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[ClaimLineReview]]:
    """Every decision per line, oldest first."""
    out: dict[uuid.UUID, list[ClaimLineReview]] = {i: [] for i in line_ids}
    if not line_ids:
        return out
    for r in session.exec(
        select(ClaimLineReview)
        .where(col(ClaimLineReview.line_id).in_(list(line_ids)))
        .order_by(col(ClaimLineReview.line_id), col(ClaimLineReview.n))
    ):
        out[r.line_id].append(r)
    return out


def latest_decision(session: Session, line: ClaimLine) -> LineDecision | None:
    history = reviews_of(session, [line.id])[line.id]
    return history[-1].decision if history else None


def standing(reviews: list[ClaimLineReview]) -> LineDecision | None:
    return reviews[-1].decision if reviews else None


def _decide(
    session: Session,
    line: ClaimLine,
    batch: ClaimBatch,
    decision: LineDecision,
    reason: str | None,
    actor: Actor,
    *,
    action: str = "claim.line_reviewed",
) -> ClaimLineReview:
    review = ClaimLineReview(
        line_id=line.id,
        n=len(reviews_of(session, [line.id])[line.id]) + 1,
        batch_id=batch.id,
        decision=decision,
        reason=reason or None,
        actor=str(actor),
        at=clock.now(),
    )
    session.add(review)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action=action,
        subject=subject(batch),
        institution_id=batch.institution_id,
        payload={
            "line_id": str(line.id),
            "no": line.no,
            "serial": line.serial,
            "decision": decision.value,
            "reason": reason or None,
        },
    )
    return review


def review_line(
    session: Session,
    principal: Principal,
    line_id: uuid.UUID,
    *,
    decision: LineDecision,
    reason: str | None = None,
) -> ClaimLineReview:
    """The regulator approves a line, rejects it with a reason, or asks for evidence."""
    _regulator(principal)
    line = session.get(ClaimLine, line_id)
    if line is None:
        raise LineNotFound()
    batch = _batch_for_regulator(session, principal, line.batch_id)
    if batch.status is not BatchStatus.filed:
        raise BatchNotReviewable()
    if decision is LineDecision.evidence_provided:
        raise InvalidClaimInput("Evidence is provided by the institution.", field="decision")
    needs_reason = decision in (LineDecision.rejected, LineDecision.evidence_requested)
    text = _reason(reason, field="reason", required=needs_reason)
    return _decide(session, line, batch, decision, text, principal.actor)


def provide_evidence(
    session: Session, principal: Principal, line_id: uuid.UUID, note: str
) -> ClaimLineReview:
    """The institution answers a request for evidence; the line goes back to review."""
    institution_id = _staff_institution(principal)
    line = session.get(ClaimLine, line_id)
    if line is None or line.institution_id != institution_id:
        raise LineNotFound()
    batch = session.get(ClaimBatch, line.batch_id, with_for_update=True)
    assert batch is not None  # noqa: S101 - the foreign key
    if batch.status is not BatchStatus.filed:
        raise BatchNotReviewable()
    if latest_decision(session, line) is not LineDecision.evidence_requested:
        raise InvalidClaimInput("No evidence was requested for this line.")
    text = _reason(note, field="note")
    return _decide(session, line, batch, LineDecision.evidence_provided, text, principal.actor)


def approved_lines(session: Session, batch: ClaimBatch) -> list[ClaimLine]:
    lines = lines_of(session, batch)
    history = reviews_of(session, [line.id for line in lines])
    return [line for line in lines if standing(history[line.id]) is LineDecision.approved]


def approve_batch(session: Session, principal: Principal, batch_id: uuid.UUID) -> ClaimBatch:
    """Approve a batch whose every line is decided; its approved lines go on public notice for
    ``claims_notice_days`` (the batch closes if no line was approved)."""
    batch = _batch_for_regulator(session, principal, batch_id)
    if batch.status is not BatchStatus.filed:
        raise BatchNotReviewable()
    lines = lines_of(session, batch)
    history = reviews_of(session, [line.id for line in lines])
    undecided = [line.no for line in lines if standing(history[line.id]) not in FINAL]
    if undecided:
        raise LinesUndecided(lines=undecided)
    approved = [line for line in lines if standing(history[line.id]) is LineDecision.approved]
    now = clock.now()
    batch.approved_at = now
    batch.approved_by = str(principal.actor)
    if approved:
        batch.status = BatchStatus.approved
        batch.notice_starts_at = now
        batch.notice_ends_at = now + timedelta(days=get_settings().claims_notice_days)
    else:
        batch.status = BatchStatus.closed
    session.add(batch)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="claim.batch_approved",
        subject=subject(batch),
        institution_id=batch.institution_id,
        payload={
            "reference": batch.reference,
            "status": batch.status.value,
            "approved_lines": [line.no for line in approved],
            "rejected_lines": [
                line.no for line in lines if standing(history[line.id]) is LineDecision.rejected
            ],
            "approved_fen": sum(line.amount_fen for line in approved),
            "notice_ends_at": audit.format_time(batch.notice_ends_at)
            if batch.notice_ends_at
            else None,
        },
    )
    for hook in approved_hooks:
        hook(session, batch, principal.actor)
    return batch
