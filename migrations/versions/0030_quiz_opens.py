"""quiz opening rule: a course says when its quiz opens

``courses.quiz_opens``: ``after_hours`` (once the verified minutes reach the course's required
minutes) or ``any_time`` (from enrolment on). New courses default to ``after_hours`` in the
application; every course that exists before this revision gets ``any_time``, the rule its
learners enrolled under (until now the quiz opened at any time), so nobody part-way through a
published course finds the quiz closed.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03 12:45:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0030'
down_revision: str | None = '0029'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'quiz_opens',
                sa.Enum('after_hours', 'any_time', name='quizopens', native_enum=False, length=16),
                nullable=False,
                server_default='any_time',
            )
        )
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.alter_column('quiz_opens', server_default=None)


def downgrade() -> None:
    with op.batch_alter_table('courses', schema=None) as batch_op:
        batch_op.drop_column('quiz_opens')
