"""Response models of the reports API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class EvidenceOut(BaseModel):
    kind: str = Field(description="attendance_event, face_template, enrollment, study_session, …")
    id: str
    url: str | None = Field(default=None, description="API path of the record, if it has one")
    detail: dict[str, Any] = {}


class FindingOut(BaseModel):
    summary: str
    subjects: list[str] = Field(description="Learner ids (or `course:<id>`, `institution:<id>`)")
    metrics: dict[str, Any] = {}
    evidence: list[EvidenceOut]


class IndicatorOut(BaseModel):
    code: str
    title: str
    title_zh: str
    fired: bool
    findings: list[FindingOut]


class FraudReportOut(BaseModel):
    generated_at: str
    institution_id: str | None = Field(description="None: every institution")
    parameters: dict[str, Any]
    indicators: list[IndicatorOut]
