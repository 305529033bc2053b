"""The streamed, server-paced face check through the API, with the real engine on real frames.

The server's clock is frozen and advanced ~83 ms per frame (12 frames a second), so the test
controls time without sleeping. Each test fixes the check's plan (which action, revealed when)
the way the burst tests fix a challenge's actions, then plays talking_head_1.mp4: an idle
stretch (open eyes, head still) and, where the script says, the stretch where the speaker blinks
(frames 109-120, found by the eye aspect ratio, see app/attendance/stream_eval.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.attendance.models import AttendanceEvent, FaceChallenge, FaceCheckFrame
from app.attendance.streaming import Reveal, Schedule
from app.audit.service import Actor
from app.clock import FrozenClock
from app.db import transaction
from tests.face_data import jpeg, video_frames
from tests.factories import (
    consent,
    face_learner,
    login,
    make_course,
    make_enrollment,
    make_institution,
    make_learner,
)

API = "/api/v1"
STEP_MS = 83
IDLE = list(range(0, 23))  # eyes open, head still
BLINK = list(range(109, 121))  # one natural blink, head still

#: What the client shows at time t (ms since the first frame), given the reveals it has seen
#: as (step, revealed at ms, action).
Script = Callable[[int, list[tuple[int, int, str]]], int]


def idle(t: int) -> int:
    k = int(t / 40) % (2 * len(IDLE) - 2)  # 25 frames/s, back and forth
    return IDLE[k if k < len(IDLE) else 2 * len(IDLE) - 2 - k]


def responsive(t: int, seen: list[tuple[int, int, str]]) -> int:
    """Blinks 0.5 s after each reveal."""
    for _step, at, _action in seen:
        k = int((t - at - 500) / 40)
        if 0 <= k < len(BLINK):
            return BLINK[k]
    return idle(t)


def early(t: int, seen: list[tuple[int, int, str]]) -> int:
    """Blinks at 0.6-1.1 s, before the reveal at 1.5 s, never after."""
    k = int((t - 600) / 40)
    return BLINK[k] if 0 <= k < len(BLINK) else idle(t)


def marked(i: int, n: int) -> bytes:
    """Clip frame ``i`` with ``n`` written into a corner: every upload is new bytes, as a live
    camera's are."""
    img = video_frames()[i].copy()
    h = img.shape[0]
    for bit in range(16):
        img[h - 4 : h, bit * 4 : bit * 4 + 4] = 255 if (n >> bit) & 1 else 0
    return jpeg(img)


def fix_plan(engine: Any, cid: str, reveals: list[tuple[str, int]]) -> None:
    with Session(engine) as s:
        c = s.get(FaceChallenge, uuid.UUID(cid))
        assert c is not None and c.mode == "streamed" and c.actions == []
        c.schedule = Schedule([Reveal(a, d) for a, d in reveals], 2500).to_json()
        s.add(c)
        s.commit()


def stream(
    client: TestClient,
    clock: FrozenClock,
    url: str,
    h: dict[str, str] | None,
    script: Script,
    start: int = 0,
) -> list[dict[str, Any]]:
    """Send frames every STEP_MS until the server says the check is complete."""
    acks: list[dict[str, Any]] = []
    seen: list[tuple[int, int, str]] = []
    t, seq = 0, 0
    while True:
        data = marked(script(t, seen), start + seq)
        r = client.post(
            url, data={"seq": str(seq)}, files={"frame": ("f.jpg", data, "image/jpeg")}, headers=h
        )
        assert r.status_code == 200, r.text
        ack = r.json()
        acks.append(ack)
        assert ack["seq"] == seq and ack["next_seq"] == seq + 1
        if ack["action"] and all(step != ack["step"] for step, _, _ in seen):
            seen.append((ack["step"], ack["received_ms"], ack["action"]))
        if ack["complete"]:
            return acks
        assert seq < 200
        clock.advance(STEP_MS / 1000)
        t, seq = t + STEP_MS, seq + 1


