"""learners' own subsidy applications (全程网办)

Where a programme pays the individual (参保职工技能提升补贴), the learner applies from the
certificate page: the application files a one-line batch paid to the learner and keeps the
account the learner gave (encrypted, and masked for views).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 12:55:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from app.dbtypes import UTCDateTime

revision: str = '0029'
down_revision: str | None = '0028'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'claim_applications',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('batch_id', sa.Uuid(), nullable=False),
        sa.Column('line_id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('certificate_id', sa.Uuid(), nullable=False),
        sa.Column(
            'account_kind',
            sa.Enum('social_security_card', 'bank_card', name='accountkind', native_enum=False,
                    length=24),
            nullable=False,
        ),
        sa.Column('account_enc', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('account_masked', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('bank_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('declared_insured', sa.Boolean(), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['batch_id'], ['claim_batches.id']),
        sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id']),
        sa.ForeignKeyConstraint(['line_id'], ['claim_lines.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('batch_id'),
        sa.UniqueConstraint('line_id'),
    )
    with op.batch_alter_table('claim_applications', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_claim_applications_certificate_id'), ['certificate_id'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_claim_applications_user_id'), ['user_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('claim_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_applications_user_id'))
        batch_op.drop_index(batch_op.f('ix_claim_applications_certificate_id'))
    op.drop_table('claim_applications')
