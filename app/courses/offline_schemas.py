"""Request and response bodies of the offline-session API (线下实训: scheduling, the check-in
station, practical assessments, the learner's sessions and QR). Bounds are the service's
(app/courses/offline.py), declared here too so partners see them in OpenAPI."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.accounts.privacy import mask_name
from app.courses import offline as svc
from app.courses import offline_station as station
from app.courses.models import PracticalAssessment
from app.validation import Text

_SESSION_ID = "8a7b6c5d-4e3f-4a2b-9c1d-0e9f8a7b6c5d"
_CLASS_ID = "5b0e4a7e-2f61-4c1b-9d3a-6f0c2b8e9a41"
_COURSE_ID = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
_INSTITUTION_ID = "c4a1d2e3-7b8f-4c9d-a0e1-f2b3c4d5e6f7"
_STAFF_ID = "5e2f8a41-93c7-4b0d-8d1e-7f6a2c9b3d10"
_LEARNER_ID = "0b9c3f0e-6a51-4d7a-9f2e-2d4a8c1b7e55"
_ENROLLMENT_ID = "3d4e5f60-7182-4a3b-9c4d-5e6f7a8b9c0d"
_ATTENDANCE_ID = "71f0e2d3-c4b5-4a69-8788-796a5b4c3d2e"
_EVENT_ID = "6f1e2d3c-4b5a-4697-8a7b-6c5d4e3f2a1b"
_EVENT2_ID = "6f1e2d3c-4b5a-4697-8a7b-6c5d4e3f2a1c"
_CHALLENGE_ID = "b7a69584-7362-4514-9302-f1e0d9c8b7a6"
_QR_EXAMPLE = (  # an example, signed by no server's key
    "st1.eyJzIjoiOGE3YjZjNWQtNGUzZi00YTJiLTljMWQtMGU5ZjhhN2I2YzVkIiwidSI6IjBiOWMzZjBlLTZhNTEt"
    "NGQ3YS05ZjJlLTJkNGE4YzFiN2U1NSIsImoiOiI5ZjFjMmQzZTRmNWE2YjdjOGQ5ZTBmMWEyYjNjNGQ1ZSIsImUi"
    "OjE3OTcxMzYxMjB9.kq3mE1c0v8rN5mVQ2a9yC6XbW7dZ4eJpH0tS1uL8oRg"
)
_SESSION: dict[str, Any] = {
    "session_id": _SESSION_ID,
    "course_id": _COURSE_ID,
    "class_id": _CLASS_ID,
    "class_code": "2026-12",
    "institution_id": _INSTITUTION_ID,
    "title": "低压电工实操：照明线路安装",
    "site_address": "深圳市南山区西丽街道留仙大道 1088 号 实训楼 3 层 302 室",
    "starts_at": "2026-12-12T09:00:00+08:00",
    "ends_at": "2026-12-12T12:00:00+08:00",
    "capacity": 30,
    "instructor_id": _STAFF_ID,
    "instructor_name": "李建国",
    "cancelled_at": None,
    "cancel_reason": None,
    "checked_in": 24,
    "checked_out": 21,
    "seats_left": 6,
}


class OfflineSessionIn(BaseModel):
    """An offline practical session to schedule for a class: title, site, time window (with a
    UTC offset), seats and the instructor (a staff member of the institution)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "title": _SESSION["title"],
                    "site_address": _SESSION["site_address"],
                    "starts_at": _SESSION["starts_at"],
                    "ends_at": _SESSION["ends_at"],
                    "capacity": 30,
                    "instructor_id": _STAFF_ID,
                }
            ]
        },
    )

    title: Text = Field(min_length=1, max_length=svc.TITLE_CHARS)
    site_address: Text = Field(min_length=1, max_length=svc.SITE_CHARS)
    starts_at: datetime
    ends_at: datetime
    capacity: int = Field(ge=svc.CAPACITY[0], le=svc.CAPACITY[1])
    instructor_id: uuid.UUID


class CancelIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "实训室电路检修，改期另行通知"}]},
    )

    reason: Text = Field(min_length=1, max_length=svc.NOTE_CHARS)


class OfflineSessionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_SESSION]})

    session_id: uuid.UUID
    course_id: uuid.UUID
    class_id: uuid.UUID
    class_code: str | None
    institution_id: uuid.UUID
    title: str
    site_address: str
    starts_at: datetime
    ends_at: datetime
    capacity: int
    instructor_id: uuid.UUID
    instructor_name: str | None
    cancelled_at: datetime | None
    cancel_reason: str | None
    checked_in: int
    checked_out: int
    seats_left: int

    @classmethod
    def of(cls, s: svc.SessionSummary) -> OfflineSessionOut:
        o = s.offline
        return cls(
            session_id=o.id,
            course_id=o.course_id,
            class_id=o.class_id,
            class_code=s.class_code,
            institution_id=o.institution_id,
            title=o.title,
            site_address=o.site_address,
            starts_at=o.starts_at,
            ends_at=o.ends_at,
            capacity=o.capacity,
            instructor_id=o.instructor_id,
            instructor_name=s.instructor_name,
            cancelled_at=o.cancelled_at,
            cancel_reason=o.cancel_reason,
            checked_in=s.checked_in,
            checked_out=s.checked_out,
            seats_left=s.seats_left,
        )


class AssessmentOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session_id": _SESSION_ID,
                    "enrollment_id": _ENROLLMENT_ID,
                    "passed": True,
                    "note": "接线规范，通电测试一次成功",
                    "assessed_by": _STAFF_ID,
                    "assessed_at": "2026-12-12T11:40:00+08:00",
                }
            ]
        }
    )

    session_id: uuid.UUID
    enrollment_id: uuid.UUID
    passed: bool
    note: str
    assessed_by: uuid.UUID
    assessed_at: datetime

    @classmethod
    def of(cls, m: PracticalAssessment) -> AssessmentOut:
        return cls(
            session_id=m.session_id,
            enrollment_id=m.enrollment_id,
            passed=m.passed,
            note=m.note,
            assessed_by=m.assessed_by,
            assessed_at=m.assessed_at,
        )


class AssessmentIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"passed": True, "note": "接线规范，通电测试一次成功"}]},
    )

    passed: bool
    note: str = Field(default="", max_length=svc.NOTE_CHARS)


_LINE: dict[str, Any] = {
    "enrollment_id": _ENROLLMENT_ID,
    "learner_id": _LEARNER_ID,
    "learner_name": "王小明",
    "checked_in_at": "2026-12-12T08:52:13+08:00",
    "checked_out_at": "2026-12-12T12:03:40+08:00",
    "checkin_event_id": _EVENT_ID,
    "checkout_event_id": _EVENT2_ID,
    "credited_minutes": 180,
    "assessment": None,
}


class AttendanceLineOut(BaseModel):
    """One learner of the session's class: check-in, check-out, minutes, assessment."""

    model_config = ConfigDict(json_schema_extra={"examples": [_LINE]})

    enrollment_id: uuid.UUID
    learner_id: uuid.UUID
    learner_name: str
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    checkin_event_id: uuid.UUID | None
    checkout_event_id: uuid.UUID | None
    credited_minutes: int
    assessment: AssessmentOut | None

    @classmethod
    def of(cls, line: svc.AttendanceLine) -> AttendanceLineOut:
        a = line.attendance
        return cls(
            enrollment_id=line.enrollment.id,
            learner_id=line.learner.id,
            learner_name=line.learner.real_name or line.learner.username,
            checked_in_at=a.checkin_at if a else None,
            checked_out_at=a.checkout_at if a else None,
            checkin_event_id=a.checkin_event_id if a else None,
            checkout_event_id=a.checkout_event_id if a else None,
            credited_minutes=(a.credited_ms // 60_000) if a else 0,
            assessment=AssessmentOut.of(line.assessment) if line.assessment else None,
        )


class AttendanceSheetOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session": _SESSION,
                    "learners": [_LINE],
                }
            ]
        }
    )

    session: OfflineSessionOut
    learners: list[AttendanceLineOut]


class StationScanIn(BaseModel):
    """What the station's camera read from the learner's phone."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"token": _QR_EXAMPLE}]}
    )

    token: str = Field(min_length=1, max_length=400)


class StationCheckOut(BaseModel):
    """The streamed face check the station opened for the learner whose QR it scanned: stream
    the station camera's frames to ``frames_url``, then POST ``decide_url``."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "challenge_id": _CHALLENGE_ID,
                    "kind": "checkin",
                    "learner_id": _LEARNER_ID,
                    "learner_name": "王*明",
                    "expires_at": "2026-12-12T08:54:13+08:00",
                    "frames_url": f"/api/v1/offline-sessions/{_SESSION_ID}/station/checks/"
                    f"{_CHALLENGE_ID}/frames",
                    "decide_url": f"/api/v1/offline-sessions/{_SESSION_ID}/station/checks/"
                    f"{_CHALLENGE_ID}/decide",
                }
            ]
        }
    )

    challenge_id: uuid.UUID
    kind: Literal["checkin", "checkout"]
    learner_id: uuid.UUID
    learner_name: str = Field(description="masked: the station's screen faces the room")
    expires_at: datetime
    frames_url: str
    decide_url: str

    @classmethod
    def of(cls, c: station.StationCheck, session_id: uuid.UUID) -> StationCheckOut:
        base = f"/api/v1/offline-sessions/{session_id}/station/checks/"
        return cls(
            challenge_id=c.check.id,
            kind="checkin" if c.kind == svc.CHECKIN else "checkout",
            learner_id=c.learner.id,
            learner_name=mask_name(c.learner.real_name or c.learner.username),
            expires_at=c.check.expires_at,
            frames_url=f"{base}{c.check.id}/frames",
            decide_url=f"{base}{c.check.id}/decide",
        )


class StationResultOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "checkout",
                    "learner_id": _LEARNER_ID,
                    "learner_name": "王*明",
                    "attendance_id": _ATTENDANCE_ID,
                    "attendance_event_id": _EVENT2_ID,
                    "checked_in_at": "2026-12-12T08:52:13+08:00",
                    "checked_out_at": "2026-12-12T12:03:40+08:00",
                    "credited_minutes": 180,
                    "offline_minutes_total": 420,
                }
            ]
        }
    )

    kind: Literal["checkin", "checkout"]
    learner_id: uuid.UUID
    learner_name: str
    attendance_id: uuid.UUID
    attendance_event_id: uuid.UUID
    checked_in_at: datetime
    checked_out_at: datetime | None
    credited_minutes: int = Field(description="this session's offline minutes (at check-out)")
    offline_minutes_total: int = Field(description="the enrolment's offline minutes so far")

    @classmethod
    def of(cls, r: station.StationResult) -> StationResultOut:
        a = r.attendance
        return cls(
            kind="checkin" if r.kind == svc.CHECKIN else "checkout",
            learner_id=r.learner.id,
            learner_name=mask_name(r.learner.real_name or r.learner.username),
            attendance_id=a.id,
            attendance_event_id=r.event.id,
            checked_in_at=a.checkin_at,
            checked_out_at=a.checkout_at,
            credited_minutes=a.credited_ms // 60_000,
            offline_minutes_total=r.enrollment.offline_minutes,
        )


class MyOfflineSessionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session_id": _SESSION_ID,
                    "course_id": _COURSE_ID,
                    "course_title": "低压电工作业（五级）",
                    "enrollment_id": _ENROLLMENT_ID,
                    "title": _SESSION["title"],
                    "site_address": _SESSION["site_address"],
                    "starts_at": _SESSION["starts_at"],
                    "ends_at": _SESSION["ends_at"],
                    "cancelled_at": None,
                    "checked_in_at": "2026-12-12T08:52:13+08:00",
                    "checked_out_at": None,
                    "credited_minutes": 0,
                    "assessment_passed": None,
                    "assessment_note": None,
                    "qr_available": True,
                }
            ]
        }
    )

    session_id: uuid.UUID
    course_id: uuid.UUID
    course_title: str
    enrollment_id: uuid.UUID
    title: str
    site_address: str
    starts_at: datetime
    ends_at: datetime
    cancelled_at: datetime | None
    checked_in_at: datetime | None
    checked_out_at: datetime | None
    credited_minutes: int
    assessment_passed: bool | None
    assessment_note: str | None
    qr_available: bool = Field(description="the station takes this learner's QR now")

    @classmethod
    def of(cls, m: svc.MySession, now: datetime) -> MyOfflineSessionOut:
        a, o = m.attendance, m.offline
        return cls(
            session_id=o.id,
            course_id=o.course_id,
            course_title=m.course_title,
            enrollment_id=m.enrollment.id,
            title=o.title,
            site_address=o.site_address,
            starts_at=o.starts_at,
            ends_at=o.ends_at,
            cancelled_at=o.cancelled_at,
            checked_in_at=a.checkin_at if a else None,
            checked_out_at=a.checkout_at if a else None,
            credited_minutes=(a.credited_ms // 60_000) if a else 0,
            assessment_passed=m.assessment.passed if m.assessment else None,
            assessment_note=m.assessment.note if m.assessment else None,
            qr_available=(a is None or a.checkout_at is None) and m.token_open(now),
        )


class QrTokenOut(BaseModel):
    """The learner's station QR: show ``token`` as a QR code; fetch a new one after
    ``refresh_in_s`` seconds (each is good for one scan and ``expires_at``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "token": _QR_EXAMPLE,
                    "expires_at": "2026-12-12T08:53:13+08:00",
                    "refresh_in_s": 20,
                    "qr_svg": "data:image/svg+xml;charset=utf-8,%3Csvg%20xmlns%3D%22http%3A%2F%2F"
                    "www.w3.org%2F2000%2Fsvg%22%20viewBox%3D%220%200%2049%2049%22%3E…%3C%2Fsvg%3E",
                }
            ]
        }
    )

    token: str
    expires_at: datetime
    refresh_in_s: int
    qr_svg: str = Field(description="the token as an SVG QR code, a data: URI (for an <img>)")
