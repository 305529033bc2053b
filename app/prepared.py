"""Statements a hot path runs on every request, compiled once per database and run straight on
the DBAPI cursor of the unit of work's connection.

SQLAlchemy's execution of a cached Core statement still builds and hashes the statement's cache
key, constructs an execution context and a result object, and walks the events of every call:
measured on SQLite, ~150 µs of CPU per statement around ~50 µs of database work, i.e. most of
the heartbeat's statements' cost (benchmarks/heartbeat_profile.py). :class:`Prepared` keeps
what those calls compute the same each time — the SQL text for the dialect, the parameters'
order and fixed values, the bind and result type processors — and runs only the cursor call and
the type conversions. The statement itself stays one Core object (one definition for both
databases); the transaction stays the unit of work's (the statement runs on the connection the
session has begun, and commits or rolls back with it: :func:`app.db.finish`).

Errors from the driver are handled as Core handles them (``sqlalchemy.exc.DBAPIError``
subclasses; a lost connection invalidates the pool). When a listener watches statements on the
connection (``before_cursor_execute`` and friends: tests and benchmarks that count statements),
the statement runs through Core as usual so the listener sees it.
"""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import NoResultFound

_Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One statement compiled for one dialect, with what each execution needs."""

    sql: str
    #: The parameters' names in the order the driver takes them (positional paramstyles), or
    #: None for named ones (a dict is passed).
    order: tuple[str, ...] | None
    fixed: Mapping[str, Any]  # parameters whose value is part of the statement
    binds: Mapping[str, _Processor]
    keys: tuple[str, ...]  # the result's column names (empty: no rows)
    types: tuple[Any, ...]  # and their types
    dbapi_error: type[BaseException]

    def parameters(self, given: Mapping[str, Any]) -> Any:
        values = {**self.fixed, **given}
        for name, process in self.binds.items():
            values[name] = process(values[name])
        if self.order is None:
            return values
        return tuple(values[name] for name in self.order)


class Prepared:
    """A Core statement run without Core's per-call work (see the module's docstring).

    Build it once (at import, next to the statement) and call :meth:`first`, :meth:`one` or
    :meth:`execute` with the unit of work's connection (``session.connection()``). Rows are
    named tuples: columns by attribute, as a Core row.
    """

    __slots__ = ("_by_dialect", "_lock", "_results", "statement")

    def __init__(self, statement: sa.Executable) -> None:
        self.statement = statement
        self._by_dialect: dict[str, _Compiled] = {}
        #: The result's columns that need converting (with their processors) and the row class,
        #: per dialect, made at the first result (processors may depend on the driver's types).
        self._results: dict[str, tuple[Sequence[tuple[int, _Processor]], Any]] = {}
        self._lock = threading.Lock()

    def execute(self, conn: sa.Connection, params: Mapping[str, Any]) -> None:
        """Run a statement that returns no rows."""
        if watched(conn):
            conn.execute(self.statement, dict(params))
            return
        compiled = self._compiled(conn.dialect)
        cursor = self._run(conn, compiled, params)
        cursor.close()

    def first(self, conn: sa.Connection, params: Mapping[str, Any]) -> Any | None:
        """The first row, or None."""
        if watched(conn):
            return conn.execute(self.statement, dict(params)).first()
        compiled = self._compiled(conn.dialect)
        return self._first_of(conn, compiled, self._run(conn, compiled, params))

    def one(self, conn: sa.Connection, params: Mapping[str, Any]) -> Any:
        """The one row (``sqlalchemy.exc.NoResultFound`` if none)."""
        row = self.first(conn, params)
        if row is None:
            raise NoResultFound("No row was found when one was required")
        return row

    # ------------------------------------------------------------------ internals

    def _first_of(self, conn: sa.Connection, compiled: _Compiled, cursor: Any) -> Any | None:
        """The first row of an executed cursor, converted, and the cursor closed."""
        try:
            raw = cursor.fetchone()
            if raw is None:
                return None
            converted, row = self._result(conn.dialect, compiled, cursor)
        finally:
            cursor.close()
        if not converted:
            return row._make(raw)
        values = list(raw)
        for i, process in converted:
            values[i] = process(values[i])
        return row._make(values)

    def _run(self, conn: sa.Connection, compiled: _Compiled, params: Mapping[str, Any]) -> Any:
        args = compiled.parameters(params)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(compiled.sql, args)
        except compiled.dbapi_error as exc:
            # As Core does: SQLAlchemy's error, and a lost connection invalidates the pool.
            conn._handle_dbapi_exception(exc, compiled.sql, args, cursor, None)
        return cursor

    def _compiled(self, dialect: Dialect) -> _Compiled:
        found = self._by_dialect.get(dialect.name)
        if found is not None:
            return found
        with self._lock:
            found = self._by_dialect.get(dialect.name)
            if found is None:
                found = self._by_dialect[dialect.name] = _compile(self.statement, dialect)
        return found

    def _result(
        self, dialect: Dialect, compiled: _Compiled, cursor: Any
    ) -> tuple[Sequence[tuple[int, _Processor]], Any]:
        found = self._results.get(dialect.name)
        if found is None:
            # The cursor's description only here: psycopg builds it anew at every access (a
            # Column object per column, 8 % of a PostgreSQL heartbeat's CPU when read per row).
            processors = [
                type_._cached_result_processor(dialect, described[1])
                for type_, described in zip(compiled.types, cursor.description, strict=True)
            ]
            converted = tuple((i, p) for i, p in enumerate(processors) if p is not None)
            row = namedtuple("Row", compiled.keys)  # type: ignore[misc]
            found = self._results[dialect.name] = (converted, row)
        return found


def first_rows(conn: sa.Connection, *calls: tuple[Prepared, Mapping[str, Any]]) -> list[Any]:
    """The first row (or None) of each statement, run in order in the unit of work's transaction:
    on PostgreSQL in one round trip (psycopg's pipeline mode; with the transaction's ``BEGIN``
    when it is the first). The server still runs them one after the other, each starting when
    the one before it has finished — a read that follows a ``FOR UPDATE`` in the same pipeline
    takes its snapshot once the lock is held, as it would in its own round trip."""
    dbapi_conn: Any = conn.connection.dbapi_connection
    if watched(conn) or not hasattr(dbapi_conn, "pipeline"):
        return [prepared.first(conn, params) for prepared, params in calls]
    sent: list[tuple[Prepared, _Compiled, Any]] = []
    sql, args = "", None
    try:
        try:
            with dbapi_conn.pipeline():
                for prepared, params in calls:
                    compiled = prepared._compiled(conn.dialect)
                    sql, args = compiled.sql, compiled.parameters(params)
                    cursor = dbapi_conn.cursor()
                    sent.append((prepared, compiled, cursor))
                    cursor.execute(sql, args)
        except conn.dialect.loaded_dbapi.Error as exc:
            conn._handle_dbapi_exception(exc, sql, args, None, None)
        return [prepared._first_of(conn, compiled, cursor) for prepared, compiled, cursor in sent]
    finally:
        for _, _, cursor in sent:
            cursor.close()


def watched(conn: sa.Connection) -> bool:
    """Whether a listener watches statements on ``conn`` (then Core runs them, for it)."""
    if not (conn._has_events or conn.engine._has_events):  # Core's own test: no listener at all
        return False
    dispatch = conn.dispatch
    return bool(
        dispatch.before_execute
        or dispatch.after_execute
        or dispatch.before_cursor_execute
        or dispatch.after_cursor_execute
    )


def _compile(statement: sa.Executable, dialect: Dialect) -> _Compiled:
    compiled: Any = statement.compile(dialect=dialect)  # type: ignore[attr-defined]
    if compiled._render_postcompile or compiled.literal_execute_params:  # pragma: no cover
        raise ValueError("a prepared statement takes no expanding (IN) parameters")
    fixed = compiled.construct_params(_check=False)
    binds = {name: p for name, p in compiled._bind_processors.items() if p is not None}
    order = tuple(compiled.positiontup) if compiled.positional else None
    keys = tuple(column.keyname for column in compiled._result_columns)
    types = tuple(column.type for column in compiled._result_columns)
    return _Compiled(
        sql=compiled.string,
        order=order,
        fixed=fixed,
        binds=binds,
        keys=keys,
        types=types,
        dbapi_error=dialect.loaded_dbapi.Error,
    )
