"""subsidy standards owned by the regulators; certificates record the standard they used

Courses said how much they paid (``subsidy_fen``); now the regulator of a region does. Each
distinct (occupation, level) a course priced becomes a **proposed** national standard with the
highest amount the courses named, for a regulator to confirm or withdraw (the catalogue lists
proposals); nothing is paid from a proposal. ``courses.subsidy_fen`` stays as the institution's
proposed amount only. Certificates issued before keep their amount (no standard recorded).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 10:00:00.000000
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.dbtypes

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        'subsidy_standards',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('region_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column('occupation_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('occupation_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column(
            'certificate_kind',
            sa.Enum('training_certificate', 'skill_level', 'special_ability', 'special_operations', name='certificatekind', native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            'programme_kind',
            sa.Enum('employment_skills', 'upgrading', 'project_based', 'apprenticeship', name='programmekind', native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column('uplift_percent', sa.Integer(), nullable=False),
        sa.Column('amount_fen', sa.Integer(), nullable=False),
        sa.Column('effective_from', sa.Date(), nullable=False),
        sa.Column('effective_to', sa.Date(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column(
            'status',
            sa.Enum('proposed', 'in_force', 'withdrawn', name='standardstatus', native_enum=False, length=16),
            nullable=False,
        ),
        sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column('created_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.ForeignKeyConstraint(['region_code'], ['regions.code']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('region_code', 'occupation_code', 'level', 'programme_kind', 'version', name='uq_subsidy_standard_version'),
    )
    with op.batch_alter_table('subsidy_standards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_subsidy_standards_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_standards_occupation_code'), ['occupation_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_subsidy_standards_status'), ['status'], unique=False)

    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subsidy_standard_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('subsidy_standard_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('subsidy_region_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True))
        batch_op.create_foreign_key('fk_certificates_subsidy_standard_id', 'subsidy_standards', ['subsidy_standard_id'], ['id'])

    # The courses' amounts become proposals (the highest per occupation and level).
    rows = op.get_bind().execute(
        sa.text(
            "SELECT occupation_code, level, MAX(occupation_name), MAX(subsidy_fen) FROM courses "
            "WHERE subsidy_fen > 0 GROUP BY occupation_code, level"
        )
    ).fetchall()
    now = datetime.now(UTC)
    if rows:
        op.bulk_insert(
            table,
            [
                {
                    'id': uuid.uuid4(),
                    'region_code': '000000',
                    'occupation_code': code,
                    'occupation_name': name,
                    'level': level,
                    'certificate_kind': 'training_certificate',
                    'programme_kind': 'employment_skills',
                    'uplift_percent': 0,
                    'amount_fen': amount,
                    'effective_from': now.date(),
                    'effective_to': None,
                    'version': 1,
                    'status': 'proposed',
                    'note': "proposed from the courses' subsidy_fen at migration 0024",
                    'created_at': now,
                    'created_by': 'system:migration',
                }
                for code, level, name, amount in rows
            ],
        )


def downgrade() -> None:
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_constraint('fk_certificates_subsidy_standard_id', type_='foreignkey')
        batch_op.drop_column('subsidy_region_code')
        batch_op.drop_column('subsidy_standard_version')
        batch_op.drop_column('subsidy_standard_id')
    with op.batch_alter_table('subsidy_standards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_subsidy_standards_status'))
        batch_op.drop_index(batch_op.f('ix_subsidy_standards_occupation_code'))
        batch_op.drop_index(batch_op.f('ix_subsidy_standards_region_code'))
    op.drop_table('subsidy_standards')
