"""Webhook subscriptions: who may manage them, the event types, the outbox writer.

Functions take the caller's session, ``flush()`` and never commit; each change appends its
audit entry in the same transaction. The signing secret is returned once (on creation and on
rotation), stored only encrypted, and never written to the audit trail.

:func:`emit` is the outbox writer the domain hooks call (see :mod:`app.webhooks.events`): it
writes the event and one pending delivery per enabled subscription that wants it, in the
transaction of the change, so an event exists if and only if its change committed.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import update
from sqlmodel import Session, col, select

from app import clock
from app.accounts.exceptions import MissingScope
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit import service as audit
from app.audit.service import Actor
from app.config import get_settings
from app.db import next_in_order
from app.errors import Forbidden
from app.validation import check_text
from app.webhooks import signing, urls
from app.webhooks.exceptions import (
    SubscriptionDisabled,
    SubscriptionNotFound,
    TooManySubscriptions,
    UnknownEventType,
)
from app.webhooks.models import (
    SEQ,
    DeliveryStatus,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

SCOPE = "webhooks:manage"

#: The event types a subscription can ask for, with what each announces.
EVENT_TYPES: dict[str, str] = {
    "attendance.verified": "a face verification was recorded (any purpose and outcome)",
    "attendance.reviewed": "staff approved or rejected a face verification held for review",
    "rollcall.missed": "a random roll-call's deadline passed without an answer",
    "enrollment.completed": "an enrolment met its completion rule",
    "certificate.issued": "a certificate was issued",
    "certificate.revoked": "a certificate was revoked",
}
#: Sent only by ``POST /webhooks/{id}/test``, whatever the subscription's event types.
PING = "ping"
MAX_SUBSCRIPTIONS = 20
#: After a rotation, deliveries are signed with the old secret too for this long.
ROTATION_OVERLAP = timedelta(hours=24)
RECENT_DELIVERIES = 20


def iso(t: datetime) -> str:
    """UTC, ISO 8601 with a ``Z``, as every time in a webhook body."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------- who may manage


def manager_institution(principal: Principal) -> uuid.UUID:
    """The institution a caller manages webhooks for: its staff, or its key with the scope."""
    if principal.api_key is not None:
        if SCOPE not in principal.scopes:
            raise MissingScope(f"The API key lacks the scope {SCOPE!r}.")
    elif principal.user is None or principal.role is not Role.staff:
        raise Forbidden("Only staff of an institution or its API keys manage its webhooks.")
    if principal.institution_id is None:
        raise Forbidden("Only staff of an institution or its API keys manage its webhooks.")
    return principal.institution_id


def _redacted(url: str) -> str:
    """The URL for the audit trail: a query string may carry the partner's own token."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query="…" if parts.query else "", fragment=""))


def _check_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - EVENT_TYPES.keys())
    if unknown or not events:
        raise UnknownEventType(
            f"Unknown event types {unknown}; known: {sorted(EVENT_TYPES)}.",
            known=sorted(EVENT_TYPES),
        )
    return sorted(set(events))


# ---------------------------------------------------------------- subscriptions


def create(
    session: Session,
    principal: Principal,
    *,
    url: str,
    events: list[str],
    description: str | None = None,
) -> tuple[WebhookSubscription, str]:
    """Subscribe ``url`` to ``events``; returns the subscription and its secret (shown once)."""
    institution_id = manager_institution(principal)
    wanted = _check_events(events)
    urls.check(url, allow_private=get_settings().webhook_private_allowed)
    existing = session.exec(
        select(WebhookSubscription.id).where(
            col(WebhookSubscription.institution_id) == institution_id
        )
    ).all()
    if len(existing) >= MAX_SUBSCRIPTIONS:
        raise TooManySubscriptions(limit=MAX_SUBSCRIPTIONS)
    secret = signing.new_secret()
    now = clock.now()
    sub = WebhookSubscription(
        institution_id=institution_id,
        url=url,
        events=wanted,
        description=check_text(description or "", field="description", required=False) or None,
        secret_enc=signing.seal(secret),
        created_at=now,
        updated_at=now,
        created_by=str(principal.actor),
    )
    session.add(sub)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="webhook.created",
        subject=f"webhook:{sub.id}",
        payload={"url": _redacted(url), "events": wanted, "description": sub.description},
        institution_id=institution_id,
    )
    return sub, secret


def list_for(session: Session, principal: Principal) -> list[WebhookSubscription]:
    institution_id = manager_institution(principal)
    return list(
        session.exec(
            select(WebhookSubscription)
            .where(col(WebhookSubscription.institution_id) == institution_id)
            .order_by(col(WebhookSubscription.created_at), col(WebhookSubscription.id))
        )
    )


def get(
    session: Session, principal: Principal, subscription_id: uuid.UUID, *, for_update: bool = False
) -> WebhookSubscription:
    """One subscription of the caller's institution; any other is reported as not found."""
    institution_id = manager_institution(principal)
    sub = session.get(WebhookSubscription, subscription_id, with_for_update=for_update)
    if sub is None or sub.institution_id != institution_id:
        raise SubscriptionNotFound()
    return sub


def recent_deliveries(
    session: Session, sub: WebhookSubscription, limit: int = RECENT_DELIVERIES
) -> list[tuple[WebhookDelivery, WebhookEvent]]:
    """The subscription's latest deliveries with their events, newest first."""
    rows = session.exec(
        select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookDelivery.event_id))
        .where(col(WebhookDelivery.subscription_id) == sub.id)
        .order_by(col(WebhookEvent.seq).desc(), col(WebhookDelivery.id).desc())
        .limit(limit)
    ).all()
    return [(d, e) for d, e in rows]


