"""Tables of the regulators' side: administrative regions (GB/T 2260), subsidy standards."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Enum as SAEnum
from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, new_id, utcnow


class RegionLevel(StrEnum):
    national = "national"  # 全国: the root, code 000000 (not a GB/T 2260 code)
    province = "province"  # 省级: XX0000
    prefecture = "prefecture"  # 地级: XXXX00
    county = "county"  # 县级: XXXXXX


class Region(SQLModel, table=True):
    """An administrative region by its GB/T 2260 code; a jurisdiction is a region and every
    region under it (the code's significant prefix: 2, 4 or 6 digits)."""

    __tablename__ = "regions"

    code: str = Field(primary_key=True, min_length=6, max_length=6)
    name: str = Field(max_length=64)
    level: RegionLevel = Field(sa_type=SAEnum(RegionLevel, native_enum=False, length=16))
    parent_code: str | None = Field(
        default=None, foreign_key="regions.code", max_length=6, index=True
    )


class ProgrammeKind(StrEnum):
    employment_skills = "employment_skills"  # 就业技能培训
    upgrading = "upgrading"  # 岗位技能提升培训
    project_based = "project_based"  # 项目制培训 (with an uplift %)
    apprenticeship = "apprenticeship"  # 企业新型学徒制


class CertificateKind(StrEnum):
    training_certificate = "training_certificate"  # 培训合格证明 (this platform's)
    skill_level = "skill_level"  # 职业技能等级证书
    special_ability = "special_ability"  # 专项职业能力证书
    special_operations = "special_operations"  # 特种作业操作证


class StandardStatus(StrEnum):
    proposed = "proposed"  # from a course's old subsidy_fen: the regulator confirms or withdraws
    in_force = "in_force"
    withdrawn = "withdrawn"


class SubsidyStandard(SQLModel, table=True):
    """One version of a region's subsidy standard for an occupation, level and programme kind.

    A new version of the same key in the same region ends the previous one the day before it
    starts; certificates record the version they were paid from, so later versions change
    nothing already issued."""

    __tablename__ = "subsidy_standards"
    __table_args__ = (
        UniqueConstraint(
            "region_code",
            "occupation_code",
            "level",
            "programme_kind",
            "version",
            name="uq_subsidy_standard_version",
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    region_code: str = Field(foreign_key="regions.code", max_length=6, index=True)
    occupation_code: str = Field(max_length=16, index=True)
    occupation_name: str = Field(max_length=100)
    level: str = Field(max_length=16)  # the values of app.courses.models.Level
    certificate_kind: CertificateKind = Field(
        sa_type=SAEnum(CertificateKind, native_enum=False, length=32)
    )
    programme_kind: ProgrammeKind = Field(
        sa_type=SAEnum(ProgrammeKind, native_enum=False, length=32)
    )
    uplift_percent: int = 0
    amount_fen: int
    effective_from: date
    #: The last day it applies (inclusive); None: until a newer version starts.
    effective_to: date | None = None
    version: int
    status: StandardStatus = Field(
        sa_type=SAEnum(StandardStatus, native_enum=False, length=16), index=True
    )
    note: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(max_length=128)
