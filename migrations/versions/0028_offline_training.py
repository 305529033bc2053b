"""blended training: offline sessions, station check-in/out, practical assessments

A course may require offline practical minutes (``courses.offline_required_minutes``, 0 for an
online-only course); an enrolment keeps the offline minutes it earned (``enrollments.offline_ms``,
derivable again from ``offline_attendances`` and their face events). Offline sessions belong to
a class; each learner's verified check-in and check-out at the site's station is a row of
``offline_attendances``; scanned station QR tokens are kept so none is accepted twice; the
instructor's pass/fail is a row of ``practical_assessments``. A certificate keeps the offline
minutes it was issued on (``certificates.offline_minutes``, NULL for online-only courses).

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 12:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from app.dbtypes import UTCDateTime

revision: str = '0028'
down_revision: str | None = '0027'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('offline_required_minutes', sa.Integer(), nullable=False, server_default='0')
        )
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.alter_column('offline_required_minutes', server_default=None)
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('offline_ms', sa.BigInteger(), nullable=False, server_default='0')
        )
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.alter_column('offline_ms', server_default=None)
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('offline_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('offline_required_minutes', sa.Integer(), nullable=True))
    op.create_table(
        'offline_sessions',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('course_id', sa.Uuid(), nullable=False),
        sa.Column('class_id', sa.Uuid(), nullable=False),
        sa.Column('institution_id', sa.Uuid(), nullable=False),
        sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('site_address', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('starts_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('ends_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('capacity', sa.Integer(), nullable=False),
        sa.Column('instructor_id', sa.Uuid(), nullable=False),
        sa.Column('created_by', sa.Uuid(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('cancelled_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('cancel_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.ForeignKeyConstraint(['class_id'], ['course_classes.id']),
        sa.ForeignKeyConstraint(['course_id'], ['courses.id']),
        sa.ForeignKeyConstraint(['created_by'], ['users.id']),
        sa.ForeignKeyConstraint(['institution_id'], ['institutions.id']),
        sa.ForeignKeyConstraint(['instructor_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('offline_sessions', schema=None) as batch_op:
        for column in ('course_id', 'class_id', 'institution_id', 'starts_at'):
            batch_op.create_index(batch_op.f(f'ix_offline_sessions_{column}'), [column])
    op.create_table(
        'offline_attendances',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('session_id', sa.Uuid(), nullable=False),
        sa.Column('enrollment_id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('checkin_event_id', sa.Uuid(), nullable=False),
        sa.Column('checkin_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('checkin_by', sa.Uuid(), nullable=False),
        sa.Column('checkout_event_id', sa.Uuid(), nullable=True),
        sa.Column('checkout_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('checkout_by', sa.Uuid(), nullable=True),
        sa.Column('credited_ms', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['checkin_by'], ['users.id']),
        sa.ForeignKeyConstraint(['checkout_by'], ['users.id']),
        sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id']),
        sa.ForeignKeyConstraint(['session_id'], ['offline_sessions.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('session_id', 'enrollment_id', name='uq_offline_attendance'),
    )
    with op.batch_alter_table('offline_attendances', schema=None) as batch_op:
        for column in ('session_id', 'enrollment_id', 'user_id'):
            batch_op.create_index(batch_op.f(f'ix_offline_attendances_{column}'), [column])
    op.create_table(
        'offline_token_uses',
        sa.Column('jti', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('session_id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('used_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['session_id'], ['offline_sessions.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('jti'),
    )
    with op.batch_alter_table('offline_token_uses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offline_token_uses_session_id'), ['session_id'])
    op.create_table(
        'practical_assessments',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('session_id', sa.Uuid(), nullable=False),
        sa.Column('enrollment_id', sa.Uuid(), nullable=False),
        sa.Column('passed', sa.Boolean(), nullable=False),
        sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column('assessed_by', sa.Uuid(), nullable=False),
        sa.Column('assessed_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['assessed_by'], ['users.id']),
        sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id']),
        sa.ForeignKeyConstraint(['session_id'], ['offline_sessions.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('session_id', 'enrollment_id', name='uq_practical_assessment'),
    )
    with op.batch_alter_table('practical_assessments', schema=None) as batch_op:
        for column in ('session_id', 'enrollment_id'):
            batch_op.create_index(batch_op.f(f'ix_practical_assessments_{column}'), [column])


def downgrade() -> None:
    with op.batch_alter_table('practical_assessments', schema=None) as batch_op:
        for column in ('session_id', 'enrollment_id'):
            batch_op.drop_index(batch_op.f(f'ix_practical_assessments_{column}'))
    op.drop_table('practical_assessments')
    with op.batch_alter_table('offline_token_uses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offline_token_uses_session_id'))
    op.drop_table('offline_token_uses')
    with op.batch_alter_table('offline_attendances', schema=None) as batch_op:
        for column in ('session_id', 'enrollment_id', 'user_id'):
            batch_op.drop_index(batch_op.f(f'ix_offline_attendances_{column}'))
    op.drop_table('offline_attendances')
    with op.batch_alter_table('offline_sessions', schema=None) as batch_op:
        for column in ('course_id', 'class_id', 'institution_id', 'starts_at'):
            batch_op.drop_index(batch_op.f(f'ix_offline_sessions_{column}'))
    op.drop_table('offline_sessions')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_column('offline_required_minutes')
        batch_op.drop_column('offline_minutes')
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_column('offline_ms')
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_column('offline_required_minutes')
