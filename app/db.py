"""Engine and the per-request session.

SQLite (WAL) is the embedded default, PostgreSQL the production database; both run the same
Alembic migrations. One transaction per request: the session dependency commits when the
handler returns and rolls back on error, so a change and its audit entry land together.

SQLite note: Python's sqlite3 driver is put in autocommit mode and we issue ``BEGIN IMMEDIATE``
ourselves. A deferred transaction that read first and writes later can fail with
SQLITE_BUSY_SNAPSHOT when another writer committed in between; taking the write lock at BEGIN
makes concurrent writers queue on ``busy_timeout`` instead (Rails 8 made the same choice).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

from app.config import Settings, get_settings
from app.errors import DomainError

_engines: dict[str, Engine] = {}


class _LockingConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions queue on a lock shared by its engine.

    Writers of this process wait their turn on a fair in-process lock instead of on SQLite's
    busy handler, which sleeps in growing steps (up to 100 ms) between retries: under load that
    turned a 4 ms heartbeat into seconds of p99. The lock is released after COMMIT or ROLLBACK
    has reached SQLite. Other processes still meet the busy handler, so SQLite is best served
    by one worker process.
    """

    write_lock: threading.Lock
    _holds = False

    def take_write_lock(self, timeout: float = 30.0) -> None:
        # Same bound as busy_timeout: never wait forever (e.g. a writer stuck elsewhere).
        if not self.write_lock.acquire(timeout=timeout):
            raise sqlite3.OperationalError("database is locked (waited for the write lock)")
        self._holds = True

    def release_write_lock(self) -> None:
        if self._holds:
            self._holds = False
            self.write_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_write_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_write_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_write_lock()


def _locking_connection_class() -> type[_LockingConnection]:
    """A connection class with its own lock: one per engine (i.e. per database file)."""
    return type("LockingConnection", (_LockingConnection,), {"write_lock": threading.Lock()})


def make_engine(url: str, *, echo: bool = False, pooled: bool = True) -> Engine:
    """Create an engine with the pragmas and transaction handling this app relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={
                "check_same_thread": False,
                "timeout": 30,
                "factory": _locking_connection_class(),
            },
            **({"pool_size": 20, "max_overflow": 0} if pooled else {"poolclass": NullPool}),
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
            dbapi_conn = conn.connection.dbapi_connection
            if mode == "IMMEDIATE" and isinstance(dbapi_conn, _LockingConnection):
                dbapi_conn.take_write_lock()
            try:
                conn.exec_driver_sql(f"BEGIN {mode}")
            except BaseException:
                if isinstance(dbapi_conn, _LockingConnection):
                    dbapi_conn.release_write_lock()
                raise

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    pool_args: dict[str, Any] = (
        {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20}
        if pooled
        else {"poolclass": NullPool}
    )
    return create_engine(url, echo=echo, **pool_args)


def get_engine(settings: Settings | None = None) -> Engine:
    settings = settings or get_settings()
    url = settings.resolved_database_url
    if url not in _engines:
        if url.startswith("sqlite:///"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        _engines[url] = make_engine(url)
    return _engines[url]


def dispose_engines() -> None:
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


@event.listens_for(Session, "after_flush")
def _note_flush(session: Session, _ctx: Any) -> None:
    session.info["flushed"] = True


def release_read_lock(session: Session) -> None:
    """Before slow work (face analysis), end a transaction that has only read, on SQLite.

    SQLite transactions here hold the database write lock from BEGIN (see above), so a request
    that analyses frames for a second would stall every other writer. Ending a read-only prefix
    is harmless: loaded objects are expired and reload in the next transaction, which callers
    must treat as a fresh look (re-check what may have changed). PostgreSQL keeps its
    transaction and row locks.
    """
    if session.get_bind().dialect.name != "sqlite" or not session.in_transaction():
        return
    if session.new or session.dirty or session.deleted or session.info.get("flushed"):
        return
    session.rollback()


def read_only(session: Session) -> None:
    """Mark the session's transaction as a read: on SQLite it begins DEFERRED (no write lock).

    Must be called before the session's first statement. Writing in such a transaction on
    SQLite risks SQLITE_BUSY_SNAPSHOT, so only reads may use it.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={"sqlite_begin": "DEFERRED"})


@contextmanager
def transaction(engine: Engine, *, reading: bool = False) -> Iterator[Session]:
    """One unit of work outside HTTP (CLI, jobs): commit on success, roll back on error.

    A :class:`DomainError` marked to keep changes commits what was flushed before re-raising.
    ``reading=True`` for read-only work (exports): no write lock on SQLite.
    """
    with Session(engine, expire_on_commit=False) as session:
        if reading:
            read_only(session)
        try:
            yield session
        except DomainError as exc:
            if exc.commit:
                session.commit()
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise
        else:
            session.commit()
