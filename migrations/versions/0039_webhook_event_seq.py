"""webhook events keep the order they were written in

``webhook_events.seq``: the partner webhooks' outbox order, as 0038 gave the regional outbox.
Two events written in the same instant (a certificate issued and revoked in one transaction, or
any two under a coarse clock) had only ``created_at`` and a random id between them, so their
deliveries were claimed, sent and listed in no particular order. Existing events are numbered by
``created_at`` (then id); PostgreSQL numbers new ones from a sequence, SQLite (one writer at a
time) with one more than the largest.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-04 03:10:00.000000
"""

from collections.abc import Sequence

from app.migrate import add_write_order, drop_write_order

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ORDER = {"sequence": "webhook_events_seq", "index": "ix_webhook_events_seq"}


def upgrade() -> None:
    add_write_order("webhook_events", **ORDER)


def downgrade() -> None:
    drop_write_order("webhook_events", **ORDER)
