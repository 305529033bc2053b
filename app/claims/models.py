"""Claim tables: filed batches, their frozen lines, review decisions, payments, recoveries and
objections raised during the public notice.

A line is written once, at filing, and never updated: it is a snapshot of the learner, the
certificate, the course, the amount and every subsidy rule's outcome, with the SHA-256 of its
canonical content (``content_hash``) recorded in the filing's audit entry. What happens to a
line afterwards is appended beside it: review decisions (:class:`ClaimLineReview`), payments,
recovery items. A correction is a new line (a higher ``revision`` of the same certificate) that
names the line it corrects.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Date, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.accounts.models import LearnerGroup
from app.courses.models import Level
from app.dbtypes import UTCDateTime, new_id, str_enum, utcnow


class BatchStatus(StrEnum):
    filed = "filed"  # lines under the regulator's review
    approved = "approved"  # reviewed and approved: in public notice until notice_ends_at
    paid = "paid"  # payment recorded
    closed = "closed"  # approved with no line to pay (every line rejected)


class Payee(StrEnum):
    institution = "institution"  # paid to the training institution
    learner = "learner"  # paid to the learner's social security card account


class LineDecision(StrEnum):
    approved = "approved"
    rejected = "rejected"
    evidence_requested = "evidence_requested"
    evidence_provided = "evidence_provided"  # the institution answered: back to review


class RecoverySource(StrEnum):
    revocation = "revocation"  # the certificate behind a paid line was revoked
    finding = "finding"  # a regulator's finding on a paid line


class RecoveryStatus(StrEnum):
    open = "open"
    recovered = "recovered"
    written_off = "written_off"


class ObjectionStatus(StrEnum):
    open = "open"
    upheld = "upheld"  # the regulator agreed: the line is rejected
    dismissed = "dismissed"


class ClaimBatch(SQLModel, table=True):
    """One claim filed by an institution for a quarter (or a completed class)."""

    __tablename__ = "claim_batches"
    __table_args__ = (UniqueConstraint("institution_id", "seq", name="uq_claim_batch_seq"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    #: The institution's running number of batches; ``reference`` is built from it.
    seq: int
    reference: str = Field(max_length=64, unique=True)
    #: ``quarter`` (year + quarter) or ``class`` (a filed class, once classes exist).
    period_kind: str = Field(default="quarter", max_length=16)
    year: int | None = None
    quarter: int | None = None
    class_id: uuid.UUID | None = Field(default=None, index=True)
    #: The region whose regulator reviews it (set once regions exist; None: any regulator).
    region_code: str | None = Field(default=None, max_length=12, index=True)
    payee: Payee = Field(default=Payee.institution, sa_type=str_enum(Payee, 24))
    status: BatchStatus = Field(
        default=BatchStatus.filed, sa_type=str_enum(BatchStatus, 24), index=True
    )
    line_count: int = 0
    total_fen: int = 0
    #: SHA-256 over the lines' content hashes in line order (also in the filing's audit entry).
    lines_hash: str = Field(max_length=64)
    filed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    filed_by: str = Field(max_length=128)
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    approved_by: str | None = Field(default=None, max_length=128)
    notice_starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    notice_ends_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    paid_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ClaimLine(SQLModel, table=True):
    """One learner's certificate in a batch, frozen at filing. Never updated."""

    __tablename__ = "claim_lines"
    __table_args__ = (
        # One line per certificate and revision: two filers racing for the same certificate
        # cannot both win; a correction takes the next revision.
        UniqueConstraint("certificate_id", "revision", name="uq_claim_line_revision"),
        UniqueConstraint("batch_id", "no", name="uq_claim_line_no"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    batch_id: uuid.UUID = Field(foreign_key="claim_batches.id", index=True)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    no: int
    certificate_id: uuid.UUID = Field(foreign_key="certificates.id", index=True)
    serial: str = Field(max_length=64)
    revision: int = 1
    corrects_line_id: uuid.UUID | None = Field(default=None, foreign_key="claim_lines.id")
    # The learner, as at filing
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    learner_name: str = Field(max_length=64)
    id_number_masked: str = Field(max_length=18)
    #: The full ID number, AES-GCM encrypted (purpose ``id_number``): only regulators' exports
    #: decrypt it.
    id_number_enc: str | None = Field(default=None, max_length=255)
    learner_group: LearnerGroup | None = Field(default=None, sa_type=str_enum(LearnerGroup, 32))
    # The training, as at filing
    course_id: uuid.UUID = Field(foreign_key="courses.id")
    course_title: str = Field(max_length=200)
    occupation_code: str = Field(max_length=32)
    occupation_name: str = Field(max_length=100)
    level: Level = Field(sa_type=str_enum(Level, 16))
    credited_minutes: int
    issued_at: datetime = Field(sa_type=UTCDateTime)
    #: The programme (the first version of the standard's series: one id across its versions,
    #: app/programmes/standards.py ``programme_ids``) and the version of the regulator's subsidy
    #: standard the amount comes from (None for certificates issued before standards).
    programme_id: uuid.UUID | None = None
    standard_version_id: uuid.UUID | None = None
    amount_fen: int
    #: Every subsidy rule's outcome: ``[{rule, passed, detail, detail_zh}]``.
    rules: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    #: SHA-256 of the canonical JSON of everything above (app/claims/service.py ``line_content``).
    content_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ClaimLineReview(SQLModel, table=True):
    """A decision on a line, appended; a line's standing is its latest decision."""

    __tablename__ = "claim_line_reviews"
    __table_args__ = (
        # The n-th decision on a line: two regulators deciding at once cannot both be n-th.
        UniqueConstraint("line_id", "n", name="uq_claim_line_review_n"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    line_id: uuid.UUID = Field(foreign_key="claim_lines.id")
    n: int
    batch_id: uuid.UUID = Field(foreign_key="claim_batches.id", index=True)
    decision: LineDecision = Field(sa_type=str_enum(LineDecision, 24))
    reason: str | None = Field(default=None, max_length=500)
    actor: str = Field(max_length=128)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ClaimPayment(SQLModel, table=True):
    """A payment recorded by the regulator (the platform records payments; it moves no money)."""

    __tablename__ = "claim_payments"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    batch_id: uuid.UUID = Field(foreign_key="claim_batches.id", index=True)
    #: Set for a payment to one learner (programmes that pay individuals).
    line_id: uuid.UUID | None = Field(default=None, foreign_key="claim_lines.id", index=True)
    payee: Payee = Field(sa_type=str_enum(Payee, 24))
    amount_fen: int
    paid_on: date = Field(sa_column=Column(Date, nullable=False))
    reference: str = Field(max_length=100)
    #: The learner's social security card account, masked (payments to learners only).
    account_masked: str | None = Field(default=None, max_length=32)
    recorded_by: str = Field(max_length=128)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class RecoveryItem(SQLModel, table=True):
    """Money to recover from an institution for a paid line (追回补贴资金)."""

    __tablename__ = "claim_recoveries"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    batch_id: uuid.UUID = Field(foreign_key="claim_batches.id", index=True)
    line_id: uuid.UUID = Field(foreign_key="claim_lines.id", index=True)
    certificate_id: uuid.UUID = Field(foreign_key="certificates.id")
    source: RecoverySource = Field(sa_type=str_enum(RecoverySource, 24))
    amount_fen: int
    reason: str = Field(max_length=500)
    status: RecoveryStatus = Field(
        default=RecoveryStatus.open, sa_type=str_enum(RecoveryStatus, 24), index=True
    )
    due_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    created_by: str = Field(max_length=128)
    settled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    settled_by: str | None = Field(default=None, max_length=128)
    #: The receipt's reference (recovered) or the reason (written off).
    settled_reference: str | None = Field(default=None, max_length=500)


class NoticeObjection(SQLModel, table=True):
    """An objection raised against a batch (or one of its lines) during its public notice."""

    __tablename__ = "claim_objections"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    batch_id: uuid.UUID = Field(foreign_key="claim_batches.id", index=True)
    line_id: uuid.UUID | None = Field(default=None, foreign_key="claim_lines.id")
    institution_id: uuid.UUID = Field(foreign_key="institutions.id", index=True)
    text: str = Field(max_length=2000)
    #: How to reach the objector (optional), AES-GCM encrypted (purpose ``objection_contact``).
    contact_enc: str | None = Field(default=None, max_length=600)
    status: ObjectionStatus = Field(
        default=ObjectionStatus.open, sa_type=str_enum(ObjectionStatus, 24), index=True
    )
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_by: str | None = Field(default=None, max_length=128)
    resolution: str | None = Field(default=None, max_length=500)


class AccountKind(StrEnum):
    social_security_card = "social_security_card"  # 社会保障卡（金融账户）
    bank_card = "bank_card"  # 本人银行借记卡


class ClaimApplication(SQLModel, table=True):
    """A learner's own application for a subsidy paid to them (全程网办): the one-line batch it
    filed and the account the learner gave for the payment. Written once, never updated."""

    __tablename__ = "claim_applications"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    batch_id: uuid.UUID = Field(foreign_key="claim_batches.id", unique=True)
    line_id: uuid.UUID = Field(foreign_key="claim_lines.id", unique=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    certificate_id: uuid.UUID = Field(foreign_key="certificates.id", index=True)
    account_kind: AccountKind = Field(sa_type=str_enum(AccountKind, 24))
    #: The account number, AES-GCM encrypted (purpose ``payee_account``): decrypted only to
    #: record the payment.
    account_enc: str = Field(max_length=255)
    account_masked: str = Field(max_length=32)
    bank_name: str | None = Field(default=None, max_length=64)
    #: The learner declared being an employee insured against unemployment (the programme's
    #: condition); the regulator checks it against the social-insurance records.
    declared_insured: bool
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
