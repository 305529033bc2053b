"""Realistic examples of the claims API's bodies (the OpenAPI examples; house rule): one set of
ids, names and amounts shared by every schema so the examples tell one consistent story."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict


def examples(*values: dict[str, Any], from_attributes: bool = False) -> ConfigDict:
    """A model's ``model_config`` carrying its OpenAPI examples (``from_attributes``: the model
    is read from a row's attributes)."""
    return ConfigDict(json_schema_extra={"examples": list(values)}, from_attributes=from_attributes)


BATCH_ID = "0b5c1f6e-3f7a-4c1e-9a53-5a0d4d7c2e11"
LINE_ID = "6f0e2a8b-91c4-4d3a-b0e2-7c9d1e5f3a20"
INSTITUTION_ID = "c4a1d2e3-7b8f-4c9d-a0e1-f2b3c4d5e6f7"
CERTIFICATE_ID = "a1b2c3d4-e5f6-4718-9a0b-1c2d3e4f5a6b"
LEARNER_ID = "0b9c3f0e-6a51-4d7a-9f2e-2d4a8c1b7e55"
STANDARD_ID = "4c3b2a19-0f8e-4d7c-b6a5-9483726150fe"
COURSE_ID = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
REGULATOR = "user:5e2f8a41-93c7-4b0d-8d1e-7f6a2c9b3d10"
STAFF = "user:3f1a9c2e-8b7d-4e6f-a5c4-1b2d3e4f5a6b"
RULE_EXAMPLE: dict[str, Any] = {
    "rule": "max_per_year",
    "passed": True,
    "detail": "0 earlier subsidised certificate(s) in 2026; at most 3 per learner per year",
    "detail_zh": "2026 年已享受补贴 0 次；每人每年不超过 3 次",
}
REVIEW_EXAMPLE: dict[str, Any] = {
    "decision": "approved",
    "reason": None,
    "actor": REGULATOR,
    "at": "2026-04-08T10:12:00+08:00",
}
LINE_EXAMPLE: dict[str, Any] = {
    "id": LINE_ID,
    "no": 1,
    "certificate_id": CERTIFICATE_ID,
    "serial": "SZJN-2026-000128",
    "revision": 1,
    "corrects_line_id": None,
    "corrects": None,
    "corrected_by": None,
    "learner_id": LEARNER_ID,
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
    "standard_version_id": STANDARD_ID,
    "programme_kind": "employment_skills",
    "programme_name": "就业技能培训",
    "standard_version": 2,
    "standard_region_code": "440300",
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
    "recorded_by": REGULATOR,
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
    "institution_id": INSTITUTION_ID,
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
    "filed_by": STAFF,
    "approved_at": "2026-04-10T10:00:00+08:00",
    "notice_starts_at": "2026-04-10T10:00:00+08:00",
    "notice_ends_at": "2026-04-17T10:00:00+08:00",
    "paid_at": None,
}
RECOVERY_EXAMPLE: dict[str, Any] = {
    "id": "3e4f5a6b-7c8d-4e9f-a0b1-c2d3e4f5a6b7",
    "institution_id": INSTITUTION_ID,
    "batch_id": BATCH_ID,
    "line_id": LINE_ID,
    "certificate_id": CERTIFICATE_ID,
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


EVENT_ID = "6f1e2d3c-4b5a-4697-8a7b-6c5d4e3f2a1b"
FACE_CHECK_EXAMPLE: dict[str, Any] = {
    "id": EVENT_ID,
    "purpose": "rollcall",
    "outcome": "passed",
    "reason_code": None,
    "score": "0.6231",
    "accept_threshold": "0.5000",
    "match_metric": "cosine",
    "review_status": None,
    "at": "2026-03-02T20:41:13+08:00",
    "url": f"/api/v1/attendance-events/{EVENT_ID}",
    "crop_url": f"/api/v1/attendance-events/{EVENT_ID}/evidence",
}
ROLLCALL_EXAMPLE: dict[str, Any] = {
    "id": "24e35f46-5768-4978-8a9b-acbdcedff001",
    "offered_at": "2026-03-02T20:40:02+08:00",
    "deadline": "2026-03-02T20:42:02+08:00",
    "status": "passed",
    "answered_at": "2026-03-02T20:41:13+08:00",
    "attendance_event_id": EVENT_ID,
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
            "id": EVENT_ID,
            "url": f"/api/v1/attendance-events/{EVENT_ID}",
            "detail": {"ip": "183.62.11.20"},
        }
    ],
}
