"""lesson playback: hosted videos, playback positions, per-lesson progress, learner daily cap

Lessons may hold a video the platform hosts (its media-store key, checked type, size, length,
content hash and poster frame). Heartbeats keep the playback position they reported and the
furthest point they reached. lesson_progress holds
what each enrolment watched of each lesson; learner_daily_credits the confirmed credit per learner
and day across enrolments (the learner's daily cap), filled from daily_credits. Courses may
require every lesson finished.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03 09:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('require_each_lesson', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.alter_column('require_each_lesson', server_default=None)
    with op.batch_alter_table('lessons', schema=None) as batch_op:
        batch_op.add_column(sa.Column('video_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
        batch_op.add_column(sa.Column('video_type', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('video_bytes', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('duration_ms', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('video_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('poster_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    with op.batch_alter_table('heartbeats', schema=None) as batch_op:
        batch_op.add_column(sa.Column('position_ms', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('reach_ms', sa.BigInteger(), nullable=True))
    op.create_table(
        'learner_daily_credits',
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('ms', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('user_id', 'day'),
    )
    op.create_table(
        'lesson_progress',
        sa.Column('enrollment_id', sa.Uuid(), nullable=False),
        sa.Column('lesson_id', sa.Uuid(), nullable=False),
        sa.Column('watched_ms', sa.BigInteger(), nullable=False),
        sa.Column('reach_ms', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id']),
        sa.ForeignKeyConstraint(['lesson_id'], ['lessons.id']),
        sa.PrimaryKeyConstraint('enrollment_id', 'lesson_id'),
    )
    op.execute(
        sa.text(
            'INSERT INTO learner_daily_credits (user_id, day, ms) '
            'SELECT e.user_id, d.day, SUM(d.ms) FROM daily_credits d '
            'JOIN enrollments e ON e.id = d.enrollment_id GROUP BY e.user_id, d.day'
        )
    )


def downgrade() -> None:
    op.drop_table('lesson_progress')
    op.drop_table('learner_daily_credits')
    with op.batch_alter_table('heartbeats', schema=None) as batch_op:
        batch_op.drop_column('reach_ms')
        batch_op.drop_column('position_ms')
    with op.batch_alter_table('lessons', schema=None) as batch_op:
        for name in ('poster_key', 'video_sha256', 'duration_ms', 'video_bytes', 'video_type',
                     'video_key'):
            batch_op.drop_column(name)
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_column('require_each_lesson')
