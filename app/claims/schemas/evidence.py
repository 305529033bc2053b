"""Response body of a line's evidence: attendance summary, face checks with their crops,
roll-calls, quiz attempts, fraud findings that name the learner."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.claims.schemas.examples import (
    FACE_CHECK_EXAMPLE,
    FRAUD_EXAMPLE,
    LINE_ID,
    QUIZ_EXAMPLE,
    ROLLCALL_EXAMPLE,
    examples,
)


class FaceCheckOut(BaseModel):
    model_config = examples(FACE_CHECK_EXAMPLE, from_attributes=True)

    id: uuid.UUID
    purpose: str
    outcome: str
    reason_code: str | None = None
    score: str | None = None
    accept_threshold: str
    match_metric: str
    review_status: str | None = None
    at: datetime
    url: str
    crop_url: str | None = Field(default=None, description="The evidence face crop, while kept")


class RollCallEvidenceOut(BaseModel):
    model_config = examples(ROLLCALL_EXAMPLE, from_attributes=True)

    id: uuid.UUID
    offered_at: datetime
    deadline: datetime
    status: str
    answered_at: datetime | None = None
    attendance_event_id: uuid.UUID | None = None


class QuizEvidenceOut(BaseModel):
    model_config = examples(QUIZ_EXAMPLE, from_attributes=True)

    id: uuid.UUID
    started_at: datetime
    submitted_at: datetime | None = None
    score: int | None = None
    passed: bool | None = None


class FraudHitOut(BaseModel):
    model_config = examples(FRAUD_EXAMPLE, from_attributes=True)

    indicator: str
    title_zh: str
    summary: str
    evidence: list[dict[str, Any]]


class LineEvidenceOut(BaseModel):
    model_config = examples(
        {
            "line_id": LINE_ID,
            "serial": "SZJN-2026-000128",
            "certificate_status": "valid",
            "revoked_reason": None,
            "required_minutes": 2400,
            "credited_minutes": 2412,
            "study_sessions": 31,
            "quiz_score": 92,
            "pass_score": 60,
            "rollcalls_total": 64,
            "rollcalls_passed": 61,
            "min_pass_rate": 80,
            "attendance_passed": True,
            "study_started_at": "2026-02-03T19:02:11+08:00",
            "study_ended_at": "2026-03-18T19:30:02+08:00",
            "face_checks": [FACE_CHECK_EXAMPLE],
            "rollcalls": [ROLLCALL_EXAMPLE],
            "quiz_attempts": [QUIZ_EXAMPLE],
            "fraud": [FRAUD_EXAMPLE],
        },
        from_attributes=True,
    )

    line_id: uuid.UUID
    serial: str
    certificate_status: str
    revoked_reason: str | None = None
    required_minutes: int
    credited_minutes: int
    study_sessions: int
    quiz_score: int | None = None
    pass_score: int
    rollcalls_total: int
    rollcalls_passed: int
    min_pass_rate: int
    attendance_passed: bool
    study_started_at: datetime | None = None
    study_ended_at: datetime | None = None
    face_checks: list[FaceCheckOut]
    rollcalls: list[RollCallEvidenceOut]
    quiz_attempts: list[QuizEvidenceOut]
    fraud: list[FraudHitOut]
