"""Request and response bodies of the certificates, subsidy and training-record API."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.accounts.models import LearnerGroup
from app.certificates import credential
from app.certificates.models import Certificate, CertificateStatus
from app.certificates.service import mask_name
from app.courses.models import LEVEL_NAMES_ZH, Level
from app.validation import MultilineText


class IssuedOut(BaseModel):
    serial: str
    credential_jwt: str = Field(description="Open Badges 3.0 OpenBadgeCredential as a VC-JWT")
    pdf_url: str
    verify_url: str


class CertificateOut(BaseModel):
    id: uuid.UUID
    serial: str
    status: CertificateStatus
    enrollment_id: uuid.UUID
    user_id: uuid.UUID
    course_id: uuid.UUID
    institution_id: uuid.UUID
    learner_name: str
    id_number_masked: str
    course: str
    occupation_code: str
    occupation: str
    level: Level
    level_name: str
    minutes: int
    hours: float
    quiz_score: int | None
    rollcalls_total: int
    rollcalls_passed: int
    attendance_passed: bool
    issued_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None
    credential_jwt: str
    pdf_url: str
    verify_url: str
    identity_salt: str | None = Field(
        default=None,
        description="Only for the learner: the salt of the credential's identityHash, to prove "
        "the credential is theirs (sha256(ID number + salt)).",
    )


class VerifyOut(BaseModel):
    """What anyone holding the serial may learn about a certificate."""

    serial: str
    valid: bool
    status: CertificateStatus
    learner_name_masked: str
    course: str
    occupation: str
    occupation_code: str
    level: Level
    level_name: str
    hours: float
    minutes: int
    institution: str
    issued_at: datetime
    revoked_at: datetime | None
    revoked_reason: str | None

    @classmethod
    def of(cls, cert: Certificate, *, institution: str) -> VerifyOut:
        return cls(
            serial=cert.serial,
            valid=cert.status is CertificateStatus.valid,
            status=cert.status,
            learner_name_masked=mask_name(cert.learner_name),
            course=cert.course_title,
            occupation=cert.occupation_name,
            occupation_code=cert.occupation_code,
            level=cert.level,
            level_name=LEVEL_NAMES_ZH[cert.level],
            hours=credential.hours(cert.credited_minutes),
            minutes=cert.credited_minutes,
            institution=institution,
            issued_at=cert.issued_at,
            revoked_at=cert.revoked_at,
            revoked_reason=cert.revoked_reason,
        )


class RevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: MultilineText = Field(min_length=1, max_length=500)


class RuleOut(BaseModel):
    rule: str
    passed: bool
    detail: str
    detail_zh: str


class SubsidyOut(BaseModel):
    serial: str
    eligible: bool
    amount_fen: int
    rules: list[RuleOut]


class CertificateSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_issue: bool = Field(description="Issue the certificate as soon as an enrolment completes")


class CertificateSettingsOut(BaseModel):
    institution_id: uuid.UUID
    auto_issue: bool
    updated_at: datetime | None
    seal_sha256: str | None = Field(
        default=None, description="The seal certificates issued from now on carry (None: none)"
    )
    seal_url: str | None = Field(
        default=None, description="The seal image (PNG), when there is one"
    )


class CertificatePhotoIn(BaseModel):
    """The learner's choice about a photo on their certificates."""

    enabled: bool = Field(
        description="True: print my enrolment photo on my certificates' PDFs (a copy is kept "
        "for as long as I consent); False: withdraw (the copy is deleted, new PDFs omit it)"
    )


class CertificatePhotoOut(BaseModel):
    """Whether the learner's certificates show their photo (off unless they turned it on)."""

    enabled: bool
    sha256: str | None = Field(
        default=None,
        description="SHA-256 of the kept photo: the enrolment event's evidence crop hash",
    )
    source_event_id: uuid.UUID | None = Field(
        default=None, description="The face enrolment event the photo was taken at"
    )
    granted_at: datetime | None = None
    image_url: str | None = Field(default=None, description="The kept photo (JPEG), when on")


class RecordCertificateOut(BaseModel):
    serial: str
    status: CertificateStatus
    issued_at: datetime
    verify_url: str


class RecordSubsidyOut(BaseModel):
    eligible: bool
    amount_fen: int
    refused_by: list[str]


class RecordEntryOut(BaseModel):
    enrollment_id: uuid.UUID
    course_id: uuid.UUID
    course: str
    institution: str
    occupation_code: str
    occupation: str
    level: Level
    level_name: str
    enrolled_at: datetime
    credited_minutes: int
    required_minutes: int
    hours: float
    offline_minutes: int = Field(
        default=0, description="offline practical minutes (verified check-in to check-out)"
    )
    offline_required_minutes: int = Field(
        default=0, description="offline practical minutes the course requires (0: none)"
    )
    rollcalls_total: int
    rollcalls_passed: int
    rollcall_pass_rate: int | None
    min_pass_rate: int
    quiz_passed: bool
    best_quiz_score: int | None
    complete: bool
    completed_at: datetime | None
    certificate: RecordCertificateOut | None
    subsidy: RecordSubsidyOut | None


class RecordOut(BaseModel):
    learner_id: uuid.UUID
    real_name: str | None
    id_number_masked: str | None
    group: LearnerGroup | None
    enrollments: list[RecordEntryOut]
    completed: int
    certificates: int
    subsidised: int
    subsidy_total_fen: int
