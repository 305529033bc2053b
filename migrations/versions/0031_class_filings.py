"""class filings with the regulator (开班备案 / 结业备案); certificates issued before them

Institutions now file each class with the regulator of their jurisdiction before it starts and
after it ends (``class_filings``, every version kept; ``class_filing_lines``: a completion's
roster results), and only training in a class whose opening filing was approved counts for
subsidy (the ``class_filed`` rule, app/filing/facts.py).

Existing data: no class has been filed, and a regulator's decision cannot be made up after the
fact. Certificates issued before this migration are marked ``issued_before_class_filing`` and
decided as before (the rule says so in words); claims already filed keep their frozen lines
anyway. Classes running now are filed from the staff's class page like new ones; until their
opening filing is approved, certificates issued from them are not subsidised.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-03 12:34:40.134494
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.dbtypes

revision: str = '0031'
down_revision: str | None = '0030'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('class_filings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('class_id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('course_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('opening', 'completion', name='filingkind', native_enum=False, length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'approved', 'returned', name='filingstatus', native_enum=False, length=16), nullable=False),
    sa.Column('class_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('class_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('course_title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('occupation_code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('occupation_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('level', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('roster_size', sa.Integer(), nullable=False),
    sa.Column('head_teacher_id', sa.Uuid(), nullable=True),
    sa.Column('head_teacher_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('site', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
    sa.Column('note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('completed', sa.Integer(), nullable=True),
    sa.Column('certified', sa.Integer(), nullable=True),
    sa.Column('ended_on', sa.Date(), nullable=True),
    sa.Column('filed_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.Column('filed_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('days_late', sa.Integer(), nullable=False),
    sa.Column('decided_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
    sa.Column('decision_note', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.ForeignKeyConstraint(['class_id'], ['course_classes.id'], ),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], ),
    sa.ForeignKeyConstraint(['head_teacher_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('class_id', 'kind', 'version', name='uq_class_filing_version')
    )
    with op.batch_alter_table('class_filings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_class_filings_class_id'), ['class_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_class_filings_filed_at'), ['filed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_class_filings_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_class_filings_status'), ['status'], unique=False)

    op.create_table('class_filing_lines',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('filing_id', sa.Uuid(), nullable=False),
    sa.Column('enrollment_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('no', sa.Integer(), nullable=False),
    sa.Column('learner_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('id_number_masked', sqlmodel.sql.sqltypes.AutoString(length=18), nullable=True),
    sa.Column('credited_minutes', sa.Integer(), nullable=False),
    sa.Column('required_minutes', sa.Integer(), nullable=False),
    sa.Column('completed_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('certificate_serial', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.ForeignKeyConstraint(['enrollment_id'], ['enrollments.id'], ),
    sa.ForeignKeyConstraint(['filing_id'], ['class_filings.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('filing_id', 'enrollment_id', name='uq_class_filing_line')
    )
    with op.batch_alter_table('class_filing_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_class_filing_lines_filing_id'), ['filing_id'], unique=False)

    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                'issued_before_class_filing',
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
    certificates = sa.table('certificates', sa.column('issued_before_class_filing', sa.Boolean()))
    op.execute(certificates.update().values(issued_before_class_filing=True))



def downgrade() -> None:
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_column('issued_before_class_filing')

    with op.batch_alter_table('class_filing_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_class_filing_lines_filing_id'))

    op.drop_table('class_filing_lines')
    with op.batch_alter_table('class_filings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_class_filings_status'))
        batch_op.drop_index(batch_op.f('ix_class_filings_institution_id'))
        batch_op.drop_index(batch_op.f('ix_class_filings_filed_at'))
        batch_op.drop_index(batch_op.f('ix_class_filings_class_id'))

    op.drop_table('class_filings')
