"""Subsidy claims as a workflow: filing, line-by-line review, batch approval, public notice,
objections, payment, recovery.

Functions take the caller's session, ``flush()`` and never commit; every change appends its
audit entry to the institution's chain in the same transaction.

The life of a batch::

    filed ──(every line approved or rejected; regulator approves)──▶ approved (in notice)
          ──(notice over, no open objection; payment recorded)──▶ paid
    (approved with nothing to pay ▶ closed)

Lines are frozen at filing (:func:`line_content` is hashed into the filing's audit entry);
decisions, payments and recoveries are appended beside them. A revoked certificate is taken out
of a batch not yet paid (a system ``rejected`` decision) and turns a paid line into a recovery
item.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Institution, Role, User
from app.accounts.principal import Principal
from app.accounts.privacy import mask_name
from app.audit import service as audit
from app.audit.chain import canonical
from app.audit.service import Actor
from app.certificates import subsidy
from app.certificates.claims import quarter_bounds
from app.certificates.models import Certificate
from app.claims.exceptions import (
    BatchNotFound,
    BatchNotPayable,
    BatchNotReviewable,
    ClassNotClaimable,
    FilingBlocked,
    InvalidClaimInput,
    LineNotFound,
    LineNotPaid,
    LinesUndecided,
    NothingToClaim,
    NoticeNotFound,
    NoticeNotOver,
    ObjectionClosed,
    ObjectionNotFound,
    ObjectionsOpen,
    PaymentMismatch,
    RecoveryClosed,
    RecoveryNotFound,
)
from app.claims.models import (
    BatchStatus,
    ClaimBatch,
    ClaimLine,
    ClaimLineReview,
    ClaimPayment,
    LineDecision,
    NoticeObjection,
    ObjectionStatus,
    Payee,
    RecoveryItem,
    RecoverySource,
    RecoveryStatus,
)
from app.config import get_settings
from app.courses.models import LEVEL_NAMES_ZH, ClassStatus, CourseClass, Enrollment
from app.crypto import encrypt
from app.errors import Forbidden
from app.programmes.jurisdiction import jurisdiction_filter
from app.validation import check_text

REASON_CHARS = 500
REFERENCE_CHARS = 100
#: Decisions that settle a line (the batch can be approved once every line has one).
FINAL = (LineDecision.approved, LineDecision.rejected)

#: Called with (session, batch, actor) after a batch is filed / approved / paid, in the same
#: transaction: the regional data exchange listens (subscribed in app/wiring.py).
filed_hooks: list[Callable[[Session, ClaimBatch, Actor], None]] = []
approved_hooks: list[Callable[[Session, ClaimBatch, Actor], None]] = []
paid_hooks: list[Callable[[Session, ClaimBatch, Actor], None]] = []


def subject(batch: ClaimBatch) -> str:
    return f"claim_batch:{batch.id}"


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- who may do what


def _staff_institution(principal: Principal) -> uuid.UUID:
    """The institution a signed-in staff member files for."""
    if principal.user is None or principal.role is not Role.staff or not principal.institution_id:
        raise Forbidden("Claims are filed by the institution's staff.")
    return principal.institution_id


def _regulator(principal: Principal) -> User:
    if principal.user is None or principal.role not in (Role.regulator, Role.admin):
        raise Forbidden("Only a regulator reviews, approves and pays claims.")
    return principal.user


def in_jurisdiction(session: Session, principal: Principal, batch: ClaimBatch) -> bool:
    """Whether a regulator's jurisdiction covers the batch's institution (app/programmes:
    a region and everything under it; national regulators and admins every institution)."""
    return principal.is_regulator and principal.can_see_institution(batch.institution_id)


def can_see_batch(session: Session, principal: Principal, batch: ClaimBatch) -> bool:
    if principal.is_regulator:
        return in_jurisdiction(session, principal, batch)
    if principal.role is Role.staff:
        return principal.institution_id == batch.institution_id
    return False


def get_batch(session: Session, principal: Principal, batch_id: uuid.UUID) -> ClaimBatch:
    batch = session.get(ClaimBatch, batch_id)
    if batch is None or not can_see_batch(session, principal, batch):
        raise BatchNotFound()
    return batch


def _batch_for_regulator(
    session: Session, principal: Principal, batch_id: uuid.UUID, *, lock: bool = True
) -> ClaimBatch:
    _regulator(principal)
    batch = session.get(ClaimBatch, batch_id, with_for_update=lock)
    if batch is None or not in_jurisdiction(session, principal, batch):
        raise BatchNotFound()
    return batch


def get_line(session: Session, principal: Principal, line_id: uuid.UUID) -> ClaimLine:
    line = session.get(ClaimLine, line_id)
    if line is None:
        raise LineNotFound()
    batch = session.get(ClaimBatch, line.batch_id)
    if batch is None or not can_see_batch(session, principal, batch):
        raise LineNotFound()
    return line


def list_batches(
    session: Session, principal: Principal, *, institution_id: uuid.UUID | None = None
) -> list[ClaimBatch]:
    stmt = select(ClaimBatch).order_by(col(ClaimBatch.filed_at).desc())
    if not principal.is_regulator:
        _staff_institution(principal)
    elif institution_id is not None:
        stmt = stmt.where(col(ClaimBatch.institution_id) == institution_id)
    return list(session.exec(stmt.where(jurisdiction_filter(principal, ClaimBatch.institution_id))))


def lines_of(session: Session, batch: ClaimBatch) -> list[ClaimLine]:
    return list(
        session.exec(
            select(ClaimLine).where(col(ClaimLine.batch_id) == batch.id).order_by(col(ClaimLine.no))
        )
    )


# ---------------------------------------------------------------- frozen lines


def line_content(line: ClaimLine) -> dict[str, Any]:
    """Everything a line states, as hashed at filing (its ``content_hash``)."""
    return {
        "batch_id": str(line.batch_id),
        "no": line.no,
        "certificate_id": str(line.certificate_id),
        "serial": line.serial,
        "revision": line.revision,
        "corrects_line_id": str(line.corrects_line_id) if line.corrects_line_id else None,
        "learner_id": str(line.user_id),
        "learner_name": line.learner_name,
        "id_number_masked": line.id_number_masked,
        "id_number_enc": line.id_number_enc,
        "learner_group": line.learner_group.value if line.learner_group else None,
        "course_id": str(line.course_id),
        "course_title": line.course_title,
        "occupation_code": line.occupation_code,
        "occupation_name": line.occupation_name,
        "level": line.level.value,
        "credited_minutes": line.credited_minutes,
        "issued_at": audit.format_time(line.issued_at),
        "programme_id": str(line.programme_id) if line.programme_id else None,
        "standard_version_id": str(line.standard_version_id) if line.standard_version_id else None,
        "amount_fen": line.amount_fen,
        "rules": line.rules,
    }


def content_hash(line: ClaimLine) -> str:
    return sha256_hex(canonical(line_content(line)))


def lines_digest(hashes: Sequence[str]) -> str:
    return sha256_hex("\n".join(hashes).encode())


def verify_frozen(session: Session, batch: ClaimBatch) -> list[int]:
    """Numbers of the lines whose content no longer matches the hash recorded at filing
    (empty: the batch is as filed)."""
    lines = lines_of(session, batch)
    bad = [line.no for line in lines if content_hash(line) != line.content_hash]
    if lines_digest([line.content_hash for line in lines]) != batch.lines_hash:
        bad.append(0)
    return bad


def _line_for(
    batch: ClaimBatch,
    no: int,
    cert: Certificate,
    learner: User | None,
    decision: subsidy.Decision,
    *,
    revision: int = 1,
    corrects: ClaimLine | None = None,
) -> ClaimLine:
    line = ClaimLine(
        batch_id=batch.id,
        institution_id=batch.institution_id,
        no=no,
        certificate_id=cert.id,
        serial=cert.serial,
        revision=revision,
        corrects_line_id=corrects.id if corrects else None,
        user_id=cert.user_id,
        learner_name=cert.learner_name,
        id_number_masked=cert.id_number_masked,
        id_number_enc=learner.id_number_enc if learner else None,
        learner_group=cert.learner_group,
        course_id=cert.course_id,
        course_title=cert.course_title,
        occupation_code=cert.occupation_code,
        occupation_name=cert.occupation_name,
        level=cert.level,
        credited_minutes=cert.credited_minutes,
        issued_at=cert.issued_at,
        amount_fen=decision.amount_fen,
        rules=[
            {"rule": r.rule, "passed": r.passed, "detail": r.detail, "detail_zh": r.detail_zh}
            for r in decision.rules
        ],
        content_hash="",
    )
    line.content_hash = content_hash(line)
    return line


# ---------------------------------------------------------------- filing


def overdue_recoveries(session: Session, institution_id: uuid.UUID) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(RecoveryItem)
            .where(
                col(RecoveryItem.institution_id) == institution_id,
                col(RecoveryItem.status) == RecoveryStatus.open,
                col(RecoveryItem.due_at) < clock.now(),
            )
        ).one()
    )


def _check_may_file(session: Session, institution_id: uuid.UUID) -> None:
    if get_settings().claims_block_on_overdue_recoveries:
        n = overdue_recoveries(session, institution_id)
        if n:
            raise FilingBlocked(overdue_recoveries=n)


def _new_batch(
    session: Session, institution: Institution, actor: Actor, **fields: Any
) -> ClaimBatch:
    last = session.exec(
        select(func.max(ClaimBatch.seq)).where(col(ClaimBatch.institution_id) == institution.id)
    ).one()
    seq = int(last or 0) + 1
    batch = ClaimBatch(
        institution_id=institution.id,
        seq=seq,
        reference=f"{institution.code}-B{seq:05d}",
        filed_by=str(actor),
        filed_at=clock.now(),
        lines_hash="",
        **fields,
    )
    session.add(batch)
    session.flush()
    return batch


def _finish_filing(
    session: Session, batch: ClaimBatch, lines: list[ClaimLine], actor: Actor, **extra: Any
) -> ClaimBatch:
    session.add_all(lines)
    batch.line_count = len(lines)
    batch.total_fen = sum(line.amount_fen for line in lines)
    batch.lines_hash = lines_digest([line.content_hash for line in lines])
    session.add(batch)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="claim.filed",
        subject=subject(batch),
        institution_id=batch.institution_id,
        payload={
            "reference": batch.reference,
            "period_kind": batch.period_kind,
            "year": batch.year,
            "quarter": batch.quarter,
            "payee": batch.payee.value,
            "line_count": batch.line_count,
            "total_fen": batch.total_fen,
            "lines_hash": batch.lines_hash,
            "lines": [
                {
                    "no": line.no,
                    "line_id": str(line.id),
                    "serial": line.serial,
                    "revision": line.revision,
                    "amount_fen": line.amount_fen,
                    "content_hash": line.content_hash,
                }
                for line in lines
            ],
            **extra,
        },
    )
    for hook in filed_hooks:
        hook(session, batch, actor)
    return batch


def _claimed_certificates(session: Session, cert_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
    if not cert_ids:
        return set()
    return set(
        session.exec(
            select(ClaimLine.certificate_id).where(col(ClaimLine.certificate_id).in_(cert_ids))
        )
    )


def _file_certificates(
    session: Session, principal: Principal, conditions: list[Any], **batch_fields: Any
) -> ClaimBatch:
    """File the institution's eligible, not yet claimed certificates meeting ``conditions`` as
    one batch, every line frozen with its rules' outcomes."""
    institution_id = _staff_institution(principal)
    institution = session.get(Institution, institution_id, with_for_update=True)
    if institution is None:
        raise Forbidden()
    _check_may_file(session, institution_id)
    certs = list(
        session.exec(
            select(Certificate)
            .where(col(Certificate.institution_id) == institution_id, *conditions)
            .order_by(col(Certificate.issued_at), col(Certificate.serial))
        )
    )
    claimed = _claimed_certificates(session, [c.id for c in certs])
    decisions = subsidy.for_learners(session, [c.user_id for c in certs])
    chosen = [c for c in certs if c.id not in claimed and decisions[c.id].eligible]
    if not chosen:
        raise NothingToClaim()
    learners = {
        u.id: u
        for u in session.exec(select(User).where(col(User.id).in_([c.user_id for c in chosen])))
    }
    actor = principal.actor
    batch = _new_batch(session, institution, actor, **batch_fields)
    lines = [
        _line_for(batch, i + 1, c, learners.get(c.user_id), decisions[c.id])
        for i, c in enumerate(chosen)
    ]
    return _finish_filing(session, batch, lines, actor)


