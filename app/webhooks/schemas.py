"""Request and response bodies of /api/v1/webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.validation import Text
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEvent, WebhookSubscription
from app.webhooks.signing import message_id


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=2048,
        description="An absolute https:// URL; private and loopback addresses are refused.",
    )
    events: list[str] = Field(
        min_length=1,
        max_length=20,
        description="Event types to receive (see GET /webhooks/event-types).",
    )
    description: Text | None = Field(default=None, max_length=200)


class WebhookOut(BaseModel):
    id: uuid.UUID
    url: str
    events: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None = Field(description="manual, failing (3 days) or gone (HTTP 410)")
    disabled_at: datetime | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, sub: WebhookSubscription) -> WebhookOut:
        return cls.model_validate(sub, from_attributes=True)


class WebhookCreated(WebhookOut):
    secret: str = Field(
        description="The signing secret (whsec_…). Shown once; store it now.",
    )


class WebhookPage(BaseModel):
    items: list[WebhookOut]


class WebhookSecret(BaseModel):
    id: uuid.UUID
    secret: str = Field(description="The new signing secret (whsec_…). Shown once.")
    previous_secret_valid_until: datetime | None = Field(
        description="Until then deliveries also carry a signature with the previous secret."
    )


class DeliveryOut(BaseModel):
    id: uuid.UUID
    event_id: uuid.UUID
    webhook_id: str = Field(description="The webhook-id header: the same on every retry.")
    event_type: str
    status: DeliveryStatus
    attempts: int
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, delivery: WebhookDelivery, event: WebhookEvent) -> DeliveryOut:
        return cls(
            id=delivery.id,
            event_id=event.id,
            webhook_id=message_id(event.id),
            event_type=event.type,
            status=delivery.status,
            attempts=delivery.attempts,
            last_attempt_at=delivery.last_attempt_at,
            next_attempt_at=(
                delivery.next_attempt_at if delivery.status is DeliveryStatus.pending else None
            ),
            last_status_code=delivery.last_status_code,
            last_error=delivery.last_error,
            delivered_at=delivery.delivered_at,
            created_at=delivery.created_at,
        )


class WebhookDetail(WebhookOut):
    deliveries: list[DeliveryOut] = Field(description="The latest 20 deliveries, newest first.")


class EventType(BaseModel):
    type: str
    description: str
