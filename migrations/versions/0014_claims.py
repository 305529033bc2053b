"""claims: filed claim batches with frozen lines, line reviews, payments, recoveries, objections

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03 09:07:03.662685
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.dbtypes

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('claim_batches',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('period_kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=True),
    sa.Column('quarter', sa.Integer(), nullable=True),
    sa.Column('class_id', sa.Uuid(), nullable=True),
    sa.Column('region_code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
    sa.Column('payee', sa.Enum('institution', 'learner', name='payee', native_enum=False, length=24), nullable=False),
    sa.Column('status', sa.Enum('filed', 'approved', 'paid', 'closed', name='batchstatus', native_enum=False, length=24), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('total_fen', sa.Integer(), nullable=False),
    sa.Column('lines_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('filed_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('filed_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('approved_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('approved_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('notice_starts_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('notice_ends_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('paid_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('institution_id', 'seq', name='uq_claim_batch_seq'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('claim_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_batches_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_batches_filed_at'), ['filed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_batches_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_batches_notice_ends_at'), ['notice_ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_batches_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_batches_status'), ['status'], unique=False)

    op.create_table('claim_lines',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('no', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Uuid(), nullable=False),
    sa.Column('serial', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('corrects_line_id', sa.Uuid(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('learner_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('id_number_masked', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=False),
    sa.Column('id_number_enc', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
    sa.Column('learner_group', sa.Enum('enterprise_employee', 'migrant_worker', 'school_leaver', 'unemployed', 'ex_serviceman', 'employment_difficulty', 'college_graduate', 'poverty_labourer', 'other', name='learnergroup', native_enum=False, length=32), nullable=True),
    sa.Column('course_id', sa.Uuid(), nullable=False),
    sa.Column('course_title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('occupation_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('occupation_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('level', sa.Enum('level5', 'level4', 'level3', 'level2', 'level1', 'special', name='level', native_enum=False, length=16), nullable=False),
    sa.Column('credited_minutes', sa.Integer(), nullable=False),
    sa.Column('issued_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('programme_id', sa.Uuid(), nullable=True),
    sa.Column('standard_version_id', sa.Uuid(), nullable=True),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['claim_batches.id'], ),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], ),
    sa.ForeignKeyConstraint(['corrects_line_id'], ['claim_lines.id'], ),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], ),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('batch_id', 'no', name='uq_claim_line_no'),
    sa.UniqueConstraint('certificate_id', 'revision', name='uq_claim_line_revision')
    )
    with op.batch_alter_table('claim_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_lines_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_lines_certificate_id'), ['certificate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_lines_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_lines_user_id'), ['user_id'], unique=False)

    op.create_table('claim_line_reviews',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('line_id', sa.Uuid(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('decision', sa.Enum('approved', 'rejected', 'evidence_requested', 'evidence_provided', name='linedecision', native_enum=False, length=24), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['claim_batches.id'], ),
    sa.ForeignKeyConstraint(['line_id'], ['claim_lines.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('line_id', 'n', name='uq_claim_line_review_n')
    )
    with op.batch_alter_table('claim_line_reviews', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_line_reviews_batch_id'), ['batch_id'], unique=False)

    op.create_table('claim_objections',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('line_id', sa.Uuid(), nullable=True),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('text', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('contact_enc', sqlmodel.sql.sqltypes.AutoString(length=600), nullable=True),
    sa.Column('status', sa.Enum('open', 'upheld', 'dismissed', name='objectionstatus', native_enum=False, length=24), nullable=False),
    sa.Column('received_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('resolution', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['claim_batches.id'], ),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], ),
    sa.ForeignKeyConstraint(['line_id'], ['claim_lines.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('claim_objections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_objections_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_objections_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_objections_status'), ['status'], unique=False)

    op.create_table('claim_payments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('line_id', sa.Uuid(), nullable=True),
    sa.Column('payee', sa.Enum('institution', 'learner', name='payee', native_enum=False, length=24), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('reference', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('account_masked', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('recorded_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('recorded_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['claim_batches.id'], ),
    sa.ForeignKeyConstraint(['line_id'], ['claim_lines.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('claim_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_payments_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_payments_line_id'), ['line_id'], unique=False)

    op.create_table('claim_recoveries',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('line_id', sa.Uuid(), nullable=False),
    sa.Column('certificate_id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.Enum('revocation', 'finding', name='recoverysource', native_enum=False, length=24), nullable=False),
    sa.Column('amount_fen', sa.Integer(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('status', sa.Enum('open', 'recovered', 'written_off', name='recoverystatus', native_enum=False, length=24), nullable=False),
    sa.Column('due_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('settled_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('settled_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('settled_reference', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['claim_batches.id'], ),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], ),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], ),
    sa.ForeignKeyConstraint(['line_id'], ['claim_lines.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('claim_recoveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_recoveries_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_recoveries_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_recoveries_line_id'), ['line_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_recoveries_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('claim_recoveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_recoveries_status'))
        batch_op.drop_index(batch_op.f('ix_claim_recoveries_line_id'))
        batch_op.drop_index(batch_op.f('ix_claim_recoveries_institution_id'))
        batch_op.drop_index(batch_op.f('ix_claim_recoveries_batch_id'))

    op.drop_table('claim_recoveries')
    with op.batch_alter_table('claim_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_payments_line_id'))
        batch_op.drop_index(batch_op.f('ix_claim_payments_batch_id'))

    op.drop_table('claim_payments')
    with op.batch_alter_table('claim_objections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_objections_status'))
        batch_op.drop_index(batch_op.f('ix_claim_objections_institution_id'))
        batch_op.drop_index(batch_op.f('ix_claim_objections_batch_id'))

    op.drop_table('claim_objections')
    with op.batch_alter_table('claim_line_reviews', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_line_reviews_batch_id'))

    op.drop_table('claim_line_reviews')
    with op.batch_alter_table('claim_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_lines_user_id'))
        batch_op.drop_index(batch_op.f('ix_claim_lines_institution_id'))
        batch_op.drop_index(batch_op.f('ix_claim_lines_certificate_id'))
        batch_op.drop_index(batch_op.f('ix_claim_lines_batch_id'))

    op.drop_table('claim_lines')
    with op.batch_alter_table('claim_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_batches_status'))
        batch_op.drop_index(batch_op.f('ix_claim_batches_region_code'))
        batch_op.drop_index(batch_op.f('ix_claim_batches_notice_ends_at'))
        batch_op.drop_index(batch_op.f('ix_claim_batches_institution_id'))
        batch_op.drop_index(batch_op.f('ix_claim_batches_filed_at'))
        batch_op.drop_index(batch_op.f('ix_claim_batches_class_id'))

    op.drop_table('claim_batches')
