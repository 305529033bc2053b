"""An employment outcome per completed enrolment (实现就业), as the institution's staff found it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Column, Date
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, new_id, str_enum, utcnow


class OutcomeStatus(StrEnum):
    employed = "employed"  # 就业 (a job, incl. flexible employment 灵活就业)
    self_employed = "self_employed"  # 自主创业
    continuing = "continuing"  # 继续学习/培训
    unknown = "unknown"  # 未知 / 未就业

    @property
    def counts_as_employed(self) -> bool:
        """实现就业人数（包括自主创业或灵活就业）: seed 003."""
        return self in (OutcomeStatus.employed, OutcomeStatus.self_employed)


class EmploymentOutcome(SQLModel, table=True):
    __tablename__ = "employment_outcomes"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    #: One outcome per training (the latest recorded wins; every change is audited).
    enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id", unique=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    status: OutcomeStatus = Field(sa_type=str_enum(OutcomeStatus))
    #: When the learner started the job / business / further training (unknown: when checked).
    on: date = Field(sa_column=Column(Date, nullable=False))
    employer: str | None = Field(default=None, max_length=200)
    #: The social-insurance check that confirms it (社保参保核验 reference), if any.
    si_reference: str | None = Field(default=None, max_length=100)
    recorded_by: str = Field(max_length=128)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
