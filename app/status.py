"""System status for platform admins: the database and its migration, the face engine, the work
waiting in queues (webhook deliveries, roll-calls, reviews) and the size of what is stored.

Read-only and cheap (counts on indexed columns): the admin console's status page renders it on
every visit. Figures about the face engine are this process's (each server worker has its own).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from alembic.script import ScriptDirectory
from sqlalchemy import func, text
from sqlmodel import Session, col, select

from app import __version__, clock
from app.accounts.models import ApiKey, Institution, User
from app.attendance import engine as face_engine
from app.attendance.models import AttendanceEvent, ReviewStatus
from app.audit.models import AuditChainHead
from app.config import get_settings
from app.courses.models import RollCall, RollCallStatus
from app.migrate import alembic_config
from app.webhooks.models import DeliveryStatus, WebhookDelivery


@dataclass(frozen=True)
class DatabaseStatus:
    kind: str  # sqlite | postgresql
    server_version: str
    revision: str | None  # what the database is at
    head: str | None  # what this code's migrations end at

    @property
    def current(self) -> bool:
        return self.revision is not None and self.revision == self.head


@dataclass(frozen=True)
class QueueStatus:
    webhooks_pending: int
    webhooks_due: int  # pending and their attempt is due now (the sender is behind if many)
    webhooks_oldest: datetime | None  # the oldest pending delivery's creation
    webhooks_failed_24h: int
    rollcalls_pending: int
    rollcalls_overdue: int  # pending past their deadline: the sweep has not run yet
    reviews_pending: int


@dataclass(frozen=True)
class Totals:
    institutions: int
    institutions_suspended: int
    users: int
    users_locked: int
    api_keys: int  # not revoked
    audit_chains: int
    audit_entries: int


@dataclass(frozen=True)
class SystemStatus:
    version: str
    env: str
    checked_at: datetime
    database: DatabaseStatus
    face: face_engine.EngineStatus
    queues: QueueStatus
    totals: Totals
    sweep_interval_s: int
    webhook_interval_s: int


@functools.cache
def migration_head() -> str | None:
    """The head revision of this code's migrations (read from the scripts once)."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def _count(session: Session, stmt: object) -> int:
    return int(session.exec(stmt).one())  # type: ignore[call-overload]


def database(session: Session) -> DatabaseStatus:
    bind = session.get_bind()
    kind = bind.dialect.name
    if kind == "postgresql":
        version = str(session.exec(text("SHOW server_version")).one()[0])  # type: ignore[call-overload]
    elif kind == "sqlite":
        version = str(session.exec(text("SELECT sqlite_version()")).one()[0])  # type: ignore[call-overload]
    else:  # pragma: no cover - only the two are supported
        version = ""
    try:
        revision = session.exec(text("SELECT version_num FROM alembic_version")).first()  # type: ignore[call-overload]
    except Exception:  # pragma: no cover - a database never migrated has no version table
        revision = None
    return DatabaseStatus(
        kind=kind,
        server_version=version.split(" ")[0],
        revision=str(revision[0]) if revision else None,
        head=migration_head(),
    )


def queues(session: Session) -> QueueStatus:
    now = clock.now()
    pending = col(WebhookDelivery.status) == DeliveryStatus.pending
    webhooks_pending, webhooks_oldest = session.exec(
        select(func.count(), func.min(col(WebhookDelivery.created_at))).where(pending)
    ).one()
    return QueueStatus(
        webhooks_pending=int(webhooks_pending),
        webhooks_due=_count(
            session,
            select(func.count())
            .select_from(WebhookDelivery)
            .where(pending, col(WebhookDelivery.next_attempt_at) <= now),
        ),
        webhooks_oldest=webhooks_oldest,
        webhooks_failed_24h=_count(
            session,
            select(func.count())
            .select_from(WebhookDelivery)
            .where(
                col(WebhookDelivery.status) == DeliveryStatus.failed,
                col(WebhookDelivery.created_at) >= now - timedelta(days=1),
            ),
        ),
        rollcalls_pending=_count(
            session,
            select(func.count())
            .select_from(RollCall)
            .where(col(RollCall.status) == RollCallStatus.pending),
        ),
        rollcalls_overdue=_count(
            session,
            select(func.count())
            .select_from(RollCall)
            .where(col(RollCall.status) == RollCallStatus.pending, col(RollCall.deadline) < now),
        ),
        reviews_pending=_count(
            session,
            select(func.count())
            .select_from(AttendanceEvent)
            .where(col(AttendanceEvent.review_status) == ReviewStatus.pending),
        ),
    )


def totals(session: Session) -> Totals:
    audit_chains, audit_entries = session.exec(
        select(func.count(), func.coalesce(func.sum(col(AuditChainHead.seq)), 0))
    ).one()
    return Totals(
        institutions=_count(session, select(func.count()).select_from(Institution)),
        institutions_suspended=_count(
            session,
            select(func.count())
            .select_from(Institution)
            .where(col(Institution.suspended_at).is_not(None)),
        ),
        users=_count(session, select(func.count()).select_from(User)),
        users_locked=_count(
            session, select(func.count()).select_from(User).where(col(User.is_active).is_(False))
        ),
        api_keys=_count(
            session,
            select(func.count()).select_from(ApiKey).where(col(ApiKey.revoked_at).is_(None)),
        ),
        audit_chains=int(audit_chains),
        audit_entries=int(audit_entries),
    )


def system_status(session: Session) -> SystemStatus:
    settings = get_settings()
    return SystemStatus(
        version=__version__,
        env=settings.env.value,
        checked_at=clock.now(),
        database=database(session),
        face=face_engine.status(),
        queues=queues(session),
        totals=totals(session),
        sweep_interval_s=settings.rollcall_sweep_interval_s,
        webhook_interval_s=settings.webhook_delivery_interval_s,
    )
