"""Webhook tables: an institution's subscriptions, the outbox of events, one delivery per
(event, subscription).

The outbox rows are written in the transaction of the change they announce (see
:mod:`app.webhooks.events`), so an event exists if and only if its change committed. Deliveries
are claimed, sent and settled by :mod:`app.webhooks.delivery`, outside any request.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Sequence
from sqlalchemy.orm import relationship
from sqlmodel import Field, Relationship, SQLModel

from app.dbtypes import UTCDateTime, new_id, str_enum, utcnow


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its (next) attempt, or being attempted under a lease
    delivered = "delivered"  # the receiver answered 2xx
    failed = "failed"  # every attempt of the retry schedule failed
    cancelled = "cancelled"  # the subscription was disabled before it could be delivered


class WebhookSubscription(SQLModel, table=True):
    """A partner's endpoint: the URL, the event types it wants, its signing secret (encrypted)."""

    __tablename__ = "webhook_subscriptions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    url: str = Field(max_length=2048)
    events: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    description: str | None = Field(default=None, max_length=200)
    #: ``whsec_…`` as AES-GCM ciphertext (app.crypto, purpose ``webhook_secret``).
    secret_enc: str = Field(max_length=255)
    #: The secret before the last rotation: deliveries carry both signatures until it expires.
    previous_secret_enc: str | None = Field(default=None, max_length=255)
    previous_secret_expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    enabled: bool = True
    #: Why it is disabled: ``manual``, ``failing`` (3 days of failures) or ``gone`` (HTTP 410).
    disabled_reason: str | None = Field(default=None, max_length=32)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Start of the current run of failed attempts (None after a success).
    failing_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(max_length=64)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


#: PostgreSQL's source of :attr:`WebhookEvent.seq` (created by migration 0039).
SEQ = Sequence("webhook_events_seq", metadata=SQLModel.metadata)


class WebhookEvent(SQLModel, table=True):
    """One event in the outbox; its id is the ``webhook-id`` consumers deduplicate by."""

    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_seq", "seq", unique=True),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    #: The order the events were written in, across transactions and within one (a certificate
    #: issued and revoked in one transaction, two events of one instant): see
    #: :func:`app.db.next_in_order`. Deliveries due together are sent in this order and listed
    #: in it; never in the body (partners' strict receivers know only type, timestamp, data).
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    type: str = Field(max_length=64)
    #: The ``data`` object of the body: ids and facts, never ID numbers or face data.
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)


class WebhookDelivery(SQLModel, table=True):
    """One event to one subscription: its attempts and where it stands."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The delivery worker's query: due pending rows, oldest first.
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    event_id: uuid.UUID = Field(foreign_key="webhook_events.id", index=True)
    subscription_id: uuid.UUID = Field(foreign_key="webhook_subscriptions.id", index=True)
    status: DeliveryStatus = Field(
        default=DeliveryStatus.pending,
        sa_type=str_enum(DeliveryStatus),
    )
    attempts: int = 0
    #: When the next attempt is due; while an attempt runs, the end of its lease.
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=300)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)

    #: Lets one flush insert an event and its deliveries in the right order (the outbox is
    #: sometimes written from inside a flush, see app/webhooks/events.py).
    event: WebhookEvent | None = Relationship(sa_relationship=relationship("WebhookEvent"))
