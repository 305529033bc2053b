"""class invite codes (班级邀请码)

``course_classes.invite_code``: eight unambiguous letters and digits, unique; registering or
enrolling with it places the learner in the class. Every scheduled (non-default) class gets one
now; default classes have none.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-03 17:00:00.000000
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0037'
down_revision: str | None = '0036'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The same alphabet as app/courses/invites.py (no 0/O, 1/I/L).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def upgrade() -> None:
    with op.batch_alter_table('course_classes', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('invite_code', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True)
        )
        batch_op.create_index(
            batch_op.f('ix_course_classes_invite_code'), ['invite_code'], unique=True
        )
    bind = op.get_bind()
    classes = sa.table(
        'course_classes',
        sa.column('id', sa.Uuid()),
        sa.column('is_default', sa.Boolean()),
        sa.column('invite_code', sa.String()),
    )
    used: set[str] = set()
    for (class_id,) in bind.execute(
        sa.select(classes.c.id).where(classes.c.is_default.is_(False))
    ).all():
        code = ""
        while not code or code in used:
            code = "".join(secrets.choice(ALPHABET) for _ in range(8))
        used.add(code)
        bind.execute(
            classes.update().where(classes.c.id == class_id).values(invite_code=code)
        )


def downgrade() -> None:
    with op.batch_alter_table('course_classes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_course_classes_invite_code'))
        batch_op.drop_column('invite_code')
