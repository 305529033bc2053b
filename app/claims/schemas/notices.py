"""Response bodies of the public notice (公示): masked names and ID numbers, course, amount."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from app.claims.notice import Notice
from app.claims.schemas.examples import BATCH_ID, NOTICE_LINE_EXAMPLE, examples


class NoticeLineOut(BaseModel):
    model_config = examples(NOTICE_LINE_EXAMPLE, from_attributes=True)

    line_id: uuid.UUID
    no: int
    name_masked: str
    id_number_masked: str
    course_title: str
    occupation: str
    level: str
    amount_fen: int


class NoticeOut(BaseModel):
    model_config = examples(
        {
            "batch_id": BATCH_ID,
            "reference": "SZ001-B00003",
            "institution_name": "深圳市南山区职业技能培训学校",
            "starts_at": "2026-04-10T02:00:00Z",
            "ends_at": "2026-04-17T02:00:00Z",
            "total_fen": 300000,
            "lines": [NOTICE_LINE_EXAMPLE],
            "objection_url": f"/api/v1/notices/{BATCH_ID}/objections",
        }
    )

    batch_id: uuid.UUID
    reference: str
    institution_name: str
    starts_at: datetime
    ends_at: datetime
    total_fen: int
    lines: list[NoticeLineOut]
    objection_url: str

    @classmethod
    def of(cls, n: Notice) -> NoticeOut:
        return cls(
            **{k: v for k, v in vars(n).items() if k != "lines"},
            lines=[NoticeLineOut.model_validate(x) for x in n.lines],
            objection_url=f"/api/v1/notices/{n.batch_id}/objections",
        )
