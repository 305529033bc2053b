"""employment_outcomes: the employment outcome of a completed training (实现就业), recorded by staff

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 10:27:44.651569
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.dbtypes

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('employment_outcomes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('enrollment_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('employed', 'self_employed', 'continuing', 'unknown', name='outcomestatus', native_enum=False, length=16), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('employer', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('si_reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('recorded_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], ),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('enrollment_id')
    )
    with op.batch_alter_table('employment_outcomes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_employment_outcomes_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_employment_outcomes_user_id'), ['user_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('employment_outcomes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_employment_outcomes_user_id'))
        batch_op.drop_index(batch_op.f('ix_employment_outcomes_institution_id'))

    op.drop_table('employment_outcomes')
