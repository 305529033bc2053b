"""The study record's tables: sessions, heartbeats, roll-calls and their attempts, credit
segments, quiz attempts, daily credit and lesson progress.

The verified-minutes ledger is kept as raw events (heartbeats, roll-calls, the verification
events they point to) plus the credit derived from them; ``app/courses/ledger.py`` can derive the
credit again from the raw events alone.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, new_id, str_enum, utcnow


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
    state: SessionState = Field(sa_type=str_enum(SessionState), index=True)
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
    status: RollCallStatus = Field(sa_type=str_enum(RollCallStatus), index=True)
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
    status: SegmentStatus = Field(sa_type=str_enum(SegmentStatus))
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
