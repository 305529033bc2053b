"""Per-client-address limits (issue 12, item 4): password spraying, registration and
hand-off code guessing meet 429 ``rate_limited`` with Retry-After, counted in the database.

tests/conftest.py lifts the limits for every other test (all TestClient requests come from
"testclient"); here they are put back to the shipped defaults, or set low.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts import throttle
from app.accounts.exceptions import InvalidCredentials, RateLimited
from app.accounts.models import ClientThrottle, Role
from app.audit.service import Actor
from app.config import Settings, get_settings
from app.db import transaction
from tests.factories import PASSWORD, id_number, make_institution, make_learner, make_user

LIMITS = ("LOGIN_IP_MAX_FAILURES", "REGISTER_IP_MAX", "HANDOFF_IP_MAX_FAILURES")


@pytest.fixture
def shipped_limits(app_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The defaults a real install runs with."""
    for name in LIMITS:
        monkeypatch.delenv(f"SKILLTRACE_{name}", raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def _low(monkeypatch: pytest.MonkeyPatch, **values: int) -> Settings:
    for name, value in values.items():
        monkeypatch.setenv(f"SKILLTRACE_{name.upper()}", str(value))
    get_settings.cache_clear()
    return get_settings()


def _problem(r: Any, code: str) -> dict[str, Any]:
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(r.headers["retry-after"])
    body: dict[str, Any] = r.json()
    assert body["code"] == code and body["retry_after"] == int(r.headers["retry-after"])
    return body


def test_the_shipped_limits_stop_password_spraying(
    shipped_limits: Settings, client: TestClient, engine: Any, clock: Any
) -> None:
    """30 usernames, one password, one address: the per-username back-off never triggers
    (one failure each), the per-address limit does."""
    inst = make_institution(engine)
    victims = [make_learner(engine, inst).username for _ in range(30)]
    real = make_user(engine, Role.staff, inst)
    limit = shipped_limits.login_ip_max_failures
    assert limit < len(victims)
    answers = [
        client.post("/api/v1/auth/token", data={"username": u, "password": "Spring2026!"})
        for u in victims
    ]
    assert [r.status_code for r in answers[:limit]] == [401] * limit
    for r in answers[limit:]:
        body = _problem(r, "rate_limited")
        assert "网络" in body["message_zh"]
    # While blocked, a right password from that address is refused too (no success oracle).
    r = client.post("/api/v1/auth/token", data={"username": real.username, "password": PASSWORD})
    _problem(r, "rate_limited")
    # The count is in the database (several app nodes share it).
    with Session(engine) as s:
        row = s.exec(select(ClientThrottle).where(ClientThrottle.scope == "login")).one()
    assert row.client == "testclient" and row.count == limit
    # Another address is not affected.
    with transaction(engine) as s:
        assert accounts.authenticate(s, real.username, PASSWORD, client="198.51.100.7")
    # When the window ends, the address may try again.
    clock.advance(seconds=shipped_limits.login_ip_window_s + 1)
    r = client.post("/api/v1/auth/token", data={"username": real.username, "password": PASSWORD})
    assert r.status_code == 200, r.text


def test_the_login_page_meets_the_same_limit(
    client: TestClient, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _low(monkeypatch, login_ip_max_failures=3)
    make_learner(engine, make_institution(engine))
    client.get("/login")
    csrf = str(client.cookies.get("st_csrf"))

    def attempt(name: str) -> Any:
        data = {"csrf": csrf, "username": name, "password": "wrong-password-1"}
        return client.post("/login", data=data, follow_redirects=False)

    assert [attempt(f"user{i}").status_code for i in range(3)] == [401] * 3
    page = attempt("user9")
    assert page.status_code == 429 and int(page.headers["retry-after"]) >= 1
    assert "来自您所在网络的尝试次数过多" in page.text
    # The API answers the same address the same way.
    _problem(
        client.post("/api/v1/auth/token", data={"username": "x1", "password": "y"}),
        "rate_limited",
    )


def test_registration_is_limited_per_address(
    client: TestClient, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused attempts count too: registration tells whether an ID number is registered."""
    _low(monkeypatch, register_ip_max=3)

    def register(n: int, **over: str) -> Any:
        body = {
            "username": f"reg{n}",
            "password": PASSWORD,
            "real_name": "张三",
            "id_number": id_number(seq=n),
            **over,
        }
        return client.post("/api/v1/auth/register", json=body)

    assert register(1).status_code == 201
    assert register(2, id_number=id_number(seq=1)).status_code == 409  # already registered
    assert register(3, id_number="110105194912310021").status_code == 422
    _problem(register(4), "rate_limited")
    # The page, from the same address, too.
    page = client.get("/register")
    assert page.status_code == 200
    csrf = str(client.cookies.get("st_csrf"))
    form = {
        "csrf": csrf,
        "username": "reg5",
        "password": PASSWORD,
        "real_name": "李四",
        "id_number": id_number(seq=5),
        "institution": "LIM",
    }
    with transaction(engine) as s:
        inst = accounts.create_institution(s, code="LIM", name="限额", actor=Actor.system())
    r = client.post("/register", data=form, follow_redirects=False)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert 'data-code="rate_limited"' in r.text
    # A partner creating learners with its key is not a self-registration: not limited.
    for n in range(6, 10):
        make_learner(engine, inst, id_number=id_number(seq=n))


def test_guessing_hand_off_codes_is_limited(
    client: TestClient, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _low(monkeypatch, handoff_ip_max_failures=4)

    def guess() -> str:
        return "-".join(secrets.token_hex(2) for _ in range(3))

    misses = [client.get(f"/m/{guess()}") for _ in range(2)]
    misses += [client.post(f"/api/v1/handoffs/{guess()}/open") for _ in range(2)]
    assert [r.status_code for r in misses] == [404] * 4
    page = client.get(f"/m/{guess()}")
    assert page.status_code == 429 and int(page.headers["retry-after"]) >= 1
    assert page.headers["cache-control"] == "no-store, private"
    assert client.get(f"/m/{guess()}/qr.svg").status_code == 429
    for path in ("open", "challenge"):
        _problem(client.post(f"/api/v1/handoffs/{guess()}/{path}"), "rate_limited")
    with Session(engine) as s:
        row = s.exec(select(ClientThrottle).where(ClientThrottle.scope == "handoff")).one()
    assert row.count == settings.handoff_ip_max_failures
    # Another address guessing is counted on its own.
    from app.main import create_app

    with TestClient(create_app(), client=("203.0.113.9", 5000)) as other:
        assert other.get(f"/m/{guess()}").status_code == 404


def test_ended_windows_restart_and_are_deleted(engine: Any, clock: Any) -> None:
    with transaction(engine) as s:
        assert throttle.record(s, "login", "192.0.2.1") == 1
        assert throttle.record(s, "login", "192.0.2.1") == 2
        assert throttle.record(s, "login", "192.0.2.2") == 1
    clock.advance(seconds=get_settings().login_ip_window_s)
    with transaction(engine) as s:
        assert throttle.record(s, "login", "192.0.2.1") == 1  # a new window
    with Session(engine) as s:
        rows = {r.client: r.count for r in s.exec(select(ClientThrottle))}
    assert rows == {"192.0.2.1": 1}  # the other ended window is gone


def test_the_limit_refuses_before_the_password_is_checked(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _low(monkeypatch, login_ip_max_failures=2)
    inst = make_institution(engine)
    user = make_user(engine, Role.staff, inst)
    for _ in range(2):
        with pytest.raises(InvalidCredentials), transaction(engine) as s:
            accounts.authenticate(s, user.username, "nope-nope-1", client="2001:db8::1")
    # Another address of the same IPv6 /64 is the same client.
    with pytest.raises(RateLimited) as refused, transaction(engine) as s:
        accounts.authenticate(s, user.username, PASSWORD, client="2001:db8::ffff:1")
    assert 0 < refused.value.extra["retry_after"] <= get_settings().login_ip_window_s
    # Without an address (the CLI) nothing is counted or refused.
    with transaction(engine) as s:
        assert accounts.authenticate(s, user.username, PASSWORD)


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("203.0.113.5", "203.0.113.5"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
        ("testclient", "testclient"),
        (None, None),
        ("", None),
    ],
)
def test_client_keys(address: str | None, key: str | None) -> None:
    assert throttle.client_key(address) == key
