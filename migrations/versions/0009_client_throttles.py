"""client_throttles: per-client-address limits on failed logins, registrations, hand-off codes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


import app.dbtypes

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('client_throttles',
    sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('client', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('window_ends_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('scope', 'client')
    )
    with op.batch_alter_table('client_throttles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_throttles_window_ends_at'), ['window_ends_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('client_throttles', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_throttles_window_ends_at'))

    op.drop_table('client_throttles')
