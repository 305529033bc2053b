"""Recording a payment after the notice period, to the institution or to learners' social
security card accounts (the platform records payments; it does not move money)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.accounts.principal import Principal
from app.audit import service as audit
from app.claims.accounts import mask_account, payee_account
from app.claims.common import REFERENCE_CHARS, _batch_for_regulator, lines_of, paid_hooks, subject
from app.claims.exceptions import (
    BatchNotPayable,
    InvalidClaimInput,
    LineNotFound,
    NoticeNotOver,
    ObjectionsOpen,
    PaymentMismatch,
)
from app.claims.models import (
    BatchStatus,
    ClaimBatch,
    ClaimLine,
    ClaimPayment,
    LineDecision,
    NoticeObjection,
    ObjectionStatus,
    Payee,
)
from app.claims.review import approved_lines, reviews_of, standing
from app.validation import check_text, digit_string

__all__ = [
    "paid_line_ids",
    "payments_of",
    "record_payment",
]


# ---------------------------------------------------------------- payment


def _close_if_nothing_to_pay(session: Session, batch: ClaimBatch) -> None:
    """An approved batch whose last approved line was taken out has nothing left to pay."""
    if batch.status is BatchStatus.approved and not approved_lines(session, batch):
        batch.status = BatchStatus.closed
        session.add(batch)
        session.flush()


def payments_of(session: Session, batch: ClaimBatch) -> list[ClaimPayment]:
    return list(
        session.exec(
            select(ClaimPayment)
            .where(col(ClaimPayment.batch_id) == batch.id)
            .order_by(col(ClaimPayment.recorded_at))
        )
    )


def paid_line_ids(session: Session, batch: ClaimBatch) -> set[uuid.UUID]:
    """Lines that were paid: every line approved when the batch's payment was recorded (to an
    institution), or the lines paid one by one (to learners)."""
    payments = payments_of(session, batch)
    per_line = {p.line_id for p in payments if p.line_id is not None}
    if any(p.line_id is None for p in payments):
        return {line.id for line in _paid_at_batch_level(session, batch)} | per_line
    return per_line


def _paid_at_batch_level(session: Session, batch: ClaimBatch) -> list[ClaimLine]:
    """The lines covered by a batch-level payment: approved when it was recorded."""
    payment = next((p for p in payments_of(session, batch) if p.line_id is None), None)
    if payment is None:
        return []
    lines = lines_of(session, batch)
    history = reviews_of(session, [line.id for line in lines])
    return [
        line
        for line in lines
        if standing([r for r in history[line.id] if r.at <= payment.recorded_at])
        is LineDecision.approved
    ]


def _open_objections(session: Session, batch: ClaimBatch) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(NoticeObjection)
            .where(
                col(NoticeObjection.batch_id) == batch.id,
                col(NoticeObjection.status) == ObjectionStatus.open,
            )
        ).one()
    )


def record_payment(
    session: Session,
    principal: Principal,
    batch_id: uuid.UUID,
    *,
    amount_fen: int,
    paid_on: date,
    reference: str,
    line_id: uuid.UUID | None = None,
    account: str | None = None,
) -> ClaimPayment:
    """Record a payment once the notice period is over and no objection is open: the whole
    approved amount to the institution, or (batches paid to learners) one line's amount to the
    learner's social security card account."""
    batch = _batch_for_regulator(session, principal, batch_id)
    if batch.status is not BatchStatus.approved:
        raise BatchNotPayable()
    now = clock.now()
    if batch.notice_ends_at is not None and now < batch.notice_ends_at:
        raise NoticeNotOver(notice_ends_at=audit.format_time(batch.notice_ends_at))
    if _open_objections(session, batch):
        raise ObjectionsOpen()
    ref = check_text(reference, field="reference")
    if len(ref) > REFERENCE_CHARS:
        raise InvalidClaimInput(f"reference: at most {REFERENCE_CHARS} characters.")
    if paid_on > now.astimezone(clock.SHANGHAI).date() or paid_on < batch.filed_at.date():
        raise InvalidClaimInput("The payment date must be between filing and today.")
    approved = approved_lines(session, batch)
    masked: str | None = None
    if batch.payee is Payee.institution:
        if line_id is not None:
            raise InvalidClaimInput("This batch is paid to the institution as a whole.")
        expected = sum(line.amount_fen for line in approved)
        done = True
    else:
        line = next((x for x in approved if x.id == line_id), None)
        if line is None:
            raise LineNotFound("Name an approved line of this batch (line_id).")
        if line.id in paid_line_ids(session, batch):
            raise BatchNotPayable("This line is already paid.")
        # The account named, else the one the learner gave in their own application.
        typed = check_text(account or payee_account(session, batch, line.id) or "", field="account")
        acct = digit_string(typed, separators="-") or ""  # ASCII digits only: it is masked
        if not 9 <= len(acct) <= 19:
            raise InvalidClaimInput("account: the social security card's account number.")
        masked = mask_account(acct)
        expected = line.amount_fen
        done = paid_line_ids(session, batch) | {line.id} >= {x.id for x in approved}
    if amount_fen != expected:
        raise PaymentMismatch(expected_fen=expected)
    payment = ClaimPayment(
        batch_id=batch.id,
        line_id=line_id,
        payee=batch.payee,
        amount_fen=amount_fen,
        paid_on=paid_on,
        reference=ref,
        account_masked=masked,
        recorded_by=str(principal.actor),
        recorded_at=now,
    )
    session.add(payment)
    if done:
        batch.status = BatchStatus.paid
        batch.paid_at = now
        session.add(batch)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="claim.paid",
        subject=subject(batch),
        institution_id=batch.institution_id,
        payload={
            "payment_id": str(payment.id),
            "payee": batch.payee.value,
            "line_id": str(line_id) if line_id else None,
            "amount_fen": amount_fen,
            "paid_on": paid_on.isoformat(),
            "reference": ref,
            "account_masked": masked,
            "batch_status": batch.status.value,
        },
    )
    if done:
        for hook in paid_hooks:
            hook(session, batch, principal.actor)
    return payment