def file_quarter(session: Session, principal: Principal, *, year: int, quarter: int) -> ClaimBatch:
    """File a quarter's certificates (Asia/Shanghai date of issue)."""
    start, end = quarter_bounds(year, quarter)
    return _file_certificates(
        session,
        principal,
        [col(Certificate.issued_at) >= start, col(Certificate.issued_at) < end],
        period_kind="quarter",
        year=year,
        quarter=quarter,
    )


def file_class(session: Session, principal: Principal, class_id: uuid.UUID) -> ClaimBatch:
    """File a completed class (结业): the certificates of its roster's enrolments."""
    institution_id = _staff_institution(principal)
    klass = session.get(CourseClass, class_id)
    if klass is None or klass.institution_id != institution_id:
        raise ClassNotClaimable("No such class of this institution.")
    if klass.status is not ClassStatus.closed:
        raise ClassNotClaimable(
            "Only a completed class (结业) can be claimed.", class_status=klass.status.value
        )
    roster = select(Enrollment.id).where(col(Enrollment.class_id) == klass.id)
    return _file_certificates(
        session,
        principal,
        [col(Certificate.enrollment_id).in_(roster)],
        period_kind="class",
        class_id=klass.id,
    )


def file_corrections(
    session: Session, principal: Principal, line_ids: Sequence[uuid.UUID], reason: str
) -> ClaimBatch:
    """Claim rejected lines again as new lines (the next revision of the same certificate,
    decided afresh), each referencing the line it corrects; the old lines stay as they were."""
    institution_id = _staff_institution(principal)
    reason = _reason(reason, field="reason")
    if not line_ids or len(set(line_ids)) != len(line_ids):
        raise InvalidClaimInput("Name each line to correct once.")
    institution = session.get(Institution, institution_id, with_for_update=True)
    if institution is None:
        raise Forbidden()
    _check_may_file(session, institution_id)
    old_lines: list[ClaimLine] = []
    for line_id in line_ids:
        line = session.get(ClaimLine, line_id)
        if line is None or line.institution_id != institution_id:
            raise LineNotFound()
        if latest_decision(session, line) is not LineDecision.rejected:
            raise InvalidClaimInput("Only a rejected line can be corrected.", line_no=line.no)
        newer = session.exec(
            select(ClaimLine.id).where(
                col(ClaimLine.certificate_id) == line.certificate_id,
                col(ClaimLine.revision) > line.revision,
            )
        ).first()
        if newer is not None:
            raise InvalidClaimInput("This line was already corrected.", line_no=line.no)
        old_lines.append(line)
    certs = {
        c.id: c
        for c in session.exec(
            select(Certificate).where(
                col(Certificate.id).in_([line.certificate_id for line in old_lines])
            )
        )
    }
    decisions = subsidy.for_learners(session, [c.user_id for c in certs.values()])
    for line in old_lines:
        if not decisions[line.certificate_id].eligible:
            raise InvalidClaimInput(
                "The certificate is not eligible for a subsidy now.", line_no=line.no
            )
    learners = {
        u.id: u
        for u in session.exec(
            select(User).where(col(User.id).in_([c.user_id for c in certs.values()]))
        )
    }
    actor = principal.actor
    batch = _new_batch(session, institution, actor, period_kind="correction")
    lines = []
    for i, old in enumerate(old_lines):
        cert = certs[old.certificate_id]
        lines.append(
            _line_for(
                batch,
                i + 1,
                cert,
                learners.get(cert.user_id),
                decisions[cert.id],
                revision=old.revision + 1,
                corrects=old,
            )
        )
    return _finish_filing(session, batch, lines, actor, reason=reason)


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
        acct = check_text(account or "", field="account")
        if not acct.isdigit() or not 9 <= len(acct) <= 19:
            raise InvalidClaimInput("account: the social security card's account number.")
        masked = acct[:4] + "*" * (len(acct) - 8) + acct[-4:]
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


