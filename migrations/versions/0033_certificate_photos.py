"""the learner's optional photo on their certificates

A learner who consents gets a copy of their enrolment evidence crop kept for their certificates'
PDFs (``certificate_photos``: addressed by the crop's sha256; the bytes are deleted when the
learner withdraws, the row stays for the audit). Nobody has consented yet: the table starts
empty and certificates print without a photo, as before.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-03 16:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.dbtypes

revision: str = '0033'
down_revision: str | None = '0032'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'certificate_photos',
        sa.Column('id', sa.Uuid(), nullable=False),
        sa.Column('user_id', sa.Uuid(), nullable=False),
        sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('source_event_id', sa.Uuid(), nullable=False),
        sa.Column('jpeg', sa.LargeBinary(), nullable=True),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('granted_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column('withdrawn_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['source_event_id'], ['attendance_events.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('certificate_photos', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_certificate_photos_sha256'), ['sha256'], unique=False
        )
        batch_op.create_index(
            batch_op.f('ix_certificate_photos_user_id'), ['user_id'], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table('certificate_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_photos_user_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_photos_sha256'))
    op.drop_table('certificate_photos')
