"""Sending the outbox: claim due deliveries, POST them signed, settle the outcome.

Runs in the app every ``webhook_delivery_interval_s`` seconds (see app/main/lifespan.py) or from
cron as ``skilltrace deliver-webhooks``. Each round:

1. **claim** (one short transaction): due pending deliveries of enabled subscriptions, oldest
   first (those due together in the order their events were written), locked with
   ``FOR UPDATE … SKIP LOCKED`` on PostgreSQL (SQLite's single writer serialises claims); each
   gets a lease (its ``next_attempt_at`` moves :data:`LEASE` ahead) and its attempt number, so
   no other process picks it up while it is being sent;
2. **send**, outside any transaction (no lock is held across the network): the URL is checked
   again against private addresses and the request goes to the checked address, 10 s timeout,
   redirects never followed, the answer's body never read;
3. **settle** (one transaction per delivery, only if the row is still ours): 2xx is delivered;
   anything else is retried after 1 min, 5 min, 30 min, 2 h, 8 h and 24 h (plus up to 10 %
   jitter, or later if the receiver sent ``Retry-After``), then ``failed``. ``410 Gone``
   disables the subscription at once; a subscription failing without a single success for
   :data:`DISABLE_AFTER` (3 days) is disabled too, audited.

Delivery is at least once: a process that dies after sending and before settling leaves a
lease that expires, and the event is sent again with the same ``webhook-id``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import anyio
import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import __version__, clock
from app.audit.service import Actor
from app.config import get_settings
from app.db import transaction
from app.errors import DomainError
from app.webhooks import signing, urls
from app.webhooks.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)
from app.webhooks.service import disable_subscription, iso, signing_secrets

log = logging.getLogger("skilltrace.webhooks")

#: Waits after the 1st, 2nd, … failed attempt; one more failure after the last one is final.
RETRY_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=8),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_SCHEDULE) + 1
JITTER = 0.1
DISABLE_AFTER = timedelta(days=3)
TIMEOUT_S = 10.0
#: Long enough for a whole batch sent one after the other at the timeout.
BATCH = 20
LEASE = timedelta(seconds=BATCH * (TIMEOUT_S + 5))
USER_AGENT = f"SkillTrace-Webhooks/{__version__}"


@dataclass(frozen=True)
class Attempt:
    """One claimed delivery, with everything needed to send it without the database."""

    delivery_id: uuid.UUID
    subscription_id: uuid.UUID
    number: int
    url: str
    msg_id: str
    body: bytes
    secrets: list[str]


@dataclass(frozen=True)
class Result:
    status_code: int | None = None
    error: str | None = None
    retry_after: timedelta | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class Report:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    disabled: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivered": self.delivered,
            "retrying": self.retrying,
            "failed": self.failed,
            "disabled_webhooks": self.disabled,
        }


def body_of(event: WebhookEvent) -> bytes:
    """The request body: ``{"type", "timestamp", "data"}`` as compact JSON (UTF-8)."""
    doc = {"type": event.type, "timestamp": iso(event.created_at), "data": event.data}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


# ---------------------------------------------------------------- 1. claim


def claim(session: Session, *, now: datetime, limit: int = BATCH) -> list[Attempt]:
    rows = session.exec(
        select(WebhookDelivery, WebhookSubscription, WebhookEvent)
        .join(
            WebhookSubscription,
            col(WebhookSubscription.id) == col(WebhookDelivery.subscription_id),
        )
        .join(WebhookEvent, col(WebhookEvent.id) == col(WebhookDelivery.event_id))
        .where(
            col(WebhookDelivery.status) == DeliveryStatus.pending,
            col(WebhookDelivery.next_attempt_at) <= now,
            col(WebhookSubscription.enabled).is_(True),
        )
        .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookEvent.seq))
        .limit(limit)
        .with_for_update(skip_locked=True, of=WebhookDelivery)
    ).all()
    attempts = []
    for delivery, sub, event in rows:
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.next_attempt_at = now + LEASE
        session.add(delivery)
        attempts.append(
            Attempt(
                delivery_id=delivery.id,
                subscription_id=sub.id,
                number=delivery.attempts,
                url=sub.url,
                msg_id=signing.message_id(event.id),
                body=body_of(event),
                secrets=signing_secrets(sub, now),
            )
        )
    session.flush()
    return attempts


# ---------------------------------------------------------------- 2. send


def _retry_after(value: str | None, now: datetime) -> timedelta | None:
    if not value:
        return None
    try:
        return timedelta(seconds=max(0, int(value)))
    except ValueError:
        pass
    try:
        return max(timedelta(0), parsedate_to_datetime(value) - now)
    except (TypeError, ValueError):
        return None


def request_for(target: urls.Target) -> tuple[str, dict[str, str], dict[str, Any]]:
    """URL, extra headers and extensions of the request: to the checked address when there is
    one, with the host name kept for the ``Host`` header, SNI and the certificate check."""
    if target.address is None:
        return target.url, {}, {}
    url = httpx.URL(target.url)
    pinned = str(url.copy_with(host=target.address))
    ext: dict[str, Any] = {}
    if target.host != target.address:
        ext["sni_hostname"] = target.host
    return pinned, {"Host": url.netloc.decode("ascii")}, ext


def send(attempt: Attempt, client: httpx.Client, *, allow_private: bool) -> Result:
    try:
        target = urls.check(attempt.url, allow_private=allow_private)
    except DomainError as exc:
        return Result(error=f"refused: {exc.detail}"[:300])
    now = clock.now()
    url, extra, ext = request_for(target)
    headers = {
        **signing.headers(attempt.msg_id, now, attempt.body, attempt.secrets),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        **extra,
    }
    try:
        request = client.build_request(
            "POST", url, content=attempt.body, headers=headers, extensions=ext
        )
        # Streamed and closed unread: only the status matters, and a huge answer costs nothing.
        response = client.send(request, stream=True, follow_redirects=False)
        response.close()
    except httpx.HTTPError as exc:
        return Result(error=f"{type(exc).__name__}: {exc}"[:300])
    return Result(
        status_code=response.status_code,
        error=None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}",
        retry_after=_retry_after(response.headers.get("retry-after"), now),
    )


# ---------------------------------------------------------------- 3. settle


def _backoff(attempt: int, retry_after: timedelta | None) -> timedelta:
    base = RETRY_SCHEDULE[attempt - 1]
    delay = base + base * JITTER * secrets.SystemRandom().random()
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_SCHEDULE[-1]))
    return delay


def settle(session: Session, attempt: Attempt, result: Result, report: Report) -> None:
    delivery = session.get(WebhookDelivery, attempt.delivery_id, with_for_update=True)
    if (
        delivery is None
        or delivery.status is not DeliveryStatus.pending
        or delivery.attempts != attempt.number
    ):
        return  # cancelled meanwhile, or our lease ran out and another process took it
    sub = session.get(WebhookSubscription, delivery.subscription_id, with_for_update=True)
    if sub is None:
        return
    now = clock.now()
    delivery.last_status_code = result.status_code
    delivery.last_error = result.error
    if result.ok:
        delivery.status = DeliveryStatus.delivered
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        sub.failing_since = None
        report.delivered += 1
    else:
        if sub.failing_since is None:
            sub.failing_since = delivery.last_attempt_at or now
        if result.status_code == 410 or delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = DeliveryStatus.failed
            delivery.next_attempt_at = None
            report.failed += 1
        else:
            delivery.next_attempt_at = now + _backoff(delivery.attempts, result.retry_after)
            report.retrying += 1
    session.add_all([delivery, sub])
    session.flush()
    if not result.ok and sub.enabled:
        actor = Actor.system("webhooks")
        if result.status_code == 410:
            disable_subscription(session, sub, reason="gone", actor=actor)
            report.disabled.append(str(sub.id))
        elif sub.failing_since is not None and now - sub.failing_since >= DISABLE_AFTER:
            disable_subscription(
                session,
                sub,
                reason="failing",
                actor=actor,
                extra={"failing_since": iso(sub.failing_since)},
            )
            report.disabled.append(str(sub.id))


# ---------------------------------------------------------------- the loop


def client() -> httpx.Client:
    """No proxies from the environment (they would bypass the address check), no redirects."""
    return httpx.Client(timeout=TIMEOUT_S, follow_redirects=False, trust_env=False)


def run_rounds(
    engine: Engine,
    *,
    claim: Callable[[Session, datetime, int], list[Attempt]],
    settle: Callable[[Session, Attempt, Result, Report], None],
    what: str,
    logger: logging.Logger = log,
    limit: int = BATCH,
    max_rounds: int = 50,
    http: httpx.Client | None = None,
) -> Report:
    """The outbox loop both outboxes run (partner webhooks here, the regional exchange in
    app/exchange/delivery.py): rounds of ``limit`` attempts claimed in one short transaction,
    each sent with no transaction open, then settled in one transaction of its own.

    ``claim(session, now, limit)`` leases the due rows; ``settle`` records an outcome if the row
    is still ours. An attempt whose subscription an earlier attempt of the run disabled is not
    sent (its rows are cancelled). ``what`` names the outbox in ``logger``'s lines."""
    report = Report()
    allow_private = get_settings().webhook_private_allowed
    own = http is None
    http = http or client()
    try:
        for _ in range(max_rounds):
            with transaction(engine) as session:
                attempts = claim(session, clock.now(), limit)
            for attempt in attempts:
                if str(attempt.subscription_id) in report.disabled:
                    continue  # disabled by an earlier attempt of this round: its rows are cancelled
                result = send(attempt, http, allow_private=allow_private)
                if not result.ok:
                    logger.info(
                        "%s %s attempt %d failed: %s",
                        what,
                        attempt.msg_id,
                        attempt.number,
                        result.error,
                    )
                with transaction(engine) as session:
                    settle(session, attempt, result, report)
            if len(attempts) < limit:
                break
    finally:
        if own:
            http.close()
    return report


async def run_forever(
    interval_s: int, deliver: Callable[[], Report], what: str, logger: logging.Logger = log
) -> None:
    """An outbox's background sender in the app: ``deliver()`` every ``interval_s`` seconds,
    off the event loop; a failed round is logged and the next one runs on time."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            report = await anyio.to_thread.run_sync(deliver)
            if report.delivered or report.failed or report.retrying:
                logger.info("%s: %s", what, report.as_dict())
        except Exception:
            logger.exception("%s delivery round failed; retrying", what)


def deliver_due(
    engine: Engine,
    *,
    limit: int = BATCH,
    max_rounds: int = 50,
    http: httpx.Client | None = None,
) -> Report:
    """Send every delivery due now (in rounds of ``limit``); returns what became of them."""
    return run_rounds(
        engine,
        claim=lambda session, now, n: claim(session, now=now, limit=n),
        settle=settle,
        what="webhook",
        limit=limit,
        max_rounds=max_rounds,
        http=http,
    )


async def deliver_forever(interval_s: int) -> None:
    """The app's background sender: a round every ``interval_s`` seconds, off the event loop."""
    from app.db import get_engine

    await run_forever(interval_s, lambda: deliver_due(get_engine()), "webhooks")
