"""Idempotency-Key on POST/PATCH under /api/v1: executed once per (caller, key), replayed after.

Runs on SQLite and PostgreSQL (``client``/``engine`` are parametrised over both).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select
from typer.testing import CliRunner

from app.accounts import service as accounts
from app.accounts.models import Institution, Role, User
from app.attendance.models import AttendanceEvent, FaceChallenge, Purpose
from app.audit.models import AuditEntry
from app.audit.service import Actor
from app.clock import FrozenClock
from app.config import get_settings
from app.db import read_only, transaction
from app.idempotency import middleware
from app.idempotency import service as idempotency
from app.idempotency.models import IdempotencyKey
from tests.face_data import blink_burst
from tests.factories import PASSWORD, id_number, login, make_institution, make_learner, make_user

REPLAYED = "idempotent-replayed"
_seq = iter(range(100, 1000))


def partner(engine: Engine, inst: Institution, *scopes: str) -> dict[str, str]:
    with transaction(engine) as session:
        _, secret = accounts.create_api_key(
            session,
            institution_id=inst.id,
            name="partner",
            scopes=list(scopes or ("learners:write",)),
            actor=Actor.system(),
        )
    return {"Authorization": f"Bearer {secret}"}


def learner_body(**kw: Any) -> dict[str, Any]:
    n = next(_seq)
    return {
        "username": f"idem{n}",
        "password": PASSWORD,
        "real_name": "李四",
        "id_number": id_number(seq=n),
        **kw,
    }


def keyed(h: dict[str, str], key: str) -> dict[str, str]:
    return {**h, "Idempotency-Key": key}


def count(engine: Engine, model: Any, *where: Any) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model).where(*where)).one())


def keys(engine: Engine) -> list[IdempotencyKey]:
    with Session(engine) as s:
        return list(s.exec(select(IdempotencyKey)))


def test_partner_creates_a_learner_once(client: TestClient, engine: Engine) -> None:
    h = partner(engine, make_institution(engine))
    body = learner_body()
    first = client.post("/api/v1/learners", json=body, headers=keyed(h, "create-1"))
    assert first.status_code == 201, first.text
    assert REPLAYED not in first.headers
    audit_after_first = count(engine, AuditEntry)

    second = client.post("/api/v1/learners", json=body, headers=keyed(h, "create-1"))
    assert second.status_code == 201
    assert second.headers[REPLAYED] == "true"
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.headers["x-request-id"] != first.headers["x-request-id"]
    # The draft's quoted form names the same key.
    third = client.post("/api/v1/learners", json=body, headers=keyed(h, '"create-1"'))
    assert (third.status_code, third.headers.get(REPLAYED)) == (201, "true")

    assert count(engine, User, col(User.username) == body["username"]) == 1
    # The replay is not a state change: the original's audit entries were written once.
    assert count(engine, AuditEntry) == audit_after_first
    assert count(engine, AuditEntry, col(AuditEntry.action) == "learner.registered") == 1
    [row] = keys(engine)
    assert row.caller.startswith("apikey:") and row.status_code == 201 and row.completed_at
    # Stored encrypted: a response may carry a once-shown secret or personal data.
    assert row.response_body is not None
    assert body["username"].encode() not in row.response_body
    assert first.content not in row.response_body


def test_a_once_shown_secret_is_not_kept_in_clear(client: TestClient, engine: Engine) -> None:
    from tests.factories import login, make_user

    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    h = keyed(login(client, staff.username), "new-key-1")
    first = client.post(
        "/api/v1/api-keys", json={"name": "partner", "scopes": ["verify"]}, headers=h
    )
    assert first.status_code == 201, first.text
    secret = first.json()["key"]
    again = client.post(
        "/api/v1/api-keys", json={"name": "partner", "scopes": ["verify"]}, headers=h
    )
    assert again.headers[REPLAYED] == "true" and again.json()["key"] == secret
    [row] = keys(engine)
    assert row.response_body is not None and secret.encode() not in row.response_body


def test_without_the_header_nothing_changes(client: TestClient, engine: Engine) -> None:
    h = partner(engine, make_institution(engine))
    body = learner_body()
    assert client.post("/api/v1/learners", json=body, headers=h).status_code == 201
    again = client.post("/api/v1/learners", json=body, headers=h)
    assert (again.status_code, again.json()["code"]) == (409, "username_taken")
    assert keys(engine) == []


def test_same_key_for_another_request_is_refused(client: TestClient, engine: Engine) -> None:
    h = keyed(partner(engine, make_institution(engine)), "k-reused")
    body = learner_body()
    assert client.post("/api/v1/learners", json=body, headers=h).status_code == 201
    for method, url, payload in [
        ("POST", "/api/v1/learners", {**body, "real_name": "张三"}),  # another body
        ("POST", "/api/v1/learners?x=1", body),  # another path (query)
    ]:
        r = client.request(method, url, json=payload, headers=h)
        assert (r.status_code, r.json()["code"]) == (422, "idempotency_key_reused"), r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["message_zh"]
    # Another method no endpoint serves: the 405 (with Allow) comes first.
    r = client.patch("/api/v1/learners", json=body, headers=h)
    assert (r.status_code, r.json()["code"]) == (405, "method_not_allowed"), r.text
    assert {"GET", "POST"} <= {m.strip() for m in r.headers["allow"].split(",")}
    assert count(engine, User, col(User.role) == Role.learner) == 1


def test_a_refusal_is_replayed(client: TestClient, engine: Engine) -> None:
    h = partner(engine, make_institution(engine))
    weak = learner_body(password="12345678")
    first = client.post("/api/v1/learners", json=weak, headers=keyed(h, "weak"))
    assert (first.status_code, first.json()["code"]) == (422, "weak_password")
    second = client.post("/api/v1/learners", json=weak, headers=keyed(h, "weak"))
    assert (second.status_code, second.headers.get(REPLAYED)) == (422, "true")
    assert second.json() == first.json()

    # A refusal depending on the data: once stored, the answer stays what it was.
    body = learner_body()
    taken = learner_body(username=body["username"])
    assert client.post("/api/v1/learners", json=taken, headers=keyed(h, "t1")).status_code == 201
    r = client.post("/api/v1/learners", json=body, headers=keyed(h, "t2"))
    assert (r.status_code, r.json()["code"]) == (409, "username_taken")
    r = client.post("/api/v1/learners", json=body, headers=keyed(h, "t2"))
    assert (r.status_code, r.headers.get(REPLAYED), r.json()["code"]) == (
        409,
        "true",
        "username_taken",
    )


def test_a_server_error_is_not_stored(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = keyed(partner(engine, make_institution(engine)), "flaky")
    body = learner_body()
    real = accounts.register_learner
    calls = 0

    def flaky(*args: Any, **kw: Any) -> User:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database went away")
        return real(*args, **kw)

    monkeypatch.setattr(accounts, "register_learner", flaky)
    r = client.post("/api/v1/learners", json=body, headers=h)
    assert (r.status_code, r.json()["code"]) == (500, "internal_error")
    assert keys(engine) == []  # released: the retry runs again
    r = client.post("/api/v1/learners", json=body, headers=h)
    assert (r.status_code, r.headers.get(REPLAYED)) == (201, None)
    r = client.post("/api/v1/learners", json=body, headers=h)
    assert (r.status_code, r.headers.get(REPLAYED)) == (201, "true")
    assert calls == 2
    assert count(engine, User, col(User.username) == body["username"]) == 1


def test_rate_limit_and_auth_failures_are_not_stored(client: TestClient, engine: Engine) -> None:
    learner = make_learner(engine, make_institution(engine))
    h = login(client, learner.username)
    # A bad bearer token: no caller, nothing claimed, the request is simply refused.
    bad = {"Authorization": "Bearer not-a-token", "Idempotency-Key": "k"}
    r = client.post("/api/v1/me/consent", json={"biometric": True}, headers=bad)
    assert r.status_code == 401
    assert keys(engine) == []
    # Sign-in is not keyed (no caller yet): each attempt runs.
    form = {"username": learner.username, "password": "wrong-password-1"}
    for _ in range(2):
        r = client.post("/api/v1/auth/token", data=form, headers={"Idempotency-Key": "login"})
        assert r.status_code == 401 and REPLAYED not in r.headers
    assert keys(engine) == []
    # A signed-in caller's own request is keyed by user.
    r = client.post("/api/v1/me/consent", json={"biometric": True}, headers=keyed(h, "c1"))
    assert r.status_code == 200
    [row] = keys(engine)
    assert row.caller == f"user:{learner.id}"


def test_csrf_failure_is_not_stored(client: TestClient, engine: Engine) -> None:
    learner = make_learner(engine, make_institution(engine))
    token = login(client, learner.username)["Authorization"].removeprefix("Bearer ")
    client.cookies.set("st_session", token)
    client.cookies.set("st_csrf", "wrong")
    r = client.post(
        "/api/v1/me/consent",
        json={"biometric": True},
        headers={"X-CSRF-Token": "wrong", "Idempotency-Key": "cookie-1"},
    )
    assert (r.status_code, r.json()["code"]) == (403, "csrf_failed")
    assert keys(engine) == []
    from app.api.deps import csrf_token_for

    good = csrf_token_for(token)
    client.cookies.set("st_csrf", good)
    headers = {"X-CSRF-Token": good, "Idempotency-Key": "cookie-1"}
    r = client.post("/api/v1/me/consent", json={"biometric": True}, headers=headers)
    assert r.status_code == 200 and REPLAYED not in r.headers
    r = client.post("/api/v1/me/consent", json={"biometric": True}, headers=headers)
    assert (r.status_code, r.headers.get(REPLAYED)) == (200, "true")
    client.cookies.clear()


def test_keys_of_two_callers_do_not_collide(client: TestClient, engine: Engine) -> None:
    inst = make_institution(engine)
    a = keyed(partner(engine, inst), "same-key")
    b = keyed(partner(engine, make_institution(engine)), "same-key")
    staff = keyed(login(client, make_user(engine, Role.staff, inst).username), "same-key")
    for h in (a, b, staff):
        r = client.post("/api/v1/learners", json=learner_body(), headers=h)
        assert (r.status_code, r.headers.get(REPLAYED)) == (201, None), r.text
    assert count(engine, User, col(User.role) == Role.learner) == 3
    assert len({k.caller for k in keys(engine)}) == 3


def test_a_repeat_while_the_first_runs_gets_409(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held between its claim and its handler, the first request is "in progress"."""
    h = keyed(partner(engine, make_institution(engine)), "slow")
    body = learner_body()
    claimed, go = threading.Event(), threading.Event()
    real_run = middleware._Run.run

    async def held_run(self: Any, scope: Any, receive: Any, send: Any) -> None:
        claimed.set()
        await anyio.to_thread.run_sync(go.wait)
        await real_run(self, scope, receive, send)

    monkeypatch.setattr(middleware._Run, "run", held_run)
    results: list[Any] = []
    first = threading.Thread(
        target=lambda: results.append(client.post("/api/v1/learners", json=body, headers=h))
    )
    first.start()
    assert claimed.wait(10)
    r = client.post("/api/v1/learners", json=body, headers=h)
    assert (r.status_code, r.json()["code"]) == (409, "idempotency_request_in_progress")
    assert r.headers["retry-after"] == "1"
    go.set()
    first.join(30)
    assert results[0].status_code == 201
    r = client.post("/api/v1/learners", json=body, headers=h)
    assert (r.status_code, r.headers.get(REPLAYED)) == (201, "true")
    assert count(engine, User, col(User.username) == body["username"]) == 1


