"""Request bodies of the claims API: filing and corrections (staff), review, payment, export,
findings and recoveries (regulators), objections (anyone)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.claims.common import REASON_CHARS, REFERENCE_CHARS
from app.claims.schemas.examples import LINE_ID, examples

#: Free text giving a reason, a note or a resolution (the service checks it is real text).
Reason = Annotated[str, Field(max_length=REASON_CHARS)]
OptionalReason = Annotated[str | None, Field(default=None, max_length=REASON_CHARS)]
#: Money in fen (1 yuan = 100 fen).
Fen = Annotated[int, Field(ge=0, le=10**12)]


class FileQuarterIn(BaseModel):
    model_config = examples(
        {"period": "quarter", "year": 2026, "quarter": 1},
        {"period": "class", "class_id": "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e"},
    )

    period: Literal["quarter", "class"] = "quarter"
    year: int | None = Field(default=None, ge=2000, le=2999)
    quarter: int | None = Field(default=None, ge=1, le=4)
    class_id: uuid.UUID | None = Field(default=None, description="A completed class (结业)")


class CorrectionIn(BaseModel):
    model_config = examples({"line_ids": [LINE_ID], "reason": "补充了随机点名记录后重新申领"})

    line_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)
    reason: Reason


class LineReviewIn(BaseModel):
    model_config = examples(
        {"decision": "approved"},
        {"decision": "rejected", "reason": "同一职业同一等级已在外地享受过补贴"},
        {"decision": "evidence_requested", "reason": "请补充线下实操培训签到表"},
    )

    decision: Literal["approved", "rejected", "evidence_requested"]
    reason: OptionalReason = None


class EvidenceIn(BaseModel):
    model_config = examples({"note": "线下实操签到表已上传至机构档案，编号 SX-2026-031"})

    note: Reason


class PaymentIn(BaseModel):
    model_config = examples(
        {"amount_fen": 300000, "paid_on": "2026-04-20", "reference": "深财拨〔2026〕118号"},
        {
            "amount_fen": 150000,
            "paid_on": "2026-04-20",
            "reference": "SB-20260420-0031",
            "line_id": LINE_ID,
            "account": "6217001234567890123",
        },
    )

    amount_fen: Fen
    paid_on: date
    reference: str = Field(max_length=REFERENCE_CHARS)
    line_id: uuid.UUID | None = None
    account: str | None = Field(
        default=None,
        max_length=32,
        description="The learner's social security card account (payments to learners only; "
        "for a learner's own application, the account the learner gave when none is named).",
    )


class ExportIn(BaseModel):
    model_config = examples(
        {"format": "jsonl", "reason": "报送市社保基金支付科办理拨付（深人社函〔2026〕41号）"},
        {"format": "xlsx"},
    )

    format: Literal["jsonl", "xlsx"] = "jsonl"
    reason: OptionalReason = Field(
        default=None,
        description="Why the file is exported: required of regulators (full ID numbers), audited.",
    )


class FindingIn(BaseModel):
    model_config = examples(
        {"reason": "抽查发现代学代考，人脸核验照片非本人", "amount_fen": 150000}
    )

    reason: Reason
    amount_fen: int | None = Field(default=None, gt=0, le=10**12)


class SettleRecoveryIn(BaseModel):
    model_config = examples(
        {"outcome": "recovered", "reference": "缴款书 4403012026000123"},
        {"outcome": "written_off", "reference": "机构已注销，经局务会研究核销"},
    )

    outcome: Literal["recovered", "written_off"]
    reference: Reason


class ObjectionIn(BaseModel):
    model_config = examples(
        {
            "text": "公示名单中的王*明本人并未参加该培训。",
            "line_id": LINE_ID,
            "contact": "13800138000",
        }
    )

    text: str = Field(max_length=2000)
    line_id: uuid.UUID | None = None
    contact: str | None = Field(default=None, max_length=200)


class ResolveObjectionIn(BaseModel):
    model_config = examples(
        {"upheld": True, "resolution": "经核查，该学员未本人参训，驳回该条申领"},
        {"upheld": False, "resolution": "经核查人脸核验记录，学员本人参训"},
    )

    upheld: bool
    resolution: Reason
