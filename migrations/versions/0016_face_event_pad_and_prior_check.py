"""face events: presentation-attack score and model; the re-enrolment check against the
learner's previous template (template, score in its model, threshold)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('attendance_events') as batch:
        batch.add_column(sa.Column('pad_score', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch.add_column(sa.Column('pad_model', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column('prior_template_id', sa.Uuid(), nullable=True))
        batch.add_column(sa.Column('prior_score', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch.add_column(sa.Column('prior_threshold', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('attendance_events') as batch:
        batch.drop_column('prior_threshold')
        batch.drop_column('prior_score')
        batch.drop_column('prior_template_id')
        batch.drop_column('pad_model')
        batch.drop_column('pad_score')