def disable_subscription(
    session: Session,
    sub: WebhookSubscription,
    *,
    reason: str,
    actor: Actor,
    extra: dict[str, Any] | None = None,
) -> None:
    """Stop sending to ``sub``: pending deliveries are cancelled; audited. No-op if disabled."""
    if not sub.enabled:
        return
    now = clock.now()
    sub.enabled = False
    sub.disabled_reason = reason
    sub.disabled_at = now
    sub.updated_at = now
    session.add(sub)
    session.execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.subscription_id) == sub.id,
            col(WebhookDelivery.status) == DeliveryStatus.pending,
        )
        .values(
            status=DeliveryStatus.cancelled,
            next_attempt_at=None,
            last_error="subscription disabled",
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="webhook.disabled",
        subject=f"webhook:{sub.id}",
        payload={"reason": reason, **(extra or {})},
        institution_id=sub.institution_id,
    )


def disable(
    session: Session, principal: Principal, subscription_id: uuid.UUID
) -> WebhookSubscription:
    sub = get(session, principal, subscription_id, for_update=True)
    disable_subscription(session, sub, reason="manual", actor=principal.actor)
    return sub


def enable(
    session: Session, principal: Principal, subscription_id: uuid.UUID
) -> WebhookSubscription:
    """Send again from now on (the URL is checked again: its DNS may have changed)."""
    sub = get(session, principal, subscription_id, for_update=True)
    if sub.enabled:
        return sub
    urls.check(sub.url, allow_private=get_settings().webhook_private_allowed)
    sub.enabled = True
    sub.disabled_reason = None
    sub.disabled_at = None
    sub.failing_since = None
    sub.updated_at = clock.now()
    session.add(sub)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="webhook.enabled",
        subject=f"webhook:{sub.id}",
        payload={},
        institution_id=sub.institution_id,
    )
    return sub


def rotate_secret(
    session: Session, principal: Principal, subscription_id: uuid.UUID
) -> tuple[WebhookSubscription, str]:
    """A new secret (returned once); the old one still signs for :data:`ROTATION_OVERLAP`."""
    sub = get(session, principal, subscription_id, for_update=True)
    secret = signing.new_secret()
    now = clock.now()
    sub.previous_secret_enc = sub.secret_enc
    sub.previous_secret_expires_at = now + ROTATION_OVERLAP
    sub.secret_enc = signing.seal(secret)
    sub.updated_at = now
    session.add(sub)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="webhook.secret_rotated",
        subject=f"webhook:{sub.id}",
        payload={"previous_valid_until": audit.format_time(sub.previous_secret_expires_at)},
        institution_id=sub.institution_id,
    )
    return sub, secret


def signing_secrets(sub: WebhookSubscription, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, then a recent previous one."""
    out = [signing.unseal(sub.secret_enc)]
    if (
        sub.previous_secret_enc is not None
        and sub.previous_secret_expires_at is not None
        and now < sub.previous_secret_expires_at
    ):
        out.append(signing.unseal(sub.previous_secret_enc))
    return out


def send_test(
    session: Session, principal: Principal, subscription_id: uuid.UUID
) -> tuple[WebhookDelivery, WebhookEvent]:
    """Queue a ``ping`` to this subscription only; the delivery worker sends it."""
    sub = get(session, principal, subscription_id)
    if not sub.enabled:
        raise SubscriptionDisabled()
    event, deliveries = _write(
        session,
        institution_id=sub.institution_id,
        type_=PING,
        data={"webhook": str(sub.id), "message": "SkillTrace webhook test"},
        subscriptions=[sub],
    )
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="webhook.test_queued",
        subject=f"webhook:{sub.id}",
        payload={"event": str(event.id)},
        institution_id=sub.institution_id,
    )
    return deliveries[0], event


# ---------------------------------------------------------------- the outbox


def _write(
    session: Session,
    *,
    institution_id: uuid.UUID,
    type_: str,
    data: dict[str, Any],
    subscriptions: list[WebhookSubscription],
) -> tuple[WebhookEvent, list[WebhookDelivery]]:
    now = clock.now()
    with session.no_autoflush:  # the outbox's earlier events were flushed when written
        seq = next_in_order(session, SEQ, col(WebhookEvent.seq))
    event = WebhookEvent(
        seq=seq, institution_id=institution_id, type=type_, data=data, created_at=now
    )
    session.add(event)
    deliveries = [
        WebhookDelivery(
            event_id=event.id,
            event=event,
            subscription_id=s.id,
            next_attempt_at=now,
            created_at=now,
        )
        for s in subscriptions
    ]
    session.add_all(deliveries)
    return event, deliveries


def emit(
    session: Session,
    *,
    institution_id: uuid.UUID | None,
    type_: str,
    data: dict[str, Any],
) -> WebhookEvent | None:
    """Write ``type_`` to the outbox for every enabled subscription of the institution that
    wants it, in the caller's transaction. Nothing is written when nobody subscribed.
    """
    if institution_id is None:
        return None
    if type_ not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type_!r}")
    with session.no_autoflush:
        subs = session.exec(
            select(WebhookSubscription).where(
                col(WebhookSubscription.institution_id) == institution_id,
                col(WebhookSubscription.enabled).is_(True),
            )
        ).all()
    wanted = [s for s in subs if type_ in s.events]
    if not wanted:
        return None
    event, _ = _write(
        session, institution_id=institution_id, type_=type_, data=data, subscriptions=wanted
    )
    session.flush()
    return event
