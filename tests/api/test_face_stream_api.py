"""The streamed, server-paced face check through the API, with the real engine on real frames.

The server's clock is frozen and advanced ~83 ms per frame (12 frames a second), so the test
controls time without sleeping. Each test fixes the check's plan (which action, revealed when)
the way the burst tests fix a challenge's actions, then plays talking_head_1.mp4: an idle
stretch (open eyes, head still) and, where the script says, the stretch where the speaker blinks
(frames 109-120, found by the eye aspect ratio, see app/attendance/stream_eval.py).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.attendance.models import FaceChallenge, FaceCheckFrame
from app.clock import FrozenClock
from tests.api.face_streams import (
    API,
    early,
    event_of,
    fix_plan,
    idle,
    marked,
    new_learner,
    open_check,
    responsive,
    stream,
)
from tests.factories import (
    face_learner,
    key_headers,
    make_course,
    make_enrollment,
    make_institution,
)


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
        hk = key_headers(engine, inst.id, ["verify"])
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
    hk = key_headers(engine, inst.id, ["verify", "attendance:read"])
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
