"""face hand-off: continue a pending face check on a phone

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


import app.dbtypes

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('face_handoffs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('code_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('purpose', sa.Enum('enrol', 'checkin', 'rollcall', 'quiz', name='handoffpurpose', native_enum=False, length=16), nullable=False),
    sa.Column('enrollment_id', sa.Uuid(), nullable=True),
    sa.Column('rollcall_id', sa.Uuid(), nullable=True),
    sa.Column('state', sa.Enum('waiting', 'opened', 'passed', 'failed', 'expired', name='handoffstate', native_enum=False, length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('challenge_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opened_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], ),
    sa.ForeignKeyConstraint(['rollcall_id'], ['rollcalls.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('face_handoffs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_face_handoffs_code_sha256'), ['code_sha256'], unique=True)
        batch_op.create_index(batch_op.f('ix_face_handoffs_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('face_handoffs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_face_handoffs_user_id'))
        batch_op.drop_index(batch_op.f('ix_face_handoffs_code_sha256'))

    op.drop_table('face_handoffs')
