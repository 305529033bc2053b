"""Request and response bodies of the face and attendance API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.attendance import reasons
from app.attendance.checks import FrameAck
from app.attendance.models import (
    AttendanceEvent,
    FaceChallenge,
    Outcome,
    Purpose,
    ReviewStatus,
)
from app.attendance.repository import ReviewRow, has_crop
from app.validation import MultilineText


class ChallengeOut(BaseModel):
    challenge_id: uuid.UUID
    nonce: str
    actions: list[str] = Field(
        description="Burst: the actions to film, in order. Streamed: empty — the server reveals "
        "each action in a frame's answer at a random moment"
    )
    expires_at: datetime
    mode: Literal["burst", "streamed"] = Field(
        default="burst",
        description="burst: send the frames in one request with the operation; streamed: send "
        "them one by one to frames_url, then submit the operation without frames",
    )
    frames_url: str | None = Field(
        default=None, description="Streamed: where to POST each frame (fields seq, frame)"
    )

    @classmethod
    def of(cls, c: FaceChallenge, frames_url: str | None = None) -> ChallengeOut:
        streamed = c.mode == "streamed"
        return cls(
            challenge_id=c.id,
            nonce=c.nonce,
            actions=[] if streamed else c.actions,
            expires_at=c.expires_at,
            mode="streamed" if streamed else "burst",
            frames_url=frames_url if streamed else None,
        )


class FrameAckOut(BaseModel):
    """The server's answer to one streamed frame: what to do now."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seq": 31,
                    "received_ms": 2604,
                    "action": "turn_left",
                    "step": 1,
                    "steps": 3,
                    "window_left_ms": 2410,
                    "complete": False,
                    "next_seq": 32,
                }
            ]
        }
    )

    seq: int
    received_ms: int = Field(description="Arrival, ms since the check's first frame (server clock)")
    action: Literal["blink", "blink_twice", "turn_left", "turn_right"] | None = Field(
        description="The action to do now (its window is open); null: just look at the camera"
    )
    step: int | None = Field(description="Which reveal (1-based) the action is")
    steps: int = Field(description="How many actions this check reveals")
    window_left_ms: int | None = Field(description="Time left to do the action")
    complete: bool = Field(description="Every window has closed: stop and submit the check")
    next_seq: int

    @classmethod
    def of(cls, ack: FrameAck) -> FrameAckOut:
        return cls(
            seq=ack.seq,
            received_ms=ack.t_ms,
            action=ack.action,
            step=ack.step,
            steps=ack.steps,
            window_left_ms=ack.window_left_ms,
            complete=ack.complete,
            next_seq=ack.next_seq,
        )


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
    reason_category: Literal["match", "liveness", "quality", "continuity", "review"] | None = Field(
        default=None,
        description="What the reason_code is about: match (not the enrolled face), liveness "
        "(the revealed actions not done in time), quality (no usable face), continuity "
        "(frames not one live camera's: replayed, repeated, out of order, another person)",
    )
    liveness_mode: Literal["burst", "streamed"] | None = Field(
        default=None,
        description="How liveness was checked: burst (a finished burst, e.g. a partner's own "
        "capture) or streamed (server-paced reveals over a live stream)",
    )

    @classmethod
    def of(cls, event: AttendanceEvent) -> EventOut:
        mode = (event.liveness or {}).get("mode")
        return cls.model_validate(
            {
                **event.model_dump(),
                "evidence_available": has_crop(event),
                "reason_category": reasons.category(event.reason_code),
                "liveness_mode": mode if mode in ("burst", "streamed") else None,
            }
        )


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
