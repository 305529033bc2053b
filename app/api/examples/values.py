"""Ids and values the examples share: one learner, one course, one certificate, … throughout."""

from __future__ import annotations

LEARNER_ID = "0b9c3f0e-6a51-4d7a-9f2e-2d4a8c1b7e55"
STAFF_ID = "5e2f8a41-93c7-4b0d-8d1e-7f6a2c9b3d10"
INSTITUTION_ID = "c4a1d2e3-7b8f-4c9d-a0e1-f2b3c4d5e6f7"
COURSE_ID = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
LESSON_ID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
QUESTION_ID = "7c6b5a49-3827-4165-9f0e-d1c2b3a4f5e6"
ENROLLMENT_ID = "3d4e5f60-7182-4a3b-9c4d-5e6f7a8b9c0d"
SESSION_ID = "e1d2c3b4-a596-4877-8695-a4b3c2d1e0f9"
EVENT_ID = "6f1e2d3c-4b5a-4697-8a7b-6c5d4e3f2a1b"
CHALLENGE_ID = "b7a69584-7362-4514-9302-f1e0d9c8b7a6"
ROLLCALL_ID = "24e35f46-5768-4978-8a9b-acbdcedff001"
ATTEMPT_ID = "8d7c6b5a-4e3f-4201-9f8e-7d6c5b4a3e2f"
TEMPLATE_ID = "f0e1d2c3-b4a5-4697-8879-6a5b4c3d2e1f"
CERTIFICATE_ID = "a1b2c3d4-e5f6-4718-9a0b-1c2d3e4f5a6b"
HANDOFF_ID = "d9c8b7a6-9584-4736-a251-403f2e1d0c9b"
WEBHOOK_ID = "4b3a2918-0706-45f4-83e2-d1c0b9a8f7e6"
DELIVERY_ID = "2c1b0a99-8877-4665-9544-33221100ffee"
API_KEY_ID = "6e5d4c3b-2a19-4807-b6f5-e4d3c2b1a098"
CLASS_ID = "5b0e4a7e-2f61-4c1b-9d3a-6f0c2b8e9a41"
SERIAL = "SZJN-2026-000128"
ISSUED_AT = "2026-11-20T16:42:07+08:00"
CREATED_AT = "2026-11-02T09:15:00+08:00"
ID_NUMBER = "44030619920815105X"  # valid check character; masked in every learner-facing output
ID_MASKED = "440306********105X"
OCCUPATION = {"occupation_code": "6-31-01-03", "occupation_name": "电工"}
SFACE = {
    "accept_threshold": "0.5000",
    "reject_threshold": "0.4000",
    "match_metric": "cosine_similarity",
}