# ---------------------------------------------------------------- public notice (公示)


@dataclass(frozen=True)
class NoticeLine:
    line_id: uuid.UUID
    no: int
    name_masked: str
    id_number_masked: str
    course_title: str
    occupation: str
    level: str
    amount_fen: int


@dataclass(frozen=True)
class Notice:
    batch_id: uuid.UUID
    reference: str
    institution_name: str
    starts_at: datetime
    ends_at: datetime
    total_fen: int
    lines: list[NoticeLine]


def _notice_of(session: Session, batch: ClaimBatch, institution: Institution) -> Notice:
    lines = [
        NoticeLine(
            line_id=line.id,
            no=line.no,
            name_masked=mask_name(line.learner_name),
            id_number_masked=line.id_number_masked,
            course_title=line.course_title,
            occupation=f"{line.occupation_name}（{line.occupation_code}）",
            level=LEVEL_NAMES_ZH[line.level],
            amount_fen=line.amount_fen,
        )
        for line in approved_lines(session, batch)
    ]
    assert batch.notice_starts_at is not None and batch.notice_ends_at is not None  # noqa: S101
    return Notice(
        batch_id=batch.id,
        reference=batch.reference,
        institution_name=institution.name,
        starts_at=batch.notice_starts_at,
        ends_at=batch.notice_ends_at,
        total_fen=sum(x.amount_fen for x in lines),
        lines=lines,
    )


