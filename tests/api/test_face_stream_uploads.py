"""Several frames per upload: a slow link keeps the camera's frame rate (real engine, real
frames, the server's clock frozen and advanced by hand as in test_face_stream_api.py).

The page captures about 12 frames a second and sends, in one upload, what it captured while
the previous upload was on its way. The server stamps the last frame with the upload's arrival
and the earlier ones by their capture-time differences, never before the previous arrival, and
reveals actions at arrivals only (the answer is what carries them).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.attendance.checks import MAX_UPLOAD_FRAMES, stamps_of
from app.attendance.models import FaceChallenge, FaceCheckFrame
from app.attendance.streaming import Schedule
from app.clock import FrozenClock
from tests.api.face_streams import (
    API,
    STEP_MS,
    event_of,
    fix_plan,
    idle,
    marked,
    new_learner,
    open_check,
    responsive,
    send,
    stream,
)


def stamps(engine: Any, cid: str) -> list[int]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(FaceCheckFrame.t_ms)
                .where(col(FaceCheckFrame.challenge_id) == uuid.UUID(cid))
                .order_by(col(FaceCheckFrame.seq))
            ).all()
        )


def test_a_slow_link_keeps_the_cameras_frame_rate_and_passes(
    client: TestClient, engine: Any, clock: FrozenClock
) -> None:
    """A 330 ms round trip: one frame per upload reaches the server 3 times a second, below the
    4 frames/s the protocol needs (the baseline, same learner and plan); four frames per upload
    keep the camera's 12 a second and the blink after the reveal passes."""
    _learner, h = new_learner(client, engine)

    baseline = open_check(client, h)
    fix_plan(engine, baseline["challenge_id"], [("blink", 1500)])
    stream(
        client, clock, baseline["frames_url"], h, responsive, 100, per_upload=4, newest_only=True
    )
    r = client.post(
        f"{API}/me/face/enrol", data={"challenge_id": baseline["challenge_id"]}, headers=h
    )
    assert (r.status_code, r.json()["code"]) == (422, "stream_discontinuous"), r.text
    slow = event_of(engine, r.json()["attendance_event_id"]).liveness
    assert slow["reason"] == "frame_rate" and slow["fps"] < 4

    check = open_check(client, h)
    cid = check["challenge_id"]
    fix_plan(engine, cid, [("blink", 1500)])
    acks = stream(client, clock, check["frames_url"], h, responsive, 2000, per_upload=4)
    # Each answer names the upload's last frame and is stamped with its arrival.
    assert [a["seq"] for a in acks] == [4 * k + 3 for k in range(len(acks))]
    times = stamps(engine, cid)
    assert times == [STEP_MS * k for k in range(len(times))]
    with Session(engine) as s:
        plan = Schedule.from_json(s.get(FaceChallenge, uuid.UUID(cid)).schedule)  # type: ignore[union-attr, arg-type]
    # Revealed at an arrival (an upload's last frame), the first one after it was due.
    revealed = plan.reveals[0].revealed_ms
    assert revealed in [a["received_ms"] for a in acks]
    assert revealed >= 1500 and revealed - 4 * STEP_MS < 1500

    r = client.post(f"{API}/me/face/enrol", data={"challenge_id": cid}, headers=h)
    assert r.status_code == 201, r.text
    live = event_of(engine, r.json()["attendance_event_id"]).liveness
    assert live["passed"] is True and live["fps"] > 11


def test_capture_times_never_place_a_frame_at_or_before_the_previous_arrival(
    client: TestClient, engine: Any, clock: FrozenClock
) -> None:
    """Only differences of the client's times are used, and the arrivals bound them: frames
    claimed to have been taken long ago (or a round trip shorter than the last one) are
    spread over the time between the two arrivals, never stacked on one moment."""
    _learner, h = new_learner(client, engine)
    check = open_check(client, h)
    cid, url = check["challenge_id"], check["frames_url"]
    fix_plan(engine, cid, [("blink", 60_000)])
    frames = (marked(idle(k * 83), 3000 + k) for k in range(100))
    assert send(client, url, h, 0, [(next(frames), 0)]).status_code == 200
    clock.advance(0.5)
    ack = send(client, url, h, 1, [(next(frames), ms) for ms in (10, 20, 400, 480)]).json()
    assert (ack["seq"], ack["next_seq"], ack["received_ms"]) == (4, 5, 500)
    # Arrival 500 for the last; the others 500 - (480 - captured).
    assert stamps(engine, cid) == [0, 30, 40, 420, 500]

    clock.advance(0.5)
    # Capture times must go on after the previous upload's: refused, nothing voided.
    r = send(client, url, h, 5, [(next(frames), 0), (next(frames), 10_000)])
    assert (r.status_code, r.json()["code"]) == (422, "invalid_frame_times")
    # 9.5 s of capture claimed for 0.5 s between arrivals: compressed into (500, 1000].
    assert send(client, url, h, 5, [(next(frames), 600), (next(frames), 10_000)]).is_success
    assert stamps(engine, cid)[5:] == [506, 1000]

    clock.advance(0.2)
    # A shorter round trip than the last: 300 ms of capture in 200 ms between arrivals.
    upload = [(next(frames), ms) for ms in (10_100, 10_200, 10_300)]
    assert send(client, url, h, 7, upload).is_success
    assert stamps(engine, cid)[7:] == [1067, 1133, 1200]


