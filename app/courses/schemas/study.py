"""Study sessions (app/api/study.py): check-in, heartbeats, roll-calls and their answers,
exceptions staff grant, progress and the ledger check."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.attendance import reasons
from app.attendance.models import Outcome
from app.courses.models import (
    RollCallStatus,
    SessionState,
)
from app.courses.rollcall import MAX_ATTEMPTS
from app.courses.rollcall_report import RollCallReport
from app.courses.schemas.content import LessonProgressOut
from app.validation import MultilineText


class CheckInOut(BaseModel):
    session_id: uuid.UUID
    attendance_event_id: uuid.UUID
    heartbeat_interval_s: int
    state: SessionState


class HeartbeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    visible: bool = Field(description="The study page was visible since the last heartbeat")
    lesson_id: uuid.UUID | None = Field(
        default=None, description="The lesson on screen (one of the enrolment's course)"
    )
    position_ms: int | None = Field(
        default=None,
        ge=0,
        le=24 * 3600 * 1000,
        description="A video lesson's playback position in milliseconds. A video lesson earns "
        "the newly watched span since the previous heartbeat (at most the wall-time gap), "
        "nothing without a position or when playing from beyond the furthest point watched",
    )


class RollCallOffer(BaseModel):
    rollcall_id: uuid.UUID
    deadline: datetime


class LessonTimeOut(BaseModel):
    """The lesson a heartbeat named, after it: what the study page's lesson list shows."""

    lesson_id: uuid.UUID
    watched_seconds: int = Field(description="Confirmed seconds watched or read in the lesson")
    open_seconds: int = Field(
        description="Seconds earned in it since the last passed face check: confirmed at the "
        "next roll-call (or forfeited if it fails, strict policy)"
    )
    required_seconds: int = Field(description="What the lesson requires")
    finished: bool = Field(description="The confirmed seconds reach the requirement")


class HeartbeatOut(BaseModel):
    credited_seconds: int = Field(description="Verified seconds of the enrolment so far")
    rollcall: RollCallOffer | None
    state: SessionState
    earned_seconds: int
    furthest_position_ms: int | None = Field(
        default=None,
        description="A video lesson's furthest watched point (ms): the player may seek up to "
        "it, not beyond",
    )
    open_seconds: int = Field(
        default=0,
        description="Of credited_seconds, the part since the last passed face check (confirmed "
        "at the next roll-call)",
    )
    held_seconds: int = Field(
        default=0, description="The enrolment's study time held for a staff review decision"
    )
    forfeited_seconds: int = Field(
        default=0, description="The enrolment's study time lost to failed or missed roll-calls"
    )
    lesson: LessonTimeOut | None = Field(
        default=None, description="The lesson the heartbeat named, after it (none without one)"
    )


_RC = "0b6f3c52-5d1e-4b8a-9a57-3f1f2d6a8c11"
_EV = "6f2d9a0e-8c4b-4f7e-b1a3-2c5d7e9f0a12"
_EV2 = "7a3e0b1f-9d5c-4a8f-82b4-3d6e8f0a1b23"