def current_notices(session: Session) -> list[Notice]:
    """Batches in public notice now (approved, notice not over), newest first: masked names
    and ID numbers, course, amount."""
    now = clock.now()
    rows = session.exec(
        select(ClaimBatch, Institution)
        .join(Institution, col(Institution.id) == col(ClaimBatch.institution_id))
        .where(
            col(ClaimBatch.status) == BatchStatus.approved,
            col(ClaimBatch.notice_ends_at) > now,
        )
        .order_by(col(ClaimBatch.notice_starts_at).desc())
    ).all()
    return [_notice_of(session, batch, inst) for batch, inst in rows]


def raise_objection(
    session: Session,
    batch_id: uuid.UUID,
    *,
    text: str,
    line_id: uuid.UUID | None = None,
    contact: str | None = None,
) -> NoticeObjection:
    """Anyone may object to a batch (or one of its lines) while it is in notice; the objection
    goes to the regulator, and payment waits until it is resolved."""
    batch = session.get(ClaimBatch, batch_id)
    now = clock.now()
    if (
        batch is None
        or batch.status is not BatchStatus.approved
        or batch.notice_ends_at is None
        or now >= batch.notice_ends_at
    ):
        raise NoticeNotFound()
    body = check_text(text, field="text", multiline=True)
    if len(body) > 2000:
        raise InvalidClaimInput("text: at most 2000 characters.", field="text")
    if line_id is not None and line_id not in {x.id for x in approved_lines(session, batch)}:
        raise LineNotFound()
    reach = check_text(contact or "", field="contact", required=False)
    if len(reach) > 200:
        raise InvalidClaimInput("contact: at most 200 characters.", field="contact")
    objection = NoticeObjection(
        batch_id=batch.id,
        line_id=line_id,
        institution_id=batch.institution_id,
        text=body,
        contact_enc=encrypt("objection_contact", reach.encode()) if reach else None,
        received_at=now,
    )
    session.add(objection)
    session.flush()
    audit.append(
        session,
        actor=Actor("public", "notice"),
        action="claim.objection_received",
        subject=subject(batch),
        institution_id=batch.institution_id,
        payload={
            "objection_id": str(objection.id),
            "line_id": str(line_id) if line_id else None,
            "text_sha256": sha256_hex(body.encode()),
            "has_contact": bool(reach),
        },
    )
    return objection


