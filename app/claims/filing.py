"""Filing a claim batch: a quarter's or a closed class's certificates become lines frozen at
filing (their hashes in the ``claim.filed`` audit entry); corrections are new revisions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Institution, User
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.service import Actor
from app.certificates import subsidy
from app.certificates.claims import quarter_bounds
from app.certificates.models import Certificate
from app.claims.common import (
    _line_for,
    _staff_institution,
    content_hash,
    filed_hooks,
    lines_digest,
    subject,
)
from app.claims.exceptions import (
    ClassNotClaimable,
    CompletionNotApproved,
    FilingBlocked,
    InvalidClaimInput,
    LineNotFound,
    NothingToClaim,
)
from app.claims.models import (
    ClaimBatch,
    ClaimLine,
    LineDecision,
    RecoveryItem,
    RecoveryStatus,
)
from app.claims.review import _reason, latest_decision
from app.config import get_settings
from app.courses.models import ClassStatus, CourseClass, Enrollment
from app.errors import Forbidden
from app.filing import service as class_filing
from app.filing.models import FilingStatus
from app.programmes import registry, standards

__all__ = [
    "file_class",
    "file_corrections",
    "file_quarter",
    "overdue_recoveries",
]


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
    """Only an approved institution files (409 ``institution_not_approved``), and none with
    overdue recoveries when the setting says so."""
    registry.ensure_approved(session, institution_id)
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
    # Each line names its programme (the first version of its standard's series) before it is
    # frozen: its hash covers it.
    programmes = standards.programme_ids(
        session, [x.standard_version_id for x in lines if x.standard_version_id]
    )
    for line in lines:
        if line.standard_version_id is not None:
            line.programme_id = programmes.get(line.standard_version_id)
            line.content_hash = content_hash(line)
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
    """File a completed class (结业) whose completion filing (结业备案) the regulator approved:
    the certificates of its roster's enrolments. A class not filed, or whose completion filing
    awaits a decision or was returned, is refused (409 ``completion_filing_not_approved``)."""
    institution_id = _staff_institution(principal)
    klass = session.get(CourseClass, class_id)
    if klass is None or klass.institution_id != institution_id:
        raise ClassNotClaimable("No such class of this institution.")
    if klass.status is not ClassStatus.closed:
        raise ClassNotClaimable(
            "Only a completed class (结业) can be claimed.", class_status=klass.status.value
        )
    completion = class_filing.state(session, klass).completion
    if completion is None or completion.status is not FilingStatus.approved:
        raise CompletionNotApproved(
            completion_filing_status=completion.status.value if completion else "none"
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
