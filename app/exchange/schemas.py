"""Bodies of the regional exchange API: the regional system's receipts, and record states."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.exchange.models import ExchangeRecord, ReceiptStatus, SendStatus

_RECORD = "3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a9f"


class ReceiptIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"record_id": _RECORD, "status": "accepted", "regional_ref": "GD-PX-2026-00031877"}
            ]
        }
    )

    record_id: uuid.UUID
    status: Literal["accepted", "rejected"]
    reason: str | None = Field(default=None, max_length=500)
    regional_ref: str | None = Field(default=None, max_length=64)


class ReceiptsIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "receipts": [
                        {
                            "record_id": _RECORD,
                            "status": "accepted",
                            "regional_ref": "GD-PX-2026-00031877",
                        },
                        {
                            "record_id": "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a",
                            "status": "rejected",
                            "reason": "身份证号与姓名不一致",
                        },
                    ]
                }
            ]
        }
    )

    receipts: list[ReceiptIn] = Field(min_length=1, max_length=1000)


class ReceiptsOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"stored": 2, "unknown": []}]})

    stored: int
    unknown: list[str] = Field(description="Record ids that name no record of ours")


class ExchangeRecordOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": _RECORD,
                    "type": "certificate.issued",
                    "subject": "certificate:SZJN-2026-000128",
                    "created_at": "2026-03-20T16:42:07+08:00",
                    "status": "delivered",
                    "attempts": 1,
                    "last_error": None,
                    "delivered_at": "2026-03-20T16:42:31+08:00",
                    "receipt_status": "accepted",
                    "receipt_reason": None,
                    "regional_ref": "GD-PX-2026-00031877",
                }
            ]
        }
    )

    id: uuid.UUID
    type: str
    subject: str
    created_at: datetime
    status: SendStatus
    attempts: int
    last_error: str | None = None
    delivered_at: datetime | None = None
    receipt_status: ReceiptStatus | None = None
    receipt_reason: str | None = None
    regional_ref: str | None = None

    @classmethod
    def of(cls, r: ExchangeRecord) -> ExchangeRecordOut:
        return cls(
            id=r.id,
            type=r.type,
            subject=r.subject,
            created_at=r.created_at,
            status=r.status,
            attempts=r.attempts,
            last_error=r.last_error,
            delivered_at=r.delivered_at,
            receipt_status=r.receipt_status,
            receipt_reason=r.receipt_reason,
            regional_ref=r.regional_ref,
        )
