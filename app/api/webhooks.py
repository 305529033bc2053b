"""Webhook subscriptions of an institution: staff, or partner API keys with ``webhooks:manage``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from app.accounts import exceptions as ax
from app.accounts.principal import Principal
from app.api.deps import SessionDep, require_scope
from app.errors import Forbidden, NotAuthenticated, problem_responses
from app.webhooks import exceptions as wx
from app.webhooks import service as webhooks
from app.webhooks.schemas import (
    DeliveryOut,
    EventType,
    WebhookCreated,
    WebhookDetail,
    WebhookIn,
    WebhookOut,
    WebhookPage,
    WebhookSecret,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

Manager = Annotated[Principal, require_scope(webhooks.SCOPE)]

_auth = (NotAuthenticated, ax.InvalidToken, ax.MissingScope, Forbidden)


@router.get("/event-types", response_model=list[EventType], responses=problem_responses(*_auth))
def event_types(principal: Manager) -> list[EventType]:
    """The event types a subscription can ask for (``ping`` is sent only by ``/test``)."""
    webhooks.manager_institution(principal)
    return [EventType(type=t, description=d) for t, d in webhooks.EVENT_TYPES.items()]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookCreated,
    responses=problem_responses(
        *_auth,
        wx.InvalidWebhookUrl,
        wx.WebhookUrlRefused,
        wx.UnknownEventType,
        wx.TooManySubscriptions,
    ),
)
def create_webhook(body: WebhookIn, principal: Manager, session: SessionDep) -> WebhookCreated:
    """Subscribe a URL to event types; the signing secret is in this response only."""
    sub, secret = webhooks.create(
        session, principal, url=body.url, events=body.events, description=body.description
    )
    return WebhookCreated(**WebhookOut.of(sub).model_dump(), secret=secret)


@router.get("", response_model=WebhookPage, responses=problem_responses(*_auth))
def list_webhooks(principal: Manager, session: SessionDep) -> WebhookPage:
    """The institution's subscriptions, oldest first (never their secrets)."""
    return WebhookPage(items=[WebhookOut.of(s) for s in webhooks.list_for(session, principal)])


@router.get(
    "/{webhook_id}",
    response_model=WebhookDetail,
    responses=problem_responses(*_auth, wx.SubscriptionNotFound),
)
def get_webhook(webhook_id: uuid.UUID, principal: Manager, session: SessionDep) -> WebhookDetail:
    """One subscription with its latest deliveries and where each stands."""
    sub = webhooks.get(session, principal, webhook_id)
    deliveries = [DeliveryOut.of(d, e) for d, e in webhooks.recent_deliveries(session, sub)]
    return WebhookDetail(**WebhookOut.of(sub).model_dump(), deliveries=deliveries)


@router.post(
    "/{webhook_id}/disable",
    response_model=WebhookOut,
    responses=problem_responses(*_auth, wx.SubscriptionNotFound),
)
def disable_webhook(webhook_id: uuid.UUID, principal: Manager, session: SessionDep) -> WebhookOut:
    """Stop sending; deliveries not yet made are cancelled."""
    return WebhookOut.of(webhooks.disable(session, principal, webhook_id))


@router.post(
    "/{webhook_id}/enable",
    response_model=WebhookOut,
    responses=problem_responses(
        *_auth, wx.SubscriptionNotFound, wx.InvalidWebhookUrl, wx.WebhookUrlRefused
    ),
)
def enable_webhook(webhook_id: uuid.UUID, principal: Manager, session: SessionDep) -> WebhookOut:
    """Send again, for events from now on (the URL is checked again)."""
    return WebhookOut.of(webhooks.enable(session, principal, webhook_id))


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=WebhookSecret,
    responses=problem_responses(*_auth, wx.SubscriptionNotFound),
)
def rotate_secret(webhook_id: uuid.UUID, principal: Manager, session: SessionDep) -> WebhookSecret:
    """A new signing secret, shown once; the old one keeps signing alongside it for 24 h."""
    sub, secret = webhooks.rotate_secret(session, principal, webhook_id)
    return WebhookSecret(
        id=sub.id, secret=secret, previous_secret_valid_until=sub.previous_secret_expires_at
    )


@router.post(
    "/{webhook_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    responses=problem_responses(*_auth, wx.SubscriptionNotFound, wx.SubscriptionDisabled),
)
def test_webhook(webhook_id: uuid.UUID, principal: Manager, session: SessionDep) -> DeliveryOut:
    """Queue a ``ping`` event to this subscription; follow it in ``GET /webhooks/{id}``."""
    delivery, event = webhooks.send_test(session, principal, webhook_id)
    return DeliveryOut.of(delivery, event)
