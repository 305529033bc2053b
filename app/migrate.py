"""Run Alembic migrations programmatically (the schema is created only by migrations)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command, op
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


# ---------------------------------------------------------------- steps migrations share


def add_write_order(table: str, *, sequence: str, index: str) -> None:
    """A migration's step giving an outbox ``table`` its write order, a unique ``seq`` (see
    :func:`app.db.next_in_order`): the rows it holds are numbered by ``created_at``, then id,
    and on PostgreSQL ``sequence`` starts after them."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
    bind = op.get_bind()
    rows = sa.table(
        table,
        sa.column("id", sa.Uuid()),
        sa.column("created_at", sa.DateTime()),
        sa.column("seq", sa.BigInteger()),
    )
    # One statement whatever the table holds (an outbox kept for years: a row-by-row update would
    # be a round trip per row): UPDATE … FROM a numbering by row_number() (PostgreSQL; SQLite
    # 3.33+).
    numbered = sa.select(
        rows.c.id, sa.func.row_number().over(order_by=(rows.c.created_at, rows.c.id)).label("n")
    ).subquery("numbered")
    bind.execute(rows.update().where(rows.c.id == numbered.c.id).values(seq=numbered.c.n))
    last = bind.execute(sa.select(sa.func.coalesce(sa.func.max(rows.c.seq), 0))).scalar_one()
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_index(index, ["seq"], unique=True)
    if bind.dialect.name == "postgresql":
        op.execute(sa.schema.CreateSequence(sa.Sequence(sequence, start=last + 1)))


def drop_write_order(table: str, *, sequence: str, index: str) -> None:
    """Undo :func:`add_write_order`."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.DropSequence(sa.Sequence(sequence)))
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.drop_index(index)
        batch_op.drop_column("seq")
