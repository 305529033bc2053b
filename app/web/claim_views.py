"""What the staff and regulator claim pages share: the words for statuses and decisions, the
form parsing, and the reading of a batch (the API's own ``batch_out`` so a page and the API show
the same batch the same way). Rules live in app/claims."""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from sqlmodel import Session

from app import clock
from app.accounts.principal import Principal
from app.claims import exceptions as cx
from app.claims import service as claims
from app.claims.models import BatchStatus, LineDecision, ObjectionStatus, RecoveryStatus
from app.claims.schemas import BatchOut, BatchSummaryOut, RecoveryOut, batch_out
from app.courses.models import CourseClass

BATCH_STATUS_NAMES = {
    BatchStatus.filed: "审核中",
    BatchStatus.approved: "公示中",
    BatchStatus.paid: "已拨付",
    BatchStatus.closed: "已办结（无可拨付）",
}
DECISION_NAMES = {
    None: "待审核",
    LineDecision.approved: "通过",
    LineDecision.rejected: "不通过",
    LineDecision.evidence_requested: "需补充材料",
    LineDecision.evidence_provided: "已补充材料，待复核",
}
RECOVERY_STATUS_NAMES = {
    RecoveryStatus.open: "待追回",
    RecoveryStatus.recovered: "已追回",
    RecoveryStatus.written_off: "已核销",
}
RECOVERY_SOURCE_NAMES = {"revocation": "证书撤销", "finding": "核查发现"}
OBJECTION_STATUS_NAMES = {
    ObjectionStatus.open: "待处理",
    ObjectionStatus.upheld: "异议成立",
    ObjectionStatus.dismissed: "异议不成立",
}
PAYEE_NAMES = {"institution": "培训机构", "learner": "学员社保卡账户"}
WORDS: dict[str, Any] = {
    "batch_status": BATCH_STATUS_NAMES,
    "decision": DECISION_NAMES,
    "recovery_status": RECOVERY_STATUS_NAMES,
    "recovery_source": RECOVERY_SOURCE_NAMES,
    "objection_status": OBJECTION_STATUS_NAMES,
    "payee": PAYEE_NAMES,
}

_YUAN = re.compile(r"\d{1,10}(\.\d{1,2})?")


def fen_of(text: str, field: str) -> int:
    """A yuan amount as typed (``1500`` or ``1500.00``) in fen, or the service's input refusal."""
    raw = text.strip().replace(",", "")
    if not _YUAN.fullmatch(raw):
        raise cx.InvalidClaimInput("Amount in yuan, at most two decimals.", field=field)
    whole, _, cents = raw.partition(".")
    return int(whole) * 100 + int((cents + "00")[:2])


def date_of(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise cx.InvalidClaimInput("A date as YYYY-MM-DD.", field=field) from None


def uuid_of(text: str, field: str) -> uuid.UUID | None:
    if not text.strip():
        return None
    try:
        return uuid.UUID(text.strip())
    except ValueError:
        raise cx.InvalidClaimInput("Not a known id.", field=field) from None


def batch(session: Session, principal: Principal, batch_id: uuid.UUID) -> BatchOut:
    """The batch as the API returns it (raises BatchNotFound outside the caller's reach)."""
    return batch_out(claims.view(session, principal, batch_id))


def summaries(
    session: Session, principal: Principal, institution_id: uuid.UUID | None = None
) -> list[BatchSummaryOut]:
    return [
        BatchSummaryOut.of(b)
        for b in claims.list_batches(session, principal, institution_id=institution_id)
    ]


def recoveries(
    session: Session,
    principal: Principal,
    *,
    status: RecoveryStatus | None = None,
    institution_id: uuid.UUID | None = None,
) -> list[RecoveryOut]:
    now = clock.now()
    return [
        RecoveryOut.of(r, now)
        for r in claims.list_recoveries(
            session, principal, status=status, institution_id=institution_id
        )
    ]


def institution_names(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    return claims.institution_names(session, ids)


def closed_classes(session: Session, institution_id: uuid.UUID) -> list[CourseClass]:
    """The institution's completed (结业) classes, the ones a class batch can be filed for."""
    return claims.closed_classes(session, institution_id)
