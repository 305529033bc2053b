"""Request and response models of regions and subsidy standards (with OpenAPI examples)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from app.accounts.models import LearnerGroup
from app.programmes.models import (
    CertificateKind,
    EvidenceKind,
    ExternalCertificate,
    ExternalStatus,
    FactStatus,
    LearnerGroupFact,
    ProgrammeKind,
    RegionLevel,
    ResidenceFact,
    ResidenceKind,
    StandardStatus,
    SubsidyStandard,
)
from app.validation import Text


class RegionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "code": "440305",
                    "name": "南山区",
                    "full_name": "广东省深圳市南山区",
                    "level": "county",
                    "parent_code": "440300",
                }
            ]
        }
    )

    code: str = Field(description="GB/T 2260 code (000000: national)")
    name: str
    full_name: str
    level: RegionLevel
    parent_code: str | None


_STANDARD_EXAMPLE: dict[str, JsonValue] = {
    "id": "0b6f3c3e-4e0e-4c1e-9d7a-5a2b7f1d2c3e",
    "region_code": "440300",
    "region_name": "广东省深圳市",
    "occupation_code": "6-31-01-03",
    "occupation_name": "电工",
    "level": "level4",
    "certificate_kind": "training_certificate",
    "programme_kind": "employment_skills",
    "uplift_percent": 0,
    "amount_fen": 150000,
    "effective_from": "2026-01-01",
    "effective_to": None,
    "version": 2,
    "status": "in_force",
    "note": "深人社规〔2026〕1号",
    "target_groups": ["unemployed", "migrant_worker"],
    "min_age": 16,
    "max_age": None,
    "retirement_rule": "statutory",
    "residence_kinds": ["household", "resident", "employed"],
    "max_per_year": 3,
}


class StandardIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "region_code": "440300",
                    "occupation_code": "6-31-01-03",
                    "occupation_name": "电工",
                    "level": "level4",
                    "certificate_kind": "training_certificate",
                    "programme_kind": "employment_skills",
                    "amount_fen": 150000,
                    "effective_from": "2026-01-01",
                    "note": "深人社规〔2026〕1号",
                }
            ]
        }
    )

    region_code: str | None = Field(
        default=None, max_length=12, description="A region in your jurisdiction (default: it)"
    )
    occupation_code: str = Field(max_length=32, description="《国家职业分类大典》 X-XX-XX-XX")
    occupation_name: Text = Field(max_length=100)
    level: str = Field(max_length=16, description="level5 … level1, or special")
    certificate_kind: CertificateKind = CertificateKind.training_certificate
    programme_kind: ProgrammeKind = ProgrammeKind.employment_skills
    uplift_percent: int = Field(default=0, ge=0, le=100, description="project_based only")
    amount_fen: int = Field(ge=1, le=10_000_000, description="In fen (1 yuan = 100 fen)")
    effective_from: date
    effective_to: date | None = Field(default=None, description="Last day (inclusive)")
    note: Text | None = Field(default=None, max_length=500, description="e.g. the policy text")
    # the programme's eligibility rules (app/programmes/eligibility.py)
    target_groups: list[LearnerGroup] = Field(
        default_factory=list, max_length=9, description="Confirmed groups it is for (none: anyone)"
    )
    min_age: int | None = Field(default=None, ge=16, le=80, description="On the first day")
    max_age: int | None = Field(default=None, ge=16, le=80)
    retirement_rule: str | None = Field(
        default=None,
        max_length=32,
        description="Refuse people past the statutory retirement age of this named rule "
        "(statutory: men from 60, women from 55; statutory_female_worker: women from 50; both "
        "as raised gradually from 2025)",
    )
    residence_kinds: list[ResidenceKind] = Field(
        default_factory=list,
        max_length=3,
        description="One of these regions of the learner must lie in the standard's region",
    )
    max_per_year: int = Field(default=3, ge=1, le=12, description="Subsidised trainings a year")


class ConfirmIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"effective_from": "2026-12-04"}]})

    effective_from: date


class WithdrawIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "与省级标准重复，改用省级标准"}]}
    )

    reason: Text = Field(min_length=1, max_length=500)


class StandardOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_STANDARD_EXAMPLE]})

    id: uuid.UUID
    region_code: str
    region_name: str
    occupation_code: str
    occupation_name: str
    level: str
    certificate_kind: CertificateKind
    programme_kind: ProgrammeKind
    uplift_percent: int
    amount_fen: int
    effective_from: date
    effective_to: date | None
    version: int
    status: StandardStatus
    note: str | None
    target_groups: list[str]
    min_age: int | None
    max_age: int | None
    retirement_rule: str | None
    residence_kinds: list[str]
    max_per_year: int

    @classmethod
    def of(cls, s: SubsidyStandard, region_name: str) -> StandardOut:
        return cls.model_validate({**s.model_dump(), "region_name": region_name})


class InForceOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subsidised": True,
                    "amount_fen": 150000,
                    "on_date": "2026-12-03",
                    "standard": _STANDARD_EXAMPLE,
                    "capped_by": None,
                }
            ]
        }
    )

    subsidised: bool
    amount_fen: int = Field(description="What a certificate issued that day would carry")
    on_date: date
    standard: StandardOut | None
    capped_by: StandardOut | None = Field(description="A region above whose lower amount applies")


# ---------------------------------------------------------------- facts behind eligibility

_GROUP_FACT_EXAMPLE: dict[str, JsonValue] = {
    "id": "5f0c2b9e-7d3a-4e8b-9a61-2c4d8e1f3a70",
    "user_id": "2d1f0e7c-93a4-4b51-8f2e-6a7c9d0b1e23",
    "group": "ex_serviceman",
    "evidence_kind": "veteran_card",
    "evidence_number": "粤退证 440300-0012",
    "status": "confirmed",
    "reason": None,
    "created_at": "2026-03-02T02:00:00Z",
    "decided_at": "2026-03-02T02:00:00Z",
    "decided_by": "user:7b9e4c1a-0f2d-4e3b-8a5c-1d6e9f0a2b34",
}
_RESIDENCE_EXAMPLE: dict[str, JsonValue] = {
    "id": "8a2e4c6b-1d3f-4a5b-9c7d-0e1f2a3b4c5d",
    "user_id": "2d1f0e7c-93a4-4b51-8f2e-6a7c9d0b1e23",
    "kind": "resident",
    "region_code": "440305",
    "region_name": "广东省深圳市南山区",
    "evidence_kind": "other_document",
    "evidence_number": "居住证 4403050001",
    "status": "confirmed",
    "reason": None,
    "created_at": "2026-03-02T02:00:00Z",
    "decided_at": "2026-03-02T02:00:00Z",
    "decided_by": "user:7b9e4c1a-0f2d-4e3b-8a5c-1d6e9f0a2b34",
}
_EXTERNAL_EXAMPLE: dict[str, JsonValue] = {
    "id": "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f",
    "user_id": "2d1f0e7c-93a4-4b51-8f2e-6a7c9d0b1e23",
    "institution_id": "9e8d7c6b-5a49-4382-a1f0-e9d8c7b6a504",
    "kind": "skill_level",
    "number": "S000044030500001",
    "issuer": "深圳市南山区职业技能鉴定所",
    "issued_on": "2026-03-10",
    "occupation_code": "6-31-01-03",
    "occupation_name": "电工",
    "level": "level4",
    "scan_media_type": "application/pdf",
    "scan_bytes": 182344,
    "scan_sha256": "9f2b5c0e8d1a4b7c6e3f2a1d0c9b8a7e6f5d4c3b2a1908f7e6d5c4b3a2918070",
    "status": "recorded",
    "reason": None,
    "recorded_at": "2026-03-12T02:00:00Z",
    "recorded_by": "user:7b9e4c1a-0f2d-4e3b-8a5c-1d6e9f0a2b34",
    "decided_at": None,
    "decided_by": None,
}


class GroupFactIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "group": "ex_serviceman",
                    "evidence_kind": "veteran_card",
                    "evidence_number": "粤退证 440300-0012",
                }
            ]
        }
    )

    group: LearnerGroup
    evidence_kind: EvidenceKind = Field(description="What staff saw (not self_declared)")
    evidence_number: Text | None = Field(default=None, max_length=64)


class GroupFactOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_GROUP_FACT_EXAMPLE]})

    id: uuid.UUID
    user_id: uuid.UUID
    group: str
    evidence_kind: EvidenceKind
    evidence_number: str | None
    status: FactStatus
    reason: str | None
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None

    @classmethod
    def of(cls, f: LearnerGroupFact) -> GroupFactOut:
        return cls.model_validate(f.model_dump())


class ResidenceFactIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "kind": "resident",
                    "region_code": "440305",
                    "evidence_kind": "other_document",
                    "evidence_number": "居住证 4403050001",
                }
            ]
        }
    )

    kind: ResidenceKind
    region_code: str = Field(max_length=12, description="GB/T 2260 code")
    evidence_kind: EvidenceKind
    evidence_number: Text | None = Field(default=None, max_length=64)


class ResidenceFactOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_RESIDENCE_EXAMPLE]})

    id: uuid.UUID
    user_id: uuid.UUID
    kind: ResidenceKind
    region_code: str
    region_name: str
    evidence_kind: EvidenceKind
    evidence_number: str | None
    status: FactStatus
    reason: str | None
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None

    @classmethod
    def of(cls, f: ResidenceFact, region_name: str) -> ResidenceFactOut:
        return cls.model_validate({**f.model_dump(), "region_name": region_name})


class FactDecisionIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"decision": "verify"},
                {"decision": "reject", "reason": "退役证号与档案不符"},
            ]
        }
    )

    decision: Literal["verify", "reject"] = Field(
        description="verify: regulators; reject: regulators or the learner's institution"
    )
    reason: Text | None = Field(default=None, max_length=500, description="Required to reject")


class ExternalDecisionIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"decision": "confirm"},
                {"decision": "reject", "reason": "证书编号在鉴定机构系统中查询不到"},
            ]
        }
    )

    decision: Literal["confirm", "reject"]
    reason: Text | None = Field(default=None, max_length=500, description="Required to reject")


class ExternalCertificateOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXTERNAL_EXAMPLE]})

    id: uuid.UUID
    user_id: uuid.UUID
    institution_id: uuid.UUID
    kind: CertificateKind
    number: str
    issuer: str
    issued_on: date
    occupation_code: str
    occupation_name: str
    level: str | None
    scan_media_type: str
    scan_bytes: int
    scan_sha256: str
    status: ExternalStatus
    reason: str | None
    recorded_at: datetime
    recorded_by: str
    decided_at: datetime | None
    decided_by: str | None

    @classmethod
    def of(cls, e: ExternalCertificate) -> ExternalCertificateOut:
        return cls.model_validate(e.model_dump())


class LearnerEligibilityOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "learner_id": "2d1f0e7c-93a4-4b51-8f2e-6a7c9d0b1e23",
                    "id_number_masked": "440305********0011",
                    "household_region_code": "440305",
                    "declared_group": "ex_serviceman",
                    "groups": [_GROUP_FACT_EXAMPLE],
                    "residences": [_RESIDENCE_EXAMPLE],
                    "external_certificates": [_EXTERNAL_EXAMPLE],
                }
            ]
        }
    )

    learner_id: uuid.UUID
    id_number_masked: str | None
    household_region_code: str | None = Field(description="The ID number's first 6 digits")
    declared_group: LearnerGroup | None = Field(description="What the learner declared")
    groups: list[GroupFactOut]
    residences: list[ResidenceFactOut]
    external_certificates: list[ExternalCertificateOut]
