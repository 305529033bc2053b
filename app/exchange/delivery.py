"""Sending the outbox to the regional system: claim due records, POST them signed, settle.

The same machinery and rules as partner webhooks (app/webhooks/delivery.py): records are claimed
in one short transaction with ``FOR UPDATE … SKIP LOCKED`` on PostgreSQL (SQLite's single writer
serialises claims), each under a lease, so any number of nodes send each record once per
attempt; the request goes out with no transaction open, signed per Standard Webhooks with the
shared secret (``webhook-id`` is the record id: the receiver deduplicates by it), through the
same address checks; the outcome is settled only if the record is still ours. 2xx is delivered;
anything else is retried on the webhooks' schedule (1 min … 24 h), then ``failed``.
"""

from __future__ import annotations

import logging
from datetime import datetime

import httpx
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import clock
from app.config import get_settings
from app.exchange.models import ExchangeRecord, SendStatus
from app.exchange.service import body_of
from app.webhooks import delivery as webhooks
from app.webhooks.delivery import LEASE, MAX_ATTEMPTS, Attempt, Report, Result

log = logging.getLogger("skilltrace.exchange")
BATCH = webhooks.BATCH


def claim(
    session: Session, *, url: str, secret: str, now: datetime, limit: int = BATCH
) -> list[Attempt]:
    rows = session.exec(
        select(ExchangeRecord)
        .where(
            col(ExchangeRecord.status) == SendStatus.pending,
            col(ExchangeRecord.next_attempt_at) <= now,
        )
        .order_by(col(ExchangeRecord.next_attempt_at), col(ExchangeRecord.seq))
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    attempts = []
    for record in rows:
        record.attempts += 1
        record.last_attempt_at = now
        record.next_attempt_at = now + LEASE
        session.add(record)
        attempts.append(
            Attempt(
                delivery_id=record.id,
                subscription_id=record.id,
                number=record.attempts,
                url=url,
                msg_id=f"rec_{record.id.hex}",
                body=body_of(session, record),
                secrets=[secret],
            )
        )
    session.flush()
    return attempts


def settle(session: Session, attempt: Attempt, result: Result, report: Report) -> None:
    record = session.get(ExchangeRecord, attempt.delivery_id, with_for_update=True)
    if (
        record is None
        or record.status is not SendStatus.pending
        or record.attempts != attempt.number
    ):
        return  # settled by a receipt meanwhile, or our lease ran out and another node took it
    now = clock.now()
    record.last_status_code = result.status_code
    record.last_error = result.error
    if result.ok:
        record.status, record.delivered_at, record.next_attempt_at = SendStatus.delivered, now, None
        report.delivered += 1
    elif record.attempts >= MAX_ATTEMPTS:
        record.status, record.next_attempt_at = SendStatus.failed, None
        report.failed += 1
    else:
        # The webhooks' schedule and jitter (one rule for both outboxes).
        record.next_attempt_at = now + webhooks._backoff(record.attempts, result.retry_after)
        report.retrying += 1
    session.add(record)
    session.flush()


def deliver_due(
    engine: Engine, *, limit: int = BATCH, max_rounds: int = 50, http: httpx.Client | None = None
) -> Report:
    """Send every record due now (nothing when no regional endpoint is configured)."""
    settings = get_settings()
    url, secret = settings.regional_exchange_url, settings.regional_exchange_secret
    if not url or not secret:
        return Report()
    return webhooks.run_rounds(
        engine,
        claim=lambda session, now, n: claim(session, url=url, secret=secret, now=now, limit=n),
        settle=settle,
        what="exchange",
        logger=log,
        limit=limit,
        max_rounds=max_rounds,
        http=http,
    )


async def deliver_forever(interval_s: int) -> None:
    """The app's background sender: a round every ``interval_s`` seconds, off the event loop."""
    from app.db import get_engine

    await webhooks.run_forever(
        interval_s, lambda: deliver_due(get_engine()), "regional exchange", log
    )
