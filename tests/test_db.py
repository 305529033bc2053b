"""The unit of work (app/db.py): one commit/rollback decision for the API, the pages and the CLI;
``attempt`` undoes a refused step in a savepoint unless its error keeps what it recorded; and
``release_read_lock`` ends only a transaction that has not written (raw SQL included)."""

from __future__ import annotations

import sqlite3
import uuid
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, col, select

from app import db as app_db
from app.accounts.models import Institution
from app.db import (
    attempt,
    begin_write_nowait,
    make_engine,
    release_read_lock,
    transaction,
    wrote,
)
from app.errors import Forbidden as Refused


def _institution(code: str) -> Institution:
    return Institution(name=f"机构 {code}", code=code)


def _codes(engine: Any) -> set[str]:
    with Session(engine) as s:
        return set(s.exec(select(col(Institution.code))))


def test_a_refused_step_is_undone_and_the_rest_commits(engine: Any) -> None:
    kept, undone = uuid.uuid4().hex[:8], uuid.uuid4().hex[:8]
    with transaction(engine) as session:
        session.add(_institution(kept))
        session.flush()
        with pytest.raises(Refused), attempt(session):
            session.add(_institution(undone))
            session.flush()
            raise Refused()
    assert kept in _codes(engine) and undone not in _codes(engine)


def test_a_refused_step_that_keeps_its_changes_commits_them(engine: Any) -> None:
    """A failed sign-in is still counted: the page shows the refusal, the count stays."""
    recorded = uuid.uuid4().hex[:8]
    with transaction(engine) as session:
        with pytest.raises(Refused), attempt(session):
            session.add(_institution(recorded))
            session.flush()
            raise Refused().keeping_changes()
    assert recorded in _codes(engine)


def test_an_error_leaving_the_unit_of_work_rolls_back_unless_kept(engine: Any) -> None:
    dropped, kept = uuid.uuid4().hex[:8], uuid.uuid4().hex[:8]
    with pytest.raises(Refused), transaction(engine) as session:
        session.add(_institution(dropped))
        session.flush()
        raise Refused()
    with pytest.raises(Refused), transaction(engine) as session:
        session.add(_institution(kept))
        session.flush()
        raise Refused().keeping_changes()
    assert kept in _codes(engine) and dropped not in _codes(engine)


def test_release_read_lock_keeps_a_transaction_that_wrote_by_raw_sql(engine: Any) -> None:
    """The heartbeat's fast path writes without the ORM: the transaction must not be ended."""
    code = uuid.uuid4().hex[:8]
    with transaction(engine) as session:
        session.add(_institution(code))
        session.flush()
        session.expunge_all()
    with transaction(engine) as session:
        session.execute(
            text("UPDATE institutions SET name = :n WHERE code = :c"), {"n": "改名", "c": code}
        )
        assert wrote(session)
        release_read_lock(session)
        assert session.in_transaction()
    with Session(engine) as s:
        row = s.exec(select(Institution).where(col(Institution.code) == code)).one()
        assert row.name == "改名"


def test_release_read_lock_ends_a_read_on_sqlite_only(engine: Any) -> None:
    with transaction(engine) as session:
        session.exec(select(Institution)).all()
        assert not wrote(session) or session.get_bind().dialect.name != "sqlite"
        release_read_lock(session)
        sqlite = session.get_bind().dialect.name == "sqlite"
        assert session.in_transaction() is not sqlite
        # Inside a savepoint nothing is ended (it would end the savepoint's outer transaction).
        with attempt(session):
            session.exec(select(Institution)).all()
            release_read_lock(session)
            assert session.in_transaction()


def test_a_write_that_must_not_wait_does_not_begin_while_another_process_writes(
    engine: Any,
) -> None:
    """``begin_write_nowait`` (the event loop's units of work, app/http/session.py): SQLite held
    by another process's write transaction is a refusal at once, nothing begun; free, it begins."""
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    other = sqlite3.connect(engine.url.database, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with transaction(engine) as session:
            assert not begin_write_nowait(session)
            assert not session.in_transaction()
        other.execute("ROLLBACK")
        with transaction(engine) as session:
            assert begin_write_nowait(session)
            assert session.in_transaction()
    finally:
        other.close()


def test_a_pooled_connection_the_server_dropped_while_idle_is_replaced(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL: a connection unused for ``PING_IDLE_S`` is pinged at check-out, and one the
    server ended meanwhile is replaced there, not handed to a unit of work."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's pooled connections")
    monkeypatch.setattr(app_db, "PING_IDLE_S", 0.0)
    with engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
    killer = make_engine(engine.url.render_as_string(hide_password=False), pooled=False)
    with killer.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        other.commit()
    killer.dispose()
    for _ in range(2):  # whichever of the two the pool hands out, it works
        with engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
