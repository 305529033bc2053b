"""Realistic examples for the OpenAPI document: one per component schema, keyed by its name.

Partners read these first, and schemathesis replays them (its ``examples`` phase), so each one is
a value the API would really send or accept: Chinese names, GB 11643 ID numbers whose check
character is right, real occupation codes of 《中华人民共和国职业分类大典》(2022), times in
Asia/Shanghai. ``tests/api/test_openapi_examples.py`` validates every example against its schema
and counts the operations and schemas left without one.

A schema may instead carry its own example (``json_schema_extra={"examples": [...]}``); this
module only fills in schemas that have none.
"""

from __future__ import annotations

import copy
from typing import Any

# --- ids and values used across examples ------------------------------------------------------
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
    "quiz": {"question_count": 20, "time_limit_s": 1800, "max_attempts": 3},
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
FRAME_BODY = {"seq": 31, "frame": "frame-0031.jpg"}
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

EXAMPLES: dict[str, Any] = {
    "About": {"version": ["1.0.3"]},
    "ApiKeyIn": {"name": API_KEY_OUT["name"], "scopes": API_KEY_OUT["scopes"]},
    "ApiKeyOut": API_KEY_OUT,
    "ApiKeyCreated": {**API_KEY_OUT, "key": "stk_3f9a1c7e52b0_q8Zr2LwV0nT5yXc7mB1sK4dG6hJ9pA3e"},
    "Body_answer_rollcall_api_v1_rollcalls__rollcall_id__response_post": FRAMES_BODY,
    "Body_check_in_api_v1_enrollments__enrollment_id__sessions_post": {
        **FRAMES_BODY,
        "take_over": False,
    },
    "Body_enrol_api_v1_me_face_enrol_post": FRAMES_BODY,
    "Body_handoff_frames_api_v1_handoffs__code__frames_post": FRAMES_BODY,
    "Body_handoff_stream_frame_api_v1_handoffs__code__checks__check_id__frames_post": FRAME_BODY,
    "Body_stream_frame_api_v1_me_face_checks__check_id__frames_post": FRAME_BODY,
    "Body_station_frame_api_v1_offline_sessions__offline_session_id__station_checks__check_id__frames_post": (  # noqa: E501
        FRAME_BODY
    ),
    "Body_scan_picture_api_v1_offline_sessions__offline_session_id__station_qr_pictures_post": {
        "frame": "station-camera-0007.jpg"
    },
    "Body_partner_stream_frame_api_v1_learners__learner_id__face_checks__check_id__frames_post": (
        FRAME_BODY
    ),
    "Body_partner_verify_api_v1_learners__learner_id__verify_post": FRAMES_BODY,
    "Body_upload_video_lesson_api_v1_courses__course_id__lessons_video_post": {
        "title": "第二章 触电急救演示",
        "minutes": 12,
        "file": "(MP4 H.264 或 WebM 视频文件的字节)",
    },
    "Body_start_quiz_api_v1_enrollments__enrollment_id__quiz_attempts_post": FRAMES_BODY,
    "Body_put_seal_api_v1_institutions__institution_id__certificate_settings_seal_put": {
        "file": "seal-scan.png"
    },
    "Body_token_api_v1_auth_token_post": {
        "grant_type": "password",
        "username": "wangxm",
        "password": "Xuexi-2026-dianGong",
        "scope": "",
    },
    "CertificateOut": CERTIFICATE_OUT,
    "CertificateSettingsIn": {"auto_issue": True},
    "CertificateSettingsOut": {
        "institution_id": INSTITUTION_ID,
        "auto_issue": True,
        "updated_at": CREATED_AT,
        "seal_sha256": "3b7e9c1d5f2a4e6b8c0d1f3a5b7c9e1d3f5a7b9c1e3d5f7a9b1c3e5d7f9a1b3c",
        "seal_url": f"/api/v1/institutions/{INSTITUTION_ID}/certificate-settings/seal",
    },
    "ChallengeOut": {
        "challenge_id": CHALLENGE_ID,
        "nonce": "q3C9rX0b7LkVt2mWn8Zs1A",
        "actions": ["blink", "turn_left"],
        "expires_at": "2026-11-18T20:33:44+08:00",
    },
    "CheckInOut": {
        "session_id": SESSION_ID,
        "attendance_event_id": EVENT_ID,
        "heartbeat_interval_s": 30,
        "state": "studying",
    },
    "CheckpointOut": {
        "type": "checkpoint",
        "iss": "skilltrace",
        "chain": "inst:0b6f1c1e-5a8d-4c4e-9f0a-2d3b4c5d6e7f",
        "seq": 3,
        "head_hash": "17824e41c2385dae9e53cd544fb21e8cc52cad8fb371abb23c2162412863b560",
        "time": "2026-01-05T01:00:02.500000Z",
        "jws": (
            "eyJhbGciOiJFZERTQSIsImtpZCI6ImtQcktfcW14VldhWVZBOXd3QkY2SXVvM3ZWeno3VHhIQ1R3WEJ5"
            "Z3JTNGsiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJza2lsbHRyYWNlIiwiY2hhaW4iOiJpbnN0OjBiNmYxY"
            "zFlLTVhOGQtNGM0ZS05ZjBhLTJkM2I0YzVkNmU3ZiIsInNlcSI6MywiaGVhZF9oYXNoIjoiMTc4MjRlN"
            "DFjMjM4NWRhZTllNTNjZDU0NGZiMjFlOGNjNTJjYWQ4ZmIzNzFhYmIyM2MyMTYyNDEyODYzYjU2MCIsI"
            "nRpbWUiOiIyMDI2LTAxLTA1VDAxOjAwOjAyLjUwMDAwMFoiLCJmaXJzdF9zZXEiOjF9.vX0j2tZ_3ek7"
            "VSwQ3jUW4BF8pBecUjWyI_yGe5pkYe3r3N1vGZNVIUL8THnhn8FhiVkIE6mJU3Es7f9BS5fTDA"
        ),
    },
    "ConsentIn": {"biometric": True},
    "ConsentOut": {
        "biometric_consent": True,
        "version": "2026-09",
        "at": CREATED_AT,
        "text": "本人同意平台在培训期间采集并比对人脸图像，仅用于学时核验……",
        "current_version": "2026-12-v2",
        "state": "outdated",
    },
    "CourseIn": COURSE_IN,
    "CourseOut": COURSE_OUT,
    "CoursePage": {"items": [COURSE_OUT], "next_cursor": "eyJjcmVhdGVkIjoiMjAyNi0xMC0wOCJ9"},
    "CourseUpdateIn": {"required_minutes": 2700, "rollcall": {"response_window_s": 180}},
    "DeliveryOut": DELIVERY_OUT,
    "EnrollmentOut": {
        "enrollment_id": ENROLLMENT_ID,
        "course_id": COURSE_ID,
        "course_title": COURSE_IN["title"],
        "institution_id": INSTITUTION_ID,
        "class_id": CLASS_ID,
        "occupation_code": "6-31-01-03",
        "level": "level5",
        "created_at": CREATED_AT,
        "credited_minutes": 1265,
        "required_minutes": 2400,
        "quiz_passed": False,
        "best_quiz_score": None,
        "completed_at": None,
    },
    "EventOut": EVENT_OUT,
    "EventType": {
        "type": "certificate.issued",
        "description": "A certificate was issued (automatically or by staff).",
    },
    "EvidenceOut": {
        "kind": "attendance_event",
        "id": EVENT_ID,
        "url": f"/api/v1/attendance-events/{EVENT_ID}",
        "detail": {"purpose": "checkin", "outcome": "passed"},
    },
    "FacePoolOut": FACE_POOL,
    "FaceStatusOut": {
        "enrolled": True,
        "template_id": TEMPLATE_ID,
        "enrolled_at": "2026-11-02T09:20:13+08:00",
        "biometric_consent": True,
        "reenrol_required": False,
        "template_model": "sface",
    },
    "FindingOut": {
        "summary": "2 learners checked in from the same device within 3 minutes on 5 days",
        "subjects": [LEARNER_ID, "7a6b5c4d-3e2f-4109-8877-665544332211"],
        "metrics": {"days": 5, "max_gap_s": 164},
        "evidence": [
            {"kind": "attendance_event", "id": EVENT_ID, "url": None, "detail": {}},
        ],
    },
    "HandoffCreated": {
        "handoff_id": HANDOFF_ID,
        "purpose": "checkin",
        "url": "https://skilltrace.cn/h/K7QZ-4MPD",
        "code": "K7QZ-4MPD",
        "expires_at": "2026-11-18T20:36:44+08:00",
        "expires_in_s": 300,
        "qr_svg_url": f"/api/v1/me/face/handoffs/{HANDOFF_ID}/qr.svg",
    },
    "HandoffIn": {"purpose": "checkin", "enrollment_id": ENROLLMENT_ID, "rollcall_id": None},
    "HandoffStatusOut": {
        "handoff_id": HANDOFF_ID,
        "purpose": "checkin",
        "state": "passed",
        "reason": None,
        "closed": True,
        "expires_at": "2026-11-18T20:36:44+08:00",
        "expires_in_s": 0,
        "attempts": 1,
        "result": {"session_id": SESSION_ID, "attendance_event_id": EVENT_ID},
        "error": None,
    },
    "HeartbeatIn": {"visible": True, "lesson_id": LESSON_ID, "position_ms": 95_250},
    "HeartbeatOut": {
        "credited_seconds": 1830,
        "rollcall": {"rollcall_id": ROLLCALL_ID, "deadline": "2026-11-18T20:33:44+08:00"},
        "state": "studying",
        "earned_seconds": 30,
        "furthest_position_ms": 95_250,
    },
    "IndicatorOut": {
        "code": "shared_device",
        "title": "Several learners on one device",
        "title_zh": "多名学员共用同一设备",
        "fired": True,
        "findings": [],
    },
    "IssuedOut": {
        "serial": SERIAL,
        "credential_jwt": CERTIFICATE_OUT["credential_jwt"],
        "pdf_url": CERTIFICATE_OUT["pdf_url"],
        "verify_url": CERTIFICATE_OUT["verify_url"],
    },
    "LearnerCreateIn": {
        "username": "wangxm",
        "password": "Xuexi-2026-dianGong",
        "real_name": "王小明",
        "id_number": ID_NUMBER,
        "phone": "13800138000",
        "group": "migrant_worker",
    },
    "InstitutionChoiceOut": {
        "code": "SZ001",
        "name": "示范职业技能培训学校",
        "region": "广东省深圳市南山区",
    },
    "InstitutionChoiceIn": {"institution_code": "SZ001"},
    "PasswordResetRequestIn": {"login": "13912345678"},
    "PasswordResetRequestedOut": {
        "detail": "如果该账号存在并登记了手机号，验证码已发送，10 分钟内有效。",
        "expires_in_s": 600,
    },
    "PasswordResetConfirmIn": {
        "login": "13912345678",
        "code": "482913",
        "new_password": "Peixun-2026-xinmima",
    },
    "PasswordChangeIn": {
        "username": "lijuan88",
        "current_password": "Kp7m-Xq3r-Hw9t",
        "new_password": "Peixun-2026-xinmima",
    },
    "PasswordSetOut": {"username": "lijuan88"},
    "TemporaryPasswordOut": {
        "learner_id": LEARNER_ID,
        "username": "lijuan88",
        "temporary_password": "Kp7m-Xq3r-Hw9t",
        "must_change_password": True,
    },
    "LearnerOut": {
        "id": LEARNER_ID,
        "username": "wangxm",
        "real_name": "王小明",
        "id_number_masked": ID_MASKED,
        "institution_id": INSTITUTION_ID,
        "group": "migrant_worker",
        "face_enrolled": True,
        "created_at": CREATED_AT,
    },
    "LedgerOut": {
        "stored_seconds": 144720,
        "recomputed_seconds": 144720,
        "forfeited_seconds": 720,
        "held_seconds": 0,
        "stored_rollcalls": [31, 30],
        "recomputed_rollcalls": [31, 30],
        "matches": True,
        "per_day": {"2026-11-17": 14400, "2026-11-18": 12600},
    },
    "LessonIn": {
        "title": LESSON_OUT["title"],
        "kind": "text",
        "body_or_url": LESSON_OUT["body_or_url"],
        "minutes": 45,
    },
    "LessonOut": LESSON_OUT,
    "LessonProgressOut": LESSON_PROGRESS,
    "LessonUpdateIn": {"title": "第一章 安全用电常识（修订）", "minutes": 50},
    "MeOut": {
        "id": LEARNER_ID,
        "username": "wangxm",
        "role": "learner",
        "real_name": "王小明",
        "id_number_masked": ID_MASKED,
        "institution_id": INSTITUTION_ID,
        "biometric_consent": True,
        "face_enrolled": True,
        "group": "migrant_worker",
        "consent_version": "2026-09",
    },
    "PhoneResultOut": {
        "purpose": "checkin",
        "state": "passed",
        "reason": None,
        "outcome": "passed",
    },
    "ProgressOut": {
        "enrollment_id": ENROLLMENT_ID,
        "course_id": COURSE_ID,
        "credited_minutes": 1265,
        "required_minutes": 2400,
        "quiz_passed": False,
        "best_quiz_score": None,
        "rollcalls_total": 17,
        "rollcalls_passed": 16,
        "rollcall_pass_rate": 94,
        "min_pass_rate": 80,
        "complete": False,
        "completed_at": None,
        "missing": ["minutes", "quiz"],
        "missing_zh": ["学时未满（还差 1135 分钟）", "结业测验未通过"],
        "require_each_lesson": True,
        "lessons_finished": 0,
        "lessons_total": 1,
        "offline_minutes": 240,
        "offline_required_minutes": 480,
        "lessons": [LESSON_PROGRESS],
    },
    "QuestionIn": {
        "kind": "single",
        "stem": QUESTION_OUT["stem"],
        "options": QUESTION_OUT["options"],
        "answer": [2],
    },
    "QuestionOut": QUESTION_OUT,
    "QuestionUpdateIn": {"stem": "我国安全电压额定值的最高等级是多少伏？"},
    "QuizAttemptOut": {
        "attempt_id": ATTEMPT_ID,
        "enrollment_id": ENROLLMENT_ID,
        "attendance_event_id": EVENT_ID,
        "questions": [
            {
                "id": QUESTION_ID,
                "kind": "single",
                "stem": QUESTION_OUT["stem"],
                "options": QUESTION_OUT["options"],
            }
        ],
        "started_at": "2026-11-20T16:10:02+08:00",
        "deadline": "2026-11-20T16:40:02+08:00",
        "state": "open",
        "submitted_at": None,
        "score": None,
        "passed": None,
    },
    "QuizPolicyIn": COURSE_POLICY["quiz"],
    "QuizPolicyOut": COURSE_POLICY["quiz"],
    "QuizPolicyPatch": {"max_attempts": 5},
    "QuizQuestionOut": {
        "id": QUESTION_ID,
        "kind": "single",
        "stem": QUESTION_OUT["stem"],
        "options": QUESTION_OUT["options"],
    },
    "QuizResultOut": {
        "attempt_id": ATTEMPT_ID,
        "score": 86,
        "passed": True,
        "correct": 43,
        "total": 50,
        "pass_score": 60,
        "quiz_passed": True,
        "completed": True,
    },
    "QuizSubmitIn": {"answers": {QUESTION_ID: [2]}},
    "HealthOut": {"status": "ok", "version": "0.1.0"},
    "DatabaseOut": {"kind": "postgresql", "revision": "0014", "head": "0014"},
    "RecordCertificateOut": RECORD_CERT,
    "RecordEntryOut": RECORD_ENTRY,
    "RecordOut": {
        "learner_id": LEARNER_ID,
        "real_name": "王小明",
        "id_number_masked": ID_MASKED,
        "group": "migrant_worker",
        "enrollments": [RECORD_ENTRY],
        "completed": 1,
        "certificates": 1,
        "subsidised": 1,
        "subsidy_total_fen": 120000,
    },
    "RecordSubsidyOut": RECORD_SUBSIDY,
    "RegisterIn": {
        "username": "lijuan88",
        "password": "Peixun-2026-lijuan",
        "real_name": "李娟",
        "id_number": "510107198511203026",
        "phone": "13912345678",
        "group": "unemployed",
        "institution_code": "SZ001",
    },
    "ReviewIn": {"decision": "approve", "reason": "人工比对为本人，侧光导致相似度偏低"},
    "ReviewItemOut": {
        **EVENT_OUT,
        "outcome": "review",
        "best_distance": "0.4631",
        "median_distance": "0.4418",
        "review_status": "pending",
        "learner_name": "王小明",
        "enrolment_event_id": "0e1f2a3b-4c5d-4e6f-8a7b-9c0d1e2f3a4b",
    },
    "RevokeIn": {"reason": "经核查，学员委托他人代学，学时不实"},
    "RollCallAnswerOut": {
        "outcome": "passed",
        "attendance_event_id": EVENT_ID,
        "rollcall_status": "passed",
    },
    "RollCallOffer": {"rollcall_id": ROLLCALL_ID, "deadline": "2026-11-18T20:33:44+08:00"},
    "RollcallPolicyIn": COURSE_POLICY["rollcall"],
    "RollcallPolicyOut": COURSE_POLICY["rollcall"],
    "RollcallPolicyPatch": {"response_window_s": 180, "credit_policy": "lenient"},
    "RuleOut": RULE_OUT,
    "SessionOut": {"session_id": SESSION_ID, "state": "ended", "credited_seconds": 3630},
    "SubsidyOut": {
        "serial": SERIAL,
        "eligible": True,
        "amount_fen": 120000,
        "rules": [RULE_OUT],
    },
    "SummaryCountsOut": SUMMARY_COUNTS,
    "SummaryRowOut": {
        **SUMMARY_COUNTS,
        "period": "2026-Q4",
        "institution_id": INSTITUTION_ID,
        "institution_code": "SZJN",
        "institution_name": "深圳市南山区职业技能培训学校",
        **OCCUPATION,
        "level": "level5",
        "learner_group": "migrant_worker",
    },
    "SummaryOut": {
        "generated_at": "2026-12-01T08:00:00+08:00",
        "institution_id": INSTITUTION_ID,
        "period": "quarter",
        "since": "2026-10-01T00:00:00+08:00",
        "until": "2027-01-01T00:00:00+08:00",
        "rows": [],
        "totals": SUMMARY_COUNTS,
    },
    "TokenOut": {
        "access_token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIwYjljM2YwZSJ9.c2lnbmF0dXJl",
        "token_type": "bearer",
        "expires_in": 3600,
    },
    "UserOut": {
        "id": LEARNER_ID,
        "username": "wangxm",
        "real_name": "王小明",
        "id_number_masked": ID_MASKED,
    },
    "WebhookIn": {
        "url": WEBHOOK_OUT["url"],
        "events": WEBHOOK_OUT["events"],
        "description": WEBHOOK_OUT["description"],
    },
    "WebhookOut": WEBHOOK_OUT,
    "WebhookCreated": {**WEBHOOK_OUT, "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
    "WebhookDetail": {**WEBHOOK_OUT, "deliveries": [DELIVERY_OUT]},
    "WebhookPage": {"items": [WEBHOOK_OUT]},
    "WebhookSecret": {
        "id": WEBHOOK_ID,
        "secret": "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
        "previous_secret_valid_until": "2026-11-19T20:31:44+08:00",
    },
    "app__attendance__schemas__EnrolOut": {
        "template_id": TEMPLATE_ID,
        "attendance_event_id": EVENT_ID,
        "quality": {"frames": 8, "embeddings": 8},
    },
    "app__attendance__schemas__VerifyOut": {
        "outcome": "passed",
        "attendance_event_id": EVENT_ID,
        "reason_code": None,
        "median_distance": "0.7045",
        **SFACE,
    },
    "app__certificates__schemas__VerifyOut": {
        "serial": SERIAL,
        "valid": True,
        "status": "valid",
        "learner_name_masked": "王*明",
        "course": COURSE_IN["title"],
        "occupation": "电工",
        "occupation_code": "6-31-01-03",
        "level": "level5",
        "level_name": "五级/初级工",
        "hours": 40.2,
        "minutes": 2412,
        "institution": "深圳市南山区职业技能培训学校",
        "issued_at": ISSUED_AT,
        "revoked_at": None,
        "revoked_reason": None,
    },
    "app__courses__schemas__EnrolOut": {"enrollment_id": ENROLLMENT_ID, "class_id": CLASS_ID},
}

# Two lists reuse their item examples.
EXAMPLES["LearnerPage"] = {"items": [EXAMPLES["LearnerOut"]], "next_cursor": None}
EXAMPLES["FraudReportOut"] = {
    "generated_at": "2026-12-01T08:00:00+08:00",
    "institution_id": INSTITUTION_ID,
    "parameters": {"since": "2026-09-01T00:00:00+08:00", "shared_device_min_learners": 2},
    "indicators": [{**EXAMPLES["IndicatorOut"], "findings": [EXAMPLES["FindingOut"]]}],
}

# --- classes (班级/期次) and enrolment into a class ----------------------------------------------
CLASS_OUT = {
    "class_id": CLASS_ID,
    "course_id": COURSE_ID,
    "institution_id": INSTITUTION_ID,
    "code": "2026-03",
    "name": "2026年第3期低压电工作业（初级）培训班",
    "is_default": False,
    "starts_on": "2026-03-02",
    "ends_on": "2026-04-17",
    "capacity": 60,
    "head_teacher_id": STAFF_ID,
    "head_teacher_name": "李建国",
    "status": "open",
    "opened_at": "2026-03-02T08:30:00+08:00",
    "closed_at": None,
    "enrolled": 48,
    "completed": 0,
    "seats_left": 12,
}
ROSTER_ENTRY = {
    "enrollment_id": ENROLLMENT_ID,
    "learner_id": LEARNER_ID,
    "real_name_masked": "张*华",
    "id_number_masked": ID_MASKED,
    "employer": "深圳市南山区城市建设集团有限公司",
    "enrolled_at": CREATED_AT,
    "credited_minutes": 1265,
    "required_minutes": 2400,
    "quiz_passed": False,
    "rollcall_pass_rate": 96,
    "completed_at": None,
    "missing_zh": ["还需完成 1135 分钟有效学时", "需通过考试（60 分及以上）"],
}
ROSTER_IMPORT_ID = "e4d3c2b1-a098-4f7e-8d6c-5b4a39281706"
ROSTER_ERROR = {
    "row": 12,
    "field": "id_number",
    "code": "id_check_digit",
    "message_zh": "第 12 行 身份证号：校验码不对（最后一位与前 17 位不符），请核对是否录错",
    "message_en": "row 12, id_number: has a wrong check character",
}
ENROLLED_LEARNER = {
    "row": 2,
    "learner_id": LEARNER_ID,
    "enrollment_id": ENROLLMENT_ID,
    "real_name_masked": "张*华",
    "id_number_masked": ID_MASKED,
    "activation_code": "K7QH-3M9X-PT4A",
}
EXAMPLES.update(
    {
        "ClassIn": {
            "code": "2026-03",
            "name": CLASS_OUT["name"],
            "starts_on": "2026-03-02",
            "ends_on": "2026-04-17",
            "capacity": 60,
            "head_teacher_id": STAFF_ID,
        },
        "ClassUpdateIn": {"capacity": 80, "ends_on": "2026-04-24"},
        "ClassOut": CLASS_OUT,
        "RosterEntryOut": ROSTER_ENTRY,
        "RosterOut": {"class": CLASS_OUT, "entries": [ROSTER_ENTRY]},
        "EnrolIntoClassIn": {"learner_id": LEARNER_ID, "employer": ROSTER_ENTRY["employer"]},
        "SelfEnrolIn": {"class_id": CLASS_ID},
        "RosterErrorOut": ROSTER_ERROR,
        "RosterImportOut": {
            "import_id": ROSTER_IMPORT_ID,
            "class_id": CLASS_ID,
            "filename": "2026年第3期名册.xlsx",
            "created_at": CREATED_AT,
            "total_rows": 500,
            "valid_rows": 499,
            "errors": [ROSTER_ERROR],
            "ready": False,
            "committed_at": None,
            "enrolled": 0,
        },
        "EnrolledLearnerOut": ENROLLED_LEARNER,
        "RosterCommitOut": {"import_id": ROSTER_IMPORT_ID, "enrolled": [ENROLLED_LEARNER]},
        "PersonIn": {
            "real_name": "张建华",
            "id_number": ID_NUMBER,
            "phone": "13800138000",
            "group": "企业职工",
            "employer": ROSTER_ENTRY["employer"],
        },
        "ActivateIn": {
            "id_number": ID_NUMBER,
            "activation_code": "K7QH-3M9X-PT4A",
            "username": "zhangjianhua",
            "password": "Gd-Dianli-2026-Safe",
        },
        "ActivatedOut": {"user_id": LEARNER_ID, "username": "zhangjianhua"},
        "Body_check_roster_api_v1_classes__class_id__roster_imports_post": {
            "file": "2026年第3期名册.xlsx"
        },
        "ClassEnrolmentOut": {
            "enrollment_id": ENROLLMENT_ID,
            "class_id": CLASS_ID,
            "learner_id": LEARNER_ID,
        },
    }
)


def example_for(name: str, schema: dict[str, Any]) -> Any | None:
    """The example for component ``name``: its own, this module's, or an enum's first value."""
    if "examples" in schema or "example" in schema:
        return None
    if name in EXAMPLES:
        return copy.deepcopy(EXAMPLES[name])
    if "enum" in schema and schema["enum"]:
        return schema["enum"][0]
    return None


# --- bodies that are not a component schema ---------------------------------------------------
XAPI_STATEMENT: dict[str, Any] = {
    "id": "3f1c2b9e-8d4a-5e6f-9a0b-7c1d2e3f4a5b",
    "actor": {
        "objectType": "Agent",
        "account": {"homePage": "https://skilltrace.cn", "name": "b1f0c9e8d7a6b5c4d3e2f1a0"},
    },
    "verb": {
        "id": "http://adlnet.gov/expapi/verbs/completed",
        "display": {"en-US": "completed", "zh-CN": "完成"},
    },
    "object": {
        "objectType": "Activity",
        "id": f"https://skilltrace.cn/courses/{COURSE_ID}",
        "definition": {
            "type": "http://adlnet.gov/expapi/activities/course",
            "name": {
                "zh-CN": COURSE_IN["title"],
                "en-US": f"{COURSE_IN['title']} (occupation 6-31-01-03, level5)",
            },
        },
    },
    "result": {"completion": True, "success": True, "duration": "PT40H12M"},
    "context": {
        "registration": ENROLLMENT_ID,
        "platform": "SkillTrace",
        "language": "zh-CN",
        "extensions": {
            "https://skilltrace.cn/xapi/extensions/fact": "enrollment.completed",
            "https://skilltrace.cn/xapi/extensions/audit-entry": f"inst:{INSTITUTION_ID}#1841",
        },
    },
    "timestamp": "2026-11-20T08:40:51.000Z",
    "stored": "2026-11-20T08:40:51.000Z",
    "authority": {
        "objectType": "Agent",
        "account": {"homePage": "https://skilltrace.cn", "name": "skilltrace"},
    },
    "version": "1.0.3",
}
XAPI_RESULT: dict[str, Any] = {
    "statements": [XAPI_STATEMENT],
    "more": "/xapi/statements?cursor=eyJzdG9yZWQiOiIyMDI2LTExLTIwIn0",
}
JWKS: dict[str, Any] = {
    "keys": [
        {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
            "kid": "audit-2026-11",
            "use": "sig",
            "alg": "EdDSA",
        },
        {
            "kty": "RSA",
            "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95G"
            "Q1Lx6F1eOe1vFpTqd8xeT3kCqxkNYYqjH7dGtH5Ti6WkCTmFQhEwKHjn4gQeaNIkVXTHeHZcFq-qXCXnJ",
            "e": "AQAB",
            "kid": "credentials-2026-11",
            "use": "sig",
            "alg": "RS256",
        },
    ]
}
#: The worked example of docs/audit-format.md (three entries and their checkpoint).
AUDIT_NDJSON = (
    '{"action":"enrollment.created","actor":"user:3f1a9c2e-8b7d-4e6f-a5c4-1b2d3e4f5a6b","chain":"inst:0b6f1c1e-5a8d-4c4e-9f0a-2d3b4c5d6e7f","hash":"496db93329a7ebd9ffad40f83ff17dd673fb9eb1ee91e37f7077d7dab609ce3f","payload":{"course":"c0ffee00-1234-4abc-8def-0123456789ab"},"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000","seq":1,"subject":"enrollment:6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d","time":"2026-01-05T01:00:00.000000Z","type":"entry"}\n'
    '{"action":"study.session_started","actor":"user:3f1a9c2e-8b7d-4e6f-a5c4-1b2d3e4f5a6b","chain":"inst:0b6f1c1e-5a8d-4c4e-9f0a-2d3b4c5d6e7f","hash":"87865bc3031b385c2a6a76348a1be93e6dcdbfda549288b37eab405fd984a0bd","payload":{"checkin_event":"9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d","ended_sessions":[],"enrollment":"6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"},"prev_hash":"496db93329a7ebd9ffad40f83ff17dd673fb9eb1ee91e37f7077d7dab609ce3f","seq":2,"subject":"study_session:5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9","time":"2026-01-05T01:00:01.250000Z","type":"entry"}\n'
    '{"action":"certificate.revoked","actor":"user:1d2c3b4a-5f6e-4d8c-9b0a-1f2e3d4c5b6a","chain":"inst:0b6f1c1e-5a8d-4c4e-9f0a-2d3b4c5d6e7f","hash":"17824e41c2385dae9e53cd544fb21e8cc52cad8fb371abb23c2162412863b560","payload":{"certificate":"77aa88bb-99cc-4ddd-8eee-ffaa00bb11cc","reason":"证书信息有误"},"prev_hash":"87865bc3031b385c2a6a76348a1be93e6dcdbfda549288b37eab405fd984a0bd","seq":3,"subject":"certificate:SZ001-2026-000001","time":"2026-01-05T01:00:02.500000Z","type":"entry"}\n'
    '{"chain":"inst:0b6f1c1e-5a8d-4c4e-9f0a-2d3b4c5d6e7f","first_seq":1,"head_hash":"17824e41c2385dae9e53cd544fb21e8cc52cad8fb371abb23c2162412863b560","iss":"skilltrace","jws":"eyJhbGciOiJFZERTQSIsImtpZCI6ImtQcktfcW14VldhWVZBOXd3QkY2SXVvM3ZWeno3VHhIQ1R3WEJ5Z3JTNGsiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJza2lsbHRyYWNlIiwiY2hhaW4iOiJpbnN0OjBiNmYxYzFlLTVhOGQtNGM0ZS05ZjBhLTJkM2I0YzVkNmU3ZiIsInNlcSI6MywiaGVhZF9oYXNoIjoiMTc4MjRlNDFjMjM4NWRhZTllNTNjZDU0NGZiMjFlOGNjNTJjYWQ4ZmIzNzFhYmIyM2MyMTYyNDEyODYzYjU2MCIsInRpbWUiOiIyMDI2LTAxLTA1VDAxOjAwOjAyLjUwMDAwMFoiLCJmaXJzdF9zZXEiOjF9.vX0j2tZ_3ek7VSwQ3jUW4BF8pBecUjWyI_yGe5pkYe3r3N1vGZNVIUL8THnhn8FhiVkIE6mJU3Es7f9BS5fTDA","seq":3,"time":"2026-01-05T01:00:02.500000Z","type":"checkpoint"}\n'
)
AUDIT_CSV = (
    "type,chain,seq,time,actor,action,subject,payload,prev_hash,hash,jws\r\n"
    'entry,inst:0b6f1c1e-5a8d-4c4e-9f0a-2d3b4c5d6e7f,1,2026-01-05T01:00:00.000000Z,user:3f1a9c2e-8b7d-4e6f-a5c4-1b2d3e4f5a6b,enrollment.created,enrollment:6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d,"{""course"":""c0ffee00-1234-4abc-8def-0123456789ab""}",0000000000000000000000000000000000000000000000000000000000000000,496db93329a7ebd9ffad40f83ff17dd673fb9eb1ee91e37f7077d7dab609ce3f,\r\n'
    'entry,inst:0b6f1c1e-5a8d-4c4e-9f0a-2d3b4c5d6e7f,2,2026-01-05T01:00:01.250000Z,user:3f1a9c2e-8b7d-4e6f-a5c4-1b2d3e4f5a6b,study.session_started,study_session:5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9,"{""checkin_event"":""9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d"",""ended_sessions"":[],""enrollment"":""6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d""}",496db93329a7ebd9ffad40f83ff17dd673fb9eb1ee91e37f7077d7dab609ce3f,87865bc3031b385c2a6a76348a1be93e6dcdbfda549288b37eab405fd984a0bd,\r\n'
    'entry,inst:0b6f1c1e-5a8d-4c4e-9f0a-2d3b4c5d6e7f,3,2026-01-05T01:00:02.500000Z,user:1d2c3b4a-5f6e-4d8c-9b0a-1f2e3d4c5b6a,certificate.revoked,certificate:SZ001-2026-000001,"{""certificate"":""77aa88bb-99cc-4ddd-8eee-ffaa00bb11cc"",""reason"":""证书信息有误""}",87865bc3031b385c2a6a76348a1be93e6dcdbfda549288b37eab405fd984a0bd,17824e41c2385dae9e53cd544fb21e8cc52cad8fb371abb23c2162412863b560,\r\n'
    'checkpoint,inst:0b6f1c1e-5a8d-4c4e-9f0a-2d3b4c5d6e7f,3,2026-01-05T01:00:02.500000Z,,,,"{""chain"":""inst:0b6f1c1e-5a8d-4c4e-9f0a-2d3b4c5d6e7f"",""first_seq"":1,""head_hash"":""17824e41c2385dae9e53cd544fb21e8cc52cad8fb371abb23c2162412863b560"",""iss"":""skilltrace"",""seq"":3,""time"":""2026-01-05T01:00:02.500000Z""}",,17824e41c2385dae9e53cd544fb21e8cc52cad8fb371abb23c2162412863b560,eyJhbGciOiJFZERTQSIsImtpZCI6ImtQcktfcW14VldhWVZBOXd3QkY2SXVvM3ZWeno3VHhIQ1R3WEJ5Z3JTNGsiLCJ0eXAiOiJKV1QifQ.eyJpc3MiOiJza2lsbHRyYWNlIiwiY2hhaW4iOiJpbnN0OjBiNmYxYzFlLTVhOGQtNGM0ZS05ZjBhLTJkM2I0YzVkNmU3ZiIsInNlcSI6MywiaGVhZF9oYXNoIjoiMTc4MjRlNDFjMjM4NWRhZTllNTNjZDU0NGZiMjFlOGNjNTJjYWQ4ZmIzNzFhYmIyM2MyMTYyNDEyODYzYjU2MCIsInRpbWUiOiIyMDI2LTAxLTA1VDAxOjAwOjAyLjUwMDAwMFoiLCJmaXJzdF9zZXEiOjF9.vX0j2tZ_3ek7VSwQ3jUW4BF8pBecUjWyI_yGe5pkYe3r3N1vGZNVIUL8THnhn8FhiVkIE6mJU3Es7f9BS5fTDA\r\n'
)
CLAIMS_CSV = (
    "\ufeff序号 No.,姓名 Name,身份证号 ID (masked),人员类别 Group,职业编码 Occupation code,"
    "职业（工种）Occupation,等级 Level,证书编号 Serial,发证日期 Issued,有效学时 Hours,"
    "补贴金额（元）Amount (yuan),补贴金额（分）Amount (fen),核定说明 Eligibility\r\n"
    f"1,王小明,{ID_MASKED},农民工,6-31-01-03,电工,五级/初级工,{SERIAL},2026-11-20,40.2,"
    "1200.00,120000,本年度第 1 次补贴培训；同职业同等级首次\r\n"
    "合计 Total,,,,,,,,,40.2,1200.00,120000,\r\n"
)
