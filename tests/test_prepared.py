"""Prepared statements (app/prepared.py): the same rows, types and errors as Core's execution
of the same statement, in the unit of work's transaction; a statement listener still sees them."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, NoResultFound
from sqlmodel import Session

from app.accounts.models import Institution
from app.db import make_engine, transaction
from app.prepared import Prepared, first_rows

_INSTITUTIONS = Institution.__table__  # type: ignore[attr-defined]
_BY_CODE = Prepared(
    sa.select(_INSTITUTIONS.c.id, _INSTITUTIONS.c.name, _INSTITUTIONS.c.created_at).where(
        _INSTITUTIONS.c.code == sa.bindparam("code")
    )
)
_RENAME = Prepared(
    sa.update(_INSTITUTIONS)
    .where(_INSTITUTIONS.c.code == sa.bindparam("code"))
    .values(name=sa.bindparam("name", type_=_INSTITUTIONS.c.name.type))
)
_COPY_ID = Prepared(
    sa.insert(_INSTITUTIONS).values(
        id=sa.bindparam("id", type_=_INSTITUTIONS.c.id.type),
        code=sa.bindparam("code", type_=_INSTITUTIONS.c.code.type),
        name="副本",
    )
)


def _institution(engine: Any) -> Institution:
    code = uuid.uuid4().hex[:8]
    with transaction(engine) as session:
        session.add(inst := Institution(name=f"机构 {code}", code=code))
    return inst


def test_rows_and_writes_match_core_in_the_unit_of_work(engine: Any) -> None:
    inst = _institution(engine)
    core = sa.select(_INSTITUTIONS.c.id, _INSTITUTIONS.c.name, _INSTITUTIONS.c.created_at).where(
        _INSTITUTIONS.c.code == inst.code
    )
    with transaction(engine) as session:
        conn = session.connection()
        row = _BY_CODE.one(conn, {"code": inst.code})
        assert tuple(row) == tuple(conn.execute(core).one())
        assert row.id == inst.id and isinstance(row.id, uuid.UUID)
        assert row.created_at.tzinfo is not None
        assert _BY_CODE.first(conn, {"code": "nothing"}) is None
        with pytest.raises(NoResultFound):
            _BY_CODE.one(conn, {"code": "nothing"})
        _RENAME.execute(conn, {"code": inst.code, "name": "改名"})
    with Session(engine) as s:
        assert s.get(Institution, inst.id).name == "改名"  # type: ignore[union-attr]


def test_a_driver_error_is_sqlalchemys_and_the_unit_of_work_rolls_back(engine: Any) -> None:
    inst = _institution(engine)
    with pytest.raises(IntegrityError), transaction(engine) as session:
        conn = session.connection()
        _RENAME.execute(conn, {"code": inst.code, "name": "不会留下"})
        _COPY_ID.execute(conn, {"id": inst.id, "code": uuid.uuid4().hex[:8]})
    with Session(engine) as s:
        assert s.get(Institution, inst.id).name == inst.name  # type: ignore[union-attr]


def test_a_statement_listener_sees_prepared_statements(engine: Any) -> None:
    inst = _institution(engine)
    seen: list[str] = []

    def on_statement(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        with transaction(engine) as session:
            row = _BY_CODE.one(session.connection(), {"code": inst.code})
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
    assert row.name == inst.name
    assert any(s.lstrip().upper().startswith("SELECT") for s in seen)


_LOCK = Prepared(
    sa.select(_INSTITUTIONS.c.id)
    .where(_INSTITUTIONS.c.code == sa.bindparam("code"))
    .with_for_update()
)


def test_first_rows_match_one_by_one(engine: Any) -> None:
    inst = _institution(engine)
    with transaction(engine) as session:
        conn = session.connection()
        locked, row, none = first_rows(
            conn,
            (_LOCK, {"code": inst.code}),
            (_BY_CODE, {"code": inst.code}),
            (_BY_CODE, {"code": "-"}),
        )
        assert (locked.id, row.name, none) == (inst.id, inst.name, None)
        assert tuple(row) == tuple(_BY_CODE.one(conn, {"code": inst.code}))


def test_a_read_pipelined_after_a_lock_sees_what_the_lock_waited_for(engine: Any) -> None:
    """PostgreSQL: the lock and the read go in one round trip; the read still starts once the
    lock is held, so it sees the change of the transaction the lock waited for."""
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's pipeline")
    inst = _institution(engine)
    seen: list[Any] = []
    with transaction(engine) as holder:
        _RENAME.execute(holder.connection(), {"code": inst.code, "name": "先提交"})
        holder_pid = holder.connection().execute(sa.text("SELECT pg_backend_pid()")).scalar()

        def waiter() -> None:
            with transaction(engine) as session:
                seen.extend(
                    first_rows(
                        session.connection(),
                        (_LOCK, {"code": inst.code}),
                        (_BY_CODE, {"code": inst.code}),
                    )
                )

        thread = threading.Thread(target=waiter)
        thread.start()
        watcher = make_engine(engine.url.render_as_string(hide_password=False), pooled=False)
        with Session(watcher) as watch:
            blocked = sa.text("SELECT count(*) FROM pg_locks WHERE NOT granted AND pid <> :pid")
            while thread.is_alive() and not watch.execute(blocked, {"pid": holder_pid}).scalar():
                watch.rollback()  # a fresh snapshot each look
        watcher.dispose()
    thread.join()
    assert seen[1].name == "先提交"
