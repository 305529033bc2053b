"""The learner's own view of the subsidy claims that name them, and their own application
where a programme pays the individual (全程网办)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.claims.application import Offer
from app.claims.models import AccountKind, Payee
from app.claims.schemas.batches import RuleOutcomeOut
from app.claims.schemas.examples import LINE_ID, RULE_EXAMPLE, STANDARD_ID, examples
from app.programmes.models import ProgrammeKind

#: Where a claim stands, as the learner reads it.
LearnerStatus = Literal["filed", "evidence_requested", "in_notice", "approved", "paid", "rejected"]


class LearnerClaimOut(BaseModel):
    model_config = examples(
        {
            "line_id": LINE_ID,
            "serial": "SZJN-2026-000128",
            "course_title": "低压电工作业（线上理论）",
            "amount_fen": 150000,
            "batch_reference": "SZJN-B00003",
            "payee": "institution",
            "status": "in_notice",
            "reason": None,
            "filed_at": "2026-04-02T09:00:00+08:00",
            "notice_ends_at": "2026-04-17T10:00:00+08:00",
            "own_application": False,
            "paid_on": None,
            "account_masked": None,
        },
        {
            "line_id": LINE_ID,
            "serial": "SZJN-2026-000131",
            "course_title": "电工（四级）职业技能提升",
            "amount_fen": 150000,
            "batch_reference": "SZJN-B00007",
            "payee": "learner",
            "status": "paid",
            "reason": None,
            "filed_at": "2026-04-02T09:00:00+08:00",
            "notice_ends_at": "2026-04-17T10:00:00+08:00",
            "own_application": True,
            "paid_on": "2026-04-22",
            "account_masked": "6217***********0123",
        },
        from_attributes=True,
    )

    line_id: uuid.UUID
    serial: str
    course_title: str
    amount_fen: int
    batch_reference: str
    payee: Payee
    status: LearnerStatus
    reason: str | None = Field(default=None, description="Why it was rejected, or what is asked")
    filed_at: datetime
    notice_ends_at: datetime | None = None
    own_application: bool = Field(
        default=False, description="The learner applied themself (a programme paying individuals)"
    )
    paid_on: date | None = None
    account_masked: str | None = Field(default=None, description="The account paid, masked")


class ApplicationIn(BaseModel):
    model_config = examples(
        {
            "account_kind": "social_security_card",
            "account": "6217 0012 3456 7890 123",
            "bank_name": "中国建设银行深圳分行",
            "declared_insured": True,
        }
    )

    account_kind: AccountKind = Field(
        description="social_security_card (its financial account) or bank_card (own debit card)"
    )
    account: str = Field(
        max_length=40, description="16 to 19 digits with a valid Luhn check digit; spaces allowed"
    )
    bank_name: str | None = Field(default=None, max_length=64)
    declared_insured: bool = Field(
        description="The learner declares being an employee insured against unemployment "
        "(the programme's condition; the regulator checks the insurance records)"
    )


class RefusalOut(BaseModel):
    model_config = examples(
        {
            "code": "certificate_already_claimed",
            "message_zh": "本证书已申领过补贴（由您本人或培训机构提交），不能重复申领。",
            "message_en": "A subsidy was already claimed for this certificate.",
        }
    )

    code: str
    message_zh: str
    message_en: str


class ApplicationOfferOut(BaseModel):
    """What a programme paying individuals offers for one of the learner's certificates."""

    model_config = examples(
        {
            "serial": "SZJN-2026-000131",
            "programme_kind": "insured_upgrading",
            "programme_name": "参保职工技能提升补贴",
            "standard_id": STANDARD_ID,
            "standard_version": 1,
            "standard_region_code": "440300",
            "amount_fen": 150000,
            "eligible": True,
            "rules": [RULE_EXAMPLE],
            "can_apply": False,
            "refusal": {
                "code": "certificate_already_claimed",
                "message_zh": "本证书已申领过补贴（由您本人或培训机构提交），不能重复申领。",
                "message_en": "A subsidy was already claimed for this certificate.",
            },
            "claim": None,
        }
    )

    serial: str
    programme_kind: ProgrammeKind
    programme_name: str
    standard_id: uuid.UUID
    standard_version: int
    standard_region_code: str
    amount_fen: int = Field(description="What the programme pays for this certificate")
    eligible: bool
    rules: list[RuleOutcomeOut]
    can_apply: bool
    refusal: RefusalOut | None = Field(default=None, description="Why the learner cannot apply")
    claim: LearnerClaimOut | None = Field(
        default=None, description="The claim already filed on this certificate, where it stands"
    )

    @classmethod
    def of(cls, o: Offer) -> ApplicationOfferOut:
        s = o.standard.standard
        return cls(
            serial=o.certificate.serial,
            programme_kind=s.programme_kind,
            programme_name=o.programme_name,
            standard_id=s.id,
            standard_version=s.version,
            standard_region_code=s.region_code,
            amount_fen=o.standard.amount_fen,
            eligible=o.decision.eligible,
            rules=[RuleOutcomeOut.model_validate(r) for r in o.decision.rules],
            can_apply=o.can_apply,
            refusal=RefusalOut(
                code=o.refusal.code,
                message_zh=o.refusal.message_zh,
                message_en=o.refusal.message_en,
            )
            if o.refusal
            else None,
            claim=LearnerClaimOut.model_validate(o.claim) if o.claim else None,
        )
