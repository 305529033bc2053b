"""What a regulator looks at before deciding a claim line: the evidence behind it.

For the line's certificate and enrolment: the attendance summary (verified minutes against the
requirement, sessions, roll-call pass rate, quiz), every face check of the learner during the
training (with a link to its evidence crop while the crop is kept), the roll-calls, the quiz
attempts, the certificate's state now, and every fraud indicator finding that names the learner.
Staff of the institution see the same for their own lines (the review is no secret to them).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from app.attendance.models import AttendanceEvent
from app.certificates.models import Certificate, CertificateStatus
from app.claims.service import get_line
from app.config import get_settings
from app.courses.models import Enrollment, QuizAttempt, RollCall, RollCallStatus, StudySession
from app.reports import fraud
from app.reports.scope import Scope

API = "/api/v1"


@dataclass(frozen=True)
class FaceCheck:
    id: uuid.UUID
    purpose: str
    outcome: str
    reason_code: str | None
    score: str | None
    accept_threshold: str
    match_metric: str
    review_status: str | None
    at: datetime
    url: str
    crop_url: str | None


@dataclass(frozen=True)
class RollCallRow:
    id: uuid.UUID
    offered_at: datetime
    deadline: datetime
    status: str
    answered_at: datetime | None
    attendance_event_id: uuid.UUID | None


@dataclass(frozen=True)
class QuizRow:
    id: uuid.UUID
    started_at: datetime
    submitted_at: datetime | None
    score: int | None
    passed: bool | None


@dataclass(frozen=True)
class FraudHit:
    indicator: str
    title_zh: str
    summary: str
    evidence: list[dict[str, Any]]


@dataclass(frozen=True)
class LineEvidence:
    line_id: uuid.UUID
    serial: str
    certificate_status: str
    revoked_reason: str | None
    required_minutes: int
    credited_minutes: int
    study_sessions: int
    quiz_score: int | None
    pass_score: int
    rollcalls_total: int
    rollcalls_passed: int
    min_pass_rate: int
    attendance_passed: bool
    study_started_at: datetime | None
    study_ended_at: datetime | None
    face_checks: list[FaceCheck] = field(default_factory=list)
    rollcalls: list[RollCallRow] = field(default_factory=list)
    quiz_attempts: list[QuizRow] = field(default_factory=list)
    fraud: list[FraudHit] = field(default_factory=list)


def _window(cert: Certificate, enrollment: Enrollment | None) -> tuple[datetime, datetime]:
    start = cert.study_started_at or (enrollment.created_at if enrollment else cert.issued_at)
    end = cert.study_ended_at or cert.issued_at
    return start, max(end, cert.issued_at)


def fraud_hits(
    session: Session, institution_id: uuid.UUID, learner_id: uuid.UUID
) -> list[FraudHit]:
    """Findings of every fraud indicator over the institution that name the learner."""
    params = fraud.FraudParams(face_threshold=get_settings().face_thresholds()[0])
    scope = Scope(institution_id)
    out = []
    for code, (scan, _title, title_zh) in fraud.INDICATORS.items():
        for finding in scan(session, scope, params):
            if str(learner_id) in finding.subjects:
                out.append(
                    FraudHit(
                        indicator=code,
                        title_zh=title_zh,
                        summary=finding.summary,
                        evidence=[asdict(e) for e in finding.evidence],
                    )
                )
    return out


def line_evidence(session: Session, principal: Any, line_id: uuid.UUID) -> LineEvidence:
    line = get_line(session, principal, line_id)  # 404 outside the caller's reach
    cert = session.get(Certificate, line.certificate_id)
    assert cert is not None  # noqa: S101 - the foreign key
    enrollment = session.get(Enrollment, cert.enrollment_id)
    start, end = _window(cert, enrollment)
    events = session.exec(
        select(AttendanceEvent)
        .where(
            col(AttendanceEvent.user_id) == line.user_id,
            col(AttendanceEvent.created_at) >= start,
            col(AttendanceEvent.created_at) <= end,
        )
        .order_by(col(AttendanceEvent.created_at))
    ).all()
    rollcalls = session.exec(
        select(RollCall)
        .where(col(RollCall.enrollment_id) == cert.enrollment_id)
        .order_by(col(RollCall.offered_at))
    ).all()
    attempts = session.exec(
        select(QuizAttempt)
        .where(col(QuizAttempt.enrollment_id) == cert.enrollment_id)
        .order_by(col(QuizAttempt.started_at))
    ).all()
    sessions = session.exec(
        select(StudySession.id).where(col(StudySession.enrollment_id) == cert.enrollment_id)
    ).all()
    return LineEvidence(
        line_id=line.id,
        serial=cert.serial,
        certificate_status=cert.status.value,
        revoked_reason=cert.revoked_reason if cert.status is CertificateStatus.revoked else None,
        required_minutes=cert.required_minutes,
        credited_minutes=cert.credited_minutes,
        study_sessions=len(sessions),
        quiz_score=cert.quiz_score,
        pass_score=cert.pass_score,
        rollcalls_total=cert.rollcalls_total,
        rollcalls_passed=cert.rollcalls_passed,
        min_pass_rate=cert.min_pass_rate,
        attendance_passed=cert.attendance_passed,
        study_started_at=cert.study_started_at,
        study_ended_at=cert.study_ended_at,
        face_checks=[
            FaceCheck(
                id=e.id,
                purpose=e.purpose.value,
                outcome=e.outcome.value,
                reason_code=e.reason_code,
                score=e.best_distance,
                accept_threshold=e.accept_threshold,
                match_metric=e.match_metric,
                review_status=e.review_status.value if e.review_status else None,
                at=e.created_at,
                url=f"{API}/attendance-events/{e.id}",
                crop_url=(
                    f"{API}/attendance-events/{e.id}/evidence"
                    if e.evidence_path and e.evidence_purged_at is None
                    else None
                ),
            )
            for e in events
        ],
        rollcalls=[
            RollCallRow(
                id=r.id,
                offered_at=r.offered_at,
                deadline=r.deadline,
                status=r.status.value if isinstance(r.status, RollCallStatus) else str(r.status),
                answered_at=r.answered_at,
                attendance_event_id=r.attendance_event_id,
            )
            for r in rollcalls
        ],
        quiz_attempts=[
            QuizRow(
                id=a.id,
                started_at=a.started_at,
                submitted_at=a.submitted_at,
                score=a.score,
                passed=a.passed,
            )
            for a in attempts
        ],
        fraud=fraud_hits(session, line.institution_id, line.user_id),
    )
