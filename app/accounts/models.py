"""Account tables: institutions, users, login and client throttles, API keys, consent records."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, new_id, str_enum, utcnow


class Role(StrEnum):
    learner = "learner"
    staff = "staff"
    regulator = "regulator"
    admin = "admin"


class LearnerGroup(StrEnum):
    """Target groups the subsidy statistics are kept for (DESIGN.md §1)."""

    enterprise_employee = "enterprise_employee"  # 企业职工
    migrant_worker = "migrant_worker"  # 农民工
    school_leaver = "school_leaver"  # 两后生
    unemployed = "unemployed"  # 失业人员
    ex_serviceman = "ex_serviceman"  # 退役军人
    employment_difficulty = "employment_difficulty"  # 就业困难人员（含残疾人）
    college_graduate = "college_graduate"  # 高校毕业生
    poverty_labourer = "poverty_labourer"  # 脱贫劳动力
    other = "other"


#: The groups' short Chinese names: what a roster's 人员类别 column says and claim exports print.
GROUP_NAMES_ZH: dict[LearnerGroup, str] = {
    LearnerGroup.enterprise_employee: "企业职工",
    LearnerGroup.migrant_worker: "农民工",
    LearnerGroup.school_leaver: "两后生",
    LearnerGroup.unemployed: "失业人员",
    LearnerGroup.ex_serviceman: "退役军人",
    LearnerGroup.employment_difficulty: "就业困难人员",
    LearnerGroup.college_graduate: "高校毕业生",
    LearnerGroup.poverty_labourer: "脱贫劳动力",
    LearnerGroup.other: "其他",
}


class InstitutionKind(StrEnum):
    """What kind of body runs the training (the registry's 机构类型)."""

    public = "public"  # 公办培训机构
    private = "private"  # 民办培训机构
    enterprise = "enterprise"  # 企业（职工培训中心等）
    technical_school = "technical_school"  # 技工院校


class RegistryStatus(StrEnum):
    """The registry status the regulator of the institution's jurisdiction sets
    (app/programmes/registry.py): only an approved institution opens classes, issues
    certificates and files claims."""

    pending = "pending"  # 待审核: created, not yet approved
    approved = "approved"  # 已核准 (for the occupations and levels in ``approved_scope``)
    suspended = "suspended"  # 已暂停
    revoked = "revoked"  # 已撤销 (final)


class Institution(SQLModel, table=True):
    __tablename__ = "institutions"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    code: str = Field(max_length=32, unique=True, index=True)
    name: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    #: Set while a platform admin has suspended the institution: its staff cannot sign in and
    #: its API keys are refused (app/accounts/administration.py); cleared on reactivation.
    suspended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    suspended_reason: str | None = Field(default=None, max_length=500)
    #: GB/T 2260 code of the region the institution is registered in (app/programmes): the
    #: regulators whose jurisdiction covers it see and supervise it. None (institutions created
    #: before regions existed): only national regulators see it until an admin sets the region.
    region_code: str | None = Field(
        default=None, foreign_key="regions.code", max_length=6, index=True
    )
    #: The registry record (app/programmes/registry.py). 统一社会信用代码 (GB 32100, validated by
    #: app/programmes/creditcode.py); None for institutions registered before the registry.
    credit_code: str | None = Field(default=None, max_length=18, unique=True, index=True)
    legal_name: str | None = Field(default=None, max_length=200)
    kind: InstitutionKind | None = Field(default=None, sa_type=str_enum(InstitutionKind, 32))
    #: Set only by the regulator of the institution's jurisdiction, each change audited with its
    #: reason in the institution's chain. Not the admin's ``suspended_at`` (a platform account
    #: measure: staff cannot sign in); a registry suspension leaves staff reading.
    registry_status: RegistryStatus = Field(
        default=RegistryStatus.pending,
        sa_type=str_enum(RegistryStatus),
        index=True,
    )
    #: What the approval covers: ``[{"occupation_code": "6-31-01-03", "level": "level4"}, …]``.
    approved_scope: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    registry_changed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def is_suspended(self) -> bool:
        return self.suspended_at is not None


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    # Stored as plain strings (no database enum type) so adding a value needs no migration.
    role: Role = Field(sa_type=str_enum(Role))
    institution_id: uuid.UUID | None = Field(
        default=None, foreign_key="institutions.id", index=True
    )
    real_name: str | None = Field(default=None, max_length=64)
    # ID number: AES-GCM ciphertext, HMAC blind index for uniqueness, masked form for display.
    id_number_enc: str | None = Field(default=None, max_length=255)
    id_number_index: str | None = Field(default=None, max_length=64, unique=True)
    id_number_masked: str | None = Field(default=None, max_length=18)
    phone: str | None = Field(default=None, max_length=20)
    #: A verified e-mail address (optional; app/accounts/email.py): stored in its one normalised
    #: spelling (NFKC, ASCII only, lower case), so the unique index is case-insensitive. Set only
    #: once the person typed back the code sent to it (``email_verified_at``).
    email: str | None = Field(default=None, max_length=254, unique=True, index=True)
    email_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    group: LearnerGroup | None = Field(default=None, sa_type=str_enum(LearnerGroup, 32))
    #: A regulator's jurisdiction: a region and everything under it (``000000``: national).
    #: Required for regulators, None for everyone else (app/programmes/jurisdiction.py).
    jurisdiction_code: str | None = Field(default=None, foreign_key="regions.code", max_length=6)
    #: False while an admin has locked the account (``locked_at``/``locked_reason`` say when and
    #: why, for the admin console); the audit chain keeps every lock and unlock.
    is_active: bool = True
    locked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    locked_reason: str | None = Field(default=None, max_length=500)
    biometric_consent: bool = False
    consent_version: str | None = Field(default=None, max_length=32)
    consent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    face_enrolled: bool = False
    # Bumped to invalidate every token issued before (password change, deactivation).
    token_version: int = 0
    #: Set when someone else chose the password (a temporary one from the institution's staff):
    #: the account signs in only to change it (app/accounts/recovery.py).
    must_change_password: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LoginThrottle(SQLModel, table=True):
    """Consecutive failed logins per username (existing or not, so nothing is revealed)."""

    __tablename__ = "login_throttles"

    username: str = Field(primary_key=True, max_length=64)
    failures: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_failure_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ClientThrottle(SQLModel, table=True):
    """Attempts from one client address in the current fixed window, per kind of attempt
    (``login`` failures, ``register`` attempts, ``handoff`` code misses): kept in the database
    so every app node counts together. Rows whose window has ended are deleted as new windows
    start (app/accounts/throttle.py)."""

    __tablename__ = "client_throttles"

    scope: str = Field(primary_key=True, max_length=16)
    #: The client's address (an IPv6 client's /64 network), as app/accounts/throttle.py keys it.
    client: str = Field(primary_key=True, max_length=64)
    count: int = 0
    window_ends_at: datetime = Field(sa_type=UTCDateTime, index=True)


class ApiKey(SQLModel, table=True):
    """A partner platform's key: one institution, named scopes, stored as a keyed hash only."""

    __tablename__ = "api_keys"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16, unique=True, index=True)
    key_hash: str = Field(max_length=64)
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(max_length=64)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ConsentRecord(SQLModel, table=True):
    """Every grant or withdrawal of biometric consent, with the text version shown."""

    __tablename__ = "consent_records"
    __table_args__ = (UniqueConstraint("user_id", "at", name="uq_consent_user_at"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    kind: str = Field(default="biometric", max_length=32)
    granted: bool
    version: str = Field(max_length=32)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)


class ActivationCode(SQLModel, table=True):
    """A one-time code with which a learner enrolled by their institution or employer sets their
    own username and password (app/accounts/activation.py). Only a keyed hash is stored."""

    __tablename__ = "activation_codes"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    code_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(max_length=64)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: Wrong codes tried against this learner's ID number; the code dies at the limit.
    failures: int = 0


class PasswordResetCode(SQLModel, table=True):
    """A one-time code sent to a user's phone (or e-mail) to set a new password themself
    (app/accounts/recovery.py). Only a keyed hash of the code, bound to the user, is stored;
    codes live minutes, die after a few wrong tries, and are never deleted (the audit names
    them by id)."""

    __tablename__ = "password_reset_codes"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    #: ``sms`` / ``email``: a password-reset code sent there; ``verify``: a code confirming a new
    #: e-mail address (``address``) for the account, which resets nothing.
    channel: str = Field(max_length=8)
    #: Where a ``verify`` code went: the address that becomes the account's once confirmed.
    address: str | None = Field(default=None, max_length=254)
    code_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failures: int = 0
