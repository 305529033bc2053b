"""What the staff and regulator claim pages share: the words for statuses and decisions, the
form parsing, the reading of a batch (the API's own ``batch_out`` so a page and the API show
the same batch the same way), the batch page itself and the handling of every form on it
(:func:`act`). Rules live in app/claims."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session

from app import clock
from app.accounts.models import User
from app.accounts.principal import Principal
from app.certificates.subsidy import yuan
from app.claims import exceptions as cx
from app.claims import service as claims
from app.claims.models import BatchStatus, LineDecision, ObjectionStatus, RecoveryStatus
from app.claims.schemas import BatchOut, BatchSummaryOut, RecoveryOut, batch_out
from app.clock import SHANGHAI
from app.courses.models import CourseClass
from app.db import attempt
from app.errors import DomainError
from app.web.i18n import lang_of, message_for
from app.web.render import error_page, redirect, render

Role = Literal["staff", "regulator"]
#: Where each role's batch pages live.
BATCH_PAGES: dict[str, str] = {"staff": "/staff/claims/batches", "regulator": "/regulator/claims"}

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
PAYEE_NAMES = {"institution": "培训机构", "learner": "学员本人账户"}
PERIOD_NAMES = {
    "class": "结业班级",
    "correction": "更正申报",
    "application": "学员个人申请",
}
#: Where a claim stands, as the learner reads it (app/claims/reading.py ``learner_claims``).
LEARNER_STATUS_NAMES = {
    "filed": "已提交，待人社部门审核",
    "evidence_requested": "审核中：人社部门要求培训机构补充材料",
    "in_notice": "审核通过，公示中",
    "approved": "公示期满，待拨付",
    "paid": "已拨付",
    "rejected": "未通过",
}
#: The steps a claim goes through, in order (a rejection ends it).
LEARNER_STEPS = (
    ("filed", "已提交"),
    ("in_notice", "公示中"),
    ("approved", "待拨付"),
    ("paid", "已拨付"),
)
ACCOUNT_KIND_NAMES = {
    "social_security_card": "社会保障卡（金融账户）",
    "bank_card": "本人银行借记卡",
}
WORDS: dict[str, Any] = {
    "batch_status": BATCH_STATUS_NAMES,
    "decision": DECISION_NAMES,
    "recovery_status": RECOVERY_STATUS_NAMES,
    "recovery_source": RECOVERY_SOURCE_NAMES,
    "objection_status": OBJECTION_STATUS_NAMES,
    "payee": PAYEE_NAMES,
    "period": PERIOD_NAMES,
    "learner_status": LEARNER_STATUS_NAMES,
    "learner_steps": LEARNER_STEPS,
    "account_kind": ACCOUNT_KIND_NAMES,
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


# ---------------------------------------------------------------- the pages


def list_page(
    request: Request,
    user: User,
    session: Session,
    role: Role,
    *,
    batches: list[BatchSummaryOut],
    recoveries: list[RecoveryOut],
    status: int = 200,
    **ctx: Any,
) -> Response:
    """The list of batches and recoveries (one template for both roles; each role adds its own
    forms: staff the filing form, regulators the filters and open objections)."""
    defaults: dict[str, Any] = {
        "error": None,
        "errors": {},
        "values": {},
        "classes": [],
        "years": [],
        "institutions": {},
        "objections": [],
        "references": {},
        "status_filter": "",
        "institution_filter": "",
    }
    return render(
        request,
        "claim_batches.html",
        user,
        status=status,
        role=role,
        base=BATCH_PAGES[role],
        batches=batches,
        recoveries=recoveries,
        words=WORDS,
        yuan=yuan,
        **{**defaults, **ctx},
    )


def batch_page(
    request: Request,
    user: User,
    session: Session,
    batch_id: uuid.UUID,
    role: Role,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """A batch as the API shows it, with the forms the role may use (one template for both)."""
    principal = Principal.of_user(user)
    try:
        shown = batch(session, principal, batch_id)
    except DomainError as err:
        return error_page(request, user, err)
    names = institution_names(session, {shown.institution_id}) if role == "regulator" else {}
    return render(
        request,
        "claim_batch.html",
        user,
        status=status,
        role=role,
        base=BATCH_PAGES[role],
        batch=shown,
        institution_name=names.get(shown.institution_id),
        #: Rejected lines not yet claimed again: staff may file a correction for them.
        correctable=[
            x for x in shown.lines if x.decision is LineDecision.rejected and x.corrected_by is None
        ]
        if role == "staff"
        else [],
        errors=errors or {},
        values=values or {},
        words=WORDS,
        yuan=yuan,
        today=clock.now().astimezone(SHANGHAI).date().isoformat(),
    )


def act(
    request: Request,
    user: User,
    session: Session,
    role: Role,
    *,
    batch_id: uuid.UUID,
    key: str,
    run: Callable[[], Any],
    done: str | Callable[[Any], str | Response],
    flash: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """Handle a form on a batch page as the API handles the request: ``run`` the service call in
    a savepoint; on success go to ``done`` (a URL, or made from what ``run`` returned: a URL or
    the response itself) with the ``flash`` message; on a refusal show the batch page again with
    the message next to the form (``key``) and what was typed; a batch out of reach is the
    not-found page."""
    try:
        with attempt(session):
            result = run()
    except cx.BatchNotFound as err:
        return error_page(request, user, err)
    except DomainError as err:
        return batch_page(
            request,
            user,
            session,
            batch_id,
            role,
            status=err.status,
            errors={key: message_for(err, lang_of(request))},
            values={f"{key}.{k}": v for k, v in (values or {}).items()},
        )
    after = done(result) if callable(done) else done
    return after if isinstance(after, Response) else redirect(request, after, flash)
