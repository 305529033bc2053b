"""streamed face checks: a challenge's mode and schedule, and the frames of a check session

Every existing challenge was a burst challenge (``mode`` defaults to ``burst``).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 09:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.dbtypes

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("face_challenges", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "mode",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="burst",
            )
        )
        batch_op.add_column(sa.Column("schedule", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("started_at", app.dbtypes.UTCDateTime(timezone=True), nullable=True)
        )
    op.create_table(
        "face_check_frames",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("challenge_id", sa.Uuid(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("t_ms", sa.Integer(), nullable=False),
        sa.Column("received_at", app.dbtypes.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["challenge_id"], ["face_challenges.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("challenge_id", "seq", name="uq_face_check_frames_seq"),
    )
    with op.batch_alter_table("face_check_frames", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_face_check_frames_challenge_id"), ["challenge_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("face_check_frames", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_face_check_frames_challenge_id"))
    op.drop_table("face_check_frames")
    with op.batch_alter_table("face_challenges", schema=None) as batch_op:
        batch_op.drop_column("started_at")
        batch_op.drop_column("schedule")
        batch_op.drop_column("mode")
