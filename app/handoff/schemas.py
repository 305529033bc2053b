"""The hand-off's request and response models (the REST API's /me/face/handoffs and
/handoffs/{code}/…); examples for the OpenAPI document are in app/api/examples/."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.attendance.models import HandoffPurpose, HandoffState


class HandoffIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: HandoffPurpose
    enrollment_id: uuid.UUID | None = Field(default=None, description="For checkin and quiz")
    rollcall_id: uuid.UUID | None = Field(default=None, description="For rollcall")


class HandoffCreated(BaseModel):
    handoff_id: uuid.UUID
    purpose: HandoffPurpose
    url: str = Field(description="The phone link; its last part is the code")
    code: str = Field(description="Shown once: only its hash is stored")
    expires_at: datetime
    expires_in_s: int
    qr_svg_url: str = Field(description="Same-origin SVG of the link as a QR code")


class HandoffStatusOut(BaseModel):
    handoff_id: uuid.UUID
    purpose: HandoffPurpose
    state: HandoffState
    reason: str | None = Field(description="Error code of the last failed try, or of expiry")
    closed: bool = Field(description="No further try is possible: create a new hand-off")
    expires_at: datetime
    expires_in_s: int
    attempts: int
    result: dict[str, Any] | None = Field(
        description="The body the direct call would have returned (once passed; also for a "
        "roll-call answered with another outcome)"
    )
    error: dict[str, Any] | None = Field(description="The last refusal's details")


class PhoneResultOut(BaseModel):
    """What the phone learns: the outcome only (the result itself is for the computer)."""

    purpose: HandoffPurpose
    state: HandoffState
    reason: str | None
    outcome: Literal["passed", "failed", "review"] | None = None
