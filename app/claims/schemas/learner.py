"""Response bodies of the learner's own view of the subsidy claims that name them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.claims.models import Payee
from app.claims.schemas.examples import LINE_ID, examples

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
