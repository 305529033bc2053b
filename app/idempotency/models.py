"""One claimed Idempotency-Key of one caller, and the response it produced."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, new_id, utcnow


class IdempotencyKey(SQLModel, table=True):
    """A (caller, key) claim.

    Inserted (and committed) before the handler runs; ``status_code`` stays ``None`` while the
    first request is running and is filled in with the stored response when it completes.
    """

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("caller", "key", name="uq_idempotency_keys_caller_key"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    #: ``apikey:<id>`` or ``user:<id>``.
    caller: str = Field(max_length=64)
    key: str = Field(max_length=255)
    method: str = Field(max_length=8)
    path: str = Field(max_length=2048)
    #: SHA-256 (hex) of the request body bytes.
    fingerprint: str = Field(max_length=64)
    status_code: int | None = Field(default=None)
    #: ``[[name, value], ...]`` of the headers that are replayed (Content-Type, Location, ...).
    response_headers: list[list[str]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )
    response_body: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    #: True when the response was larger than the stored cap (a repeat gets 409).
    too_large: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime, index=True)
