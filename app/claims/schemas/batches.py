"""Response bodies of a claim batch: its summary, its frozen lines with every decision, the
payments and objections appended beside them, and recovery items.

Rows map onto these models by attribute (``from_attributes``): a field group is written once,
here, not once in the model and again in a hand-written copy constructor."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from app.claims.models import (
    AccountKind,
    BatchStatus,
    ClaimBatch,
    ClaimLine,
    ClaimLineReview,
    LineDecision,
    ObjectionStatus,
    Payee,
    RecoveryItem,
    RecoverySource,
    RecoveryStatus,
)
from app.claims.reading import BatchView, LineRef
from app.claims.schemas.examples import (
    BATCH_ID,
    BATCH_SUMMARY_EXAMPLE,
    LINE_EXAMPLE,
    LINE_ID,
    OBJECTION_EXAMPLE,
    PAYMENT_EXAMPLE,
    RECOVERY_EXAMPLE,
    REVIEW_EXAMPLE,
    RULE_EXAMPLE,
    examples,
)
from app.courses.models import LEVEL_NAMES_ZH, Level
from app.programmes.kinds import PROGRAMME_NAMES_ZH
from app.programmes.models import ProgrammeKind, SubsidyStandard


class RuleOutcomeOut(BaseModel):
    model_config = examples(RULE_EXAMPLE, from_attributes=True)

    rule: str
    passed: bool
    detail: str
    detail_zh: str


class LineReviewOut(BaseModel):
    model_config = examples(REVIEW_EXAMPLE, from_attributes=True)

    decision: LineDecision
    reason: str | None = None
    actor: str
    at: datetime


class LineRefOut(BaseModel):
    """Another line named by a correction."""

    model_config = examples(
        {"line_id": LINE_ID, "batch_id": BATCH_ID, "batch_reference": "SZJN-B00003", "no": 1},
        from_attributes=True,
    )

    line_id: uuid.UUID
    batch_id: uuid.UUID
    batch_reference: str
    no: int


class LineOut(BaseModel):
    model_config = examples(LINE_EXAMPLE)

    id: uuid.UUID
    no: int
    certificate_id: uuid.UUID
    serial: str
    revision: int
    corrects_line_id: uuid.UUID | None = Field(
        default=None, description="The rejected line this one claims again (a correction)"
    )
    corrects: LineRefOut | None = Field(
        default=None, description="The line this one corrects (with its batch)"
    )
    corrected_by: LineRefOut | None = Field(
        default=None, description="The newer line that corrects this one (with its batch)"
    )
    learner_id: uuid.UUID
    learner_name: str
    id_number_masked: str
    course_title: str
    occupation_code: str
    occupation_name: str
    level: Level
    level_name: str
    credited_minutes: int
    issued_at: datetime
    programme_id: uuid.UUID | None = None
    standard_version_id: uuid.UUID | None = Field(
        default=None,
        description="The regulator's subsidy standard (one version) the amount comes from; "
        "None: issued before standards, the course's own amount",
    )
    programme_kind: ProgrammeKind | None = None
    programme_name: str | None = Field(default=None, description="The programme kind in words")
    standard_version: int | None = None
    standard_region_code: str | None = None
    amount_fen: int
    rules: list[RuleOutcomeOut]
    content_hash: str
    decision: LineDecision | None = Field(description="The latest decision (None: undecided)")
    paid: bool
    reviews: list[LineReviewOut]

    @classmethod
    def of(
        cls,
        line: ClaimLine,
        reviews: list[ClaimLineReview],
        paid: bool,
        standard: SubsidyStandard | None = None,
        corrects: LineRef | None = None,
        corrected_by: LineRef | None = None,
    ) -> LineOut:
        frozen = line.model_dump(exclude={"batch_id", "institution_id", "user_id", "rules"})
        return cls(
            **frozen,
            learner_id=line.user_id,
            corrects=LineRefOut.model_validate(corrects) if corrects else None,
            corrected_by=LineRefOut.model_validate(corrected_by) if corrected_by else None,
            level_name=LEVEL_NAMES_ZH[line.level],
            programme_kind=standard.programme_kind if standard else None,
            programme_name=PROGRAMME_NAMES_ZH[standard.programme_kind] if standard else None,
            standard_version=standard.version if standard else None,
            standard_region_code=standard.region_code if standard else None,
            rules=[RuleOutcomeOut(**r) for r in line.rules],
            decision=reviews[-1].decision if reviews else None,
            paid=paid,
            reviews=[LineReviewOut.model_validate(r) for r in reviews],
        )


class PaymentOut(BaseModel):
    model_config = examples(PAYMENT_EXAMPLE, from_attributes=True)

    id: uuid.UUID
    line_id: uuid.UUID | None = None
    payee: Payee
    amount_fen: int
    paid_on: date
    reference: str
    account_masked: str | None = None
    recorded_by: str
    recorded_at: datetime


class ObjectionOut(BaseModel):
    model_config = examples(OBJECTION_EXAMPLE, from_attributes=True)

    id: uuid.UUID
    batch_id: uuid.UUID
    line_id: uuid.UUID | None = None
    text: str
    status: ObjectionStatus
    received_at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None


class ObjectionReceivedOut(BaseModel):
    model_config = examples(
        {"id": "2d0a8c4e-5b1f-4e6a-9c3d-8f7e6a5b4c31", "received_at": "2026-04-12T02:30:00Z"},
        from_attributes=True,
    )

    id: uuid.UUID
    received_at: datetime


class BatchSummaryOut(BaseModel):
    model_config = examples(BATCH_SUMMARY_EXAMPLE, from_attributes=True)

    id: uuid.UUID
    reference: str
    institution_id: uuid.UUID
    period_kind: str = Field(
        description="quarter, class, correction (rejected lines claimed again) or application "
        "(a learner's own application, paid to the learner)"
    )
    year: int | None = None
    quarter: int | None = None
    class_id: uuid.UUID | None = None
    payee: Payee
    status: BatchStatus
    line_count: int
    total_fen: int
    lines_hash: str
    filed_at: datetime
    filed_by: str
    approved_at: datetime | None = None
    notice_starts_at: datetime | None = None
    notice_ends_at: datetime | None = None
    paid_at: datetime | None = None

    @classmethod
    def of(cls, b: ClaimBatch) -> BatchSummaryOut:
        return cls.model_validate(b)


class ApplicationOut(BaseModel):
    """The learner's application a batch was filed from (on the batch, for the regulator)."""

    model_config = examples(
        {
            "id": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
            "line_id": LINE_ID,
            "account_kind": "social_security_card",
            "account_masked": "6217***********0123",
            "bank_name": "中国建设银行深圳分行",
            "declared_insured": True,
            "created_at": "2026-04-02T09:00:00+08:00",
        },
        from_attributes=True,
    )

    id: uuid.UUID
    line_id: uuid.UUID
    account_kind: AccountKind
    account_masked: str
    bank_name: str | None = None
    declared_insured: bool
    created_at: datetime