class RollCallAnswerOut(BaseModel):
    """One attempt at a roll-call and where the roll-call stands after it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "outcome": "failed",
                    "attendance_event_id": _EV,
                    "rollcall_status": "pending",
                    "attempt": 1,
                    "attempts_left": 2,
                    "reason_code": "liveness_failed",
                    "forfeited_seconds": 0,
                    "stretch_from": None,
                    "credited_seconds": 1830,
                },
                {
                    "outcome": "failed",
                    "attendance_event_id": _EV2,
                    "rollcall_status": "failed",
                    "attempt": 3,
                    "attempts_left": 0,
                    "reason_code": "face_mismatch",
                    "forfeited_seconds": 720,
                    "stretch_from": "2026-12-03T06:05:00Z",
                    "credited_seconds": 1110,
                },
            ]
        }
    )

    outcome: Outcome = Field(description="This attempt's face check")
    attendance_event_id: uuid.UUID
    rollcall_status: RollCallStatus = Field(
        description="pending: try again with a fresh challenge (attempts_left > 0)"
    )
    attempt: int = Field(default=1, description="Which attempt this was (1, 2, …)")
    attempts_left: int = Field(default=0, description="Chances left within the response window")
    reason_code: str | None = Field(
        default=None, description="Why this attempt failed (liveness_failed, face_mismatch, …)"
    )
    forfeited_seconds: int = Field(
        default=0, description="Study time the roll-call cost (strict policy, once it failed)"
    )
    stretch_from: datetime | None = Field(
        default=None,
        description="Start of the stretch of study the roll-call closed (credited, held or "
        "forfeited): the last passed face check",
    )
    credited_seconds: int | None = Field(
        default=None,
        description="The enrolment's verified seconds after this answer, as the heartbeat "
        "counts them (confirmed plus the open stretch)",
    )


class RollCallAttemptOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "attempt": 1,
                    "attendance_event_id": _EV,
                    "outcome": "failed",
                    "reason_code": "liveness_failed",
                    "reason_category": "liveness",
                    "at": "2026-12-03T06:17:12Z",
                }
            ]
        }
    )

    attempt: int
    attendance_event_id: uuid.UUID
    outcome: Outcome
    reason_code: str | None
    reason_category: reasons.Category | None = Field(
        description="What kind of failure (app/attendance/reasons.py): the face did not match, "
        "the actions were not done, the frames were unusable, or not one live camera's"
    )
    at: datetime


class RollCallExceptionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "at": "2026-12-03T07:30:00Z",
                    "by": "3e9d1a46-5b8c-4f4d-a073-1c2e6f8b0d57",
                    "reason": "学员来电说明摄像头故障，已视频核实为本人",
                    "restored_seconds": 720,
                }
            ]
        }
    )

    at: datetime
    by: uuid.UUID | None
    reason: str | None
    restored_seconds: int


class RollCallOut(BaseModel):
    """A roll-call: its attempts, what it cost, and any exception staff granted."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rollcall_id": _RC,
                    "enrollment_id": "1c7b9e24-3f6a-4d2b-8e51-9a0c4d6f8b35",
                    "session_id": "2d8c0f35-4a7b-4e3c-9f62-0b1d5e7a9c46",
                    "status": "failed",
                    "offered_at": "2026-12-03T06:17:00Z",
                    "deadline": "2026-12-03T06:18:30Z",
                    "answered_at": "2026-12-03T06:18:02Z",
                    "max_attempts": 3,
                    "attempts_left": 0,
                    "attempts": [
                        {
                            "attempt": n,
                            "attendance_event_id": ev,
                            "outcome": "failed",
                            "reason_code": "face_mismatch",
                            "reason_category": "match",
                            "at": at,
                        }
                        for n, ev, at in [
                            (1, _EV, "2026-12-03T06:17:12Z"),
                            (2, _EV2, "2026-12-03T06:17:40Z"),
                            (3, "8b4f1c20-ae6d-4b90-93c5-4e7f9a1b2c34", "2026-12-03T06:18:02Z"),
                        ]
                    ],
                    "stretch_from": "2026-12-03T06:05:00Z",
                    "forfeited_seconds": 0,
                    "held_seconds": 0,
                    "exception": {
                        "at": "2026-12-03T07:30:00Z",
                        "by": "3e9d1a46-5b8c-4f4d-a073-1c2e6f8b0d57",
                        "reason": "学员来电说明摄像头故障，已视频核实为本人",
                        "restored_seconds": 720,
                    },
                }
            ]
        }
    )

    rollcall_id: uuid.UUID
    enrollment_id: uuid.UUID
    session_id: uuid.UUID
    status: RollCallStatus
    offered_at: datetime
    deadline: datetime
    answered_at: datetime | None
    max_attempts: int
    attempts_left: int
    attempts: list[RollCallAttemptOut]
    stretch_from: datetime | None
    forfeited_seconds: int
    held_seconds: int
    exception: RollCallExceptionOut | None

    @classmethod
    def of(cls, r: RollCallReport) -> RollCallOut:
        rc = r.rollcall
        return cls(
            rollcall_id=rc.id,
            enrollment_id=rc.enrollment_id,
            session_id=rc.session_id,
            status=rc.status,
            offered_at=rc.offered_at,
            deadline=rc.deadline,
            answered_at=rc.answered_at,
            max_attempts=MAX_ATTEMPTS,
            attempts_left=r.attempts_left,
            attempts=[
                RollCallAttemptOut(
                    attempt=a.attempt,
                    attendance_event_id=a.attendance_event_id,
                    outcome=Outcome(a.outcome),
                    reason_code=a.reason_code,
                    reason_category=reasons.category(a.reason_code)
                    if a.outcome != "passed"
                    else None,
                    at=a.created_at,
                )
                for a in r.attempts
            ],
            stretch_from=r.stretch_from,
            forfeited_seconds=r.forfeited_ms // 1000,
            held_seconds=r.held_ms // 1000,
            exception=(
                RollCallExceptionOut(
                    at=rc.excused_at,
                    by=rc.excused_by,
                    reason=rc.excuse_reason,
                    restored_seconds=r.restored_ms // 1000,
                )
                if rc.excused_at is not None
                else None
            ),
        )


class RollCallExceptionIn(BaseModel):
    """Excuse a failed or missed roll-call; the reason is kept and audited."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "学员来电说明摄像头故障，已视频核实为本人"}]},
    )

    reason: MultilineText = Field(min_length=1, max_length=500)


class SessionOut(BaseModel):
    session_id: uuid.UUID
    state: SessionState
    credited_seconds: int


class ProgressOut(BaseModel):
    enrollment_id: uuid.UUID
    course_id: uuid.UUID
    credited_minutes: int
    required_minutes: int
    quiz_passed: bool
    best_quiz_score: int | None
    rollcalls_total: int
    rollcalls_passed: int
    rollcall_pass_rate: int | None
    min_pass_rate: int
    complete: bool
    completed_at: datetime | None
    missing: list[str]
    missing_zh: list[str]
    require_each_lesson: bool = Field(
        default=False, description="completion also needs every lesson finished"
    )
    lessons_finished: int | None = None
    lessons_total: int | None = None
    offline_minutes: int = Field(
        default=0, description="offline practical minutes credited at offline sessions"
    )
    offline_required_minutes: int = Field(
        default=0, description="offline practical minutes completion needs (0: none)"
    )
    lessons: list[LessonProgressOut] = Field(
        default_factory=list, description="each lesson: what was watched (or read) of it"
    )


class LedgerOut(BaseModel):
    stored_seconds: int
    recomputed_seconds: int
    forfeited_seconds: int
    held_seconds: int
    stored_rollcalls: list[int]
    recomputed_rollcalls: list[int]
    matches: bool
    per_day: dict[str, int]
