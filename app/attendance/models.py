"""Attendance tables: challenges, face templates, attendance events, frame hashes, locks."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.dbtypes import UTCDateTime, new_id, str_enum, utcnow


class Purpose(StrEnum):
    """Why a face was checked."""

    enrol = "enrol"
    checkin = "checkin"
    rollcall = "rollcall"
    quiz = "quiz"
    partner = "partner"  # a partner platform's own capture
    #: Blended training (app/courses/offline.py): a learner at an offline session's check-in
    #: station, arriving and leaving; the station's camera, the learner's own QR.
    offline_checkin = "offline_checkin"
    offline_checkout = "offline_checkout"


class Outcome(StrEnum):
    passed = "passed"
    failed = "failed"
    review = "review"  # between the accept and reject thresholds, or a 1:N duplicate: staff decide


class ReviewStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class TemplateStatus(StrEnum):
    pending = "pending"  # held while a 1:N duplicate is reviewed
    active = "active"
    retired = "retired"  # replaced by a newer enrolment
    deleted = "deleted"  # consent withdrawn: the embeddings are wiped, the row stays for the audit


class FaceChallenge(SQLModel, table=True):
    """A single-use liveness challenge: random nonce and actions, short expiry."""

    __tablename__ = "face_challenges"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    nonce: str = Field(max_length=64)
    actions: list[str] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    issued_to: str = Field(default="learner", max_length=64)  # "learner" or "api_key:<id>"
    #: ``burst``: the actions are known up front and a finished burst is uploaded (partners that
    #: capture frames themselves); ``streamed``: a check session (app/attendance/checks.py) —
    #: frames arrive one by one and the server reveals the actions as they go.
    mode: str = Field(default="burst", max_length=16)
    #: Streamed: the secret plan and its progress (``app.attendance.streaming.Schedule``).
    schedule: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    #: Streamed: arrival of the first frame (the stream's time zero).
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class FaceCheckFrame(SQLModel, table=True):
    """One frame streamed to a check session, stamped on arrival. Held only until the check is
    decided (the attendance event keeps the frames' hashes), then deleted."""

    __tablename__ = "face_check_frames"
    __table_args__ = (UniqueConstraint("challenge_id", "seq", name="uq_face_check_frames_seq"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    challenge_id: uuid.UUID = Field(foreign_key="face_challenges.id", index=True)
    seq: int
    #: Milliseconds since the check's first frame arrived, by the server's clock.
    t_ms: int
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sha256: str = Field(max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class FaceTemplate(SQLModel, table=True):
    """A learner's enrolled face: several embeddings, AES-GCM encrypted at rest."""

    __tablename__ = "face_templates"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    status: TemplateStatus = Field(sa_type=str_enum(TemplateStatus), index=True)
    embeddings_enc: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    embeddings_sha256: str = Field(max_length=64)
    n_embeddings: int
    #: The model that made the embeddings (``app.attendance.face.ModelIdentity``): only
    #: templates of the configured engine's model are compared (1:1 and 1:N); any other is
    #: "outdated" and its learner re-enrols at the next face check.
    face_engine: str = Field(max_length=16)
    model_name: str = Field(max_length=64)
    model_version: str = Field(max_length=64)
    model_sha256: str = Field(max_length=64)
    enrol_event_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    retired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    #: The ``face_index_clock`` value of the transaction that last wrote the row, stamped as it
    #: commits (app/attendance/templateclock.py): the 1:N indexes of every node load only the rows
    #: changed since the value they have seen.
    change_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, index=True))


class FaceIndexClock(SQLModel, table=True):
    """One row: how many transactions have changed face templates (``seq``), and ``epoch``, a
    random name given when the row is created, so an index that saw another database (restored,
    emptied) notices and loads again. The row lock orders those transactions' commits."""

    __tablename__ = "face_index_clock"

    id: int = Field(default=1, primary_key=True)
    epoch: str = Field(max_length=32)
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))


