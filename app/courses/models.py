"""Course and study tables.

The verified-minutes ledger is kept as raw events (heartbeats, roll-calls, the verification
events they point to) plus the credit derived from them; ``app/courses/ledger.py`` can derive the
credit again from the raw events alone.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Text, UniqueConstraint, text
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, new_id, utcnow


def _enum(e: type[StrEnum], length: int = 16) -> Any:
    return SAEnum(e, native_enum=False, length=length)


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
    level: Level = Field(sa_type=_enum(Level), index=True)
    required_minutes: int
    pass_score: int  # percent, 0..100
    subsidy_fen: int  # money in integer fen
    # Roll-call and credit policy
    rollcall_min_interval_s: int = 600
    rollcall_max_interval_s: int = 1800
    rollcall_response_window_s: int = 90
    rollcall_min_pass_rate: int = 80  # percent
    daily_cap_minutes: int = 480
    credit_policy: CreditPolicy = Field(default=CreditPolicy.strict, sa_type=_enum(CreditPolicy))
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
    quiz_opens: QuizOpens = Field(default=QuizOpens.after_hours, sa_type=_enum(QuizOpens))
    status: CourseStatus = Field(
        default=CourseStatus.draft, sa_type=_enum(CourseStatus), index=True
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
    kind: LessonKind = Field(sa_type=_enum(LessonKind))
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
    kind: QuestionKind = Field(sa_type=_enum(QuestionKind))
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
    #: Planned first and last day of training (Asia/Shanghai calendar days); the default class
    #: has no planned end.
    starts_on: date
    ends_on: date | None = None
    #: Most learners on the roster; None: unlimited (the default class).
    capacity: int | None = None
    #: A staff member of the institution (班主任).
    head_teacher_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    status: ClassStatus = Field(default=ClassStatus.planned, sa_type=_enum(ClassStatus))
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


class SessionState(StrEnum):
    studying = "studying"
    paused = "paused"  # a roll-call failed or was missed: check in again to continue
    review = "review"  # a roll-call is in staff review: no credit until decided
    ended = "ended"


class StudySession(SQLModel, table=True):
    __tablename__ = "study_sessions"
    #: One active (not ended) session per learner, enforced by the database: two concurrent
    #: check-ins cannot both open one (app/courses/sessions.py takes the loser's turn again).
    __table_args__ = (
        Index(
            "uq_study_sessions_one_active",
            "user_id",
            unique=True,
            sqlite_where=text("state != 'ended'"),
            postgresql_where=text("state != 'ended'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    state: SessionState = Field(sa_type=_enum(SessionState), index=True)
    checkin_event_id: uuid.UUID
    started_at: datetime = Field(sa_type=UTCDateTime)
    last_heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: When the current segment opened (the last passed verification).
    segment_started_at: datetime = Field(sa_type=UTCDateTime)
    #: Credit accrued since the last passed verification, not yet confirmed (milliseconds).
    open_ms: int = Field(default=0, sa_type=BigInteger)
    next_rollcall_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end_reason: str | None = Field(default=None, max_length=64)

    @property
    def open_seconds(self) -> int:
        return self.open_ms // 1000


class Heartbeat(SQLModel, table=True):
    """Every heartbeat the page sent, with the credit it earned when it arrived (before caps)."""

    __tablename__ = "heartbeats"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="study_sessions.id", index=True)
    at: datetime = Field(sa_type=UTCDateTime)
    visible: bool
    lesson_id: uuid.UUID | None = None
    credited_ms: int = 0
    #: The video's playback position the page reported (None: not a video, or an older page).
    position_ms: int | None = Field(default=None, sa_type=BigInteger)
    #: The video's furthest watched point after this heartbeat, when it earned something.
    reach_ms: int | None = Field(default=None, sa_type=BigInteger)

    @property
    def credited_seconds(self) -> int:
        return self.credited_ms // 1000


class RollCallStatus(StrEnum):
    pending = "pending"
    passed = "passed"
    failed = "failed"
    review = "review"
    missed = "missed"


class RollCall(SQLModel, table=True):
    __tablename__ = "rollcalls"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="study_sessions.id", index=True)
    enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    due_at: datetime = Field(sa_type=UTCDateTime)
    offered_at: datetime = Field(sa_type=UTCDateTime)
    deadline: datetime = Field(sa_type=UTCDateTime)
    status: RollCallStatus = Field(sa_type=_enum(RollCallStatus), index=True)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The face check that decided it (the last attempt; every attempt is a RollCallAttempt).
    attendance_event_id: uuid.UUID | None = None
    #: A failed or missed roll-call staff excused (a camera fault, say): its forfeited time is
    #: credited again and it counts as passed; who, when and why are kept here and audited.
    excused_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    excused_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    excuse_reason: str | None = Field(default=None, max_length=500)


class RollCallAttempt(SQLModel, table=True):
    """One face check answering a roll-call: a roll-call allows a few, each with a fresh
    challenge, within its response window (app/courses/rollcall.py)."""

    __tablename__ = "rollcall_attempts"
    __table_args__ = (UniqueConstraint("rollcall_id", "attempt", name="uq_rollcall_attempt"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    rollcall_id: uuid.UUID = Field(foreign_key="rollcalls.id", index=True)
    attempt: int  # 1, 2, ...
    attendance_event_id: uuid.UUID = Field(index=True)
    outcome: str = Field(max_length=16)  # the face check's outcome: passed / failed / review
    reason_code: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SegmentStatus(StrEnum):
    credited = "credited"
    forfeited = "forfeited"
    held = "held"  # waiting for a staff review decision


class CreditSegment(SQLModel, table=True):
    """Credit between two verifications of one session, and what became of it."""

    __tablename__ = "credit_segments"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="study_sessions.id", index=True)
    enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id", index=True)
    started_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime = Field(sa_type=UTCDateTime)
    ms: int = Field(sa_type=BigInteger)
    status: SegmentStatus = Field(sa_type=_enum(SegmentStatus))
    closed_by: str = Field(max_length=64)  # rollcall:<id> / end / checkin-elsewhere / ...
    attendance_event_id: uuid.UUID | None = None

    @property
    def seconds(self) -> int:
        return self.ms // 1000


class QuizAttempt(SQLModel, table=True):
    __tablename__ = "quiz_attempts"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    attendance_event_id: uuid.UUID
    started_at: datetime = Field(sa_type=UTCDateTime)
    deadline: datetime = Field(sa_type=UTCDateTime)
    #: [{"question_id": ..., "order": [option indexes as shown]}], in the order shown.
    paper: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    answers: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    score: int | None = None
    passed: bool | None = None


class DailyCredit(SQLModel, table=True):
    """Confirmed credit per enrolment per Asia/Shanghai calendar day (the daily cap's ledger)."""

    __tablename__ = "daily_credits"

    enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id", primary_key=True)
    day: date = Field(primary_key=True)
    ms: int = 0

    @property
    def seconds(self) -> int:
        """Whole seconds (rounded down)."""
        return self.ms // 1000


class LearnerDailyCredit(SQLModel, table=True):
    """Confirmed credit per learner per Asia/Shanghai day, over all enrolments (the learner's
    daily cap; each course's own cap is kept in :class:`DailyCredit`)."""

    __tablename__ = "learner_daily_credits"

    user_id: uuid.UUID = Field(foreign_key="users.id", primary_key=True)
    day: date = Field(primary_key=True)
    ms: int = Field(default=0, sa_type=BigInteger)


class LessonProgress(SQLModel, table=True):
    """Per enrolment and lesson: milliseconds watched (or read) in confirmed segments, and a
    video's furthest watched point. Derivable again from the heartbeats (app/courses/ledger.py)."""

    __tablename__ = "lesson_progress"

    enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id", primary_key=True)
    lesson_id: uuid.UUID = Field(foreign_key="lessons.id", primary_key=True)
    watched_ms: int = Field(default=0, sa_type=BigInteger)
    reach_ms: int = Field(default=0, sa_type=BigInteger)


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


class OfflineSession(SQLModel, table=True):
    """An offline practical session (线下实训) of a course's class: a site, a time window, seats
    and an instructor. Learners check in and out at the site's station (app/courses/offline.py)."""

    __tablename__ = "offline_sessions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    course_id: uuid.UUID = Field(foreign_key="courses.id", index=True)
    class_id: uuid.UUID = Field(foreign_key="course_classes.id", index=True)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    title: str = Field(max_length=200)
    site_address: str = Field(max_length=300)
    starts_at: datetime = Field(sa_type=UTCDateTime, index=True)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    capacity: int
    #: A staff member of the institution (实训指导教师): marks the practical assessments.
    instructor_id: uuid.UUID = Field(foreign_key="users.id")
    created_by: uuid.UUID = Field(foreign_key="users.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancel_reason: str | None = Field(default=None, max_length=500)


class OfflineAttendance(SQLModel, table=True):
    """One learner at one offline session: the verified check-in and check-out (their face
    events) and the minutes they earned — the offline ledger's raw events."""

    __tablename__ = "offline_attendances"
    __table_args__ = (
        UniqueConstraint("session_id", "enrollment_id", name="uq_offline_attendance"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="offline_sessions.id", index=True)
    enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    checkin_event_id: uuid.UUID
    checkin_at: datetime = Field(sa_type=UTCDateTime)
    checkin_by: uuid.UUID = Field(foreign_key="users.id")
    checkout_event_id: uuid.UUID | None = None
    checkout_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checkout_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    credited_ms: int = Field(default=0, sa_type=BigInteger)


class OfflineTokenUse(SQLModel, table=True):
    """A learner's station QR token that was scanned: each is good for one scan."""

    __tablename__ = "offline_token_uses"

    jti: str = Field(primary_key=True, max_length=32)
    session_id: uuid.UUID = Field(foreign_key="offline_sessions.id", index=True)
    user_id: uuid.UUID = Field(foreign_key="users.id")
    used_at: datetime = Field(sa_type=UTCDateTime)


class PracticalAssessment(SQLModel, table=True):
    """The instructor's practical assessment (实操考核) of a learner at an offline session: pass
    or fail with a note. Marking again replaces it (each marking is audited)."""

    __tablename__ = "practical_assessments"
    __table_args__ = (
        UniqueConstraint("session_id", "enrollment_id", name="uq_practical_assessment"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    session_id: uuid.UUID = Field(foreign_key="offline_sessions.id", index=True)
    enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id", index=True)
    passed: bool
    note: str = Field(default="", max_length=500)
    assessed_by: uuid.UUID = Field(foreign_key="users.id")
    assessed_at: datetime = Field(sa_type=UTCDateTime)
