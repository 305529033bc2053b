"""Example bodies that are not a component schema: xAPI statements, the JWKS, audit exports
and the claims CSV."""

from __future__ import annotations

from typing import Any

from app.api.examples.values import (
    COURSE_ID,
    COURSE_IN,
    ENROLLMENT_ID,
    ID_MASKED,
    INSTITUTION_ID,
    SERIAL,
)

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
