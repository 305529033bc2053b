"""Request and response bodies of the face and attendance API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.attendance.models import AttendanceEvent, Outcome, Purpose, ReviewStatus
from app.attendance.repository import ReviewRow, has_crop
from app.validation import MultilineText


class ChallengeOut(BaseModel):
    challenge_id: uuid.UUID
    nonce: str
    actions: list[str]
    expires_at: datetime


class EnrolOut(BaseModel):
    template_id: uuid.UUID
    attendance_event_id: uuid.UUID
    quality: dict[str, Any]


class FaceStatusOut(BaseModel):
    enrolled: bool
    template_id: uuid.UUID | None
    enrolled_at: datetime | None
    biometric_consent: bool
    reenrol_required: bool = Field(
        default=False,
        description="The template was made by an older face model: the next face check "
        "answers 409 face_reenrol_required until the learner enrols again",
    )
    template_model: str | None = Field(
        default=None, description="engine/model of the active template, e.g. sface/…"
    )


class VerifyOut(BaseModel):
    outcome: Outcome
    attendance_event_id: uuid.UUID
    reason_code: str | None
    median_distance: str | None
    accept_threshold: str
    reject_threshold: str
    match_metric: str = Field(
        description="cosine (SFace: similarities, larger = closer, pass at >= accept) or "
        "euclidean (dlib: distances, smaller = closer, pass at <= accept); the *_distance "
        "fields and thresholds are in this metric"
    )


class EventOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    institution_id: uuid.UUID | None
    purpose: Purpose
    outcome: Outcome
    reason_code: str | None
    challenge_id: uuid.UUID | None
    actions: list[str]
    frame_sha256: list[str]
    best_distance: str | None
    median_distance: str | None
    accept_threshold: str
    reject_threshold: str
    match_metric: str
    face_engine: str
    model_name: str
    model_version: str
    model_sha256: str
    liveness: dict[str, Any]
    pad_score: str | None = Field(
        default=None,
        description="Presentation-attack signal: the burst's median probability of a live face "
        "(0..1); below the configured level a check that would pass goes to review",
    )
    pad_model: str | None = Field(default=None, description="The PAD models that gave pad_score")
    prior_template_id: uuid.UUID | None = Field(
        default=None, description="Re-enrolment after a model switch: the previous template"
    )
    prior_score: str | None = Field(
        default=None,
        description="The new frames against the previous template, in its model and metric",
    )
    prior_threshold: str | None = Field(
        default=None, description="The previous model's accept threshold prior_score had to meet"
    )
    matched_user_id: uuid.UUID | None
    client_ip: str | None
    user_agent: str | None
    created_at: datetime
    evidence_sha256: str | None
    evidence_available: bool
    review_status: ReviewStatus | None
    reviewed_at: datetime | None
    review_reason: str | None

    @classmethod
    def of(cls, event: AttendanceEvent) -> EventOut:
        return cls.model_validate({**event.model_dump(), "evidence_available": has_crop(event)})


class ReviewItemOut(EventOut):
    learner_name: str | None
    enrolment_event_id: uuid.UUID | None = Field(
        description="The event of the learner's active enrolment: its crop to compare with"
    )

    @classmethod
    def of_row(cls, row: ReviewRow) -> ReviewItemOut:
        return cls.model_validate(
            {
                **EventOut.of(row.event).model_dump(),
                "learner_name": row.learner.real_name if row.learner else None,
                "enrolment_event_id": row.enrolment_event_id,
            }
        )


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["approve", "reject"]
    reason: MultilineText = Field(min_length=1, max_length=500)
