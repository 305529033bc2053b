"""Tables of the regulators' side: administrative regions (GB/T 2260), subsidy standards."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, new_id, str_enum, utcnow


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
    level: RegionLevel = Field(sa_type=str_enum(RegionLevel))
    parent_code: str | None = Field(
        default=None, foreign_key="regions.code", max_length=6, index=True
    )


class ProgrammeKind(StrEnum):
    employment_skills = "employment_skills"  # 就业技能培训
    upgrading = "upgrading"  # 岗位技能提升培训
    project_based = "project_based"  # 项目制培训 (with an uplift %)
    apprenticeship = "apprenticeship"  # 企业新型学徒制
    #: 参保职工技能提升补贴: paid to the insured employee, who applies (app/programmes/kinds.py).
    insured_upgrading = "insured_upgrading"


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
    certificate_kind: CertificateKind = Field(sa_type=str_enum(CertificateKind, 32))
    programme_kind: ProgrammeKind = Field(sa_type=str_enum(ProgrammeKind, 32))
    uplift_percent: int = 0
    amount_fen: int
    effective_from: date
    #: The last day it applies (inclusive); None: until a newer version starts.
    effective_to: date | None = None
    version: int
    status: StandardStatus = Field(sa_type=str_enum(StandardStatus), index=True)
    note: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(max_length=128)
    # ---- who the programme is for: the eligibility rules as data (app/programmes/eligibility.py)
    #: The target groups (values of app.accounts.models.LearnerGroup) a learner must hold one of,
    #: confirmed by staff; empty: anyone.
    target_groups: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: Age limits in whole years on the first day of training (None: no limit).
    min_age: int | None = None
    max_age: int | None = None
    #: A named statutory retirement-age rule of app/programmes/data/retirement_ages.json (e.g.
    #: ``statutory``): people past it on the first day of training are refused. None: no rule.
    retirement_rule: str | None = Field(default=None, max_length=32)
    #: The residence kinds (values of :class:`ResidenceKind`) of which the learner must have one
    #: inside the standard's region; empty: anyone, wherever they live.
    residence_kinds: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: Subsidised trainings per learner per calendar year (每人每年不超过 3 次).
    max_per_year: int = 3


# ---------------------------------------------------------------- facts behind eligibility


class EvidenceKind(StrEnum):
    """What proves that a learner belongs to a target group (staff see it, the number is kept)."""

    unemployment_registration = "unemployment_registration"  # 就业失业登记证
    veteran_card = "veteran_card"  # 退役军人证（优待证）
    disability_certificate = "disability_certificate"  # 残疾人证
    employment_difficulty_certificate = "employment_difficulty_certificate"  # 就业困难人员认定
    graduation_certificate = "graduation_certificate"  # 毕业证书
    poverty_registration = "poverty_registration"  # 脱贫人口（防止返贫监测）登记
    labour_contract = "labour_contract"  # 劳动合同
    social_insurance = "social_insurance"  # 社会保险缴费记录
    household_register = "household_register"  # 户口簿（农业户籍）
    other_document = "other_document"  # 其他证明材料
    self_declared = "self_declared"  # the learner's own declaration (no evidence seen yet)


class FactStatus(StrEnum):
    declared = "declared"  # said by the learner (or migrated): counts for nothing yet
    confirmed = "confirmed"  # staff saw the evidence: counts
    verified = "verified"  # the regulator checked it too: counts
    rejected = "rejected"  # staff or the regulator found it wrong: counts for nothing


class LearnerGroupFact(SQLModel, table=True):
    """One target group a learner belongs to, with its evidence: a learner may hold several
    (a 退役军人 who is also registered unemployed). Staff of the learner's institution confirm
    it, a regulator whose jurisdiction covers the institution may verify or reject it."""

    __tablename__ = "learner_group_facts"
    __table_args__ = (UniqueConstraint("user_id", "group", name="uq_learner_group_fact"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    group: str = Field(max_length=32)  # a value of app.accounts.models.LearnerGroup
    evidence_kind: EvidenceKind = Field(sa_type=str_enum(EvidenceKind, 40))
    evidence_number: str | None = Field(default=None, max_length=64)
    status: FactStatus = Field(sa_type=str_enum(FactStatus))
    reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(max_length=128)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=128)


class ResidenceKind(StrEnum):
    household = "household"  # 户籍地: the ID number's first 6 digits at issue
    resident = "resident"  # 常住地 (居住证)
    employed = "employed"  # 就业地 (劳动合同, 社保)


class ResidenceFact(SQLModel, table=True):
    """Where a learner lives or works, beyond the 户籍 region the ID number states: one row per
    kind, confirmed by staff from evidence (a 居住证, a labour contract, social insurance)."""

    __tablename__ = "residence_facts"
    __table_args__ = (UniqueConstraint("user_id", "kind", name="uq_residence_fact"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    kind: ResidenceKind = Field(sa_type=str_enum(ResidenceKind))
    region_code: str = Field(foreign_key="regions.code", max_length=6)
    evidence_kind: EvidenceKind = Field(sa_type=str_enum(EvidenceKind, 40))
    evidence_number: str | None = Field(default=None, max_length=64)
    status: FactStatus = Field(sa_type=str_enum(FactStatus))
    reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(max_length=128)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=128)


class ExternalStatus(StrEnum):
    recorded = "recorded"  # staff recorded it: counts for nothing until the regulator confirms
    confirmed = "confirmed"
    rejected = "rejected"


class ExternalCertificate(SQLModel, table=True):
    """A certificate someone else issued (职业技能等级证书 by a recognised evaluation organisation,
    专项职业能力证书, 特种作业操作证), recorded by staff with a scan; it counts for a programme
    that requires its kind only once a regulator whose jurisdiction covers the recording
    institution confirmed it. Never deleted (the audit chain refers to it)."""

    __tablename__ = "external_certificates"
    __table_args__ = (UniqueConstraint("kind", "number", name="uq_external_certificate_number"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    kind: CertificateKind = Field(sa_type=str_enum(CertificateKind, 32))
    number: str = Field(max_length=64)
    issuer: str = Field(max_length=200)
    issued_on: date
    occupation_code: str = Field(max_length=16)
    occupation_name: str = Field(max_length=100)
    level: str | None = Field(default=None, max_length=16)  # skill-level certificates only
    scan_key: str = Field(max_length=200)
    scan_sha256: str = Field(max_length=64)
    scan_media_type: str = Field(max_length=32)
    scan_bytes: int
    status: ExternalStatus = Field(sa_type=str_enum(ExternalStatus), index=True)
    reason: str | None = Field(default=None, max_length=500)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    recorded_by: str = Field(max_length=128)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: str | None = Field(default=None, max_length=128)


def declared_group(user_id: uuid.UUID, group: str, created_by: str) -> LearnerGroupFact:
    """The group a learner (or a roster) declared at registration: counts for nothing until
    staff confirm it from evidence (app/programmes/facts.py)."""
    return LearnerGroupFact(
        user_id=user_id,
        group=group,
        evidence_kind=EvidenceKind.self_declared,
        status=FactStatus.declared,
        created_by=created_by,
    )
