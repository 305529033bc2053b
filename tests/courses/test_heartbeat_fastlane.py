"""The heartbeat's fast lane (app/http/fastlane.py) answers every request exactly as the declared
route does: the same app without its fast lanes gets the same requests, on both databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.accounts.models import Role
from app.http.fastlane import FastLane
from app.main import create_app
from tests.factories import (
    course_row,
    login,
    make_institution,
    make_learner,
    make_user,
    self_enrolled,
)
from tests.factories import start_session as open_session

API = "/api/v1"


@pytest.fixture
def declared(app_env: str) -> Iterator[TestClient]:
    """The app with its fast lanes taken out: every request goes to the declared routes."""
    app = create_app()
    app.router.routes[:] = [r for r in app.router.routes if not isinstance(r, FastLane)]
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_the_fast_lane_answers_as_the_declared_route(
    client: TestClient, declared: TestClient, engine: Any, clock: Any
) -> None:
    inst = make_institution(engine)
    course = course_row(
        engine,
        inst,
        heartbeat_interval_s=30,
        rollcall_min_interval_s=3600,
        rollcall_max_interval_s=7200,
    )
    learners = [make_learner(engine, inst) for _ in range(2)]
    sids = [
        open_session(engine, learner, self_enrolled(engine, learner, course), course)
        for learner in learners
    ]
    (lane,) = [r for r in client.app.router.routes if isinstance(r, FastLane)]  # type: ignore[attr-defined]
    taken: list[bool] = []
    handler = lane.handler

    async def counting(request: Any, body: bytes) -> Any:
        try:
            response = await handler(request, body)
        except Exception:
            taken.append(True)  # answered here, by the app's error handlers
            raise
        taken.append(response is not None)
        return response

    lane.handler = counting
    tokens = [login(client, learner.username)["Authorization"] for learner in learners]
    staff = login(client, make_user(engine, Role.staff, inst).username)["Authorization"]
    json_type = "application/json"

    def post(c: TestClient, sid: str, auth: str | None, body: bytes, ctype: str = json_type) -> Any:
        headers = {"Content-Type": ctype, **({"Authorization": auth} if auth else {})}
        r = c.post(f"{API}/sessions/{sid}/heartbeat", content=body, headers=headers)
        kept = {k: r.headers.get(k) for k in ("content-type", "www-authenticate")}
        try:
            payload = r.json()
        except ValueError:
            payload = r.text
        if isinstance(payload, dict):
            payload.pop("instance", None)
            payload.pop("request_id", None)
        return r.status_code, kept, payload

    # The same first heartbeat of two learners at the same instant: one through each app.
    clock.advance(seconds=30)
    ok = b'{"visible": true}'
    fast = post(client, str(sids[0]), tokens[0], ok)
    slow = post(declared, str(sids[1]), tokens[1], ok)
    assert fast == slow and fast[0] == 200, (fast, slow)
    assert taken == [True]

    unknown = str(uuid.uuid4())
    sid = str(sids[0])
    cases: list[tuple[str, str | None, bytes, str]] = [
        (sid, tokens[0], b'{"visible": "maybe"}', json_type),  # declined: FastAPI's 422
        (sid, tokens[0], b'{"visible": true, "x": 1}', json_type),
        (sid, tokens[0], b'{"visible": true, "position_ms": -1}', json_type),
        (sid, tokens[0], b'{"visible": true, "lesson_id": "no"}', json_type),
        (sid, tokens[0], b"{", json_type),
        (sid, tokens[0], b"", json_type),
        (sid, tokens[0], b"[1]", json_type),
        (sid, tokens[0], b"\xff", json_type),
        (unknown, tokens[0], ok, json_type),  # taken: 404 from the service
        (unknown.upper(), tokens[0], ok, json_type),
        (unknown, tokens[0], ok, "application/json; charset=utf-8"),
        (unknown, tokens[0].replace("Bearer", "bearer"), ok, json_type),
        (sid, tokens[1], ok, json_type),  # another learner's session
        (sid, "Bearer nope", ok, json_type),  # 401 from the token check
        (sid, staff, ok, json_type),  # 403
        (sid, "Basic abc", ok, json_type),  # never matched: the declared route's own
        (sid, None, ok, json_type),
        (sid, tokens[0], ok, "text/plain"),
        ("12345", tokens[0], ok, json_type),
        (unknown.replace("-", ""), tokens[0], ok, json_type),
    ]
    for case in cases:
        assert post(client, *case) == post(declared, *case), case
    assert taken.count(True) == 1 + 7  # the unknown/other/token/role cases: answered in the lane
    assert taken.count(False) == 8  # the bodies that did not validate: handed back

    # An ended session: 409 from both.
    for c, token, s in ((client, tokens[0], sids[0]), (declared, tokens[1], sids[1])):
        assert (
            c.post(f"{API}/sessions/{s}/end", headers={"Authorization": token}).status_code == 200
        )
    assert post(client, sid, tokens[0], ok) == post(declared, str(sids[1]), tokens[1], ok)
    assert post(client, sid, tokens[0], ok)[0] == 409
