"""Request and response models of regions and subsidy standards (with OpenAPI examples)."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from app.programmes.models import (
    CertificateKind,
    ProgrammeKind,
    RegionLevel,
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
