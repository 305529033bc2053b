"""System status for platform admins: the database and its migration, the file store, the face
engine, the work waiting in queues (webhook deliveries, roll-calls, reviews) and the size of what
is stored.

Read-only and cheap (counts on indexed columns): the admin console's status page renders it on
every visit. Figures about the face engine are this process's (each server worker has its own).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from alembic.script import ScriptDirectory
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import func, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool
from sqlmodel import Session, col, select

from app import __version__, clock
from app.accounts.models import ApiKey, Institution, User
from app.attendance import engine as face_engine
from app.attendance.models import AttendanceEvent, ReviewStatus
from app.audit.models import AuditChainHead
from app.config import get_settings
from app.courses.models import RollCall, RollCallStatus
from app.db import get_engine, transaction
from app.errors import DatabaseUnavailable, MigrationsPending
from app.migrate import alembic_config
from app.storage import StorageUnavailable, check_storage
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
class StorageStatus:
    kind: str  # local | s3
    location: str  # the data dir, or s3://bucket/prefix (and the store's URL)
    ok: bool
    detail: str | None  # why it cannot be used (the store's answer)


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
    storage: StorageStatus
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


def storage() -> StorageStatus:
    """The configured file store and whether it answers now (S3: one ``HeadBucket``)."""
    settings = get_settings()
    if settings.storage == "s3":
        location = f"s3://{settings.s3_bucket}/{settings.s3_prefix}"
        if settings.s3_endpoint_url:
            location += f" @ {settings.s3_endpoint_url}"
    else:
        location = str(settings.data_dir.resolve())
    try:
        check_storage(settings)
    except StorageUnavailable as exc:
        return StorageStatus(settings.storage, location, ok=False, detail=exc.detail)
    return StorageStatus(settings.storage, location, ok=True, detail=None)


def system_status(session: Session) -> SystemStatus:
    settings = get_settings()
    return SystemStatus(
        version=__version__,
        env=settings.env.value,
        checked_at=clock.now(),
        database=database(session),
        storage=storage(),
        face=face_engine.status(),
        queues=queues(session),
        totals=totals(session),
        sweep_interval_s=settings.rollcall_sweep_interval_s,
        webhook_interval_s=settings.webhook_delivery_interval_s,
    )


# ---------------------------------------------------------------- readiness and metrics


def readiness(engine: Engine) -> DatabaseStatus:
    """The database as ``/readyz`` needs it: reachable and at this code's migration head.

    Raises :class:`DatabaseUnavailable` (cannot connect or query) or :class:`MigrationsPending`
    (the schema is older or newer than this code: a node of another version, or
    ``skilltrace migrate`` not run yet)."""
    try:
        with transaction(engine, reading=True) as session:
            db = database(session)
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise DatabaseUnavailable(f"The database cannot be reached: {first[:200]}") from None
    if not db.current:
        raise MigrationsPending(
            f"The database is at {db.revision or 'no revision'}; this version needs {db.head}.",
            revision=db.revision,
            head=db.head,
        )
    return db


def _gauge(name: str, doc: str, labels: list[str], *rows: tuple[list[str], float]) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for values, value in rows:
        family.add_metric(values, value)
    return family


def metric_families() -> Iterator[Metric]:
    """Figures read when ``/metrics`` is scraped: this process's face workers and database
    pool (labelled with its pid), and the queues in the database (the same for every node)."""
    pid = str(os.getpid())
    face = face_engine.status()
    pool = face_engine.pool_state()
    yield _gauge(
        "skilltrace_face_workers",
        "Face worker processes of this server process: configured, and alive now.",
        ["pid", "state"],
        ([pid, "configured"], face.workers),
        ([pid, "alive"], face.alive or 0),
    )
    yield _gauge(
        "skilltrace_face_frames_in_flight",
        "Frames queued for or being analysed by this process's face workers.",
        ["pid"],
        ([pid], face.in_flight or 0),
    )
    yield _gauge(
        "skilltrace_face_pool_restarts",
        "Broken face pools replaced since this process started.",
        ["pid"],
        ([pid], pool.restarts if pool is not None else 0),
    )
    engine = get_engine()
    db_pool = engine.pool
    if isinstance(db_pool, QueuePool):
        yield _gauge(
            "skilltrace_db_pool_connections",
            "This process's database connection pool: its size, connections in use, overflow.",
            ["pid", "state"],
            ([pid, "size"], db_pool.size()),
            ([pid, "checked_out"], db_pool.checkedout()),
            ([pid, "overflow"], max(0, db_pool.overflow())),
        )
    try:
        with transaction(engine, reading=True) as session:
            q = queues(session)
    except SQLAlchemyError:
        yield _gauge("skilltrace_database_up", "Whether the database answered.", [], ([], 0))
        return
    yield _gauge("skilltrace_database_up", "Whether the database answered.", [], ([], 1))
    now = clock.now()
    oldest = (now - q.webhooks_oldest).total_seconds() if q.webhooks_oldest else 0.0
    yield _gauge(
        "skilltrace_webhook_deliveries",
        "Webhook deliveries in the outbox: pending, pending and due now, failed in 24 h.",
        ["state"],
        (["pending"], q.webhooks_pending),
        (["due"], q.webhooks_due),
        (["failed_24h"], q.webhooks_failed_24h),
    )
    yield _gauge(
        "skilltrace_webhook_oldest_pending_seconds",
        "Age of the oldest pending webhook delivery (0: none).",
        [],
        ([], max(0.0, oldest)),
    )
    yield _gauge(
        "skilltrace_rollcalls",
        "Roll-calls pending, and pending past their deadline (the sweep is behind).",
        ["state"],
        (["pending"], q.rollcalls_pending),
        (["overdue"], q.rollcalls_overdue),
    )
    yield _gauge(
        "skilltrace_reviews_pending",
        "Attendance decisions waiting for staff review.",
        [],
        ([], q.reviews_pending),
    )