class BatchOut(BatchSummaryOut):
    model_config = examples(
        {
            **BATCH_SUMMARY_EXAMPLE,
            "approved_fen": 150000,
            "lines": [LINE_EXAMPLE],
            "payments": [],
            "objections": [OBJECTION_EXAMPLE],
            "application": None,
        }
    )

    approved_fen: int = Field(description="The sum of the lines approved now")
    lines: list[LineOut]
    payments: list[PaymentOut]
    objections: list[ObjectionOut]
    application: ApplicationOut | None = Field(
        default=None,
        description="The learner's own application the batch was filed from (programmes "
        "paying individuals): the account to pay, masked",
    )


class RecoveryOut(BaseModel):
    model_config = examples(RECOVERY_EXAMPLE, from_attributes=True)

    id: uuid.UUID
    institution_id: uuid.UUID
    batch_id: uuid.UUID
    line_id: uuid.UUID
    certificate_id: uuid.UUID
    source: RecoverySource
    amount_fen: int
    reason: str
    status: RecoveryStatus
    due_at: datetime
    overdue: bool
    created_at: datetime
    settled_at: datetime | None = None
    settled_reference: str | None = None

    @classmethod
    def of(cls, r: RecoveryItem, now: datetime) -> RecoveryOut:
        return cls(
            **r.model_dump(exclude={"created_by", "settled_by"}),
            overdue=r.status is RecoveryStatus.open and r.due_at < now,
        )


def line_out(v: BatchView, line: ClaimLine) -> LineOut:
    standard = v.standards.get(line.standard_version_id) if line.standard_version_id else None
    return LineOut.of(
        line,
        v.reviews[line.id],
        line.id in v.paid,
        standard,
        v.corrects.get(line.id),
        v.corrected_by.get(line.id),
    )


def batch_out(v: BatchView) -> BatchOut:
    return BatchOut(
        **BatchSummaryOut.of(v.batch).model_dump(),
        approved_fen=v.approved_fen,
        lines=[line_out(v, line) for line in v.lines],
        payments=[PaymentOut.model_validate(p) for p in v.payments],
        objections=[ObjectionOut.model_validate(o) for o in v.objections],
        application=ApplicationOut.model_validate(v.application) if v.application else None,
    )
