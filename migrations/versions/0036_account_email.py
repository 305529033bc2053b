"""an optional verified e-mail address on accounts

``users.email`` (unique; stored normalised, so unique case-insensitively) and
``users.email_verified_at``; ``password_reset_codes.address``: where a code confirming a new
address went. Nobody has an address yet: password resets go by SMS as before until people add
one.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-03 16:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.dbtypes

revision: str = '0036'
down_revision: str | None = '0035'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True)
        )
        batch_op.add_column(
            sa.Column('email_verified_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(batch_op.f('ix_users_email'), ['email'], unique=True)
    with op.batch_alter_table('password_reset_codes', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('password_reset_codes', schema=None) as batch_op:
        batch_op.drop_column('address')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_email'))
        batch_op.drop_column('email_verified_at')
        batch_op.drop_column('email')
