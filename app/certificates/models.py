"""Certificate tables: the certificates, their per-institution serial counters, issuing settings.

A certificate keeps a snapshot of everything it states (name, masked ID, course, occupation,
level, verified minutes, quiz score, roll-call counts, subsidy standard), so the PDF, the signed
credential and the verification page say the same thing forever, whatever changes later.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Integer, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.accounts.models import LearnerGroup
from app.courses.models import Level
from app.dbtypes import UTCDateTime, new_id, str_enum, utcnow


class CertificateStatus(StrEnum):
    valid = "valid"
    revoked = "revoked"


class Certificate(SQLModel, table=True):
    __tablename__ = "certificates"
    __table_args__ = (
        UniqueConstraint("institution_id", "year", "seq", name="uq_certificate_seq"),
        UniqueConstraint(
            "institution_id", "status_list", "status_index", name="uq_certificate_status_entry"
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    serial: str = Field(max_length=64, unique=True, index=True)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    #: Asia/Shanghai calendar year of issue and the number within it (the serial's parts).
    year: int
    seq: int
    # One certificate per enrolment, whoever asks and however often.
    enrollment_id: uuid.UUID = Field(foreign_key="enrollments.id", unique=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    course_id: uuid.UUID = Field(foreign_key="courses.id", index=True)
    # Snapshot of the learner
    learner_name: str = Field(max_length=64)
    id_number_masked: str = Field(max_length=18)
    learner_group: LearnerGroup | None = Field(default=None, sa_type=str_enum(LearnerGroup, 32))
    #: Salt of the credential's hashed identifier (sha256 of ID number + salt).
    identity_salt: str = Field(max_length=64)
    # Snapshot of the course and of what the learner achieved in it
    course_title: str = Field(max_length=200)
    occupation_code: str = Field(max_length=32, index=True)
    occupation_name: str = Field(max_length=100)
    level: Level = Field(sa_type=str_enum(Level))
    required_minutes: int
    credited_minutes: int
    #: Blended training: offline practical minutes credited at offline sessions (verified
    #: check-in to check-out) and what the course required; None on certificates of courses
    #: without offline training (and on those issued before it existed).
    offline_minutes: int | None = None
    offline_required_minutes: int | None = None
    quiz_score: int | None = None
    pass_score: int
    rollcalls_total: int
    rollcalls_passed: int
    min_pass_rate: int
    #: Verified minutes, roll-call pass rate and at least one random roll-call all held.
    attendance_passed: bool
    #: The amount of the subsidy standard in force for the institution's region on the issue
    #: date (0: none was); the standard and its version are recorded with it, so later
    #: versions change nothing (app/programmes/standards.py). Certificates issued before
    #: standards existed carry the course's old amount and no standard.
    subsidy_fen: int
    subsidy_standard_id: uuid.UUID | None = Field(default=None, foreign_key="subsidy_standards.id")
    subsidy_standard_version: int | None = None
    #: The region whose standard applied (the institution's own or the nearest one above).
    subsidy_region_code: str | None = Field(default=None, max_length=6)
    #: Issued before class filing (开班备案) was required (migration 0031): the ``class_filed``
    #: subsidy rule does not apply to it (app/certificates/subsidy.py).
    issued_before_class_filing: bool = False
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The training period: the first study session's start and the last one's end (None: the
    #: certificate predates the snapshot, or no session was recorded).
    study_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    study_ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The credential's Bitstring Status List entry, allocated at issue time
    #: (app/certificates/status.py); None for certificates issued before status lists existed.
    status_list: int | None = None
    status_index: int | None = None
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    issued_by: str = Field(max_length=128)
    credential_jwt: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: CertificateStatus = Field(
        default=CertificateStatus.valid, sa_type=str_enum(CertificateStatus), index=True
    )
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_reason: str | None = Field(default=None, max_length=500)
    revoked_by: str | None = Field(default=None, max_length=128)
    #: The institution's seal image in force at issue (:class:`SealImage`); None: no seal then.
    #: A later seal does not change a certificate already issued.
    seal_sha256: str | None = Field(default=None, max_length=64, foreign_key="seal_images.sha256")


class SealImage(SQLModel, table=True):
    """An institution's seal as placed on its certificates: a normalised PNG with a transparent
    background, addressed by its sha256. Kept in the database (small, and every app node reads
    it); never deleted, since issued certificates and the audit chain refer to it."""

    __tablename__ = "seal_images"

    sha256: str = Field(max_length=64, primary_key=True)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    png: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    width: int
    height: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(max_length=128)


class CertificateCounter(SQLModel, table=True):
    """The last serial number used per institution and year; row-locked while issuing."""

    __tablename__ = "certificate_counters"

    institution_id: uuid.UUID = Field(foreign_key="institutions.id", primary_key=True)
    year: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    last_seq: int = 0


class CertificateSettings(SQLModel, table=True):
    """An institution's choices about certificates (no row: the defaults)."""

    __tablename__ = "certificate_settings"

    institution_id: uuid.UUID = Field(foreign_key="institutions.id", primary_key=True)
    #: Issue the certificate the moment an enrolment completes, without anyone asking.
    auto_issue: bool = False
    #: The seal placed on certificates issued from now on (None: the printed "盖章" line only).
    seal_sha256: str | None = Field(default=None, max_length=64, foreign_key="seal_images.sha256")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_by: str = Field(max_length=128)


class CertificatePhoto(SQLModel, table=True):
    """A learner's photo for their certificates' PDFs, kept only while they consent to it
    (app/certificates/photo.py).

    Granting copies the learner's enrolment evidence crop here, byte for byte (``sha256`` is the
    enrolment event's ``evidence_sha256``), so the photo outlives the evidence retention period
    only for a learner who asked for it. Withdrawing deletes ``jpeg`` and stamps
    ``withdrawn_at``; the row, its hash and its event stay, since the audit chain refers to them.
    At most one row per learner has ``withdrawn_at`` unset (the service holds the learner's row
    lock while it changes them)."""

    __tablename__ = "certificate_photos"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    sha256: str = Field(max_length=64, index=True)
    #: The enrolment attendance event whose evidence crop this is a copy of.
    source_event_id: uuid.UUID = Field(foreign_key="attendance_events.id")
    jpeg: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    width: int
    height: int
    granted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
