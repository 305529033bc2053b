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

from app.migrate import add_write_order, drop_write_order

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDER = {"sequence": "exchange_records_seq", "index": "ix_exchange_records_seq"}


def upgrade() -> None:
    add_write_order("exchange_records", **ORDER)


def downgrade() -> None:
    drop_write_order("exchange_records", **ORDER)
