"""Engine and the unit of work.

SQLite (WAL) is the embedded default, PostgreSQL the production database; both run the same
Alembic migrations. One transaction per unit of work (:func:`transaction`): an API request, a
page request, a CLI command or a job commits when its work returns and rolls back on error, so
a change and its audit entry land together. :func:`finish` is the one place that decides
between commit and rollback; :func:`attempt` runs a step a handler wants to recover from (a
page that shows a refusal) in a savepoint with the same rules. Nothing outside this module
commits or rolls back.

SQLite note: Python's sqlite3 driver is put in autocommit mode and we issue ``BEGIN IMMEDIATE``
ourselves. A deferred transaction that read first and writes later can fail with
SQLITE_BUSY_SNAPSHOT when another writer committed in between; taking the write lock at BEGIN
makes concurrent writers queue on ``busy_timeout`` instead (Rails 8 made the same choice).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import Sequence, event, func
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.orm import Mapped
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine, select

from app.config import Settings, get_settings
from app.errors import DomainError
from app.prepared import watched

_engines: dict[str, Engine] = {}
T = TypeVar("T")


class WriteLockBusy(Exception):
    """A no-wait write transaction (``sqlite_nowait``) did not begin: another writer holds the
    SQLite database (a thread of this process, or another process). Nothing was done."""


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
    #: ``total_changes`` when the current transaction began: whether it wrote (see :func:`wrote`).
    changes_at_begin = 0

    def take_write_lock(self, timeout: float = 30.0, *, wait: bool = True) -> None:
        # Same bound as busy_timeout: never wait forever (e.g. a writer stuck elsewhere).
        if not wait:
            if not self.write_lock.acquire(blocking=False):
                raise WriteLockBusy()
        elif not self.write_lock.acquire(timeout=timeout):
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
            options = conn.get_execution_options()
            mode = options.get("sqlite_begin", "IMMEDIATE")
            # A no-wait write transaction (see begin_write_nowait) begins now or not at all.
            nowait = mode == "IMMEDIATE" and options.get("sqlite_nowait", False)
            dbapi_conn = conn.connection.dbapi_connection
            if isinstance(dbapi_conn, _LockingConnection):
                dbapi_conn.changes_at_begin = dbapi_conn.total_changes
            if mode == "IMMEDIATE" and isinstance(dbapi_conn, _LockingConnection):
                dbapi_conn.take_write_lock(wait=not nowait)
            try:
                if nowait:
                    _begin_nowait(conn, dbapi_conn)
                else:
                    _begin(conn, dbapi_conn, f"BEGIN {mode}")
            except BaseException:
                if isinstance(dbapi_conn, _LockingConnection):
                    dbapi_conn.release_write_lock()
                raise

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if not pooled:
        return create_engine(url, echo=echo, poolclass=NullPool)
    engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20)
    _ping_when_idle(engine)
    return engine


#: A pooled PostgreSQL connection unused for this long is pinged before it is handed out.
PING_IDLE_S = 5.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only when it sat unused for :data:`PING_IDLE_S`
    (SQLAlchemy's ``pool_pre_ping`` pings at every check-out: one more round trip in every unit
    of work, a heartbeat's included). A connection in constant use is not pinged; one the
    server dropped while it was in use fails its statement, which invalidates the pool as a
    failed ping would (SQLAlchemy's disconnect handling), so the next check-outs reconnect."""

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < PING_IDLE_S:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError() from exc  # the pool replaces the connection and retries


def _begin(conn: Any, dbapi_conn: Any, sql: str) -> None:
    """Run a SQLite ``BEGIN`` on the driver's connection (every unit of work runs one: Core's
    execution of it cost more CPU than the heartbeat's statements), raising SQLAlchemy's errors
    as Core would; through Core when a listener watches statements."""
    if watched(conn):
        conn.exec_driver_sql(sql)
        return
    try:
        dbapi_conn.execute(sql).close()
    except sqlite3.Error as exc:
        raise DBAPIError.instance(sql, (), exc, sqlite3.Error, dialect=conn.dialect) from exc


def _begin_nowait(conn: Any, dbapi_conn: Any) -> None:
    """``BEGIN IMMEDIATE`` without SQLite's busy handler: another process's write transaction
    raises :class:`WriteLockBusy` at once instead of being waited for."""
    dbapi_conn.execute("PRAGMA busy_timeout=0")
    try:
        _begin(conn, dbapi_conn, "BEGIN IMMEDIATE")
    except DBAPIError as exc:
        if isinstance(exc.orig, sqlite3.OperationalError) and "locked" in str(exc.orig):
            raise WriteLockBusy() from exc
        raise
    finally:
        dbapi_conn.execute("PRAGMA busy_timeout=30000")


def begin_write_nowait(session: Session) -> bool:
    """Begin ``session``'s write transaction on SQLite if no other writer holds the database
    now: True if it began (the session holds the write lock), False if it would have to wait
    (nothing began). Never waits; for a caller that must not block (the event loop)."""
    try:
        session.connection(execution_options={"sqlite_nowait": True})
    except WriteLockBusy:
        session.rollback()
        return False
    return True


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