def objections_of(session: Session, batch: ClaimBatch) -> list[NoticeObjection]:
    return list(
        session.exec(
            select(NoticeObjection)
            .where(col(NoticeObjection.batch_id) == batch.id)
            .order_by(col(NoticeObjection.received_at))
        )
    )


def list_objections(
    session: Session, principal: Principal, *, status: ObjectionStatus | None = None
) -> list[NoticeObjection]:
    """Objections for the regulator to handle (jurisdiction), oldest first."""
    _regulator(principal)
    stmt = select(NoticeObjection).order_by(col(NoticeObjection.received_at))
    if status is not None:
        stmt = stmt.where(col(NoticeObjection.status) == status)
    return list(
        session.exec(stmt.where(jurisdiction_filter(principal, NoticeObjection.institution_id)))
    )


def resolve_objection(
    session: Session,
    principal: Principal,
    objection_id: uuid.UUID,
    *,
    upheld: bool,
    resolution: str,
) -> NoticeObjection:
    """The regulator upholds an objection (its line is rejected: never paid) or dismisses it."""
    _regulator(principal)
    objection = session.get(NoticeObjection, objection_id, with_for_update=True)
    if objection is None:
        raise ObjectionNotFound()
    batch = _batch_for_regulator(session, principal, objection.batch_id)
    if objection.status is not ObjectionStatus.open:
        raise ObjectionClosed()
    text = _reason(resolution, field="resolution")
    objection.status = ObjectionStatus.upheld if upheld else ObjectionStatus.dismissed
    objection.resolved_at = clock.now()
    objection.resolved_by = str(principal.actor)
    objection.resolution = text
    session.add(objection)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="claim.objection_resolved",
        subject=subject(batch),
        institution_id=batch.institution_id,
        payload={
            "objection_id": str(objection.id),
            "status": objection.status.value,
            "resolution": text,
        },
    )
    if upheld and objection.line_id is not None and batch.status is BatchStatus.approved:
        line = session.get(ClaimLine, objection.line_id)
        assert line is not None  # noqa: S101 - the foreign key
        _decide(session, line, batch, LineDecision.rejected, text, principal.actor)
        _close_if_nothing_to_pay(session, batch)
    return objection


