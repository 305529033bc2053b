"""The streamed face check driven through the API by hand: a client script that plays
talking_head_1.mp4 (an idle stretch, and a natural blink at frames 109-120 found by the eye
aspect ratio), frames with unique bytes, a check's plan fixed by the test, the server's clock
frozen and advanced ~83 ms per frame (12 frames a second). Shared by the stream API tests."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.attendance.models import AttendanceEvent, FaceChallenge
from app.attendance.streaming import Reveal, Schedule
from app.clock import FrozenClock
from tests.face_data import jpeg, video_frames
from tests.factories import consent, login, make_institution, make_learner

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


def send(
    client: TestClient,
    url: str,
    h: dict[str, str] | None,
    seq: int,
    frames: list[tuple[bytes, int]],
    *,
    times: bool = True,
) -> Any:
    """One upload: ``frames`` as (bytes, capture ms), the first numbered ``seq``; with
    ``times`` their ``captured_ms`` (always for several frames)."""
    files = [
        ("frame", (f"f{seq + i}.jpg", data, "image/jpeg")) for i, (data, _) in enumerate(frames)
    ]
    data: dict[str, Any] = {"seq": str(seq)}
    if times:
        data["captured_ms"] = [str(ms) for _, ms in frames]
    return client.post(url, data=data, files=files, headers=h)


def stream(
    client: TestClient,
    clock: FrozenClock,
    url: str,
    h: dict[str, str] | None,
    script: Script,
    start: int = 0,
    *,
    per_upload: int = 1,
    newest_only: bool = False,
) -> list[dict[str, Any]]:
    """Capture a frame every STEP_MS and upload every ``per_upload`` captures (a round trip of
    ``per_upload`` x 83 ms) until the server says the check is complete: everything captured
    since the last upload (with capture times when several), or with ``newest_only`` just the
    newest frame (a client that sends one frame per round trip). Returns the answers."""
    acks: list[dict[str, Any]] = []
    seen: list[tuple[int, int, str]] = []
    pending: list[tuple[bytes, int]] = []
    t = seq = n = 0
    while True:
        pending.append((marked(script(t, seen), start + n), t))
        n += 1
        if len(pending) == per_upload:
            upload = pending[-1:] if newest_only else pending
            r = send(client, url, h, seq, upload, times=len(upload) > 1)
            assert r.status_code == 200, r.text
            ack = r.json()
            acks.append(ack)
            assert ack["seq"] == seq + len(upload) - 1 and ack["next_seq"] == seq + len(upload)
            seq = ack["next_seq"]
            if ack["action"] and all(step != ack["step"] for step, _, _ in seen):
                # The learner sees the action now: on the capture clock, this moment.
                seen.append((ack["step"], t, ack["action"]))
            if ack["complete"]:
                return acks
            pending = []
        assert n < 400
        clock.advance(STEP_MS / 1000)
        t += STEP_MS


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


def event_of(engine: Any, event_id: str) -> AttendanceEvent:
    with Session(engine) as s:
        e = s.get(AttendanceEvent, uuid.UUID(event_id))
        assert e is not None
        return e
