"""the institution's seal on its certificates

A table of seal images (normalised PNG, addressed by sha256, never deleted), the seal in force
in each institution's certificate settings, and the seal each certificate was issued with.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.dbtypes

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'seal_images',
        sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('institution_id', sa.Uuid(), nullable=False),
        sa.Column('png', sa.LargeBinary(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('created_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.ForeignKeyConstraint(['institution_id'], ['institutions.id']),
        sa.PrimaryKeyConstraint('sha256'),
    )
    with op.batch_alter_table('seal_images', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_seal_images_institution_id'), ['institution_id'], unique=False
        )
    with op.batch_alter_table('certificate_settings', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('seal_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.create_foreign_key(
            'fk_certificate_settings_seal', 'seal_images', ['seal_sha256'], ['sha256']
        )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('seal_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.create_foreign_key(
            'fk_certificates_seal', 'seal_images', ['seal_sha256'], ['sha256']
        )


def downgrade() -> None:
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_constraint('fk_certificates_seal', type_='foreignkey')
        batch_op.drop_column('seal_sha256')
    with op.batch_alter_table('certificate_settings', schema=None) as batch_op:
        batch_op.drop_constraint('fk_certificate_settings_seal', type_='foreignkey')
        batch_op.drop_column('seal_sha256')
    with op.batch_alter_table('seal_images', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_seal_images_institution_id'))
    op.drop_table('seal_images')
