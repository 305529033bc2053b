"""eligibility from facts: learners' groups with evidence, residence, external certificates;
the programme's rules on each subsidy standard

A learner's single self-declared ``users.group`` becomes a ``declared`` row of
``learner_group_facts`` (evidence ``self_declared``): it is kept, shown to staff to confirm
from evidence, and counts for nothing until they do. ``users.group`` stays as what the learner
declared at registration (the statistics by group still read it). Existing standards get no
target groups, no age or residence rule and the 3-a-year limit: they decide as before.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 12:33:11.047356
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.dbtypes

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('external_certificates',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('training_certificate', 'skill_level', 'special_ability', 'special_operations', name='certificatekind', native_enum=False, length=32), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('issuer', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('occupation_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('occupation_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('scan_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('scan_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('scan_media_type', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('scan_bytes', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('recorded', 'confirmed', 'rejected', name='externalstatus', native_enum=False, length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('recorded_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('decided_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'number', name='uq_external_certificate_number')
    )
    with op.batch_alter_table('external_certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_certificates_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_external_certificates_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_external_certificates_user_id'), ['user_id'], unique=False)

    op.create_table('learner_group_facts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('group', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('evidence_kind', sa.Enum('unemployment_registration', 'veteran_card', 'disability_certificate', 'employment_difficulty_certificate', 'graduation_certificate', 'poverty_registration', 'labour_contract', 'social_insurance', 'household_register', 'other_document', 'self_declared', name='evidencekind', native_enum=False, length=40), nullable=False),
    sa.Column('evidence_number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('status', sa.Enum('declared', 'confirmed', 'verified', 'rejected', name='factstatus', native_enum=False, length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('decided_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'group', name='uq_learner_group_fact')
    )
    with op.batch_alter_table('learner_group_facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_learner_group_facts_user_id'), ['user_id'], unique=False)

    op.create_table('residence_facts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('household', 'resident', 'employed', name='residencekind', native_enum=False, length=16), nullable=False),
    sa.Column('region_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('evidence_kind', sa.Enum('unemployment_registration', 'veteran_card', 'disability_certificate', 'employment_difficulty_certificate', 'graduation_certificate', 'poverty_registration', 'labour_contract', 'social_insurance', 'household_register', 'other_document', 'self_declared', name='evidencekind', native_enum=False, length=40), nullable=False),
    sa.Column('evidence_number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('status', sa.Enum('declared', 'confirmed', 'verified', 'rejected', name='factstatus', native_enum=False, length=16), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('decided_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.ForeignKeyConstraint(['region_code'], ['regions.code'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'kind', name='uq_residence_fact')
    )
    with op.batch_alter_table('residence_facts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_residence_facts_user_id'), ['user_id'], unique=False)

    with op.batch_alter_table('subsidy_standards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('target_groups', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('min_age', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('max_age', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('retirement_rule', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True))
        batch_op.add_column(sa.Column('residence_kinds', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('max_per_year', sa.Integer(), nullable=False, server_default='3'))
    with op.batch_alter_table('subsidy_standards', schema=None) as batch_op:
        for name in ('target_groups', 'residence_kinds', 'max_per_year'):
            batch_op.alter_column(name, server_default=None)

    # The single declared group of each learner becomes a declared fact.
    bind = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Uuid()), sa.column('group', sa.String()))
    facts = sa.table(
        'learner_group_facts',
        sa.column('id', sa.Uuid()),
        sa.column('user_id', sa.Uuid()),
        sa.column('group', sa.String()),
        sa.column('evidence_kind', sa.String()),
        sa.column('status', sa.String()),
        sa.column('created_at', app.dbtypes.UTCDateTime(timezone=True)),
        sa.column('created_by', sa.String()),
    )
    now = datetime.now(UTC)
    rows = [
        {
            'id': uuid.uuid4(),
            'user_id': user_id,
            'group': group,
            'evidence_kind': 'self_declared',
            'status': 'declared',
            'created_at': now,
            'created_by': 'system:migration-0026',
        }
        for user_id, group in bind.execute(
            sa.select(users.c.id, users.c.group).where(users.c.group.is_not(None))
        )
    ]
    for i in range(0, len(rows), 1000):
        op.bulk_insert(facts, rows[i : i + 1000])


def downgrade() -> None:
    with op.batch_alter_table('subsidy_standards', schema=None) as batch_op:
        batch_op.drop_column('max_per_year')
        batch_op.drop_column('residence_kinds')
        batch_op.drop_column('retirement_rule')
        batch_op.drop_column('max_age')
        batch_op.drop_column('min_age')
        batch_op.drop_column('target_groups')

    with op.batch_alter_table('residence_facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_residence_facts_user_id'))

    op.drop_table('residence_facts')
    with op.batch_alter_table('learner_group_facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_learner_group_facts_user_id'))

    op.drop_table('learner_group_facts')
    with op.batch_alter_table('external_certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_certificates_user_id'))
        batch_op.drop_index(batch_op.f('ix_external_certificates_status'))
        batch_op.drop_index(batch_op.f('ix_external_certificates_institution_id'))

    op.drop_table('external_certificates')
