"""exchange records keep the order they were written in

``exchange_records.seq``: the outbox's order. Records written in the same instant (a filing and
its approval in one transaction, or any two under a coarse clock) had only ``created_at`` and a
random id between them, so they were sent and listed in no particular order. Existing records are
numbered by ``created_at`` (then id); PostgreSQL numbers new ones from a sequence, SQLite (one
writer at a time) with one more than the largest.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-04 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("exchange_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
    bind = op.get_bind()
    records = sa.table(
        "exchange_records",
        sa.column("id", sa.Uuid()),
        sa.column("created_at", sa.DateTime()),
        sa.column("seq", sa.BigInteger()),
    )
    ids = (
        bind.execute(sa.select(records.c.id).order_by(records.c.created_at, records.c.id))
        .scalars()
        .all()
    )
    last = 0
    for last, record_id in enumerate(ids, start=1):
        bind.execute(records.update().where(records.c.id == record_id).values(seq=last))
    with op.batch_alter_table("exchange_records", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_index("ix_exchange_records_seq", ["seq"], unique=True)
    if bind.dialect.name == "postgresql":
        op.execute(sa.schema.CreateSequence(sa.Sequence("exchange_records_seq", start=last + 1)))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.schema.DropSequence(sa.Sequence("exchange_records_seq")))
    with op.batch_alter_table("exchange_records", schema=None) as batch_op:
        batch_op.drop_index("ix_exchange_records_seq")
        batch_op.drop_column("seq")
