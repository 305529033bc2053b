"""one active study session per learner: a partial unique index

Two concurrent check-ins could each open a session for the same learner. The index makes the
database refuse the second; app/courses/sessions.py then ends the first and retries (take-over).

A database that already holds two active sessions for one learner cannot take the index: the
upgrade stops and names them (end them in the app: a check-in elsewhere ends the older one).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 07:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WHERE = "state != 'ended'"


def upgrade() -> None:
    twice = op.get_bind().execute(
        sa.text(
            f"SELECT user_id FROM study_sessions WHERE {WHERE} GROUP BY user_id HAVING COUNT(*) > 1"
        )
    ).fetchall()
    if twice:
        users = ", ".join(str(row[0]) for row in twice)
        raise RuntimeError(
            f"learners with more than one active study session: {users}; end the extra sessions "
            "first (a check-in elsewhere ends the older one), then upgrade again"
        )
    with op.batch_alter_table('study_sessions', schema=None) as batch_op:
        batch_op.create_index(
            'uq_study_sessions_one_active',
            ['user_id'],
            unique=True,
            sqlite_where=sa.text(WHERE),
            postgresql_where=sa.text(WHERE),
        )


def downgrade() -> None:
    with op.batch_alter_table('study_sessions', schema=None) as batch_op:
        batch_op.drop_index('uq_study_sessions_one_active')
