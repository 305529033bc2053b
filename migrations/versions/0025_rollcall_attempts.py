"""roll-call attempts and staff exceptions

A roll-call may be answered several times within its response window (each a fresh face
check): every attempt is a row of ``rollcall_attempts``. A failed or missed roll-call staff
excused keeps who, when and why on the roll-call itself.

Existing answered roll-calls get their one attempt (the face check that decided them), so every
decided roll-call lists its attempts the same way.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 09:20:00.000000
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.dbtypes import UTCDateTime

revision: str = '0025'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'rollcall_attempts',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('rollcall_id', sa.Uuid(), nullable=False),
        sa.Column('attempt', sa.Integer(), nullable=False),
        sa.Column('attendance_event_id', sa.Uuid(), nullable=False),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('reason_code', sa.String(length=64), nullable=True),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['rollcall_id'], ['rollcalls.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('rollcall_id', 'attempt', name='uq_rollcall_attempt'),
    )
    with op.batch_alter_table('rollcall_attempts', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_rollcall_attempts_rollcall_id'), ['rollcall_id'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_rollcall_attempts_attendance_event_id'),
            ['attendance_event_id'],
            unique=False,
        )
    with op.batch_alter_table('rollcalls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('excused_at', UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('excused_by', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('excuse_reason', sa.String(length=500), nullable=True))
        batch_op.create_foreign_key('fk_rollcalls_excused_by_users', 'users', ['excused_by'], ['id'])
    # Every roll-call answered before this revision had exactly one attempt: its face check.
    rollcalls = sa.table(
        'rollcalls', sa.column('id', sa.Uuid()), sa.column('attendance_event_id', sa.Uuid())
    )
    events = sa.table(
        'attendance_events',
        sa.column('id', sa.Uuid()),
        sa.column('outcome', sa.String()),
        sa.column('reason_code', sa.String()),
        sa.column('created_at', UTCDateTime(timezone=True)),
    )
    rows = op.get_bind().execute(
        sa.select(
            rollcalls.c.id, events.c.id, events.c.outcome, events.c.reason_code,
            events.c.created_at,
        ).join(events, events.c.id == rollcalls.c.attendance_event_id)
    ).fetchall()
    attempts = sa.table(
        'rollcall_attempts',
        sa.column('id', sa.Uuid()),
        sa.column('rollcall_id', sa.Uuid()),
        sa.column('attempt', sa.Integer()),
        sa.column('attendance_event_id', sa.Uuid()),
        sa.column('outcome', sa.String()),
        sa.column('reason_code', sa.String()),
        sa.column('created_at', UTCDateTime(timezone=True)),
    )
    if rows:
        op.bulk_insert(
            attempts,
            [
                {
                    'id': uuid.uuid4(),
                    'rollcall_id': rc,
                    'attempt': 1,
                    'attendance_event_id': ev,
                    'outcome': outcome,
                    'reason_code': reason,
                    'created_at': created,
                }
                for rc, ev, outcome, reason, created in rows
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table('rollcalls', schema=None) as batch_op:
        batch_op.drop_constraint('fk_rollcalls_excused_by_users', type_='foreignkey')
        batch_op.drop_column('excuse_reason')
        batch_op.drop_column('excused_by')
        batch_op.drop_column('excused_at')
    with op.batch_alter_table('rollcall_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rollcall_attempts_attendance_event_id'))
        batch_op.drop_index(batch_op.f('ix_rollcall_attempts_rollcall_id'))
    op.drop_table('rollcall_attempts')
