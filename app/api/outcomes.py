"""Employment outcomes after training (实现就业), recorded by the institution's staff."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from app.accounts import exceptions as ax
from app.api.deps import SessionDep, UserPrincipal
from app.errors import Forbidden, NotAuthenticated, problem_responses
from app.outcomes import service as outcomes
from app.outcomes.models import EmploymentOutcome, OutcomeStatus
from app.validation import InvalidText

router = APIRouter(tags=["reports"])


class OutcomeIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "employed",
                    "on": "2026-04-15",
                    "employer": "深圳市南山区华强电气安装有限公司",
                    "si_reference": "SB440305-2026-0415-0031",
                },
                {
                    "status": "self_employed",
                    "on": "2026-05-01",
                    "employer": "个体工商户：小明家电维修",
                },
                {"status": "unknown", "on": "2026-06-30"},
            ]
        }
    )

    status: Literal["employed", "self_employed", "continuing", "unknown"]
    on: date = Field(description="When the job, business or further training started")
    employer: str | None = Field(default=None, max_length=200)
    si_reference: str | None = Field(
        default=None, max_length=100, description="Social-insurance check reference (社保核验)"
    )


class OutcomeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "enrollment_id": "3d4e5f60-7182-4a3b-9c4d-5e6f7a8b9c0d",
                    "status": "employed",
                    "on": "2026-04-15",
                    "employer": "深圳市南山区华强电气安装有限公司",
                    "si_reference": "SB440305-2026-0415-0031",
                    "recorded_by": "user:5e2f8a41-93c7-4b0d-8d1e-7f6a2c9b3d10",
                    "recorded_at": "2026-04-20T10:00:00+08:00",
                }
            ]
        }
    )

    enrollment_id: uuid.UUID
    status: OutcomeStatus
    on: date
    employer: str | None = None
    si_reference: str | None = None
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def of(cls, o: EmploymentOutcome) -> OutcomeOut:
        return cls(
            enrollment_id=o.enrollment_id,
            status=o.status,
            on=o.on,
            employer=o.employer,
            si_reference=o.si_reference,
            recorded_by=o.recorded_by,
            recorded_at=o.recorded_at,
        )


@router.put(
    "/enrollments/{enrollment_id}/outcome",
    response_model=OutcomeOut,
    responses=problem_responses(
        NotAuthenticated,
        ax.InvalidToken,
        ax.InsufficientRole,
        Forbidden,
        outcomes.OutcomeEnrollmentNotFound,
        outcomes.TrainingNotCompleted,
        outcomes.InvalidOutcome,
        InvalidText,
    ),
)
def put_outcome(
    enrollment_id: Annotated[uuid.UUID, Path()],
    body: OutcomeIn,
    principal: UserPrincipal,
    session: SessionDep,
) -> Any:
    """Record the learner's employment outcome after a completed training (staff)."""
    o = outcomes.record_outcome(
        session,
        principal,
        enrollment_id,
        status=OutcomeStatus(body.status),
        on=body.on,
        employer=body.employer,
        si_reference=body.si_reference,
    )
    return OutcomeOut.of(o)
