"""face templates' change clock: every node's 1:N index loads only the templates changed since
the clock value it has seen

``face_templates.change_seq`` (indexed) holds the value of ``face_index_clock.seq`` drawn by the
transaction that last wrote the row, just before it committed (app/attendance/templateclock.py).
Existing rows are stamped 1 and the clock starts at 1 with a fresh epoch, so an index that starts
from nothing loads every one of them.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-03 16:00:00.000000
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0035'
down_revision: str | None = '0034'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    clock = op.create_table('face_index_clock',
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('epoch', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('face_templates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_seq', sa.BigInteger(), nullable=False, server_default='1'))
    with op.batch_alter_table('face_templates', schema=None) as batch_op:
        batch_op.alter_column('change_seq', existing_type=sa.BigInteger(), server_default=None)
        batch_op.create_index(batch_op.f('ix_face_templates_change_seq'), ['change_seq'], unique=False)
    op.bulk_insert(clock, [{'id': 1, 'epoch': uuid.uuid4().hex, 'seq': 1}])


def downgrade() -> None:
    with op.batch_alter_table('face_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_face_templates_change_seq'))
        batch_op.drop_column('change_seq')
    op.drop_table('face_index_clock')
