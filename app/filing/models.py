"""Tables of class filing (开班备案 / 结业备案): each version an institution files and the
regulator's decision on it, and the roster's results a completion filing reports."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, new_id, str_enum, utcnow


class FilingKind(StrEnum):
    opening = "opening"  # 开班备案: before the class starts
    completion = "completion"  # 结业备案: after it ends, with the roster's results


class FilingStatus(StrEnum):
    pending = "pending"  # 待审核
    approved = "approved"  # 已同意
    returned = "returned"  # 已退回 (with the reason; the institution corrects and files again)


class ClassFiling(SQLModel, table=True):
    """One version of a class's opening or completion filing. A version is never changed after
    the regulator's decision: a returned filing stays as it was, the institution files the next
    version. The class's particulars are copied in at filing, so the regulator decides on what
    was filed even if the class changes later."""

    __tablename__ = "class_filings"
    __table_args__ = (
        UniqueConstraint("class_id", "kind", "version", name="uq_class_filing_version"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    class_id: uuid.UUID = Field(foreign_key="course_classes.id", index=True)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    course_id: uuid.UUID = Field(foreign_key="courses.id")
    kind: FilingKind = Field(sa_type=str_enum(FilingKind))
    #: 1, 2, … per class and kind: a re-filing after a return is the next version.
    version: int
    status: FilingStatus = Field(
        default=FilingStatus.pending,
        sa_type=str_enum(FilingStatus),
        index=True,
    )
    # ---- what was filed (the class and course as they were)
    class_code: str = Field(max_length=32)
    class_name: str = Field(max_length=200)
    course_title: str = Field(max_length=200)
    occupation_code: str = Field(max_length=32)
    occupation_name: str = Field(max_length=100)
    level: str = Field(max_length=16)
    starts_on: date
    ends_on: date | None = None
    capacity: int | None = None
    #: Learners on the roster when filed.
    roster_size: int
    head_teacher_id: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    head_teacher_name: str | None = Field(default=None, max_length=64)
    #: Where the offline (practical) parts are held; None: online only.
    site: str | None = Field(default=None, max_length=300)
    note: str | None = Field(default=None, max_length=500)
    #: Completion only: how many on the roster completed and how many hold a valid certificate.
    completed: int | None = None
    certified: int | None = None
    #: The day the class ended (结业), for a completion filing.
    ended_on: date | None = None
    # ---- when, and whether late
    filed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    filed_by: str = Field(max_length=128)
    #: The last day it was due (Asia/Shanghai) and how many days after that it was filed (0: on
    #: time): opening — the class's first day less the lead-time setting; completion — the day
    #: the class ended plus the completion-filing setting.
    due_on: date
    days_late: int = 0
    # ---- the regulator's decision
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=128)
    #: The reason for a return (required), or the regulator's note on an approval.
    decision_note: str | None = Field(default=None, max_length=500)

    @property
    def late(self) -> bool:
        return self.days_late > 0


class ClassFilingLine(SQLModel, table=True):
    """One learner of the roster in a completion filing (结业备案) with their results."""

    __tablename__ = "class_filing_lines"
    __table_args__ = (UniqueConstraint("filing_id", "enrollment_id", name="uq_class_filing_line"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    filing_id: uuid.UUID = Field(foreign_key="class_filings.id", index=True)
    enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id")
    user_id: uuid.UUID = Field(foreign_key="users.id")
    no: int
    learner_name: str = Field(max_length=64)
    id_number_masked: str | None = Field(default=None, max_length=18)
    credited_minutes: int
    required_minutes: int
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The certificate (培训合格证明) held when filed; None: not certified.
    certificate_serial: str | None = Field(default=None, max_length=64)
