"""credit in milliseconds: heartbeats, open segments, segments, daily and enrolment totals

Each heartbeat's gap was truncated to whole seconds, so sub-second gaps earned nothing and the
rounding accumulated. The ledger now keeps whole milliseconds; the seconds the API reports are
derived (rounded down). Existing values are converted exactly (seconds x 1000).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, old column in seconds, new column in milliseconds, new type)
COLUMNS = [
    ('enrollments', 'credited_seconds', 'credited_ms', sa.BigInteger()),
    ('study_sessions', 'open_seconds', 'open_ms', sa.BigInteger()),
    ('heartbeats', 'credited_seconds', 'credited_ms', sa.Integer()),
    ('credit_segments', 'seconds', 'ms', sa.BigInteger()),
    ('daily_credits', 'seconds', 'ms', sa.Integer()),
]


def upgrade() -> None:
    for table, old, new, type_ in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(new, type_, nullable=False, server_default='0'))
        op.execute(sa.text(f'UPDATE {table} SET {new} = {old} * 1000'))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(new, server_default=None)
            batch_op.drop_column(old)


def downgrade() -> None:
    for table, old, new, _ in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(old, sa.Integer(), nullable=False, server_default='0'))
        op.execute(sa.text(f'UPDATE {table} SET {old} = {new} / 1000'))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(old, server_default=None)
            batch_op.drop_column(new)
