"""password resets: temporary passwords that must be changed, self-service reset codes

``users.must_change_password``: set when the institution's staff gave a learner a temporary
password; the account signs in only to change it. ``password_reset_codes``: one-time codes sent
to a user's phone to set a new password themself (keyed hash only, short-lived, limited tries).

Learners who belong to no institution are not moved by this revision: joining an institution
changes who supervises them and is audited on its chain, which a schema migration cannot write.
``skilltrace assign-institutions`` (run after ``migrate``) moves every learner whose courses are
all one institution's, audited; the others choose at their next sign-in (``/institution``), and
reviews waiting in no queue move along in both cases (app/accounts/registration.py).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.dbtypes import UTCDateTime

revision: str = '0027'
down_revision: str | None = '0026'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('must_change_password', sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('must_change_password', server_default=None)
    op.create_table(
        'password_reset_codes',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('channel', sa.String(length=8), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('password_reset_codes', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_password_reset_codes_user_id'), ['user_id'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_password_reset_codes_created_at'), ['created_at'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('password_reset_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_password_reset_codes_created_at'))
        batch_op.drop_index(batch_op.f('ix_password_reset_codes_user_id'))
    op.drop_table('password_reset_codes')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
