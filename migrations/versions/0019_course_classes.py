"""course classes (班级/期次): every enrolment belongs to a class

A course runs as one or more classes (dates, capacity, head teacher, roster). Enrolments made
before classes existed move into their course's default class (open-ended, unlimited, no head
teacher), created here for every course that has enrolments; other courses get theirs when
first needed (app/courses/classes.py). Enrolments also keep the employer that sent the learner.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03 09:20:00.000000
"""

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.dbtypes

revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHANGHAI = ZoneInfo('Asia/Shanghai')


def upgrade() -> None:
    op.create_table('course_classes',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('course_id', sa.Uuid(), nullable=False),
    sa.Column('institution_id', sa.Uuid(), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('head_teacher_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.Enum('planned', 'open', 'closed', name='classstatus', native_enum=False, length=16), nullable=False),
    sa.Column('opened_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', app.dbtypes.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', app.dbtypes.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['course_id'], ['courses.id'], ),
    sa.ForeignKeyConstraint(['head_teacher_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['institution_id'], ['institutions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('course_id', 'code', name='uq_course_class_code')
    )
    with op.batch_alter_table('course_classes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_course_classes_course_id'), ['course_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_course_classes_institution_id'), ['institution_id'], unique=False)
        batch_op.create_index(
            'uq_course_classes_one_default',
            ['course_id'],
            unique=True,
            sqlite_where=sa.text('is_default'),
            postgresql_where=sa.text('is_default'),
        )

    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('class_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('employer', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))

    _default_classes()

    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.alter_column('class_id', existing_type=sa.Uuid(), nullable=False)
        batch_op.create_index(batch_op.f('ix_enrollments_class_id'), ['class_id'], unique=False)
        batch_op.create_foreign_key('fk_enrollments_class_id', 'course_classes', ['class_id'], ['id'])


def _default_classes() -> None:
    """One default class per course that has enrolments; its enrolments move into it."""
    bind = op.get_bind()
    courses = sa.table(
        'courses',
        sa.column('id', sa.Uuid()),
        sa.column('institution_id', sa.Uuid()),
        sa.column('published_at', app.dbtypes.UTCDateTime(timezone=True)),
        sa.column('created_at', app.dbtypes.UTCDateTime(timezone=True)),
    )
    enrollments = sa.table(
        'enrollments', sa.column('course_id', sa.Uuid()), sa.column('class_id', sa.Uuid())
    )
    classes = sa.table(
        'course_classes',
        sa.column('id', sa.Uuid()),
        sa.column('course_id', sa.Uuid()),
        sa.column('institution_id', sa.Uuid()),
        sa.column('code', sa.String()),
        sa.column('name', sa.String()),
        sa.column('is_default', sa.Boolean()),
        sa.column('starts_on', sa.Date()),
        sa.column('status', sa.String()),
        sa.column('opened_at', app.dbtypes.UTCDateTime(timezone=True)),
        sa.column('created_at', app.dbtypes.UTCDateTime(timezone=True)),
    )
    with_enrolments = sa.select(enrollments.c.course_id).distinct()
    rows = bind.execute(
        sa.select(courses.c.id, courses.c.institution_id, courses.c.published_at, courses.c.created_at)
        .where(courses.c.id.in_(with_enrolments))
    ).fetchall()
    now = datetime.now(UTC)
    for course_id, institution_id, published_at, created_at in rows:
        class_id = uuid.uuid4()
        began = published_at or created_at
        bind.execute(
            classes.insert().values(
                id=class_id,
                course_id=course_id,
                institution_id=institution_id,
                code='default',
                name='默认班（自主报名）',
                is_default=True,
                starts_on=began.astimezone(SHANGHAI).date(),
                status='open',
                opened_at=began,
                created_at=now,
            )
        )
        bind.execute(
            enrollments.update().where(enrollments.c.course_id == course_id).values(class_id=class_id)
        )


def downgrade() -> None:
    with op.batch_alter_table('enrollments', schema=None) as batch_op:
        batch_op.drop_constraint('fk_enrollments_class_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_enrollments_class_id'))
        batch_op.drop_column('employer')
        batch_op.drop_column('class_id')

    with op.batch_alter_table('course_classes', schema=None) as batch_op:
        batch_op.drop_index('uq_course_classes_one_default')
        batch_op.drop_index(batch_op.f('ix_course_classes_institution_id'))
        batch_op.drop_index(batch_op.f('ix_course_classes_course_id'))

    op.drop_table('course_classes')
