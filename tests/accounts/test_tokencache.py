"""The token cache of the heartbeat's hot path: a checked token is answered without reading the
user again, and a lock, a password reset or a suspension is honoured on the very next request
(in this process: on commit; in other processes: PostgreSQL NOTIFY)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text

from app.accounts import administration, tokencache
from app.accounts.models import Role
from app.audit.service import Actor
from app.db import transaction
from tests.factories import (
    course_row,
    login,
    make_institution,
    make_learner,
    make_user,
    self_enrolled,
    start_session,
)


@pytest.fixture(autouse=True)
def _empty_cache() -> Iterator[None]:
    tokencache.clear()
    yield
    tokencache.clear()


@pytest.fixture
def studying(client: TestClient, engine: Any, clock: Any) -> dict[str, Any]:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    course = course_row(engine, inst, heartbeat_interval_s=30)
    enrollment = self_enrolled(engine, learner, course)
    sid = start_session(engine, learner, enrollment, course)
    admin = make_user(engine, Role.admin)
    return {"learner": learner, "sid": sid, "h": login(client, learner.username), "admin": admin}


def beat(client: TestClient, w: dict[str, Any]) -> Any:
    return client.post(
        f"/api/v1/sessions/{w['sid']}/heartbeat", json={"visible": True}, headers=w["h"]
    )


def statements(engine: Any) -> list[str]:
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(str(a[2])))
    return seen


def test_a_cached_token_is_answered_without_reading_the_user(
    client: TestClient, engine: Any, clock: Any, studying: dict[str, Any]
) -> None:
    clock.advance(seconds=30)
    assert beat(client, studying).status_code == 200  # reads the user, remembers the token
    seen = statements(engine)
    clock.advance(seconds=30)
    r = beat(client, studying)
    assert r.status_code == 200, r.text
    assert r.json()["earned_seconds"] == 30
    assert seen and not [s for s in seen if "FROM users" in s], seen


def test_a_page_beating_every_30_s_reads_the_user_once_in_five_minutes(
    client: TestClient,
    engine: Any,
    clock: Any,
    studying: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the default lifetime, ten heartbeats at the usual interval read the user once (at
    60 s, every second one read it again)."""
    start = clock.now()
    monkeypatch.setattr(tokencache.time, "monotonic", lambda: (clock.now() - start).total_seconds())
    seen = statements(engine)
    for _ in range(10):
        assert beat(client, studying).status_code == 200
        clock.advance(seconds=30)
    assert len([s for s in seen if "FROM users" in s]) == 1


@pytest.mark.parametrize("change", ["lock", "reset_password"])
def test_a_lock_or_password_reset_is_honoured_on_the_next_heartbeat(
    client: TestClient, engine: Any, clock: Any, studying: dict[str, Any], change: str
) -> None:
    clock.advance(seconds=30)
    assert beat(client, studying).status_code == 200
    actor = Actor.user(studying["admin"].id)
    with transaction(engine) as s:
        if change == "lock":
            administration.lock_user(s, studying["learner"].id, reason="冒名顶替", actor=actor)
        else:
            administration.reset_password(s, studying["learner"].id, actor=actor)
    clock.advance(seconds=30)
    r = beat(client, studying)
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "invalid_token"


def test_a_change_that_rolls_back_keeps_the_cache(
    client: TestClient, engine: Any, clock: Any, studying: dict[str, Any]
) -> None:
    assert beat(client, studying).status_code == 200
    token = studying["h"]["Authorization"].removeprefix("Bearer ")
    with pytest.raises(RuntimeError), transaction(engine) as s:
        administration.lock_user(
            s, studying["learner"].id, reason="误操作", actor=Actor.user(studying["admin"].id)
        )
        raise RuntimeError("rolled back")
    assert tokencache.lookup(token) is not None
    assert beat(client, studying).status_code == 200


def test_an_expired_token_is_never_served_from_the_cache(
    client: TestClient, clock: Any, studying: dict[str, Any]
) -> None:
    assert beat(client, studying).status_code == 200
    clock.advance(seconds=3601)  # past the token's 60 minutes
    r = beat(client, studying)
    assert r.status_code == 401 and r.json()["code"] == "invalid_token", r.text


def test_a_hit_is_an_immutable_snapshot_not_an_orm_user(
    client: TestClient, studying: dict[str, Any]
) -> None:
    """Every request presenting the token shares one snapshot: nothing is rebuilt per hit, and
    no request can change what another sees."""
    import dataclasses

    assert beat(client, studying).status_code == 200
    token = studying["h"]["Authorization"].removeprefix("Bearer ")
    a, b = tokencache.lookup(token), tokencache.lookup(token)
    assert isinstance(a, tokencache.Caller) and a is b
    learner = studying["learner"]
    assert (a.id, a.role, a.institution_id) == (learner.id, Role.learner, learner.institution_id)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.role = Role.admin  # type: ignore[misc]


# ---------------------------------------------------------------- other processes


def _pg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def test_other_processes_hear_of_a_lock_through_notify(
    client: TestClient, engine: Any, db_url: str, studying: dict[str, Any]
) -> None:
    if not db_url.startswith("postgresql"):  # +psycopg too
        pytest.skip("NOTIFY is PostgreSQL's; one SQLite process needs none")
    learner = studying["learner"]
    payloads: list[str] = []
    import psycopg

    with psycopg.connect(db_url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"LISTEN {tokencache.CHANNEL}")
        with pytest.raises(RuntimeError), transaction(engine) as s:  # rolled back: no notice
            administration.lock_user(s, learner.id, reason="误操作", actor=Actor.system())
            raise RuntimeError("rolled back")
        with transaction(engine) as s:
            administration.lock_user(s, learner.id, reason="冒名顶替", actor=Actor.system())
        payloads += [n.payload for n in conn.notifies(timeout=2.0, stop_after=1)]
    assert payloads == [str(learner.id)]

    # The listener of another process: it forgets the user it is told about.
    token = "a-token-of-another-process"
    stop, ready = threading.Event(), threading.Event()
    thread = tokencache.listen(db_url, stop, ready)
    assert thread is not None
    try:
        assert ready.wait(10)  # listening (and, having just connected, emptied the cache)
        tokencache.remember(token, {"exp": time.time() + 600}, learner)
        assert tokencache.lookup(token) is not None
        other = create_engine(_pg(db_url))
        with other.begin() as conn2:
            conn2.execute(
                text("SELECT pg_notify(:c, :p)"), {"c": tokencache.CHANNEL, "p": str(learner.id)}
            )
        other.dispose()
        deadline = time.monotonic() + 10
        while tokencache.lookup(token) is not None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert tokencache.lookup(token) is None
    finally:
        stop.set()
        thread.join(5)
    assert uuid.UUID(payloads[0]) == learner.id
