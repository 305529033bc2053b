"""regions (GB/T 2260) and jurisdictions: institutions belong to a region, regulators have one

The national root 000000 (全国) is created here; every existing regulator gets national
jurisdiction (they saw every institution before, and keep seeing them). Existing institutions
keep no region: only national regulators see them until an admin sets it. Other regions are
loaded with ``skilltrace load-regions`` (``--demo`` for 广东省).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03 09:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'regions',
        sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column(
            'level',
            sa.Enum('national', 'province', 'prefecture', 'county', name='regionlevel', native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column('parent_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True),
        sa.ForeignKeyConstraint(['parent_code'], ['regions.code']),
        sa.PrimaryKeyConstraint('code'),
    )
    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_regions_parent_code'), ['parent_code'], unique=False)

    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('region_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True))
        batch_op.create_index(batch_op.f('ix_institutions_region_code'), ['region_code'], unique=False)
        batch_op.create_foreign_key('fk_institutions_region_code', 'regions', ['region_code'], ['code'])

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('jurisdiction_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True))
        batch_op.create_foreign_key('fk_users_jurisdiction_code', 'regions', ['jurisdiction_code'], ['code'])

    op.execute("INSERT INTO regions (code, name, level, parent_code) VALUES ('000000', '全国', 'national', NULL)")
    op.execute("UPDATE users SET jurisdiction_code = '000000' WHERE role = 'regulator'")


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('fk_users_jurisdiction_code', type_='foreignkey')
        batch_op.drop_column('jurisdiction_code')

    with op.batch_alter_table('institutions', schema=None) as batch_op:
        batch_op.drop_constraint('fk_institutions_region_code', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_institutions_region_code'))
        batch_op.drop_column('region_code')

    with op.batch_alter_table('regions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_regions_parent_code'))

    op.drop_table('regions')
