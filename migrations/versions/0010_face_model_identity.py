"""face templates and decisions record their model: engine, recogniser file hash, metric

Every existing row was made by dlib's ResNet (the only engine before), so it is backfilled
with dlib's identity: engine "dlib", the SHA-256 of dlib_face_recognition_resnet_model_v1.dat
(face_recognition_models 0.3.0) and the Euclidean metric.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 07:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DLIB_RESNET_SHA256 = "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"


def upgrade() -> None:
    for table, extra in (("face_templates", False), ("attendance_events", True)):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('face_engine', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
            batch_op.add_column(sa.Column('model_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
            if extra:
                batch_op.add_column(sa.Column('match_metric', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        sets = "face_engine = 'dlib', model_sha256 = :sha"
        if extra:
            sets += ", match_metric = 'euclidean'"
        op.get_bind().execute(sa.text(f"UPDATE {table} SET {sets}"), {"sha": DLIB_RESNET_SHA256})
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('face_engine', existing_type=sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False)
            batch_op.alter_column('model_sha256', existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False)
            if extra:
                batch_op.alter_column('match_metric', existing_type=sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('attendance_events', schema=None) as batch_op:
        batch_op.drop_column('match_metric')
        batch_op.drop_column('model_sha256')
        batch_op.drop_column('face_engine')
    with op.batch_alter_table('face_templates', schema=None) as batch_op:
        batch_op.drop_column('model_sha256')
        batch_op.drop_column('face_engine')
