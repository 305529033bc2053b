"""The whole learner path over HTTP with real face frames:
register → consent → enrol face → enrol in a course → check in → heartbeats with a roll-call
→ answer it → quiz → complete, and the ledger recomputes to the stored total."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.attendance.models import FaceChallenge
from tests.face_data import blink_burst
from tests.factories import PASSWORD, id_number, login, make_institution, make_user

pytestmark = pytest.mark.slow
API = "/api/v1"


def blink_challenge(client: TestClient, engine: Any, h: dict[str, str]) -> str:
    r = client.post(f"{API}/me/face/challenge", headers=h)
    assert r.status_code == 201, r.text
    cid = r.json()["challenge_id"]
    with Session(engine) as s:  # the clip shows blinks; fix the randomly drawn actions
        c = s.get(FaceChallenge, uuid.UUID(cid))
        assert c is not None
        c.actions = ["blink"]
        c.mode, c.schedule = "burst", None  # a burst challenge (streamed: its own tests)
        s.add(c)
        s.commit()
    return cid


def frames(burst: str) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("frames", (f"{i}.jpg", b, "image/jpeg")) for i, b in enumerate(blink_burst(burst))]


def test_register_to_completion(client: TestClient, engine: Any, clock: Any) -> None:
    from app.accounts.models import Role

    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    hs = login(client, staff.username)
    course = client.post(
        f"{API}/courses",
        json={
            "title": "低压电工作业（初级）",
            "occupation_code": "6-31-01-03",
            "occupation_name": "电工",
            "level": "level5",
            "required_minutes": 3,
            "pass_score": 60,
            "subsidy_fen": 150_000,
            "rollcall": {
                "min_interval_s": 60,
                "max_interval_s": 90,
                "response_window_s": 90,
                "min_pass_rate": 80,
            },
            "quiz": {"question_count": 3, "time_limit_s": 600, "max_attempts": 2},
        },
        headers=hs,
    )
    assert course.status_code == 201, course.text
    cid = course.json()["id"]
    r = client.post(
        f"{API}/courses/{cid}/lessons",
        json={"title": "安全用电", "kind": "text", "body_or_url": "触电急救……", "minutes": 3},
        headers=hs,
    )
    assert r.status_code == 201, r.text
    bank = [
        {
            "kind": "single",
            "stem": "安全电压一般不超过多少伏？",
            "options": ["36V", "110V", "220V"],
            "answer": [0],
        },
        {
            "kind": "multiple",
            "stem": "哪些属于绝缘工具？",
            "options": ["绝缘手套", "铁锤", "绝缘靴"],
            "answer": [0, 2],
        },
        {
            "kind": "judge",
            "stem": "电工作业必须持证上岗。",
            "options": ["正确", "错误"],
            "answer": [0],
        },
    ]
    for q in bank:
        assert client.post(f"{API}/courses/{cid}/questions", json=q, headers=hs).status_code == 201
    assert client.post(f"{API}/courses/{cid}/publish", headers=hs).status_code == 200

    # Register with a real name and ID number, consent, enrol the face.
    r = client.post(
        f"{API}/auth/register",
        json={
            "username": "liming",
            "password": PASSWORD,
            "real_name": "李明",
            "id_number": id_number(seq=77),
            "group": "unemployed",
            "institution_code": inst.code,
        },
    )
    assert r.status_code == 201, r.text
    h = login(client, "liming")
    assert client.post(f"{API}/me/consent", json={"biometric": True}, headers=h).status_code == 200
    r = client.post(
        f"{API}/me/face/enrol",
        data={"challenge_id": blink_challenge(client, engine, h)},
        files=frames("a"),
        headers=h,
    )
    assert r.status_code == 201, r.text

    r = client.post(f"{API}/courses/{cid}/enrol", headers=h)
    assert r.status_code == 201, r.text
    eid = r.json()["enrollment_id"]
    p = client.get(f"{API}/enrollments/{eid}", headers=h).json()
    assert p["complete"] is False and len(p["missing"]) == 2

    # Check in with the face.
    r = client.post(
        f"{API}/enrollments/{eid}/sessions",
        data={"challenge_id": blink_challenge(client, engine, h)},
        files=frames("b"),
        headers=h,
    )
    assert r.status_code == 201, r.text
    sid, interval = r.json()["session_id"], r.json()["heartbeat_interval_s"]

    # Study; answer each roll-call with the face when it is offered.
    bursts = iter(["c", "b2", "c2"])
    answered = 0
    total = 0
    while total < 200:
        clock.advance(seconds=interval)
        beat = client.post(f"{API}/sessions/{sid}/heartbeat", json={"visible": True}, headers=h)
        assert beat.status_code == 200, beat.text
        assert beat.json()["state"] == "studying"
        total = beat.json()["credited_seconds"]
        offer = beat.json()["rollcall"]
        if offer:
            r = client.post(
                f"{API}/rollcalls/{offer['rollcall_id']}/response",
                data={"challenge_id": blink_challenge(client, engine, h)},
                files=frames(next(bursts)),
                headers=h,
            )
            assert r.status_code == 200, r.text
            assert r.json()["outcome"] == "passed" and r.json()["rollcall_status"] == "passed"
            answered += 1
    assert answered >= 1, "roll-calls come every 60-90 s"
    r = client.post(f"{API}/sessions/{sid}/end", headers=h)
    assert r.status_code == 200 and r.json()["state"] == "ended"
    p = client.get(f"{API}/enrollments/{eid}", headers=h).json()
    assert p["credited_minutes"] >= 3 and p["rollcall_pass_rate"] == 100
    assert p["missing"] == ["pass the quiz (score 60 or more)"]

    # The face-gated quiz: questions without answers; answer by the text of the options.
    r = client.post(
        f"{API}/enrollments/{eid}/quiz-attempts",
        data={"challenge_id": blink_challenge(client, engine, h)},
        files=frames("a2"),
        headers=h,
    )
    assert r.status_code == 201, r.text
    attempt = r.json()
    assert "answer" not in r.text
    right = {q["stem"]: {q["options"][i] for i in q["answer"]} for q in bank}
    answers = {
        q["id"]: [i for i, o in enumerate(q["options"]) if o in right[q["stem"]]]
        for q in attempt["questions"]
    }
    r = client.post(
        f"{API}/quiz-attempts/{attempt['attempt_id']}/submit", json={"answers": answers}, headers=h
    )
    assert r.status_code == 200, r.text
    assert (r.json()["score"], r.json()["passed"]) == (100, True)

    p = client.get(f"{API}/enrollments/{eid}", headers=h).json()
    assert p["complete"] is True and p["missing"] == [] and p["completed_at"]
    ledger = client.get(f"{API}/enrollments/{eid}/ledger", headers=hs).json()
    assert ledger["matches"] is True and ledger["stored_seconds"] >= 180
    events = client.get(f"{API}/enrollments/{eid}/attendance", headers=hs).json()
    purposes = sorted(e["purpose"] for e in events)
    # The face enrolment happened at the learner's institution, the course's.
    assert purposes == ["checkin", "enrol", "quiz"] + ["rollcall"] * answered
    assert all(e["outcome"] == "passed" for e in events)
