"""exchange: the outbox of records for the regional real-name training system, with their receipts

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 10:01:43.041880
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.dbtypes

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('exchange_records',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('type', sqlmodel.sql.sqltypes.AutoString(length=48), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('created_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('pending', 'delivered', 'failed', name='sendstatus', native_enum=False, length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('delivered_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('receipt_status', sa.Enum('accepted', 'rejected', name='receiptstatus', native_enum=False, length=16), nullable=True),
    sa.Column('receipt_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('regional_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('receipt_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('exchange_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exchange_records_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_exchange_records_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_records_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_records_receipt_status'), ['receipt_status'], unique=False)
        batch_op.create_index(batch_op.f('ix_exchange_records_subject'), ['subject'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('exchange_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_exchange_records_subject'))
        batch_op.drop_index(batch_op.f('ix_exchange_records_receipt_status'))
        batch_op.drop_index(batch_op.f('ix_exchange_records_institution_id'))
        batch_op.drop_index('ix_exchange_records_due')
        batch_op.drop_index(batch_op.f('ix_exchange_records_created_at'))

    op.drop_table('exchange_records')
