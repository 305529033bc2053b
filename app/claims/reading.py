"""Reading a batch with everything appended beside its lines, and the learner's own view of
the claims that name them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Institution, Role
from app.accounts.principal import Principal
from app.claims.accounts import application_of
from app.claims.common import get_batch, lines_of
from app.claims.models import (
    BatchStatus,
    ClaimApplication,
    ClaimBatch,
    ClaimLine,
    ClaimLineReview,
    ClaimPayment,
    LineDecision,
    NoticeObjection,
    Payee,
)
from app.claims.notice import objections_of
from app.claims.payment import paid_line_ids, payments_of
from app.claims.review import reviews_of, standing
from app.courses.models import ClassStatus, CourseClass
from app.errors import Forbidden
from app.programmes.models import SubsidyStandard

__all__ = [
    "closed_classes",
    "institution_names",
    "BatchView",
    "LearnerClaim",
    "LineRef",
    "learner_claims",
    "standards_of",
    "view",
]


# ---------------------------------------------------------------- reading a batch


@dataclass(frozen=True)
class LineRef:
    """Another batch's line, as a correction names it."""

    line_id: uuid.UUID
    batch_id: uuid.UUID
    batch_reference: str
    no: int


@dataclass(frozen=True)
class BatchView:
    """A batch with everything appended beside its frozen lines."""

    batch: ClaimBatch
    lines: list[ClaimLine]
    reviews: dict[uuid.UUID, list[ClaimLineReview]]
    paid: set[uuid.UUID]
    payments: list[ClaimPayment]
    objections: list[NoticeObjection]
    #: The subsidy standard versions the lines' amounts come from, by id.
    standards: dict[uuid.UUID, SubsidyStandard] = field(default_factory=dict)
    #: By line id: the line it corrects (a correction is a new line naming the old one) ...
    corrects: dict[uuid.UUID, LineRef] = field(default_factory=dict)
    #: ... and the newer line that corrects it.
    corrected_by: dict[uuid.UUID, LineRef] = field(default_factory=dict)
    #: The learner's own application the batch was filed from (programmes paying individuals).
    application: ClaimApplication | None = None

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
        standards=standards_of(session, lines),
        corrects=_refs(session, [x for x in lines if x.corrects_line_id], by="old"),
        corrected_by=_refs(session, lines, by="new"),
        application=application_of(session, batch),
    )


def _refs(session: Session, lines: list[ClaimLine], *, by: str) -> dict[uuid.UUID, LineRef]:
    """``by="old"``: each correcting line's old line; ``by="new"``: each line's correction."""
    if not lines:
        return {}
    if by == "old":
        old_ids = [x.corrects_line_id for x in lines]
        where = col(ClaimLine.id).in_(old_ids)
    else:
        where = col(ClaimLine.corrects_line_id).in_([x.id for x in lines])
    rows = session.exec(
        select(ClaimLine, ClaimBatch)
        .join(ClaimBatch, col(ClaimBatch.id) == col(ClaimLine.batch_id))
        .where(where)
    ).all()
    refs = {line.id: LineRef(line.id, batch.id, batch.reference, line.no) for line, batch in rows}
    if by == "old":
        return {x.id: refs[x.corrects_line_id] for x in lines if x.corrects_line_id in refs}
    return {line.corrects_line_id: refs[line.id] for line, _ in rows if line.corrects_line_id}


def standards_of(session: Session, lines: list[ClaimLine]) -> dict[uuid.UUID, SubsidyStandard]:
    """The standard versions named by ``lines`` (a line names the version it was paid from)."""
    ids = {line.standard_version_id for line in lines if line.standard_version_id}
    if not ids:
        return {}
    rows = session.exec(select(SubsidyStandard).where(col(SubsidyStandard.id).in_(ids)))
    return {s.id: s for s in rows}


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
    #: Whether the learner applied themself (a programme paying individuals).
    own_application: bool = False
    #: When paid: the day and the account (masked) it was paid to.
    paid_on: date | None = None
    account_masked: str | None = None


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
        payment: ClaimPayment | None = None
        decision = standing(reviews)
        reason = reviews[-1].reason if reviews else None
        if decision is LineDecision.rejected:
            status = "rejected"
        elif decision is LineDecision.evidence_requested:
            status = "evidence_requested"
        elif line.id in paid_line_ids(session, batch):
            status, reason = "paid", None
            payment = next(
                (p for p in payments_of(session, batch) if p.line_id in (line.id, None)), None
            )
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
                own_application=batch.period_kind == "application",
                paid_on=payment.paid_on if status == "paid" and payment else None,
                account_masked=payment.account_masked if status == "paid" and payment else None,
            )
        )
    return out


def institution_names(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The names of institutions a caller already sees batches of (for a list's labels)."""
    if not ids:
        return {}
    rows = session.exec(select(Institution).where(col(Institution.id).in_(ids)))
    return {i.id: i.name for i in rows}


def closed_classes(session: Session, institution_id: uuid.UUID) -> list[CourseClass]:
    """The institution's completed (结业) classes, the ones a class batch can be filed for."""
    return list(
        session.exec(
            select(CourseClass)
            .where(col(CourseClass.institution_id) == institution_id)
            .where(col(CourseClass.status) == ClassStatus.closed)
            .order_by(col(CourseClass.code))
        )
    )
