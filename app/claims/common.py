"""What every part of the claims workflow shares: limits, hooks, who may see or act on a
batch (:func:`get_batch`, :func:`list_batches`, the jurisdiction), and the frozen line
(:func:`line_content` and its hash)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.chain import canonical
from app.audit.service import Actor
from app.certificates import subsidy
from app.certificates.models import Certificate
from app.claims.exceptions import (
    BatchNotFound,
    LineNotFound,
)
from app.claims.models import (
    ClaimBatch,
    ClaimLine,
    LineDecision,
)
from app.errors import Forbidden
from app.programmes.jurisdiction import jurisdiction_filter

__all__ = [
    "FINAL",
    "REASON_CHARS",
    "REFERENCE_CHARS",
    "approved_hooks",
    "can_see_batch",
    "content_hash",
    "filed_hooks",
    "get_batch",
    "get_line",
    "in_jurisdiction",
    "line_content",
    "lines_digest",
    "lines_of",
    "list_batches",
    "paid_hooks",
    "sha256_hex",
    "subject",
    "verify_frozen",
]


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
    standard_id: uuid.UUID | None = None,
) -> ClaimLine:
    """A line frozen from the certificate and the subsidy decision; the standard version is the
    certificate's (the one its amount was recorded from) unless ``standard_id`` names another
    programme's (a learner's application under a programme that pays individuals)."""
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
        standard_version_id=standard_id if standard_id is not None else cert.subsidy_standard_id,
        amount_fen=decision.amount_fen,
        rules=[
            {"rule": r.rule, "passed": r.passed, "detail": r.detail, "detail_zh": r.detail_zh}
            for r in decision.rules
        ],
        content_hash="",
    )
    line.content_hash = content_hash(line)
    return line
