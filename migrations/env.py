"""Alembic environment: online migrations against the configured URL."""

from __future__ import annotations

from alembic import context

from app.db import make_engine
from app.models import metadata

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url") or ""
    connectable = config.attributes.get("connection")
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(url, pooled=False)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode rebuilds a table (copy, drop, rename): with foreign keys enforced, the
            # drop of a table other rows refer to (courses, enrollments) fails. Alembic's advice:
            # switch enforcement off for the migration (outside any transaction, where the
            # pragma takes effect) and check the whole database afterwards.
            raw = connection.connection.dbapi_connection
            assert raw is not None  # noqa: S101 - a fresh connection has its DBAPI connection
            raw.execute("PRAGMA foreign_keys=OFF")  # autocommit: not inside SQLAlchemy's BEGIN
        context.configure(connection=connection, target_metadata=metadata, render_as_batch=sqlite)
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            broken = raw.execute("PRAGMA foreign_key_check").fetchall()
            raw.execute("PRAGMA foreign_keys=ON")
            if broken:
                raise RuntimeError(f"foreign keys broken by the migration: {broken[:5]}")


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
