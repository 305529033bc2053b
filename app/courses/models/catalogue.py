"""The catalogue's tables: courses, lessons, questions, classes (班级/期次), enrolments and the
roster files that enrol a class."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, new_id, str_enum, utcnow


class Level(StrEnum):
    """National vocational qualification levels (国家职业资格等级 / 职业技能等级)."""

    level5 = "level5"  # 五级/初级工
    level4 = "level4"  # 四级/中级工
    level3 = "level3"  # 三级/高级工
    level2 = "level2"  # 二级/技师
    level1 = "level1"  # 一级/高级技师
    special = "special"  # 专项能力 / 培训合格 (non-graded)


LEVEL_NAMES_ZH = {
    Level.level5: "五级/初级工",
    Level.level4: "四级/中级工",
    Level.level3: "三级/高级工",
    Level.level2: "二级/技师",
    Level.level1: "一级/高级技师",
    Level.special: "专项能力/培训合格",
}


class CourseStatus(StrEnum):
    draft = "draft"
    published = "published"


class CreditPolicy(StrEnum):
    strict = "strict"  # a failed or missed roll-call forfeits the open segment
    lenient = "lenient"  # ... keeps it up to the last heartbeat


class QuizOpens(StrEnum):
    """When a learner may start the course's quiz."""

    after_hours = "after_hours"  # once the verified minutes reach the course's requirement
    any_time = "any_time"  # from enrolment on


