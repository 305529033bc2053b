"""Request and response bodies of class filing (开班备案 / 结业备案), with OpenAPI examples."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from app.accounts.privacy import mask_name
from app.filing.models import ClassFiling, ClassFilingLine, FilingKind, FilingStatus
from app.filing.service import NOTE_CHARS, SITE_CHARS
from app.validation import Text

_CLASS_ID = "5d0c3a1e-8b7f-4e2a-9c6d-1f2e3a4b5c6d"
_FILING: dict[str, Any] = {
    "filing_id": "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
    "class_id": _CLASS_ID,
    "institution_id": "3f2e1d0c-9b8a-4765-8432-10fedcba9876",
    "institution_name": "深圳市南山区职业技能培训学校",
    "course_id": "8e7d6c5b-4a39-4281-8f6e-5d4c3b2a1908",
    "kind": "opening",
    "version": 2,
    "status": "pending",
    "class_code": "2026-03",
    "class_name": "2026年第3期低压电工作业（初级）培训班",
    "course_title": "低压电工作业（初级）",
    "occupation_code": "6-31-01-03",
    "occupation_name": "电工",
    "level": "level5",
    "starts_on": "2026-03-02",
    "ends_on": "2026-04-17",
    "capacity": 60,
    "roster_size": 48,
    "head_teacher_name": "李建国",
    "site": "深圳市南山区西丽街道留仙大道 3370 号实训楼 2 层",
    "note": "按退回意见补充了实操场地地址",
    "completed": None,
    "certified": None,
    "ended_on": None,
    "filed_at": "2026-02-20T09:15:00+08:00",
    "due_on": "2026-03-02",
    "days_late": 0,
    "late": False,
    "decided_at": None,
    "decision_note": None,
}
_LINE: dict[str, Any] = {
    "no": 1,
    "learner_id": "2c3d4e5f-6a7b-4c8d-9e0f-1a2b3c4d5e6f",
    "real_name_masked": "张*华",
    "id_number_masked": "440305********0012",
    "credited_minutes": 2410,
    "required_minutes": 2400,
    "completed_at": "2026-04-15T16:20:00+08:00",
    "certificate_serial": "INST001-2026-000123",
}


class FilingIn(BaseModel):
    """File a class: its opening (开班备案, before it starts) or its completion (结业备案,
    after it ended). The class's particulars are taken from the class itself."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "opening", "site": _FILING["site"], "note": _FILING["note"]},
                {"kind": "completion"},
            ]
        },
    )

    kind: FilingKind
    site: Text | None = Field(
        default=None,
        max_length=SITE_CHARS,
        description="where the offline (practical) parts are held; empty: online only",
    )
    note: Text | None = Field(default=None, max_length=NOTE_CHARS)


class ApproveIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"note": "同意开班，请按计划组织实操"}]}
    )

    note: Text | None = Field(default=None, max_length=NOTE_CHARS)


class ReturnIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "未填写线下实操场地，请补充后重新备案"}]},
    )

    reason: Text = Field(min_length=1, max_length=NOTE_CHARS)


class ClassFilingOut(BaseModel):
    """One version of a class's filing with the regulator's decision; ``late``: filed after
    ``due_on`` (``days_late`` days)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_FILING]})

    filing_id: uuid.UUID
    class_id: uuid.UUID
    institution_id: uuid.UUID
    institution_name: str | None
    course_id: uuid.UUID
    kind: FilingKind
    version: int
    status: FilingStatus
    class_code: str
    class_name: str
    course_title: str
    occupation_code: str
    occupation_name: str
    level: str
    starts_on: date
    ends_on: date | None
    capacity: int | None
    roster_size: int
    head_teacher_name: str | None
    site: str | None
    note: str | None
    completed: int | None
    certified: int | None
    ended_on: date | None
    filed_at: datetime
    due_on: date
    days_late: int
    late: bool
    decided_at: datetime | None
    decision_note: str | None

    @classmethod
    def of(cls, f: ClassFiling, institution_name: str | None = None) -> ClassFilingOut:
        return cls(
            filing_id=f.id,
            class_id=f.class_id,
            institution_id=f.institution_id,
            institution_name=institution_name,
            course_id=f.course_id,
            kind=f.kind,
            version=f.version,
            status=f.status,
            class_code=f.class_code,
            class_name=f.class_name,
            course_title=f.course_title,
            occupation_code=f.occupation_code,
            occupation_name=f.occupation_name,
            level=f.level,
            starts_on=f.starts_on,
            ends_on=f.ends_on,
            capacity=f.capacity,
            roster_size=f.roster_size,
            head_teacher_name=f.head_teacher_name,
            site=f.site,
            note=f.note,
            completed=f.completed,
            certified=f.certified,
            ended_on=f.ended_on,
            filed_at=f.filed_at,
            due_on=f.due_on,
            days_late=f.days_late,
            late=f.late,
            decided_at=f.decided_at,
            decision_note=f.decision_note,
        )


class FilingLineOut(BaseModel):
    """One learner of a completion filing's roster with their results (name and ID masked)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_LINE]})

    no: int
    learner_id: uuid.UUID
    real_name_masked: str
    id_number_masked: str | None
    credited_minutes: int
    required_minutes: int
    completed_at: datetime | None
    certificate_serial: str | None

    @classmethod
    def of(cls, line: ClassFilingLine) -> FilingLineOut:
        return cls(
            no=line.no,
            learner_id=line.user_id,
            real_name_masked=mask_name(line.learner_name),
            id_number_masked=line.id_number_masked,
            credited_minutes=line.credited_minutes,
            required_minutes=line.required_minutes,
            completed_at=line.completed_at,
            certificate_serial=line.certificate_serial,
        )


class ClassFilingDetailOut(ClassFilingOut):
    """A filing with, for a completion, the roster's results per learner."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_FILING,
                    "kind": "completion",
                    "version": 1,
                    "status": "approved",
                    "completed": 46,
                    "certified": 45,
                    "ended_on": "2026-04-17",
                    "filed_at": "2026-04-20T10:00:00+08:00",
                    "due_on": "2026-05-02",
                    "decided_at": "2026-04-22T15:30:00+08:00",
                    "decision_note": "同意结业备案",
                    "lines": [_LINE],
                }
            ]
        }
    )

    lines: list[FilingLineOut]
