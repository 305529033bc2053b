"""Offline practical training (线下实训): sessions at a site, the learners' verified check-in
and check-out there, station tokens and practical assessments (实操考核)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, new_id, utcnow


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
