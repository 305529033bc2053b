"""Response models of the reports API."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field

from app.accounts.models import LearnerGroup
from app.courses.models import Level


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


class SummaryCountsOut(BaseModel):
    enrolled: int = Field(description="Enrolments created in the period")
    trained: int = Field(
        description=(
            "Enrolments with at least one verified minute, counted in the period of their first "
            "credited day (of enrolment if no daily credit is recorded)"
        )
    )
    qualified: int = Field(description="Certificates issued in the period and not revoked")
    certificates_revoked: int = Field(
        description="Certificates issued in the period that have since been revoked"
    )
    subsidy_eligible: int = Field(
        description="Certificates issued in the period that are granted a subsidy"
    )
    subsidy_amount_fen: int = Field(description="Sum of their subsidy amounts, in fen")
    outcomes_recorded: int = Field(
        default=0,
        description="Valid certificates of the period whose training has an employment outcome",
    )
    employed: int = Field(
        default=0,
        description="Of those, employed or self-employed (实现就业，含自主创业、灵活就业)",
    )
    offline_trained: int = Field(
        default=0,
        description="Blended training: enrolments that completed an offline practical session "
        "(verified check-in and check-out) in the period",
    )
    offline_minutes: int = Field(
        default=0,
        description="Offline practical minutes credited in the period (apart from online study)",
    )

    @computed_field(description="employed / qualified (None when nobody qualified)")  # type: ignore[prop-decorator]
    @property
    def employment_rate(self) -> float | None:
        return round(self.employed / self.qualified, 4) if self.qualified else None


class SummaryRowOut(SummaryCountsOut):
    period: str = Field(
        description="Asia/Shanghai month `YYYY-MM`, quarter `YYYY-Qn` or year `YYYY`"
    )
    institution_id: str
    institution_code: str
    institution_name: str
    region_code: str = Field(
        default="", description="GB/T 2260 code of the institution's region (empty: not set)"
    )
    region_name: str = Field(default="", description="e.g. 广东省深圳市南山区")
    occupation_code: str
    occupation_name: str
    level: Level
    learner_group: LearnerGroup | None = Field(description="None: not recorded")


class SummaryOut(BaseModel):
    generated_at: str
    institution_id: str | None = Field(description="None: every institution")
    period: Literal["month", "quarter", "year"]
    since: date | None = Field(description="First Asia/Shanghai day counted (None: open)")
    until: date | None = Field(description="First Asia/Shanghai day not counted (None: open)")
    rows: list[SummaryRowOut]
    totals: SummaryCountsOut
