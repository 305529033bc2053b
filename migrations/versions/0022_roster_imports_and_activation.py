"""roster imports and activation codes: institutions and employers enrol learners into a class

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 10:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.dbtypes

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('activation_codes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('expires_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash')
    )
    with op.batch_alter_table('activation_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activation_codes_user_id'), ['user_id'], unique=False)

    op.create_table('roster_imports',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('class_id', sa.Uuid(), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('filename', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('valid_rows', sa.Integer(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('rows_enc', sa.Text(), nullable=False),
    sa.Column('committed_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('committed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('enrolled', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['class_id'], ['course_classes.id'], ),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_imports_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_roster_imports_institution_id'), ['institution_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('roster_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_imports_institution_id'))
        batch_op.drop_index(batch_op.f('ix_roster_imports_class_id'))
    op.drop_table('roster_imports')
    with op.batch_alter_table('activation_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activation_codes_user_id'))
    op.drop_table('activation_codes')