class AttendanceEvent(SQLModel, table=True):
    """One face verification, with everything a regulator needs to trace the decision."""

    __tablename__ = "attendance_events"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    institution_id: uuid.UUID | None = Field(default=None, index=True)
    purpose: Purpose = Field(sa_type=str_enum(Purpose))
    challenge_id: uuid.UUID | None = Field(default=None)
    actions: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    frame_sha256: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Scores as decimal strings: exact in the audit payload and across databases. Despite the
    # column names (kept for the API), with ``match_metric`` "cosine" (SFace) they are cosine
    # similarities (larger = closer; best = the largest); with "euclidean" (dlib) distances.
    best_distance: str | None = Field(default=None, max_length=16)
    median_distance: str | None = Field(default=None, max_length=16)
    accept_threshold: str = Field(max_length=16)
    reject_threshold: str = Field(max_length=16)
    match_metric: str = Field(max_length=16)
    face_engine: str = Field(max_length=16)
    model_name: str = Field(max_length=64)
    model_version: str = Field(max_length=64)
    model_sha256: str = Field(max_length=64)
    liveness: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Presentation-attack signal (app/attendance/pad.py): the burst's median probability of a
    # live face and the models that gave it; None when not measured.
    pad_score: str | None = Field(default=None, max_length=16)
    pad_model: str | None = Field(default=None, max_length=64)
    # Re-enrolment after a model switch (app/attendance/reenrol.py): the learner's previous
    # template, the new frames' fused score against it in that template's model and metric, and
    # the accept threshold it had to meet.
    prior_template_id: uuid.UUID | None = Field(default=None)
    prior_score: str | None = Field(default=None, max_length=16)
    prior_threshold: str | None = Field(default=None, max_length=16)
    outcome: Outcome = Field(sa_type=str_enum(Outcome), index=True)
    reason_code: str | None = Field(default=None, max_length=64)
    matched_user_id: uuid.UUID | None = Field(default=None)  # 1:N duplicate: the other account
    client_ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=300)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    evidence_path: str | None = Field(default=None, max_length=255)
    evidence_sha256: str | None = Field(default=None, max_length=64)
    evidence_purged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_status: ReviewStatus | None = Field(
        default=None, sa_type=str_enum(ReviewStatus), index=True
    )
    reviewed_by: uuid.UUID | None = Field(default=None)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    review_reason: str | None = Field(default=None, max_length=500)


class FrameHash(SQLModel, table=True):
    """SHA-256 of every frame that reached a decision: a frame is never accepted twice."""

    __tablename__ = "frame_hashes"

    sha256: str = Field(primary_key=True, max_length=64)
    user_id: uuid.UUID = Field(index=True)
    event_id: uuid.UUID
    seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class VerificationLock(SQLModel, table=True):
    """Consecutive failed verifications of a learner and the back-off they earned."""

    __tablename__ = "verification_locks"

    user_id: uuid.UUID = Field(primary_key=True, foreign_key="users.id")
    failures: int = 0
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class HandoffPurpose(StrEnum):
    """The face check a hand-off continues on a phone (a subset of :class:`Purpose`)."""

    enrol = "enrol"
    checkin = "checkin"
    rollcall = "rollcall"
    quiz = "quiz"


class HandoffState(StrEnum):
    waiting = "waiting"  # created on the desktop, not yet opened on a phone
    opened = "opened"  # the phone opened the link or took a challenge
    passed = "passed"  # the operation succeeded: closed
    failed = "failed"  # the last try failed (closed only when no further try can help)
    expired = "expired"  # replaced by a newer hand-off (past expires_at is expired too)


class FaceHandoff(SQLModel, table=True):
    """One pending face check of one learner, continued on a phone through a short code.

    Only the code's keyed hash is stored; the code is the credential for exactly this check.
    """

    __tablename__ = "face_handoffs"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", index=True)
    code_sha256: str = Field(max_length=64, unique=True, index=True)
    purpose: HandoffPurpose = Field(sa_type=str_enum(HandoffPurpose, 16))
    enrollment_id: uuid.UUID | None = Field(default=None, foreign_key="enrollments.id")
    rollcall_id: uuid.UUID | None = Field(default=None, foreign_key="rollcalls.id")
    state: HandoffState = Field(default=HandoffState.waiting, sa_type=str_enum(HandoffState, 16))
    reason: str | None = Field(default=None, max_length=64)
    #: On success what the operation returned (ids and values); on failure the error's details.
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    attempts: int = 0
    #: The challenge the phone took last: frames must answer this one.
    challenge_id: uuid.UUID | None = Field(default=None)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    opened_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# Every process that can write a face template stamps its commits on the change clock.
from app.attendance import templateclock as _templateclock  # noqa: E402,F401
