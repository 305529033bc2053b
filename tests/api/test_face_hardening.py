"""Face checks under attack and failure, over HTTP (issue 12, items 7-10).

A face worker killed mid-service, image bombs, truncated files and faceless bursts: each gets a
stable code, nothing is stored for refused input, and the next honest check still works.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import Institution, Role
from app.attendance import engine as face_engine
from app.attendance.models import AttendanceEvent, FaceChallenge, FrameHash
from tests.face_data import blink_burst
from tests.factories import login, make_institution, make_learner, make_user
from tests.hostile_images import plain_frames, png_bomb, truncated_jpeg
from tests.procs import alive, spawn_workers, wait_for

pytestmark = pytest.mark.slow

FRAME_ENDPOINTS = [
    ("/api/v1/me/face/enrol", "post"),
    ("/api/v1/learners/{learner_id}/verify", "post"),
]


def _send(client: TestClient, url: str, h: dict[str, str], cid: str, frames: list[bytes]) -> Any:
    files = [("frames", (f"f{i}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
    return client.post(url, data={"challenge_id": cid}, files=files, headers=h)


def _fix_actions(engine: Any, cid: str, actions: list[str]) -> None:
    with Session(engine) as s:
        c = s.get(FaceChallenge, uuid.UUID(cid))
        assert c is not None
        c.actions = actions
        c.mode, c.schedule = "burst", None  # a burst challenge (streamed: its own tests)
        s.add(c)
        s.commit()


def _learner(client: TestClient, engine: Any) -> tuple[Any, dict[str, str]]:
    learner = make_learner(engine, make_institution(engine))
    h = login(client, learner.username)
    r = client.post("/api/v1/me/consent", json={"biometric": True}, headers=h)
    assert r.status_code == 200
    return learner, h


def _my_challenge(client: TestClient, engine: Any, h: dict[str, str], actions: list[str]) -> str:
    r = client.post("/api/v1/me/face/challenge", headers=h)
    assert r.status_code == 201, r.text
    cid: str = r.json()["challenge_id"]
    _fix_actions(engine, cid, actions)
    return cid


def _enrolled(client: TestClient, engine: Any) -> tuple[Any, dict[str, str]]:
    """An enrolled learner and a partner key (scope ``verify``) of their institution."""
    learner, h = _learner(client, engine)
    cid = _my_challenge(client, engine, h, ["blink"])
    r = _send(client, "/api/v1/me/face/enrol", h, cid, blink_burst("a"))
    assert r.status_code == 201, r.text
    with Session(engine) as s:
        inst = s.get(Institution, learner.institution_id)
    hs = login(client, make_user(engine, Role.staff, inst).username)
    r = client.post("/api/v1/api-keys", json={"name": "p", "scopes": ["verify"]}, headers=hs)
    return learner, {"Authorization": f"Bearer {r.json()['key']}"}


def _verify(
    client: TestClient, engine: Any, learner: Any, hk: dict[str, str], frames: list[bytes]
) -> Any:
    r = client.post(f"/api/v1/learners/{learner.id}/face/challenge", headers=hk)
    assert r.status_code == 201, r.text
    cid = r.json()["challenge_id"]
    _fix_actions(engine, cid, [])
    return _send(client, f"/api/v1/learners/{learner.id}/verify", hk, cid, frames)


def _stored(engine: Any) -> tuple[int, int]:
    with Session(engine) as s:
        return len(s.exec(select(AttendanceEvent)).all()), len(s.exec(select(FrameHash)).all())


def _challenge_used(engine: Any, cid: str) -> bool:
    with Session(engine) as s:
        c = s.get(FaceChallenge, uuid.UUID(cid))
        assert c is not None
        return c.used_at is not None


# ---------------------------------------------------------------- item 7: dead face worker


@pytest.fixture
def pooled_client(app_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app with one real face worker process (the other tests analyse in-thread)."""
    from app.config import get_settings
    from app.main import create_app

    monkeypatch.setenv("SKILLTRACE_FACE_WORKERS", "1")
    get_settings.cache_clear()
    with TestClient(create_app(), raise_server_exceptions=False) as c:
        yield c
    get_settings.cache_clear()


def test_killed_face_worker_the_next_verification_succeeds(
    pooled_client: TestClient, engine: Any
) -> None:
    client = pooled_client
    learner, hk = _enrolled(client, engine)
    workers = spawn_workers(os.getpid())  # this app's pool: the only one in this process
    assert workers
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    assert wait_for(lambda: not any(alive(pid) for pid in workers), timeout=30)

    r = _verify(client, engine, learner, hk, blink_burst("b"))

    assert r.status_code == 200, r.text  # was 500 internal_error, until a restart
    assert r.json()["outcome"] == "passed"
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    state = ready.json()["face_pool"]
    assert state["restarts"] >= 1 and state["alive"] == state["workers"] == 1
    assert not workers & set(state["pids"])


