"""credential_status: certificates keep their Bitstring Status List entry and training period

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:50:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.dbtypes

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('certificates') as batch:
        batch.add_column(sa.Column('study_started_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('study_ended_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('status_list', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('status_index', sa.Integer(), nullable=True))
        batch.create_unique_constraint(
            'uq_certificate_status_entry', ['institution_id', 'status_list', 'status_index']
        )


def downgrade() -> None:
    with op.batch_alter_table('certificates') as batch:
        batch.drop_constraint('uq_certificate_status_entry', type_='unique')
        batch.drop_column('status_index')
        batch.drop_column('status_list')
        batch.drop_column('study_ended_at')
        batch.drop_column('study_started_at')
