"""The outbox of records for the regional real-name training system, and their receipts.

A record is written in the transaction of the change it reports (a certificate issued or
revoked, an enrolment completed, a claim batch filed, approved or paid), so it exists if and
only if its change committed. The sender (app/exchange/delivery.py) claims due records, POSTs
each one signed, and settles it; the regional system later acknowledges or rejects each record
by id at ``POST /api/v1/exchange/receipts``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Sequence
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, new_id, str_enum, utcnow


class SendStatus(StrEnum):
    pending = "pending"  # waiting for its (next) attempt, or being attempted under a lease
    delivered = "delivered"  # the regional endpoint answered 2xx
    failed = "failed"  # every attempt of the retry schedule failed


class ReceiptStatus(StrEnum):
    accepted = "accepted"
    rejected = "rejected"


#: PostgreSQL's source of :attr:`ExchangeRecord.seq` (created by migration 0038).
SEQ = Sequence("exchange_records_seq", metadata=SQLModel.metadata)


class ExchangeRecord(SQLModel, table=True):
    __tablename__ = "exchange_records"
    __table_args__ = (
        Index("ix_exchange_records_due", "status", "next_attempt_at"),
        Index("ix_exchange_records_seq", "seq", unique=True),
    )

    #: The record's id: ``webhook-id`` of every attempt (the receiver deduplicates by it) and
    #: the id the regional system names in its receipt.
    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    #: The order the records were written in, across transactions and within one (a filing and
    #: its approval written in the same instant keep their order): the next value of
    #: :data:`SEQ` on PostgreSQL, one more than the largest on SQLite (one writer at a time).
    #: Records due together are sent in this order, and listed in it.
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    type: str = Field(max_length=48)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    #: What it is about, e.g. ``certificate:SZ001-2026-000001`` or ``claim_batch:<id>``.
    subject: str = Field(max_length=100, index=True)
    #: The facts, without ID numbers (added from the encrypted column when the body is built).
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    status: SendStatus = Field(default=SendStatus.pending, sa_type=str_enum(SendStatus))
    attempts: int = 0
    #: When the next attempt is due; while an attempt runs, the end of its lease.
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=300)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    receipt_status: ReceiptStatus | None = Field(
        default=None, sa_type=str_enum(ReceiptStatus), index=True
    )
    receipt_reason: str | None = Field(default=None, max_length=500)
    #: The regional system's own id for the record (its 业务流水号), if it sent one.
    regional_ref: str | None = Field(default=None, max_length=64)
    receipt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