COURSE_POLICY = {
    "rollcall": {
        "min_interval_s": 900,
        "max_interval_s": 2700,
        "response_window_s": 120,
        "min_pass_rate": 80,
        "daily_cap_minutes": 480,
        "credit_policy": "strict",
        "heartbeat_interval_s": 30,
    },
    "quiz": {
        "question_count": 20,
        "time_limit_s": 1800,
        "max_attempts": 3,
        "opens": "after_hours",
    },
}
COURSE_IN = {
    "title": "低压电工作业（初级）线上理论培训",
    "description": "安全用电、电工基础、低压电器与照明线路，配合线下实操考核。",
    **OCCUPATION,
    "level": "level5",
    "required_minutes": 2400,
    "pass_score": 60,
    "subsidy_fen": 120000,
    **COURSE_POLICY,
}
COURSE_OUT = {
    "id": COURSE_ID,
    "institution_id": INSTITUTION_ID,
    **COURSE_IN,
    "level_name_zh": "五级/初级工",
    "status": "published",
    "created_at": "2026-10-08T10:00:00+08:00",
    "published_at": "2026-10-15T14:30:00+08:00",
}
LESSON_OUT = {
    "id": LESSON_ID,
    "course_id": COURSE_ID,
    "position": 1,
    "title": "第一章 安全用电常识",
    "kind": "text",
    "body_or_url": "触电事故的种类、原因与急救方法……",
    "minutes": 45,
    "created_at": "2026-10-08T10:20:00+08:00",
}
LESSON_PROGRESS = {
    "lesson_id": LESSON_ID,
    "position": 1,
    "title": "第一章 安全用电常识",
    "kind": "video",
    "watched_seconds": 1530,
    "required_seconds": 2700,
    "furthest_position_ms": 1_530_000,
    "finished": False,
}
QUESTION_OUT = {
    "id": QUESTION_ID,
    "course_id": COURSE_ID,
    "kind": "single",
    "stem": "我国规定的安全电压额定值等级中，最高一级是多少伏？",
    "options": ["24 V", "36 V", "42 V", "50 V"],
    "answer": [2],
    "created_at": "2026-10-08T10:40:00+08:00",
}
EVENT_OUT = {
    "id": EVENT_ID,
    "user_id": LEARNER_ID,
    "institution_id": INSTITUTION_ID,
    "purpose": "rollcall",
    "outcome": "passed",
    "reason_code": None,
    "challenge_id": CHALLENGE_ID,
    "actions": ["blink"],
    "frame_sha256": ["9c56cc51b374c3ba189210d5b6d4bf57790d351c96c47c02190ecf1e430635ab"],
    "best_distance": "0.7312",
    "median_distance": "0.7045",
    **SFACE,
    "face_engine": "sface",
    "model_name": "face_recognition_sface_2021dec",
    "model_version": "2021dec-cv5",
    "model_sha256": "0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79",
    "liveness": {
        "passed": True,
        "reason": None,
        "actions": [
            {"action": "blink", "passed": True, "reason": None, "frame": 4, "value": 0.1432}
        ],
        "frames": 8,
        "ear_baseline": 0.2987,
        "start_yaw": 0.0123,
        "max_identity_distance": 0.0841,
        "motion": 0.612,
    },
    "pad_score": "0.9871",
    "pad_model": "minifasnet_v2@2.7+v1se@4.0:7886c41bcbcc+e67aedf72df3",
    "prior_template_id": None,
    "prior_score": None,
    "prior_threshold": None,
    "matched_user_id": LEARNER_ID,
    "client_ip": "203.0.113.24",
    "user_agent": "Mozilla/5.0 (Linux; Android 14) Chrome/131.0 Mobile Safari/537.36",
    "created_at": "2026-11-18T20:31:44+08:00",
    "evidence_sha256": "5d41402abc4b2a76b9719d911017c592ae2f9c1b8a0e6d5f4c3b2a1908f7e6d5",
    "evidence_available": True,
    "review_status": None,
    "reviewed_at": None,
    "review_reason": None,
}
CERTIFICATE_OUT = {
    "id": CERTIFICATE_ID,
    "serial": SERIAL,
    "status": "valid",
    "enrollment_id": ENROLLMENT_ID,
    "user_id": LEARNER_ID,
    "course_id": COURSE_ID,
    "institution_id": INSTITUTION_ID,
    "learner_name": "王小明",
    "id_number_masked": ID_MASKED,
    "course": COURSE_IN["title"],
    "occupation_code": "6-31-01-03",
    "occupation": "电工",
    "level": "level5",
    "level_name": "五级/初级工",
    "minutes": 2412,
    "hours": 40.2,
    "quiz_score": 86,
    "rollcalls_total": 31,
    "rollcalls_passed": 30,
    "attendance_passed": True,
    "issued_at": ISSUED_AT,
    "revoked_at": None,
    "revoked_reason": None,
    "credential_jwt": (
        "eyJhbGciOiJFZERTQSIsImtpZCI6Imh0dHBzOi8vc2tpbGx0cmFjZS5jbi8ud2VsbC1rbm93bi9qd2tz"
        "Lmpzb24jMjAyNi0xMSIsInR5cCI6InZjK2p3dCJ9.eyJpc3MiOiJodHRwczovL3NraWxsdHJhY2UuY24"
        "vaW5zdGl0dXRpb25zL2M0YTFkMmUzIn0.c2lnbmF0dXJl"
    ),
    "pdf_url": f"/certificates/{SERIAL}.pdf",
    "verify_url": f"https://skilltrace.cn/certificates/{SERIAL}",
    "identity_salt": None,
}
SUMMARY_COUNTS = {
    "enrolled": 412,
    "trained": 356,
    "qualified": 318,
    "certificates_revoked": 2,
    "subsidy_eligible": 301,
    "subsidy_amount_fen": 36120000,
    "outcomes_recorded": 290,
    "employed": 247,
    "offline_trained": 96,
    "offline_minutes": 23040,
    "employment_rate": 0.7767,
}
WEBHOOK_OUT = {
    "id": WEBHOOK_ID,
    "url": "https://hr.example-partner.cn/hooks/skilltrace",
    "events": ["certificate.issued", "certificate.revoked"],
    "description": "人社对接：证书发放与撤销",
    "enabled": True,
    "disabled_reason": None,
    "disabled_at": None,
    "failing_since": None,
    "created_at": CREATED_AT,
    "updated_at": CREATED_AT,
}
DELIVERY_OUT = {
    "id": DELIVERY_ID,
    "event_id": "msg_2pWQ3nQ0C2X7mZk1c8fE9rT4uY6",
    "webhook_id": WEBHOOK_ID,
    "event_type": "certificate.issued",
    "status": "delivered",
    "attempts": 1,
    "last_attempt_at": ISSUED_AT,
    "next_attempt_at": None,
    "last_status_code": 204,
    "last_error": None,
    "delivered_at": ISSUED_AT,
    "created_at": ISSUED_AT,
}
API_KEY_OUT = {
    "id": API_KEY_ID,
    "name": "人力资源服务平台对接",
    "prefix": "3f9a1c7e52b0",
    "scopes": ["learners:write", "attendance:verify"],
    "created_at": CREATED_AT,
    "revoked_at": None,
}
FRAMES_BODY = {"challenge_id": CHALLENGE_ID, "frames": ["frame-01.jpg", "frame-02.jpg"]}
#: One frame of a streamed check (the 32nd), as a browser's canvas encodes it.
FRAME_BODY = {
    "seq": 31,
    "frame": ["frame-0031.jpg", "frame-0032.jpg", "frame-0033.jpg"],
    "captured_ms": [2583, 2666, 2750],
}
RECORD_CERT = {
    "serial": SERIAL,
    "status": "valid",
    "issued_at": ISSUED_AT,
    "verify_url": CERTIFICATE_OUT["verify_url"],
}
RECORD_SUBSIDY = {"eligible": True, "amount_fen": 120000, "refused_by": []}
RECORD_ENTRY = {
    "enrollment_id": ENROLLMENT_ID,
    "course_id": COURSE_ID,
    "course": COURSE_IN["title"],
    "institution": "深圳市南山区职业技能培训学校",
    "occupation_code": "6-31-01-03",
    "occupation": "电工",
    "level": "level5",
    "level_name": "五级/初级工",
    "enrolled_at": CREATED_AT,
    "credited_minutes": 2412,
    "required_minutes": 2400,
    "hours": 40.2,
    "offline_minutes": 0,
    "offline_required_minutes": 0,
    "rollcalls_total": 31,
    "rollcalls_passed": 30,
    "rollcall_pass_rate": 96,
    "min_pass_rate": 80,
    "quiz_passed": True,
    "best_quiz_score": 86,
    "complete": True,
    "completed_at": "2026-11-20T16:40:51+08:00",
    "certificate": RECORD_CERT,
    "subsidy": RECORD_SUBSIDY,
}
FACE_POOL = {
    "mode": "processes",
    "workers": 2,
    "alive": 2,
    "pids": [4127, 4128],
    "in_flight": 0,
    "restarts": 0,
}
RULE_OUT = {
    "rule": "yearly_limit",
    "passed": True,
    "detail": "1 subsidised training this year (limit 3).",
    "detail_zh": "本年度已享受补贴培训 1 次（上限 3 次）。",
}