def test_concurrent_requests_with_one_key_execute_once(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight threads at once with the same key: one execution; the rest 409 or the replay."""
    h = keyed(partner(engine, make_institution(engine)), "race")
    body = learner_body()
    real = accounts.register_learner
    executions = 0

    def slow(*args: Any, **kw: Any) -> User:
        nonlocal executions
        executions += 1
        time.sleep(0.3)  # long enough for the others to arrive while it runs
        return real(*args, **kw)

    monkeypatch.setattr(accounts, "register_learner", slow)
    n = 8
    barrier = threading.Barrier(n)
    results: list[Any] = []
    lock = threading.Lock()

    def go() -> None:
        barrier.wait()
        r = client.post("/api/v1/learners", json=body, headers=h)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=go) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == n
    assert executions == 1
    fresh = [r for r in results if r.status_code == 201 and REPLAYED not in r.headers]
    replayed = [r for r in results if r.headers.get(REPLAYED) == "true"]
    busy = [r for r in results if r.status_code == 409]
    assert len(fresh) == 1
    assert len(fresh) + len(replayed) + len(busy) == n, [r.status_code for r in results]
    assert all(r.content == fresh[0].content for r in replayed)
    assert all(r.json()["code"] == "idempotency_request_in_progress" for r in busy)
    assert count(engine, User, col(User.username) == body["username"]) == 1


def test_a_response_too_large_to_store(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(idempotency, "MAX_STORED_RESPONSE_BYTES", 16)
    h = keyed(partner(engine, make_institution(engine)), "big")
    body = learner_body()
    r = client.post("/api/v1/learners", json=body, headers=h)
    assert r.status_code == 201 and r.json()["username"] == body["username"]  # sent in full
    r = client.post("/api/v1/learners", json=body, headers=h)
    assert (r.status_code, r.json()["code"]) == (409, "idempotency_response_too_large")
    assert count(engine, User, col(User.username) == body["username"]) == 1


def test_keys_expire_and_are_purged(client: TestClient, engine: Engine, clock: FrozenClock) -> None:
    from app.cli import app as cli
    from app.config import get_settings

    ttl = get_settings().idempotency_ttl_s
    assert ttl == 24 * 3600
    h = partner(engine, make_institution(engine))
    body = learner_body()
    assert client.post("/api/v1/learners", json=body, headers=keyed(h, "old")).status_code == 201
    clock.advance(seconds=ttl - 1)
    r = client.post("/api/v1/learners", json=body, headers=keyed(h, "old"))
    assert r.headers.get(REPLAYED) == "true"
    assert client.post("/api/v1/learners", json=learner_body(), headers=keyed(h, "newer"))
    clock.advance(seconds=2)
    # Expired: the key is free again, so the request runs (and meets the learner it created).
    r = client.post("/api/v1/learners", json=body, headers=keyed(h, "old"))
    assert (r.status_code, r.json()["code"], r.headers.get(REPLAYED)) == (
        409,
        "username_taken",
        None,
    )
    assert {k.key for k in keys(engine)} == {"old", "newer"}
    clock.advance(seconds=ttl)
    result = CliRunner().invoke(cli, ["purge-idempotency"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f'{{"purged": 2, "ttl_s": {ttl}}}'
    assert keys(engine) == []


@pytest.mark.parametrize(
    "value",
    [b"", b" ", b"a" * 256, b"has space", b"tab\there", b"\xe9t\xe9", b'""', b'" "'],
)
def test_invalid_keys_are_refused(client: TestClient, engine: Engine, value: bytes) -> None:
    h = partner(engine, make_institution(engine))
    headers = [(b"authorization", h["Authorization"].encode()), (b"idempotency-key", value)]
    r = client.post("/api/v1/learners", json=learner_body(), headers=headers)
    assert (r.status_code, r.json()["code"]) == (400, "invalid_idempotency_key"), r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert count(engine, User, col(User.role) == Role.learner) == 0


def test_key_edge_cases(client: TestClient, engine: Engine) -> None:
    h = partner(engine, make_institution(engine))
    twice = [
        (b"authorization", h["Authorization"].encode()),
        (b"idempotency-key", b"one"),
        (b"idempotency-key", b"two"),
    ]
    r = client.post("/api/v1/learners", json=learner_body(), headers=twice)
    assert (r.status_code, r.json()["code"]) == (400, "invalid_idempotency_key")
    longest = "~" * 255
    r = client.post("/api/v1/learners", json=learner_body(), headers=keyed(h, longest))
    assert r.status_code == 201
    # Unauthenticated and GET requests: the header is still checked on POST, ignored on GET.
    r = client.post("/api/v1/auth/token", data={}, headers={"Idempotency-Key": "bad key"})
    assert (r.status_code, r.json()["code"]) == (400, "invalid_idempotency_key")
    assert client.get("/healthz", headers={"Idempotency-Key": "bad key"}).status_code == 200


def _face_ready(client: TestClient, engine: Engine) -> tuple[User, dict[str, str]]:
    """An enrolled learner (real frames) and a partner key with the verify scope."""
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    h = login(client, learner.username)
    assert client.post("/api/v1/me/consent", json={"biometric": True}, headers=h).is_success
    cid = client.post("/api/v1/me/face/challenge", headers=h).json()["challenge_id"]
    _blink_only(engine, cid)
    r = _send(client, "/api/v1/me/face/enrol", h, cid, blink_burst("a"))
    assert r.status_code == 201, r.text
    return learner, partner(engine, inst, "verify")


def _blink_only(engine: Engine, cid: str) -> None:
    with Session(engine) as s:
        c = s.get(FaceChallenge, uuid.UUID(cid))
        assert c is not None
        c.actions = ["blink"]  # the clip has blinks, no head turns
        c.mode, c.schedule = "burst", None  # a burst challenge (streamed: its own tests)
        s.add(c)
        s.commit()


def _send(client: TestClient, url: str, h: dict[str, str], cid: str, frames: list[bytes]) -> Any:
    # httpx picks a new random multipart boundary on every send, as most clients do.
    files = [("frames", (f"f{i}.jpg", data, "image/jpeg")) for i, data in enumerate(frames)]
    return client.post(url, data={"challenge_id": cid}, files=files, headers=h)


@pytest.mark.slow
def test_a_replayed_face_verification_records_one_event(client: TestClient, engine: Engine) -> None:
    learner, hk = _face_ready(client, engine)
    r = client.post(f"/api/v1/learners/{learner.id}/face/challenge", headers=keyed(hk, "ch-1"))
    assert r.status_code == 201, r.text
    cid = r.json()["challenge_id"]
    again = client.post(f"/api/v1/learners/{learner.id}/face/challenge", headers=keyed(hk, "ch-1"))
    assert again.json()["challenge_id"] == cid and again.headers[REPLAYED] == "true"
    _blink_only(engine, cid)

    url = f"/api/v1/learners/{learner.id}/verify"
    partner_events: Callable[[], int] = lambda: count(  # noqa: E731
        engine, AttendanceEvent, col(AttendanceEvent.purpose) == Purpose.partner
    )
    first = _send(client, url, keyed(hk, "verify-1"), cid, blink_burst("b"))
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "passed" and REPLAYED not in first.headers
    audit = count(engine, AuditEntry)

    second = _send(client, url, keyed(hk, "verify-1"), cid, blink_burst("b"))
    assert (second.status_code, second.headers.get(REPLAYED)) == (200, "true")
    assert second.json() == first.json()
    assert partner_events() == 1
    assert count(engine, AuditEntry) == audit

    # Other frames under the same key are another request; without a key, a real retry of the
    # spent challenge is refused: the replay is what makes the retry safe.
    other = _send(client, url, keyed(hk, "verify-1"), cid, blink_burst("c"))
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    plain = _send(client, url, hk, cid, blink_burst("b"))
    assert plain.status_code == 422 and plain.json()["code"] in {"challenge_used", "frame_replayed"}
    assert partner_events() <= 2


def test_fingerprint_ignores_the_multipart_boundary() -> None:
    part = b'--%s\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--%s--\r\n'
    one = idempotency.fingerprint(part % (b"b1", b"b1"), "multipart/form-data; boundary=b1")
    two = idempotency.fingerprint(part % (b"b2", b"b2"), 'multipart/form-data; boundary="b2"')
    assert one == two
    assert one != idempotency.fingerprint(part % (b"b1", b"b1"), "application/json")
    assert idempotency.parse_key('"a\\"b"') == 'a"b'


def test_session_names_match_the_api() -> None:
    from app.api import deps

    assert middleware.SESSION_COOKIE == deps.SESSION_COOKIE
    assert middleware.CSRF_HEADER == deps.CSRF_HEADER.lower()


def test_openapi_documents_the_header_on_every_post_and_patch() -> None:
    from app.main import create_app

    schema = create_app().openapi()
    seen = 0
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if not path.startswith("/api/v1/") or method not in ("post", "patch"):
                continue
            seen += 1
            assert [p for p in op["parameters"] if p["name"] == "Idempotency-Key"], path
            codes = {
                status: doc["content"]["application/problem+json"]["schema"]["properties"]["code"][
                    "enum"
                ]
                for status, doc in op["responses"].items()
                if "application/problem+json" in doc.get("content", {})
            }
            assert "invalid_idempotency_key" in codes["400"], path
            assert "idempotency_key_reused" in codes["422"], path
            assert "idempotency_request_in_progress" in codes["409"], path
    assert seen >= 20


def test_the_request_size_limit_still_applies(
    app_env: str, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.config import get_settings
    from app.main import create_app

    monkeypatch.setenv("SKILLTRACE_MAX_REQUEST_BYTES", str(64 * 1024))
    get_settings.cache_clear()
    h = keyed(partner(engine, make_institution(engine)), "huge")
    big = b'{"username": "' + b"x" * 70_000 + b'"}'

    def chunked() -> Any:
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    with TestClient(create_app(), raise_server_exceptions=False) as c:
        for content in (big, chunked()):  # declared length, then chunked (counted as it comes)
            r = c.post(
                "/api/v1/learners",
                content=content,
                headers={**h, "Content-Type": "application/json"},
            )
            assert (r.status_code, r.json()["code"]) == (413, "image_too_large")
    assert keys(engine) == []


def test_405_carries_allow_and_wins_over_the_key(client: TestClient, engine: Engine) -> None:
    """POST where only GET is served: 405 with Allow, whatever the key says, and no key kept."""
    h = partner(engine, make_institution(engine), "audit:read", "learners:write")
    url = "/api/v1/audit/export"
    r = client.post(url, json={"a": 1}, headers=h)
    assert r.status_code == 405, r.text
    assert r.json()["code"] == "method_not_allowed"
    assert "GET" in [m.strip() for m in r.headers["allow"].split(",")]
    for body, key in (({"a": 1}, "k-405"), ({"a": 2}, "k-405"), ({"a": 3}, "not a key")):
        r = client.post(url, json=body, headers=keyed(h, key))
        assert r.status_code == 405, (key, r.text)
        assert "GET" in r.headers["allow"]
        assert REPLAYED not in r.headers
    assert keys(engine) == []
    # A key used on a 405 stays free for a real request.
    r = client.post("/api/v1/learners", json=learner_body(), headers=keyed(h, "k-405"))
    assert r.status_code == 201, r.text


class _ProcessDied(Exception):
    """Stands for the process being killed at that point: nothing after it runs."""


def test_a_crash_before_the_outcome_is_stored_does_not_lock_the_key(
    client: TestClient, engine: Engine, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies once the request's work is done, as its response is being stored. A
    retry after the stale time gets the request run once (it never committed: work and outcome
    commit together) — not 409 "in progress" for the key's 24 h."""
    h = keyed(partner(engine, make_institution(engine)), "crash-1")
    body = learner_body()
    store = idempotency.complete

    def die(*args: Any, **kw: Any) -> bool:
        raise _ProcessDied

    async def dead(*args: Any) -> None:  # a dead process releases nothing
        return None

    monkeypatch.setattr(idempotency, "complete", die)
    monkeypatch.setattr(middleware._Run, "_release_quietly", dead, raising=False)
    first = client.post("/api/v1/learners", json=body, headers=h)
    monkeypatch.setattr(idempotency, "complete", store)
    assert first.status_code != 201  # the client never got a success
    [row] = keys(engine)
    assert row.status_code is None  # in progress: the claim outlived the process
    # Nothing the request did outlived it either.
    assert count(engine, User, col(User.username) == body["username"]) == 0

    r = client.post("/api/v1/learners", json=body, headers=h)
    assert (r.status_code, r.json()["code"]) == (409, "idempotency_request_in_progress")
    clock.advance(seconds=get_settings().idempotency_stale_after_s + 1)
    retry = client.post("/api/v1/learners", json=body, headers=h)
    assert retry.status_code == 201, retry.text
    assert REPLAYED not in retry.headers
    again = client.post("/api/v1/learners", json=body, headers=h)
    assert (again.status_code, again.headers.get(REPLAYED)) == (201, "true")
    assert again.content == retry.content
    assert count(engine, User, col(User.username) == body["username"]) == 1
    assert count(engine, AuditEntry, col(AuditEntry.action) == "learner.registered") == 1
    # Another request with the stale key is still "another request".
    other = client.post("/api/v1/learners", json=learner_body(), headers=h)
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")


def test_the_outcome_commits_with_the_work(
    client: TestClient, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Seen from the database at the moment the response is stored: the work is not committed
    yet (it commits in the same transaction), so no crash can split them."""
    h = keyed(partner(engine, make_institution(engine)), "atomic-1")
    body = learner_body()
    store = idempotency.complete
    seen: list[tuple[int, int]] = []

    def observe(session: Session, *args: Any, **kw: Any) -> bool:
        stored = store(session, *args, **kw)
        with Session(engine) as other:  # another connection: only what is committed
            read_only(other)  # SQLite: a reader, not a writer queueing behind the request
            users = other.exec(
                select(func.count()).select_from(User).where(col(User.username) == body["username"])
            ).one()
            done = other.exec(
                select(func.count())
                .select_from(IdempotencyKey)
                .where(col(IdempotencyKey.status_code).is_not(None))
            ).one()
        seen.append((int(users), int(done)))
        return stored

    monkeypatch.setattr(idempotency, "complete", observe)
    r = client.post("/api/v1/learners", json=body, headers=h)
    assert r.status_code == 201, r.text
    assert seen == [(0, 0)]  # neither the learner nor the outcome committed before this point
    [row] = keys(engine)
    assert row.status_code == 201
    assert count(engine, User, col(User.username) == body["username"]) == 1


# SQLite serialises writers: a retry's takeover waits for the running request's commit there.
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_run_outlived_by_its_retry_rolls_back(
    client: TestClient, engine: Engine, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request still running past the stale time has lost its claim to a retry: it rolls its
    work back (409) instead of running a second time beside the retry."""
    h = keyed(partner(engine, make_institution(engine)), "slow-1")
    body = learner_body()
    store = idempotency.complete

    def taken_over(session: Session, claim_id: uuid.UUID, **kw: Any) -> bool:
        # What a retry after the stale time does meanwhile (its own transaction): take the
        # claim over and complete it.
        with transaction(engine) as other:
            row = other.get(IdempotencyKey, claim_id)
            assert row is not None and row.status_code is None
            other.delete(row)
        return store(session, claim_id, **kw)

    monkeypatch.setattr(idempotency, "complete", taken_over)
    r = client.post("/api/v1/learners", json=body, headers=h)
    assert (r.status_code, r.json()["code"]) == (409, "idempotency_request_in_progress")
    assert count(engine, User, col(User.username) == body["username"]) == 0
