"""Request and response bodies of the claims API (batches, lines, reviews, payments,
recoveries, public notices and objections)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.claims.models import (
    BatchStatus,
    ClaimBatch,
    ClaimLine,
    ClaimLineReview,
    ClaimPayment,
    LineDecision,
    NoticeObjection,
    ObjectionStatus,
    Payee,
    RecoveryItem,
    RecoverySource,
    RecoveryStatus,
)
from app.claims.service import BatchView, Notice
from app.courses.models import LEVEL_NAMES_ZH, Level

BATCH_ID = "0b5c1f6e-3f7a-4c1e-9a53-5a0d4d7c2e11"
LINE_ID = "6f0e2a8b-91c4-4d3a-b0e2-7c9d1e5f3a20"
_INSTITUTION_ID = "c4a1d2e3-7b8f-4c9d-a0e1-f2b3c4d5e6f7"
_CERTIFICATE_ID = "a1b2c3d4-e5f6-4718-9a0b-1c2d3e4f5a6b"
_LEARNER_ID = "0b9c3f0e-6a51-4d7a-9f2e-2d4a8c1b7e55"
_COURSE_ID = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
_REGULATOR = "user:5e2f8a41-93c7-4b0d-8d1e-7f6a2c9b3d10"
_STAFF = "user:3f1a9c2e-8b7d-4e6f-a5c4-1b2d3e4f5a6b"
RULE_EXAMPLE: dict[str, Any] = {
    "rule": "max_per_year",
    "passed": True,
    "detail": "0 earlier subsidised certificate(s) in 2026; at most 3 per learner per year",
    "detail_zh": "2026 年已享受补贴 0 次；每人每年不超过 3 次",
}
REVIEW_EXAMPLE: dict[str, Any] = {
    "decision": "approved",
    "reason": None,
    "actor": _REGULATOR,
    "at": "2026-04-08T10:12:00+08:00",
}
LINE_EXAMPLE: dict[str, Any] = {
    "id": LINE_ID,
    "no": 1,
    "certificate_id": _CERTIFICATE_ID,
    "serial": "SZJN-2026-000128",
    "revision": 1,
    "corrects_line_id": None,
    "learner_id": _LEARNER_ID,
    "learner_name": "王小明",
    "id_number_masked": "440306********105X",
    "course_title": "低压电工作业（线上理论）",
    "occupation_code": "6-31-01-03",
    "occupation_name": "电工",
    "level": "level4",
    "level_name": "四级/中级工",
    "credited_minutes": 2412,
    "issued_at": "2026-03-20T16:42:07+08:00",
    "programme_id": None,
    "standard_version_id": None,
    "amount_fen": 150000,
    "rules": [RULE_EXAMPLE],
    "content_hash": "5d41402abc4b2a76b9719d911017c592ae5c6e3d9f0b5f0c8a4b7e2d1c3f9a07",
    "decision": "approved",
    "paid": False,
    "reviews": [REVIEW_EXAMPLE],
}
PAYMENT_EXAMPLE: dict[str, Any] = {
    "id": "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d",
    "line_id": None,
    "payee": "institution",
    "amount_fen": 150000,
    "paid_on": "2026-04-20",
    "reference": "深财拨〔2026〕118号",
    "account_masked": None,
    "recorded_by": _REGULATOR,
    "recorded_at": "2026-04-20T15:30:00+08:00",
}
OBJECTION_EXAMPLE: dict[str, Any] = {
    "id": "2d0a8c4e-5b1f-4e6a-9c3d-8f7e6a5b4c31",
    "batch_id": BATCH_ID,
    "line_id": LINE_ID,
    "text": "公示名单中的王*明本人并未参加该培训。",
    "status": "dismissed",
    "received_at": "2026-04-12T10:30:00+08:00",
    "resolved_at": "2026-04-14T09:00:00+08:00",
    "resolution": "经核查人脸核验与随机点名记录，学员本人参训",
}
BATCH_SUMMARY_EXAMPLE: dict[str, Any] = {
    "id": BATCH_ID,
    "reference": "SZJN-B00003",
    "institution_id": _INSTITUTION_ID,
    "period_kind": "quarter",
    "year": 2026,
    "quarter": 1,
    "class_id": None,
    "payee": "institution",
    "status": "approved",
    "line_count": 1,
    "total_fen": 150000,
    "lines_hash": "9b74c9897bac770ffc029102a200c5de4f7e1b0c2d3a4e5f60718293a4b5c6d7",
    "filed_at": "2026-04-02T09:00:00+08:00",
    "filed_by": _STAFF,
    "approved_at": "2026-04-10T10:00:00+08:00",
    "notice_starts_at": "2026-04-10T10:00:00+08:00",
    "notice_ends_at": "2026-04-17T10:00:00+08:00",
    "paid_at": None,
}
RECOVERY_EXAMPLE: dict[str, Any] = {
    "id": "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7",
    "institution_id": _INSTITUTION_ID,
    "batch_id": BATCH_ID,
    "line_id": LINE_ID,
    "certificate_id": _CERTIFICATE_ID,
    "source": "revocation",
    "amount_fen": 150000,
    "reason": "证书已撤销 certificate revoked: 抽查发现代学，证书撤销",
    "status": "open",
    "due_at": "2026-06-01T10:00:00+08:00",
    "overdue": False,
    "created_at": "2026-05-02T10:00:00+08:00",
    "settled_at": None,
    "settled_reference": None,
}
NOTICE_LINE_EXAMPLE: dict[str, Any] = {
    "line_id": LINE_ID,
    "no": 1,
    "name_masked": "王*明",
    "id_number_masked": "440306********105X",
    "course_title": "低压电工作业（线上理论）",
    "occupation": "电工（6-31-01-03）",
    "level": "四级/中级工",
    "amount_fen": 150000,
}


def _example(value: dict[str, Any]) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": [value]})


class FileQuarterIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"period": "quarter", "year": 2026, "quarter": 1},
                {"period": "class", "class_id": "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e"},
            ]
        }
    )

    period: Literal["quarter", "class"] = "quarter"
    year: int | None = Field(default=None, ge=2000, le=2999)
    quarter: int | None = Field(default=None, ge=1, le=4)
    class_id: uuid.UUID | None = Field(default=None, description="A completed class (结业)")


class CorrectionIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "line_ids": [LINE_ID],
                    "reason": "补充了随机点名记录后重新申领",
                }
            ]
        }
    )

    line_ids: list[uuid.UUID] = Field(min_length=1, max_length=500)
    reason: str = Field(max_length=500)


class LineReviewIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"decision": "approved"},
                {"decision": "rejected", "reason": "同一职业同一等级已在外地享受过补贴"},
                {"decision": "evidence_requested", "reason": "请补充线下实操培训签到表"},
            ]
        }
    )

    decision: Literal["approved", "rejected", "evidence_requested"]
    reason: str | None = Field(default=None, max_length=500)


class EvidenceIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"note": "线下实操签到表已上传至机构档案，编号 SX-2026-031"}]
        }
    )

    note: str = Field(max_length=500)


class PaymentIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "amount_fen": 300000,
                    "paid_on": "2026-04-20",
                    "reference": "深财拨〔2026〕118号",
                },
                {
                    "amount_fen": 150000,
                    "paid_on": "2026-04-20",
                    "reference": "SB-20260420-0031",
                    "line_id": LINE_ID,
                    "account": "6217001234567890123",
                },
            ]
        }
    )

    amount_fen: int = Field(ge=0, le=10**12)
    paid_on: date
    reference: str = Field(max_length=100)
    line_id: uuid.UUID | None = None
    account: str | None = Field(
        default=None,
        max_length=32,
        description="The learner's social security card account (payments to learners only).",
    )


class ExportIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "format": "jsonl",
                    "reason": "报送市社保基金支付科办理拨付（深人社函〔2026〕41号）",
                },
                {"format": "xlsx"},
            ]
        }
    )

    format: Literal["jsonl", "xlsx"] = "jsonl"
    reason: str | None = Field(
        default=None,
        max_length=500,
        description="Why the file is exported: required of regulators (full ID numbers), audited.",
    )


class FindingIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"reason": "抽查发现代学代考，人脸核验照片非本人", "amount_fen": 150000}]
        }
    )

    reason: str = Field(max_length=500)
    amount_fen: int | None = Field(default=None, gt=0, le=10**12)


class SettleRecoveryIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"outcome": "recovered", "reference": "缴款书 4403012026000123"},
                {"outcome": "written_off", "reference": "机构已注销，经局务会研究核销"},
            ]
        }
    )

    outcome: Literal["recovered", "written_off"]
    reference: str = Field(max_length=500)


class ObjectionIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "text": "公示名单中的王*明本人并未参加该培训。",
                    "line_id": LINE_ID,
                    "contact": "13800138000",
                }
            ]
        }
    )

    text: str = Field(max_length=2000)
    line_id: uuid.UUID | None = None
    contact: str | None = Field(default=None, max_length=200)


class ResolveObjectionIn(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"upheld": True, "resolution": "经核查，该学员未本人参训，驳回该条申领"},
                {"upheld": False, "resolution": "经核查人脸核验记录，学员本人参训"},
            ]
        }
    )

    upheld: bool
    resolution: str = Field(max_length=500)


# ---------------------------------------------------------------- responses


class RuleOutcomeOut(BaseModel):
    model_config = _example(RULE_EXAMPLE)

    rule: str
    passed: bool
    detail: str
    detail_zh: str


class LineReviewOut(BaseModel):
    model_config = _example(REVIEW_EXAMPLE)

    decision: LineDecision
    reason: str | None = None
    actor: str
    at: datetime

    @classmethod
    def of(cls, r: ClaimLineReview) -> LineReviewOut:
        return cls(decision=r.decision, reason=r.reason, actor=r.actor, at=r.at)


class LineOut(BaseModel):
    model_config = _example(LINE_EXAMPLE)

    id: uuid.UUID
    no: int
    certificate_id: uuid.UUID
    serial: str
    revision: int
    corrects_line_id: uuid.UUID | None = None
    learner_id: uuid.UUID
    learner_name: str
    id_number_masked: str
    course_title: str
    occupation_code: str
    occupation_name: str
    level: Level
    level_name: str
    credited_minutes: int
    issued_at: datetime
    programme_id: uuid.UUID | None = None
    standard_version_id: uuid.UUID | None = None
    amount_fen: int
    rules: list[RuleOutcomeOut]
    content_hash: str
    decision: LineDecision | None = Field(description="The latest decision (None: undecided)")
    paid: bool
    reviews: list[LineReviewOut]

    @classmethod
    def of(cls, line: ClaimLine, reviews: list[ClaimLineReview], paid: bool) -> LineOut:
        return cls(
            id=line.id,
            no=line.no,
            certificate_id=line.certificate_id,
            serial=line.serial,
            revision=line.revision,
            corrects_line_id=line.corrects_line_id,
            learner_id=line.user_id,
            learner_name=line.learner_name,
            id_number_masked=line.id_number_masked,
            course_title=line.course_title,
            occupation_code=line.occupation_code,
            occupation_name=line.occupation_name,
            level=line.level,
            level_name=LEVEL_NAMES_ZH[line.level],
            credited_minutes=line.credited_minutes,
            issued_at=line.issued_at,
            programme_id=line.programme_id,
            standard_version_id=line.standard_version_id,
            amount_fen=line.amount_fen,
            rules=[RuleOutcomeOut(**r) for r in line.rules],
            content_hash=line.content_hash,
            decision=reviews[-1].decision if reviews else None,
            paid=paid,
            reviews=[LineReviewOut.of(r) for r in reviews],
        )


class PaymentOut(BaseModel):
    model_config = _example(PAYMENT_EXAMPLE)

    id: uuid.UUID
    line_id: uuid.UUID | None = None
    payee: Payee
    amount_fen: int
    paid_on: date
    reference: str
    account_masked: str | None = None
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def of(cls, p: ClaimPayment) -> PaymentOut:
        return cls(
            id=p.id,
            line_id=p.line_id,
            payee=p.payee,
            amount_fen=p.amount_fen,
            paid_on=p.paid_on,
            reference=p.reference,
            account_masked=p.account_masked,
            recorded_by=p.recorded_by,
            recorded_at=p.recorded_at,
        )


class ObjectionOut(BaseModel):
    model_config = _example(OBJECTION_EXAMPLE)

    id: uuid.UUID
    batch_id: uuid.UUID
    line_id: uuid.UUID | None = None
    text: str
    status: ObjectionStatus
    received_at: datetime
    resolved_at: datetime | None = None
    resolution: str | None = None

    @classmethod
    def of(cls, o: NoticeObjection) -> ObjectionOut:
        return cls(
            id=o.id,
            batch_id=o.batch_id,
            line_id=o.line_id,
            text=o.text,
            status=o.status,
            received_at=o.received_at,
            resolved_at=o.resolved_at,
            resolution=o.resolution,
        )


class ObjectionReceivedOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "2d0a8c4e-5b1f-4e6a-9c3d-8f7e6a5b4c31",
                    "received_at": "2026-04-12T02:30:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    received_at: datetime


class BatchSummaryOut(BaseModel):
    model_config = _example(BATCH_SUMMARY_EXAMPLE)

    id: uuid.UUID
    reference: str
    institution_id: uuid.UUID
    period_kind: str
    year: int | None = None
    quarter: int | None = None
    class_id: uuid.UUID | None = None
    payee: Payee
    status: BatchStatus
    line_count: int
    total_fen: int
    lines_hash: str
    filed_at: datetime
    filed_by: str
    approved_at: datetime | None = None
    notice_starts_at: datetime | None = None
    notice_ends_at: datetime | None = None
    paid_at: datetime | None = None

    @classmethod
    def of(cls, b: ClaimBatch) -> BatchSummaryOut:
        return cls(
            id=b.id,
            reference=b.reference,
            institution_id=b.institution_id,
            period_kind=b.period_kind,
            year=b.year,
            quarter=b.quarter,
            class_id=b.class_id,
            payee=b.payee,
            status=b.status,
            line_count=b.line_count,
            total_fen=b.total_fen,
            lines_hash=b.lines_hash,
            filed_at=b.filed_at,
            filed_by=b.filed_by,
            approved_at=b.approved_at,
            notice_starts_at=b.notice_starts_at,
            notice_ends_at=b.notice_ends_at,
            paid_at=b.paid_at,
        )


class BatchOut(BatchSummaryOut):
    model_config = _example(
        {
            **BATCH_SUMMARY_EXAMPLE,
            "approved_fen": 150000,
            "lines": [LINE_EXAMPLE],
            "payments": [],
            "objections": [OBJECTION_EXAMPLE],
        }
    )

    approved_fen: int = Field(description="The sum of the lines approved now")
    lines: list[LineOut]
    payments: list[PaymentOut]
    objections: list[ObjectionOut]


class RecoveryOut(BaseModel):
    model_config = _example(RECOVERY_EXAMPLE)

    id: uuid.UUID
    institution_id: uuid.UUID
    batch_id: uuid.UUID
    line_id: uuid.UUID
    certificate_id: uuid.UUID
    source: RecoverySource
    amount_fen: int
    reason: str
    status: RecoveryStatus
    due_at: datetime
    overdue: bool
    created_at: datetime
    settled_at: datetime | None = None
    settled_reference: str | None = None

    @classmethod
    def of(cls, r: RecoveryItem, now: datetime) -> RecoveryOut:
        return cls(
            id=r.id,
            institution_id=r.institution_id,
            batch_id=r.batch_id,
            line_id=r.line_id,
            certificate_id=r.certificate_id,
            source=r.source,
            amount_fen=r.amount_fen,
            reason=r.reason,
            status=r.status,
            due_at=r.due_at,
            overdue=r.status is RecoveryStatus.open and r.due_at < now,
            created_at=r.created_at,
            settled_at=r.settled_at,
            settled_reference=r.settled_reference,
        )


class NoticeLineOut(BaseModel):
    model_config = _example(NOTICE_LINE_EXAMPLE)

    line_id: uuid.UUID
    no: int
    name_masked: str
    id_number_masked: str
    course_title: str
    occupation: str
    level: str
    amount_fen: int


class NoticeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "batch_id": BATCH_ID,
                    "reference": "SZ001-B00003",
                    "institution_name": "深圳市南山区职业技能培训学校",
                    "starts_at": "2026-04-10T02:00:00Z",
                    "ends_at": "2026-04-17T02:00:00Z",
                    "total_fen": 300000,
                    "lines": [NOTICE_LINE_EXAMPLE],
                    "objection_url": f"/api/v1/notices/{BATCH_ID}/objections",
                }
            ]
        }
    )

    batch_id: uuid.UUID
    reference: str
    institution_name: str
    starts_at: datetime
    ends_at: datetime
    total_fen: int
    lines: list[NoticeLineOut]
    objection_url: str

    @classmethod
    def of(cls, n: Notice) -> NoticeOut:
        return cls(
            batch_id=n.batch_id,
            reference=n.reference,
            institution_name=n.institution_name,
            starts_at=n.starts_at,
            ends_at=n.ends_at,
            total_fen=n.total_fen,
            lines=[NoticeLineOut(**vars(x)) for x in n.lines],
            objection_url=f"/api/v1/notices/{n.batch_id}/objections",
        )


def batch_out(v: BatchView) -> BatchOut:
    return BatchOut(
        **BatchSummaryOut.of(v.batch).model_dump(),
        approved_fen=v.approved_fen,
        lines=[LineOut.of(line, v.reviews[line.id], line.id in v.paid) for line in v.lines],
        payments=[PaymentOut.of(p) for p in v.payments],
        objections=[ObjectionOut.of(o) for o in v.objections],
    )


# ---------------------------------------------------------------- a line's evidence

_EVENT_ID = "6f1e2d3c-4b5a-4697-8a7b-6c5d4e3f2a1b"
FACE_CHECK_EXAMPLE: dict[str, Any] = {
    "id": _EVENT_ID,
    "purpose": "rollcall",
    "outcome": "passed",
    "reason_code": None,
    "score": "0.6231",
    "accept_threshold": "0.5000",
    "match_metric": "cosine",
    "review_status": None,
    "at": "2026-03-02T20:41:13+08:00",
    "url": f"/api/v1/attendance-events/{_EVENT_ID}",
    "crop_url": f"/api/v1/attendance-events/{_EVENT_ID}/evidence",
}
ROLLCALL_EXAMPLE: dict[str, Any] = {
    "id": "24e35f46-5768-4978-8a9b-acbdcedff001",
    "offered_at": "2026-03-02T20:40:02+08:00",
    "deadline": "2026-03-02T20:42:02+08:00",
    "status": "passed",
    "answered_at": "2026-03-02T20:41:13+08:00",
    "attendance_event_id": _EVENT_ID,
}
QUIZ_EXAMPLE: dict[str, Any] = {
    "id": "8d7c6b5a-4e3f-4201-9f8e-7d6c5b4a3e2f",
    "started_at": "2026-03-18T19:00:00+08:00",
    "submitted_at": "2026-03-18T19:24:40+08:00",
    "score": 92,
    "passed": True,
}
FRAUD_EXAMPLE: dict[str, Any] = {
    "indicator": "crowded_ip",
    "title_zh": "同一 IP 短时间内多人签到",
    "summary": "6 learners checked in from 183.62.11.20 within 10 minutes",
    "evidence": [
        {
            "kind": "attendance_event",
            "id": _EVENT_ID,
            "url": f"/api/v1/attendance-events/{_EVENT_ID}",
            "detail": {"ip": "183.62.11.20"},
        }
    ],
}


class FaceCheckOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [FACE_CHECK_EXAMPLE]}
    )

    id: uuid.UUID
    purpose: str
    outcome: str
    reason_code: str | None = None
    score: str | None = None
    accept_threshold: str
    match_metric: str
    review_status: str | None = None
    at: datetime
    url: str
    crop_url: str | None = Field(default=None, description="The evidence face crop, while kept")


class RollCallEvidenceOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True, json_schema_extra={"examples": [ROLLCALL_EXAMPLE]}
    )

    id: uuid.UUID
    offered_at: datetime
    deadline: datetime
    status: str
    answered_at: datetime | None = None
    attendance_event_id: uuid.UUID | None = None


class QuizEvidenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [QUIZ_EXAMPLE]})

    id: uuid.UUID
    started_at: datetime
    submitted_at: datetime | None = None
    score: int | None = None
    passed: bool | None = None


class FraudHitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, json_schema_extra={"examples": [FRAUD_EXAMPLE]})

    indicator: str
    title_zh: str
    summary: str
    evidence: list[dict[str, Any]]


class LineEvidenceOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "line_id": LINE_ID,
                    "serial": "SZJN-2026-000128",
                    "certificate_status": "valid",
                    "revoked_reason": None,
                    "required_minutes": 2400,
                    "credited_minutes": 2412,
                    "study_sessions": 31,
                    "quiz_score": 92,
                    "pass_score": 60,
                    "rollcalls_total": 64,
                    "rollcalls_passed": 61,
                    "min_pass_rate": 80,
                    "attendance_passed": True,
                    "study_started_at": "2026-02-03T19:02:11+08:00",
                    "study_ended_at": "2026-03-18T19:30:02+08:00",
                    "face_checks": [FACE_CHECK_EXAMPLE],
                    "rollcalls": [ROLLCALL_EXAMPLE],
                    "quiz_attempts": [QUIZ_EXAMPLE],
                    "fraud": [FRAUD_EXAMPLE],
                }
            ]
        },
    )

    line_id: uuid.UUID
    serial: str
    certificate_status: str
    revoked_reason: str | None = None
    required_minutes: int
    credited_minutes: int
    study_sessions: int
    quiz_score: int | None = None
    pass_score: int
    rollcalls_total: int
    rollcalls_passed: int
    min_pass_rate: int
    attendance_passed: bool
    study_started_at: datetime | None = None
    study_ended_at: datetime | None = None
    face_checks: list[FaceCheckOut]
    rollcalls: list[RollCallEvidenceOut]
    quiz_attempts: list[QuizEvidenceOut]
    fraud: list[FraudHitOut]


class LearnerClaimOut(BaseModel):
    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "line_id": LINE_ID,
                    "serial": "SZJN-2026-000128",
                    "course_title": "低压电工作业（线上理论）",
                    "amount_fen": 150000,
                    "batch_reference": "SZJN-B00003",
                    "payee": "institution",
                    "status": "in_notice",
                    "reason": None,
                    "filed_at": "2026-04-02T09:00:00+08:00",
                    "notice_ends_at": "2026-04-17T10:00:00+08:00",
                }
            ]
        },
    )

    line_id: uuid.UUID
    serial: str
    course_title: str
    amount_fen: int
    batch_reference: str
    payee: Payee
    status: Literal["filed", "evidence_requested", "in_notice", "approved", "paid", "rejected"]
    reason: str | None = Field(default=None, description="Why it was rejected, or what is asked")
    filed_at: datetime
    notice_ends_at: datetime | None = None
