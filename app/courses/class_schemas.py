"""Request and response bodies of the classes API (班级/期次) and of enrolment into a class.

Bounds are the service's (app/courses/classes.py), declared here too so partners see them in
OpenAPI; their examples are in app/api/examples/.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.accounts.privacy import mask_name
from app.courses import classes as svc
from app.courses import roster
from app.courses.models import ClassStatus, RosterImport
from app.validation import Text


class ClassIn(BaseModel):
    """A class to schedule: 期次编号, name, planned first and last days, seats, head teacher."""

    model_config = ConfigDict(extra="forbid")

    code: Text = Field(min_length=1, max_length=svc.CODE_CHARS)
    name: Text = Field(min_length=1, max_length=svc.NAME_CHARS)
    starts_on: date
    ends_on: date
    capacity: int = Field(ge=svc.CAPACITY[0], le=svc.CAPACITY[1])
    head_teacher_id: uuid.UUID


class ClassUpdateIn(BaseModel):
    """Fields to change; those left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(default=None, min_length=1, max_length=svc.NAME_CHARS)
    starts_on: date | None = None
    ends_on: date | None = None
    capacity: int | None = Field(default=None, ge=svc.CAPACITY[0], le=svc.CAPACITY[1])
    head_teacher_id: uuid.UUID | None = None


class ClassOut(BaseModel):
    class_id: uuid.UUID
    course_id: uuid.UUID
    institution_id: uuid.UUID
    code: str
    name: str
    is_default: bool
    starts_on: date
    ends_on: date | None
    capacity: int | None
    head_teacher_id: uuid.UUID | None
    head_teacher_name: str | None
    status: ClassStatus
    opened_at: datetime | None
    closed_at: datetime | None
    enrolled: int
    completed: int
    seats_left: int | None

    @classmethod
    def of(cls, s: svc.ClassSummary, head_teacher_name: str | None) -> ClassOut:
        k = s.klass
        return cls(
            class_id=k.id,
            course_id=k.course_id,
            institution_id=k.institution_id,
            code=k.code,
            name=k.name,
            is_default=k.is_default,
            starts_on=k.starts_on,
            ends_on=k.ends_on,
            capacity=k.capacity,
            head_teacher_id=k.head_teacher_id,
            head_teacher_name=head_teacher_name,
            status=k.status,
            opened_at=k.opened_at,
            closed_at=k.closed_at,
            enrolled=s.enrolled,
            completed=s.completed,
            seats_left=s.seats_left,
        )


class RosterEntryOut(BaseModel):
    """One learner on a class roster with their progress (ID number masked)."""

    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    real_name_masked: str | None
    id_number_masked: str | None
    employer: str | None
    enrolled_at: datetime
    credited_minutes: int
    required_minutes: int
    quiz_passed: bool
    rollcall_pass_rate: int | None
    completed_at: datetime | None
    missing_zh: list[str]

    @classmethod
    def of(cls, line: svc.RosterLine) -> RosterEntryOut:
        e, u, p = line.enrollment, line.learner, line.progress
        return cls(
            enrollment_id=e.id,
            learner_id=u.id,
            real_name_masked=mask_name(u.real_name) if u.real_name else None,
            id_number_masked=u.id_number_masked,
            employer=e.employer,
            enrolled_at=e.created_at,
            credited_minutes=p.credited_minutes,
            required_minutes=p.required_minutes,
            quiz_passed=p.quiz_passed,
            rollcall_pass_rate=p.rollcall_pass_rate,
            completed_at=e.completed_at,
            missing_zh=p.missing_zh,
        )


class RosterOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    klass: ClassOut = Field(alias="class")
    entries: list[RosterEntryOut]


class EnrolIntoClassIn(BaseModel):
    """Enrol an existing learner of the institution into the class."""

    model_config = ConfigDict(extra="forbid")

    learner_id: uuid.UUID
    employer: Text | None = Field(default=None, max_length=svc.EMPLOYER_CHARS)


class SelfEnrolIn(BaseModel):
    """Optional: the class to join (else the earliest scheduled class with a seat)."""

    model_config = ConfigDict(extra="forbid")

    class_id: uuid.UUID | None = None


class InviteCodeIn(BaseModel):
    """A class invite code (班级邀请码) the institution handed out: enrol in that class."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"code": "BK7Q-M3XP"}]}
    )

    code: str = Field(min_length=1, max_length=32)


class ClassEnrolmentOut(BaseModel):
    enrollment_id: uuid.UUID
    class_id: uuid.UUID
    learner_id: uuid.UUID


class ClassMoveIn(BaseModel):
    """转班: the class of the same course to move the enrolment to, and why (the clerk's words,
    kept in the audit entry)."""

    model_config = ConfigDict(extra="forbid")

    class_id: uuid.UUID
    reason: str = Field(max_length=svc.REASON_CHARS)


class ClassMoveOut(BaseModel):
    """The enrolment after the move: the same enrolment, in its new class."""

    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    from_class_id: uuid.UUID
    class_id: uuid.UUID


# ---------------------------------------------------------------- rosters and activation


class RosterErrorOut(BaseModel):
    """One problem of a roster, in words; ``row`` as the spreadsheet numbers it (0: the file)."""

    row: int
    field: str
    code: str
    message_zh: str
    message_en: str


class RosterImportOut(BaseModel):
    import_id: uuid.UUID
    class_id: uuid.UUID
    filename: str
    created_at: datetime
    total_rows: int
    valid_rows: int
    errors: list[RosterErrorOut]
    ready: bool
    committed_at: datetime | None
    enrolled: int

    @classmethod
    def of(cls, imp: RosterImport, *, ready: bool) -> RosterImportOut:
        return cls(
            import_id=imp.id,
            class_id=imp.class_id,
            filename=imp.filename,
            created_at=imp.created_at,
            total_rows=imp.total_rows,
            valid_rows=imp.valid_rows,
            errors=[RosterErrorOut.model_validate(e) for e in imp.errors],
            ready=ready,
            committed_at=imp.committed_at,
            enrolled=imp.enrolled,
        )


class EnrolledLearnerOut(BaseModel):
    """A learner enrolled from a roster row; the activation code (new accounts only) is shown
    this once — hand it to the learner, who sets their own password and gives consent."""

    row: int
    learner_id: uuid.UUID
    enrollment_id: uuid.UUID
    real_name_masked: str
    id_number_masked: str
    activation_code: str | None

    @classmethod
    def of(cls, e: roster.Enrolled) -> EnrolledLearnerOut:
        return cls(
            row=e.row,
            learner_id=e.learner.id,
            enrollment_id=e.enrollment.id,
            real_name_masked=mask_name(e.learner.real_name or ""),
            id_number_masked=e.learner.id_number_masked or "",
            activation_code=e.activation_code,
        )


class RosterCommitOut(BaseModel):
    import_id: uuid.UUID
    enrolled: list[EnrolledLearnerOut]


class PersonIn(BaseModel):
    """One person to enrol into the class (checked like a roster row)."""

    model_config = ConfigDict(extra="forbid")

    real_name: str = Field(min_length=1, max_length=roster.NAME_CHARS)
    id_number: str = Field(min_length=1, max_length=40)
    phone: str | None = Field(default=None, max_length=40)
    group: str | None = Field(default=None, max_length=40)
    employer: str | None = Field(default=None, max_length=svc.EMPLOYER_CHARS)


class ActivateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id_number: str = Field(min_length=1, max_length=40)
    activation_code: str = Field(min_length=1, max_length=40)
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=1, max_length=128)


class ActivatedOut(BaseModel):
    user_id: uuid.UUID
    username: str
