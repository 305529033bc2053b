"""Prepared statements (app/prepared.py): the same rows, types and errors as Core's execution
of the same statement, in the unit of work's transaction; a statement listener still sees them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, NoResultFound
from sqlmodel import Session

from app.accounts.models import Institution
from app.db import transaction
from app.prepared import Prepared

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