def open_check(client: TestClient, h: dict[str, str]) -> dict[str, Any]:
    r = client.post(f"{API}/me/face/challenge", headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["mode"] == "streamed" and body["actions"] == []
    assert body["frames_url"] == f"{API}/me/face/checks/{body['challenge_id']}/frames"
    return dict(body)


def new_learner(client: TestClient, engine: Any) -> tuple[Any, dict[str, str]]:
    learner = make_learner(engine, make_institution(engine))
    h = login(client, learner.username)
    consent(client, h)
    return learner, h


def partner_key(engine: Any, inst: Any, *scopes: str) -> dict[str, str]:
    with transaction(engine) as session:
        _, secret = accounts.create_api_key(
            session,
            institution_id=inst.id,
            name="partner",
            scopes=list(scopes),
            actor=Actor.system(),
        )
    return {"Authorization": f"Bearer {secret}"}


def event_of(engine: Any, event_id: str) -> AttendanceEvent:
    with Session(engine) as s:
        e = s.get(AttendanceEvent, uuid.UUID(event_id))
        assert e is not None
        return e


def test_enrolment_by_stream_passes_when_the_blink_follows_its_reveal(
    client: TestClient, engine: Any, clock: FrozenClock
) -> None:
    _learner, h = new_learner(client, engine)
    check = open_check(client, h)
    cid = check["challenge_id"]
    fix_plan(engine, cid, [("blink", 1500)])
    acks = stream(client, clock, check["frames_url"], h, responsive)
    # No action until the reveal; then the action with its window, then complete.
    revealed = [a for a in acks if a["action"]]
    assert acks[0]["action"] is None and revealed[0]["received_ms"] >= 1500
    assert revealed[0]["action"] == "blink" and revealed[0]["steps"] == 1
    assert 0 < revealed[0]["window_left_ms"] <= 2500

    # Submitting with frames is refused: they were streamed already.
    r = client.post(
        f"{API}/me/face/enrol",
        data={"challenge_id": cid},
        files=[("frames", ("f.jpg", marked(0, 999), "image/jpeg"))],
        headers=h,
    )
    assert (r.status_code, r.json()["code"]) == (422, "frames_not_expected")
    r = client.post(f"{API}/me/face/enrol", data={"challenge_id": cid}, headers=h)
    assert r.status_code == 201, r.text
    event = event_of(engine, r.json()["attendance_event_id"])
    assert event.liveness["mode"] == "streamed" and event.liveness["passed"] is True
    assert event.actions == ["blink"]
    assert len(event.frame_sha256) == len(acks)
    with Session(engine) as s:  # the stream's frames are gone once decided
        assert s.exec(select(FaceCheckFrame)).first() is None
    r = client.get(f"{API}/me/attendance-events", headers=h)
    assert r.json()[0]["liveness_mode"] == "streamed"


def test_a_blink_before_its_reveal_does_not_count(
    client: TestClient, engine: Any, clock: FrozenClock
) -> None:
    _learner, h = new_learner(client, engine)
    check = open_check(client, h)
    fix_plan(engine, check["challenge_id"], [("blink", 1500)])
    stream(client, clock, check["frames_url"], h, early)
    r = client.post(f"{API}/me/face/enrol", data={"challenge_id": check["challenge_id"]}, headers=h)
    assert (r.status_code, r.json()["code"]) == (422, "liveness_failed"), r.text
    event = event_of(engine, r.json()["attendance_event_id"])
    assert event.reason_code == "liveness_failed"
    assert event.liveness["reason"] == "action_not_seen"
    r = client.get(f"{API}/me/attendance-events", headers=h)
    assert r.json()[0]["reason_category"] == "liveness"


def test_out_of_order_and_repeated_frames_void_the_check(
    client: TestClient, engine: Any, clock: FrozenClock
) -> None:
    _learner, h = new_learner(client, engine)

    def send(url: str, seq: int, data: bytes) -> Any:
        files = {"frame": ("f.jpg", data, "image/jpeg")}
        return client.post(url, data={"seq": str(seq)}, files=files, headers=h)

    check = open_check(client, h)
    url = check["frames_url"]
    assert send(url, 0, marked(0, 5000)).status_code == 200
    clock.advance(0.08)
    # A retry of the last frame (same bytes) is answered again, not stored twice.
    assert send(url, 0, marked(0, 5000)).json()["next_seq"] == 1
    assert send(url, 1, marked(1, 5001)).status_code == 200
    clock.advance(0.08)
    r = send(url, 3, marked(2, 5002))
    assert (r.status_code, r.json()["code"]) == (409, "frame_out_of_order")
    assert send(url, 2, marked(2, 5003)).status_code == 409  # void: nothing more is taken
    r = client.post(f"{API}/me/face/enrol", data={"challenge_id": check["challenge_id"]}, headers=h)
    assert (r.status_code, r.json()["code"]) == (422, "stream_discontinuous"), r.text
    event = event_of(engine, r.json()["attendance_event_id"])
    assert (event.reason_code, event.liveness["reason"]) == (
        "stream_discontinuous",
        "frame_out_of_order",
    )
    assert (
        client.get(f"{API}/me/attendance-events", headers=h).json()[0]["reason_category"]
        == "continuity"
    )

    check = open_check(client, h)
    url = check["frames_url"]
    assert send(url, 0, marked(3, 6000)).status_code == 200
    clock.advance(0.08)
    r = send(url, 1, marked(3, 6000))
    assert (r.status_code, r.json()["code"]) == (409, "frame_repeated")
    r = client.post(f"{API}/me/face/enrol", data={"challenge_id": check["challenge_id"]}, headers=h)
    assert r.json()["code"] == "stream_discontinuous"


def test_an_unfinished_check_is_not_decided_and_stays_usable(
    client: TestClient, engine: Any, clock: FrozenClock
) -> None:
    _learner, h = new_learner(client, engine)
    check = open_check(client, h)
    fix_plan(engine, check["challenge_id"], [("blink", 1500)])
    url = check["frames_url"]
    for seq in range(5):
        files = {"frame": ("f.jpg", marked(idle(seq * 83), 7000 + seq), "image/jpeg")}
        assert client.post(url, data={"seq": str(seq)}, files=files, headers=h).is_success
        clock.advance(0.083)
    r = client.post(f"{API}/me/face/enrol", data={"challenge_id": check["challenge_id"]}, headers=h)
    assert (r.status_code, r.json()["code"]) == (409, "check_incomplete")
    with Session(engine) as s:
        c = s.get(FaceChallenge, uuid.UUID(check["challenge_id"]))
        assert c is not None and c.used_at is None


@pytest.mark.parametrize("who", ["learner", "partner"])
def test_verification_by_stream_for_checkin_and_partners(
    who: str, client: TestClient, engine: Any, clock: FrozenClock
) -> None:
    inst = make_institution(engine)
    learner, h = face_learner(client, engine, inst)
    if who == "learner":
        enrollment = make_enrollment(engine, learner, make_course(engine, inst))
        check = open_check(client, h)
        fix_plan(engine, check["challenge_id"], [("blink", 1300)])
        stream(client, clock, check["frames_url"], h, responsive, start=10_000)
        r = client.post(
            f"{API}/enrollments/{enrollment.id}/sessions",
            data={"challenge_id": check["challenge_id"]},
            headers=h,
        )
        assert r.status_code == 201, r.text
        event = event_of(engine, r.json()["attendance_event_id"])
    else:
        hk = partner_key(engine, inst, "verify")
        r = client.post(f"{API}/learners/{learner.id}/face/checks", headers=hk)
        assert r.status_code == 201, r.text
        check = r.json()
        assert check["mode"] == "streamed" and check["frames_url"].startswith(
            f"{API}/learners/{learner.id}/face/checks/"
        )
        fix_plan(engine, check["challenge_id"], [("blink", 1300)])
        stream(client, clock, check["frames_url"], hk, responsive, start=20_000)
        r = client.post(
            f"{API}/learners/{learner.id}/verify",
            data={"challenge_id": check["challenge_id"]},
            headers=hk,
        )
        assert r.status_code == 200, r.text
        assert r.json()["outcome"] == "passed", r.text
        event = event_of(engine, r.json()["attendance_event_id"])
    assert event.outcome.value == "passed"
    assert event.liveness["mode"] == "streamed" and event.actions == ["blink"]


def test_checkin_refused_for_liveness_says_liveness_not_mismatch(
    client: TestClient, engine: Any, clock: FrozenClock
) -> None:
    """The enrolled face, but the blink came before its reveal: the refusal is 422
    liveness_failed (reason category liveness), not 403 face_mismatch."""
    inst = make_institution(engine)
    learner, h = face_learner(client, engine, inst)
    enrollment = make_enrollment(engine, learner, make_course(engine, inst))
    check = open_check(client, h)
    fix_plan(engine, check["challenge_id"], [("blink", 1500)])
    stream(client, clock, check["frames_url"], h, early, start=30_000)
    r = client.post(
        f"{API}/enrollments/{enrollment.id}/sessions",
        data={"challenge_id": check["challenge_id"]},
        headers=h,
    )
    assert (r.status_code, r.json()["code"]) == (422, "liveness_failed"), r.text
    assert r.json()["reason_code"] == "liveness_failed"
    event = event_of(engine, r.json()["attendance_event_id"])
    assert event.liveness["reason"] == "action_not_seen"
    assert event.best_distance is not None  # the face was compared: it is the learner


def test_partner_burst_events_say_burst(client: TestClient, engine: Any) -> None:
    from tests.face_data import blink_burst

    inst = make_institution(engine)
    learner, _h = face_learner(client, engine, inst)
    hk = partner_key(engine, inst, "verify", "attendance:read")
    r = client.post(f"{API}/learners/{learner.id}/face/challenge", headers=hk)
    assert r.status_code == 201 and r.json()["mode"] == "burst" and r.json()["actions"]
    cid = r.json()["challenge_id"]
    with Session(engine) as s:  # the clip blinks; it never turns on cue
        c = s.get(FaceChallenge, uuid.UUID(cid))
        assert c is not None
        c.actions = ["blink"]
        s.add(c)
        s.commit()
    files = [("frames", (f"f{i}.jpg", d, "image/jpeg")) for i, d in enumerate(blink_burst("b"))]
    r = client.post(
        f"{API}/learners/{learner.id}/verify", data={"challenge_id": cid}, files=files, headers=hk
    )
    assert r.status_code == 200, r.text
    event = client.get(f"{API}/attendance-events/{r.json()['attendance_event_id']}", headers=hk)
    assert event.status_code == 200, event.text
    assert event.json()["liveness_mode"] == "burst"


def test_frames_analysed_while_streaming_are_not_analysed_at_submit(
    client: TestClient, engine: Any, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a face pool, each stored frame is analysed as its upload commits; the submit finds
    every analysis and analyses nothing itself, and decides as it would have."""
    from app.attendance import engine as face
    from app.attendance import prefetch
    from app.config import get_settings

    monkeypatch.setenv("SKILLTRACE_FACE_WORKERS", "1")
    get_settings.cache_clear()
    prefetch.clear()
    at_submit: list[int] = []
    analyse = face.analyse_frames

    def counted(frames: Any) -> Any:
        at_submit.append(len(frames))
        return analyse(frames)

    monkeypatch.setattr(face, "analyse_frames", counted)
    try:
        _learner, h = new_learner(client, engine)
        check = open_check(client, h)
        fix_plan(engine, check["challenge_id"], [("blink", 1500)])
        acks = stream(client, clock, check["frames_url"], h, responsive)
        assert len(prefetch._cache) == len(acks)  # one analysis under way per stored frame
        r = client.post(
            f"{API}/me/face/enrol", data={"challenge_id": check["challenge_id"]}, headers=h
        )
        assert r.status_code == 201, r.text
        assert at_submit == [] and len(prefetch._cache) == 0
        event = event_of(engine, r.json()["attendance_event_id"])
        assert event.liveness["passed"] is True and len(event.frame_sha256) == len(acks)
    finally:
        face.shutdown()
        prefetch.clear()
        monkeypatch.delenv("SKILLTRACE_FACE_WORKERS")
        get_settings.cache_clear()