# ---------------------------------------------------------------- reading a batch


@dataclass(frozen=True)
class BatchView:
    """A batch with everything appended beside its frozen lines."""

    batch: ClaimBatch
    lines: list[ClaimLine]
    reviews: dict[uuid.UUID, list[ClaimLineReview]]
    paid: set[uuid.UUID]
    payments: list[ClaimPayment]
    objections: list[NoticeObjection]

    @property
    def approved_fen(self) -> int:
        return sum(
            line.amount_fen
            for line in self.lines
            if standing(self.reviews[line.id]) is LineDecision.approved
        )


def view(session: Session, principal: Principal, batch_id: uuid.UUID) -> BatchView:
    batch = get_batch(session, principal, batch_id)
    lines = lines_of(session, batch)
    return BatchView(
        batch=batch,
        lines=lines,
        reviews=reviews_of(session, [line.id for line in lines]),
        paid=paid_line_ids(session, batch),
        payments=payments_of(session, batch),
        objections=objections_of(session, batch),
    )


# ---------------------------------------------------------------- the learner's view


@dataclass(frozen=True)
class LearnerClaim:
    """Where a claim on one of the learner's certificates stands."""

    line_id: uuid.UUID
    serial: str
    course_title: str
    amount_fen: int
    batch_reference: str
    payee: Payee
    #: filed, evidence_requested, in_notice, approved (notice over, not yet paid), paid,
    #: rejected (with the reason).
    status: str
    reason: str | None
    filed_at: datetime
    notice_ends_at: datetime | None


def learner_claims(session: Session, principal: Principal) -> list[LearnerClaim]:
    """Every claim line on the signed-in learner's certificates, newest first, with its status
    as the learner should read it (the latest revision of each certificate's line)."""
    if principal.user is None or principal.role is not Role.learner:
        raise Forbidden("This is the learner's own view.")
    rows = session.exec(
        select(ClaimLine, ClaimBatch)
        .join(ClaimBatch, col(ClaimBatch.id) == col(ClaimLine.batch_id))
        .where(col(ClaimLine.user_id) == principal.user.id)
        .order_by(col(ClaimBatch.filed_at).desc(), col(ClaimLine.revision).desc())
    ).all()
    history = reviews_of(session, [line.id for line, _ in rows])
    now = clock.now()
    out: list[LearnerClaim] = []
    seen: set[uuid.UUID] = set()
    for line, batch in rows:
        if line.certificate_id in seen:
            continue  # an older revision, corrected since
        seen.add(line.certificate_id)
        reviews = history[line.id]
        decision = standing(reviews)
        reason = reviews[-1].reason if reviews else None
        if decision is LineDecision.rejected:
            status = "rejected"
        elif decision is LineDecision.evidence_requested:
            status = "evidence_requested"
        elif batch.status is BatchStatus.paid and line.id in paid_line_ids(session, batch):
            status, reason = "paid", None
        elif batch.status is BatchStatus.approved and decision is LineDecision.approved:
            in_notice = batch.notice_ends_at is not None and now < batch.notice_ends_at
            status, reason = ("in_notice" if in_notice else "approved"), None
        else:
            status, reason = "filed", None
        out.append(
            LearnerClaim(
                line_id=line.id,
                serial=line.serial,
                course_title=line.course_title,
                amount_fen=line.amount_fen,
                batch_reference=batch.reference,
                payee=batch.payee,
                status=status,
                reason=reason,
                filed_at=batch.filed_at,
                notice_ends_at=batch.notice_ends_at,
            )
        )
    return out