def test_face_engine_unavailable_is_503_with_retry_after_and_keeps_the_challenge(
    client: TestClient, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.attendance.exceptions import FaceEngineUnavailable

    learner, hk = _enrolled(client, engine)

    class DeadPool:
        def analyse_frames_sync(self, frames: list[bytes]) -> list[Any]:
            raise FaceEngineUnavailable("lost twice", retry_after=5)

    r = client.post(f"/api/v1/learners/{learner.id}/face/challenge", headers=hk)
    cid = r.json()["challenge_id"]
    _fix_actions(engine, cid, [])
    before = _stored(engine)
    with monkeypatch.context() as m:
        m.setattr(face_engine, "get_pool", lambda: DeadPool())
        r = _send(client, f"/api/v1/learners/{learner.id}/verify", hk, cid, blink_burst("b"))
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == "face_engine_unavailable" and r.headers["Retry-After"] == "5"
    assert _stored(engine) == before and not _challenge_used(engine, cid)
    # The learner retries with the same challenge once the workers are back.
    r = _send(client, f"/api/v1/learners/{learner.id}/verify", hk, cid, blink_burst("b"))
    assert r.status_code == 200 and r.json()["outcome"] == "passed", r.text


def test_readyz_reports_the_face_workers(client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200
    assert r.json()["face_pool"]["mode"] == "in_process"  # SKILLTRACE_FACE_WORKERS=0 in tests
    assert client.get("/healthz").status_code == 200


def test_frame_endpoints_declare_the_new_codes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path, method in FRAME_ENDPOINTS:
        responses = paths[path][method]["responses"]
        codes = {
            status: set(
                r["content"]["application/problem+json"]["schema"]["properties"]["code"]["enum"]
            )
            for status, r in responses.items()
            if "application/problem+json" in r.get("content", {})
        }
        assert "face_engine_unavailable" in codes["503"]
        assert "burst_too_large" in codes["413"]
        assert "frame_budget_exceeded" in codes["429"]
    ready = paths["/readyz"]["get"]["responses"]
    assert "503" in ready and "200" in ready


# ---------------------------------------------------------------- item 9: image bombs


def test_image_bomb_burst_is_refused_before_any_decoding(client: TestClient, engine: Any) -> None:
    learner, h = _learner(client, engine)
    cid = _my_challenge(client, engine, h, ["blink"])
    bomb = png_bomb(4000, 4000)
    before = _stored(engine)
    frames = [bomb + bytes([i]) for i in range(20)]  # 20 distinct files, 16 MP each
    r = _send(client, "/api/v1/me/face/enrol", h, cid, frames)
    assert (r.status_code, r.json()["code"]) == (413, "burst_too_large"), r.text
    assert _stored(engine) == before and not _challenge_used(engine, cid)


def test_learner_pixel_budget_per_minute(
    client: TestClient, engine: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.config import get_settings

    frames = plain_frames(9)  # 320x240 each: 230,400 pixels per burst of three
    monkeypatch.setenv("SKILLTRACE_FACE_MAX_PIXELS_PER_LEARNER_MINUTE", "300000")
    get_settings.cache_clear()
    learner, h = _learner(client, engine)

    cid = _my_challenge(client, engine, h, ["blink"])
    r = _send(client, "/api/v1/me/face/enrol", h, cid, frames[0:3])
    assert (r.status_code, r.json()["code"]) == (422, "no_face"), r.text

    cid = _my_challenge(client, engine, h, ["blink"])
    before = _stored(engine)
    r = _send(client, "/api/v1/me/face/enrol", h, cid, frames[3:6])
    assert (r.status_code, r.json()["code"]) == (429, "frame_budget_exceeded"), r.text
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert _stored(engine) == before and not _challenge_used(engine, cid)

    other, ho = _learner(client, engine)  # the budget is per learner
    r = _send(
        client, "/api/v1/me/face/enrol", ho, _my_challenge(client, engine, ho, []), frames[6:9]
    )
    assert r.json()["code"] == "no_face", r.text

    clock.advance(seconds=61)
    r = _send(client, "/api/v1/me/face/enrol", h, cid, frames[3:6])
    assert (r.status_code, r.json()["code"]) == (422, "no_face"), r.text


def test_faceless_bursts_count_toward_the_verification_lock(
    client: TestClient, engine: Any, clock: Any
) -> None:
    learner, hk = _enrolled(client, engine)
    frames = plain_frames(12)
    for i in range(5):
        r = _verify(client, engine, learner, hk, frames[2 * i : 2 * i + 2])
        assert (r.status_code, r.json()["code"]) == (422, "no_face"), r.text
    r = _verify(client, engine, learner, hk, frames[10:12])
    assert (r.status_code, r.json()["code"]) == (423, "verification_locked"), r.text
    clock.advance(seconds=31)
    r = _verify(client, engine, learner, hk, blink_burst("b"))
    assert r.status_code == 200 and r.json()["outcome"] == "passed", r.text


# ---------------------------------------------------------------- item 10: misread images


def test_truncated_jpeg_is_not_an_image_and_nothing_is_stored(
    client: TestClient, engine: Any
) -> None:
    learner, hk = _enrolled(client, engine)
    before = _stored(engine)
    r = _verify(client, engine, learner, hk, [truncated_jpeg(4000, 4000)])
    assert (r.status_code, r.json()["code"]) == (422, "not_an_image"), r.text  # was no_face
    assert _stored(engine) == before