def wrote(session: Session) -> bool:
    """Whether the session's SQLite transaction holds changes (pending, flushed or written by raw
    SQL such as the heartbeat's fast path): SQLite counts the rows each connection changed."""
    if session.new or session.dirty or session.deleted:
        return True
    dbapi_conn = session.connection().connection.dbapi_connection
    if isinstance(dbapi_conn, _LockingConnection):
        return dbapi_conn.total_changes != dbapi_conn.changes_at_begin
    return True  # pragma: no cover - not our connection class: assume it wrote


def release_read_lock(session: Session) -> None:
    """Before slow work (face analysis), end a transaction that has only read, on SQLite.

    SQLite transactions here hold the database write lock from BEGIN (see above), so a request
    that analyses frames for a second would stall every other writer. Ending a read-only prefix
    is harmless: loaded objects are expired and reload in the next transaction, which callers
    must treat as a fresh look (re-check what may have changed). PostgreSQL keeps its
    transaction and row locks, and so does a step running in a savepoint (:func:`attempt`).
    """
    if session.get_bind().dialect.name != "sqlite" or not session.in_transaction():
        return
    if session.in_nested_transaction() or wrote(session):
        return
    session.rollback()


def read_only(session: Session) -> None:
    """Mark the session's transaction as a read: on SQLite it begins DEFERRED (no write lock).

    Must be called before the session's first statement. Writing in such a transaction on
    SQLite risks SQLITE_BUSY_SNAPSHOT, so only reads may use it.
    """
    if session.get_bind().dialect.name == "sqlite":
        session.connection(execution_options={"sqlite_begin": "DEFERRED"})


def next_in_order(session: Session, sequence: Sequence, column: Mapped[int]) -> int:
    """The next number of an outbox's write order (``column``, unique): ``sequence``'s next
    value on PostgreSQL; on SQLite one more than the largest so far, which is nobody else's
    because the caller's transaction holds the database's only write lock (``BEGIN IMMEDIATE``).
    Rows this transaction added must be flushed first. Numbers say which row was written first,
    across transactions and within one (two rows of one instant); they may have gaps."""
    if session.get_bind().dialect.name == "postgresql":
        return session.exec(select(sequence.next_value())).one()
    return session.exec(select(func.coalesce(func.max(column), 0) + 1)).one()


def keeps_changes(error: BaseException | None) -> bool:
    """Whether a unit of work that ended with ``error`` commits: no error, or a
    :class:`DomainError` marked ``keep_changes`` (a recorded failure, e.g. a failed sign-in)."""
    return error is None or (isinstance(error, DomainError) and error.commit)


#: Asked instead of committing; True if it took the still-open session to commit later itself
#: (a keyed request commits with its stored response: app/idempotency/outcome.py). The unit of
#: work then neither commits nor closes the session.
HandOver = Callable[[Session], bool]


def finish(
    session: Session, error: BaseException | None = None, *, hand_over: HandOver | None = None
) -> bool:
    """End the session's transaction: commit when :func:`keeps_changes` (or let ``hand_over``
    take it), else roll back. The one commit/rollback decision of the app. True if handed over.
    """
    if keeps_changes(error):
        if hand_over is not None and hand_over(session):
            return True
        if session.in_transaction():
            session.commit()
    elif session.in_transaction():
        session.rollback()
    return False


def run_and_finish(
    session: Session, work: Callable[[], T], *, hand_over: HandOver | None = None
) -> T:
    """Run ``work`` and end the transaction by :func:`finish`'s rules, in the same call (so a
    hot handler does its work and its commit in one trip to a worker thread)."""
    try:
        result = work()
    except BaseException as exc:
        finish(session, exc, hand_over=hand_over)
        raise
    finish(session, hand_over=hand_over)
    return result


@contextmanager
def transaction(
    engine: Engine, *, reading: bool = False, hand_over: HandOver | None = None
) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error (see :func:`finish`).

    Used by the API's and the pages' session dependency, the CLI and jobs. ``reading=True`` for
    read-only work (GET requests, exports): no write lock on SQLite.
    """
    session = Session(engine, expire_on_commit=False)
    handed_over = False
    try:
        if reading:
            read_only(session)
        try:
            yield session
        except BaseException as exc:
            handed_over = finish(session, exc, hand_over=hand_over)
            raise
        else:
            handed_over = finish(session, hand_over=hand_over)
    finally:
        if not handed_over:
            session.close()


@contextmanager
def attempt(session: Session) -> Iterator[None]:
    """A step the caller will recover from (a page showing a refusal), in a savepoint.

    On an error the step's changes are undone unless it is a :class:`DomainError` that keeps
    its changes (a failed sign-in is still counted); the error propagates and the unit of work
    goes on to commit whatever else it did. Outside a transaction the savepoint begins one.
    """
    savepoint = session.begin_nested()
    try:
        yield
    except BaseException as exc:
        if savepoint.is_active:
            if keeps_changes(exc):
                savepoint.commit()
            else:
                savepoint.rollback()
        raise
    else:
        if savepoint.is_active:
            savepoint.commit()