@pytest.mark.parametrize(
    ("times", "arrival", "previous", "previous_client", "expected"),
    [
        (None, 700, 400, None, [700]),  # one frame, no capture time: the arrival
        ([0, 83, 166], 166, -1, None, [0, 83, 166]),  # the first upload starts the clock
        ([0, 83, 166], 100, -1, None, [0, 50, 100]),  # ... within FIRST_SPAN_MS
        ([500, 583, 666], 1000, 600, 400, [834, 917, 1000]),  # fits: the capture spacing
        ([500, 583, 666], 700, 600, 400, [638, 669, 700]),  # too long: spread, none at 600
        ([500, 583, 666], 1000, 600, None, [834, 917, 1000]),  # unknown previous capture
        ([500, 583, 666], 650, 600, None, [617, 633, 650]),  # ... one interval assumed
        ([500], 650, 600, None, [650]),
    ],
)
def test_stamps_keep_the_spacing_inside_the_arrivals(
    times: list[int] | None,
    arrival: int,
    previous: int,
    previous_client: int | None,
    expected: list[int],
) -> None:
    got = stamps_of(times, arrival, previous, previous_client)
    assert got == expected
    assert got[-1] == arrival and all(b > a for a, b in zip(got, got[1:], strict=False))
    assert previous < 0 or got[0] > previous


def test_a_lost_answer_to_an_upload_is_answered_again_not_stored_twice(
    client: TestClient, engine: Any, clock: FrozenClock
) -> None:
    _learner, h = new_learner(client, engine)
    check = open_check(client, h)
    cid, url = check["challenge_id"], check["frames_url"]
    upload = [(marked(idle(k * 83), 4000 + k), k * 83) for k in range(3)]
    first = send(client, url, h, 0, upload).json()
    clock.advance(0.3)
    again = send(client, url, h, 0, upload)
    assert again.status_code == 200 and again.json() == first
    assert len(stamps(engine, cid)) == 3


@pytest.mark.parametrize(
    ("frames", "times", "status", "code"),
    [
        (MAX_UPLOAD_FRAMES + 1, "ok", 422, "too_many_frames"),
        (2, "none", 422, "invalid_frame_times"),
        (2, "one", 422, "invalid_frame_times"),
        (3, "backwards", 422, "invalid_frame_times"),
        (2, "equal", 422, "invalid_frame_times"),
        (2, "negative", 422, "validation_error"),
        (2, "text", 422, "validation_error"),
        (2, "same_bytes", 409, "frame_repeated"),
    ],
)
def test_a_malformed_upload_is_refused_in_words(
    client: TestClient,
    engine: Any,
    clock: FrozenClock,
    frames: int,
    times: str,
    status: int,
    code: str,
) -> None:
    _learner, h = new_learner(client, engine)
    check = open_check(client, h)
    url = check["frames_url"]
    pictures = [marked(idle(k * 83), 5000 + k) for k in range(frames)]
    if times == "same_bytes":
        pictures[1] = pictures[0]
    files = [("frame", (f"f{k}.jpg", data, "image/jpeg")) for k, data in enumerate(pictures)]
    captured: list[str] = {
        "ok": [str(83 * k) for k in range(frames)],
        "none": [],
        "one": ["0"],
        "backwards": ["0", "166", "83"],
        "equal": ["83", "83"],
        "negative": ["-83", "0"],
        "text": ["0", "soon"],
        "same_bytes": ["0", "83"],
    }[times]
    data: dict[str, Any] = {"seq": "0"}
    if captured:
        data["captured_ms"] = captured
    r = client.post(url, data=data, files=files, headers=h)
    assert (r.status_code, r.json()["code"]) == (status, code), r.text
    assert r.json()["detail"]
    if code == "frame_repeated":
        return  # a repeat voids the check (test_face_stream_api.py covers the rest)
    # Refused before anything was stored: the check carries on from frame 0.
    clock.advance(0.1)
    ok = send(client, url, h, 0, [(marked(idle(0), 5100), 0), (marked(idle(83), 5101), 83)])
    assert ok.status_code == 200 and ok.json()["next_seq"] == 2


def test_partners_upload_several_frames_too(
    client: TestClient, engine: Any, clock: FrozenClock
) -> None:
    from tests.factories import face_learner, key_headers, make_institution

    inst = make_institution(engine)
    learner, _h = face_learner(client, engine, inst)
    key = key_headers(engine, inst.id, ["verify"])
    r = client.post(f"{API}/learners/{learner.id}/face/checks", headers=key)
    assert r.status_code == 201, r.text
    url = r.json()["frames_url"]
    upload = [(marked(idle(k * 83), 6000 + k), k * 83) for k in range(3)]
    ack = send(client, url, key, 0, upload)
    assert ack.status_code == 200, ack.text
    assert ack.json()["next_seq"] == 3
