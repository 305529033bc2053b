"""attendance.verified and attendance.reviewed from real face checks (real engine, real frames).

The verification events come from the learner's own enrolment and a partner's verification of
the same person; the review decision is staff's, on an event held for review.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import Role
from app.attendance.models import (
    AttendanceEvent,
    FaceChallenge,
    Outcome,
    Purpose,
    ReviewStatus,
)
from app.audit.service import Actor
from app.db import transaction
from tests.face_data import blink_burst
from tests.factories import (
    challenge,
    consent,
    id_number,
    login,
    make_institution,
    make_learner,
    make_user,
    send,
)
from tests.webhooks.conftest import Receiver, deliver, subscribe, verify_signature

pytestmark = pytest.mark.slow


def test_verifications_and_review_are_announced(
    client: TestClient, engine: Engine, receiver: Receiver
) -> None:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    hs = login(client, staff.username)
    sub = subscribe(client, hs, receiver.url, ["attendance.verified", "attendance.reviewed"])
    idn = id_number(seq=777)
    learner = make_learner(engine, inst, id_number=idn)
    h = login(client, learner.username)
    consent(client, h)

    cid = challenge(client, h, engine, ["blink"])
    assert send(client, "/api/v1/me/face/enrol", h, cid, blink_burst("a")).status_code == 201
    with transaction(engine) as s:
        _, key = accounts.create_api_key(
            s, institution_id=inst.id, name="p", scopes=["verify"], actor=Actor.system()
        )
    hk = {"Authorization": f"Bearer {key}"}
    r = client.post(f"/api/v1/learners/{learner.id}/face/challenge", headers=hk)
    cid = r.json()["challenge_id"]
    with Session(engine) as s:
        c = s.get(FaceChallenge, uuid.UUID(cid))
        assert c is not None
        c.actions = ["blink"]
        s.add(c)
        s.commit()
    r = send(client, f"/api/v1/learners/{learner.id}/verify", hk, cid, blink_burst("b"))
    assert r.status_code == 200 and r.json()["outcome"] == "passed", r.text
    verified_id = r.json()["attendance_event_id"]

    # A verification held for review (an uncertain match), then staff decide it.
    with transaction(engine) as s:
        held = AttendanceEvent(
            user_id=learner.id,
            institution_id=inst.id,
            purpose=Purpose.checkin,
            accept_threshold="0.3800",
            reject_threshold="0.5000",
            model_name="test",
            model_version="0",
            match_metric="euclidean",
            face_engine="test",
            model_sha256="0" * 64,
            outcome=Outcome.review,
            reason_code="uncertain_match",
            review_status=ReviewStatus.pending,
        )
        s.add(held)
    r = client.post(
        f"/api/v1/attendance-events/{held.id}/review",
        json={"decision": "approve", "reason": "同一人，光线较暗"},
        headers=hs,
    )
    assert r.status_code == 200, r.text

    assert deliver(engine).delivered == 3
    by_type: dict[str, list[Any]] = {}
    for q in receiver.requests:
        assert verify_signature(sub["secret"], q.headers, q.body)
        text = q.body.decode()
        assert idn not in text and "distance" not in text and "王小明" not in text
        by_type.setdefault(q.json["type"], []).append(q.json["data"])
    verified = sorted(by_type["attendance.verified"], key=lambda d: d["purpose"])
    assert [(d["purpose"], d["outcome"]) for d in verified] == [
        ("enrol", "passed"),
        ("partner", "passed"),
    ]
    assert verified[1]["attendance_event_id"] == verified_id
    assert all(d["learner_id"] == str(learner.id) for d in verified)
    [reviewed] = by_type["attendance.reviewed"]
    assert reviewed["attendance_event_id"] == str(held.id)
    assert (reviewed["decision"], reviewed["review_status"]) == ("approved", "approved")
    assert reviewed["reviewed_by"] == str(staff.id)
    assert "光线" not in str(reviewed)  # the reviewer's free-text reason stays inside
    with Session(engine) as s:
        assert len(s.exec(select(AttendanceEvent)).all()) == 3