class Course(SQLModel, table=True):
    __tablename__ = "courses"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    occupation_code: str = Field(max_length=32, index=True)  # 职业编码, e.g. 4-03-02-01
    occupation_name: str = Field(max_length=100)
    level: Level = Field(sa_type=str_enum(Level), index=True)
    required_minutes: int
    pass_score: int  # percent, 0..100
    subsidy_fen: int  # money in integer fen
    # Roll-call and credit policy
    rollcall_min_interval_s: int = 600
    rollcall_max_interval_s: int = 1800
    rollcall_response_window_s: int = 90
    rollcall_min_pass_rate: int = 80  # percent
    daily_cap_minutes: int = 480
    credit_policy: CreditPolicy = Field(default=CreditPolicy.strict, sa_type=str_enum(CreditPolicy))
    heartbeat_interval_s: int = 30
    #: Completion also needs every lesson finished (its required minutes watched or read).
    require_each_lesson: bool = False
    #: Blended training: offline practical minutes completion needs (0: an online-only course),
    #: earned at the course's offline sessions (app/courses/offline.py).
    offline_required_minutes: int = Field(default=0)
    # Quiz policy
    quiz_question_count: int = 10
    quiz_time_limit_s: int = 1800
    quiz_max_attempts: int = 3
    quiz_opens: QuizOpens = Field(default=QuizOpens.after_hours, sa_type=str_enum(QuizOpens))
    status: CourseStatus = Field(
        default=CourseStatus.draft, sa_type=str_enum(CourseStatus), index=True
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class LessonKind(StrEnum):
    video = "video"
    text = "text"


class Lesson(SQLModel, table=True):
    __tablename__ = "lessons"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    course_id: uuid.UUID = Field(foreign_key="courses.id", index=True)
    position: int
    title: str = Field(max_length=200)
    kind: LessonKind = Field(sa_type=str_enum(LessonKind))
    #: Text, or an external video's URL; empty for a video the platform hosts.
    body_or_url: str = Field(sa_column=Column(Text, nullable=False))
    minutes: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A hosted video (app/courses/media.py): its object in the media store, checked type, size,
    # length and content hash, and the poster frame's object.
    video_key: str | None = Field(default=None, max_length=200)
    video_type: str | None = Field(default=None, max_length=64)
    video_bytes: int | None = Field(default=None, sa_type=BigInteger)
    duration_ms: int | None = Field(default=None, sa_type=BigInteger)
    video_sha256: str | None = Field(default=None, max_length=64)
    poster_key: str | None = Field(default=None, max_length=200)

    @property
    def hosted(self) -> bool:
        return self.video_key is not None


class QuestionKind(StrEnum):
    single = "single"
    multiple = "multiple"
    judge = "judge"


class Question(SQLModel, table=True):
    __tablename__ = "questions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    course_id: uuid.UUID = Field(foreign_key="courses.id", index=True)
    kind: QuestionKind = Field(sa_type=str_enum(QuestionKind))
    stem: str = Field(sa_column=Column(Text, nullable=False))
    options: list[str] = Field(sa_column=Column(JSON, nullable=False))
    answer: list[int] = Field(sa_column=Column(JSON, nullable=False))  # indexes into options
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ClassStatus(StrEnum):
    planned = "planned"  # scheduled, taking enrolments
    open = "open"  # 开班: running, taking enrolments
    closed = "closed"  # 结业: finished, the roster is frozen


class CourseClass(SQLModel, table=True):
    """A run of a course (班级/期次): dates, capacity, head teacher and a roster (its enrolments).

    Each course has at most one *default* class (``is_default``): open-ended, no capacity, no
    head teacher, holding the self-enrolments of a course that runs no scheduled classes and the
    enrolments that existed before classes did (migration 0019).
    """

    __tablename__ = "course_classes"
    __table_args__ = (
        UniqueConstraint("course_id", "code", name="uq_course_class_code"),
        Index(
            "uq_course_classes_one_default",
            "course_id",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    course_id: uuid.UUID = Field(foreign_key="courses.id", index=True)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    #: 期次编号, unique within the course, e.g. ``2026-03``.
    code: str = Field(max_length=32)
    name: str = Field(max_length=200)
    is_default: bool = False
    #: 班级邀请码: eight unambiguous letters and digits the institution hands out; registering
    #: (or enrolling) with it places the learner in this class (app/courses/invites.py). None
    #: for the default class, which nobody is invited to.
    invite_code: str | None = Field(default=None, max_length=8, unique=True, index=True)
    #: Planned first and last day of training (Asia/Shanghai calendar days); the default class
    #: has no planned end.
    starts_on: date
    ends_on: date | None = None
    #: Most learners on the roster; None: unlimited (the default class).
    capacity: int | None = None
    #: A staff member of the institution (班主任).
    head_teacher_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    status: ClassStatus = Field(default=ClassStatus.planned, sa_type=str_enum(ClassStatus))
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # 开班
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)  # 结业
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Enrollment(SQLModel, table=True):
    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("course_id", "user_id", name="uq_enrollment_course_user"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    course_id: uuid.UUID = Field(foreign_key="courses.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    #: The class (班级/期次) the learner studies in; every enrolment has one
    #: (app/courses/classes.py; a course's default class holds self-enrolments).
    class_id: uuid.UUID = Field(foreign_key="course_classes.id", index=True)
    #: The employer that sent the learner (企业自主或委托培训), from a roster or staff enrolment.
    employer: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: Confirmed credit (closed segments) in milliseconds — derivable again by
    #: app/courses/ledger.py, to the millisecond.
    credited_ms: int = Field(default=0, sa_type=BigInteger)
    quiz_passed: bool = False
    best_quiz_score: int | None = None
    rollcalls_total: int = 0
    rollcalls_passed: int = 0
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Offline practical training credited at offline sessions (milliseconds): verified check-in
    #: to verified check-out within each session's window — derivable again from the
    #: attendance rows and their face events (app/courses/offline.py, ``offline_ledger``).
    offline_ms: int = Field(default=0, sa_type=BigInteger)

    @property
    def credited_seconds(self) -> int:
        """Whole seconds (rounded down), as the API and the progress rules count them."""
        return self.credited_ms // 1000

    @property
    def offline_minutes(self) -> int:
        """Whole offline practical minutes (rounded down)."""
        return self.offline_ms // 60_000


class RosterImport(SQLModel, table=True):
    """A roster file checked for a class (app/courses/roster.py): its problems in words, and
    its valid rows (encrypted: they hold ID numbers) waiting for an all-or-nothing commit."""

    __tablename__ = "roster_imports"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    class_id: uuid.UUID = Field(foreign_key="course_classes.id", index=True)
    created_by: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    filename: str = Field(max_length=200)
    total_rows: int
    valid_rows: int
    #: [{"row", "field", "code", "message_zh", "message_en"}], row 0 = the whole file.
    errors: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    rows_enc: str = Field(sa_column=Column(Text, nullable=False))
    committed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    committed_by: str | None = Field(default=None, max_length=64)
    enrolled: int = 0
