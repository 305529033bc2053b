"""Registration, login and back-off, tokens, roles, API key scoping, consent — over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlmodel import Session

from app.accounts.models import ConsentRecord, Role, User
from app.audit.models import AuditEntry
from tests.factories import PASSWORD, id_number, login, make_institution, make_learner, make_user


def register(client: TestClient, **over: Any) -> Any:
    body = {
        "username": "zhangsan",
        "password": PASSWORD,
        "real_name": "张三",
        "id_number": "11010519491231002x",
        "group": "migrant_worker",
    }
    body.update(over)
    return client.post("/api/v1/auth/register", json=body)


def test_register_masks_and_encrypts_id_number(client: TestClient, engine: Any) -> None:
    r = register(client)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["id_number_masked"] == "110105********002X"
    assert "11010519491231002X" not in r.text
    with Session(engine) as s:
        user = s.execute(select(User)).scalar_one()
        assert user.id_number_enc and "19491231" not in user.id_number_enc
        assert user.id_number_index and len(user.id_number_index) == 64
        actions = [e.action for e in s.execute(select(AuditEntry)).scalars()]
    assert actions == ["learner.registered"]


@pytest.mark.parametrize(
    ("over", "status", "code"),
    [
        ({"id_number": "110105194912310021"}, 422, "invalid_id_number"),
        ({"id_number": "11010519490230002X"}, 422, "invalid_id_number"),
        ({"id_number": "abc"}, 422, "invalid_id_number"),
        ({"password": "short1"}, 422, "weak_password"),
        ({"password": "password123"}, 422, "weak_password"),
        ({"password": "zhangsan"}, 422, "weak_password"),
        ({"real_name": ""}, 422, "validation_error"),
    ],
)
def test_register_refusals(
    client: TestClient, over: dict[str, str], status: int, code: str
) -> None:
    r = register(client, **over)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code


def test_register_conflicts(client: TestClient) -> None:
    assert register(client).status_code == 201
    r = register(client, id_number=id_number(seq=7))
    assert (r.status_code, r.json()["code"]) == (409, "username_taken")
    # usernames are case-insensitive (another password: not the same registration sent again)
    r = register(client, username="ZhangSan", password="Another-pass-9381")
    assert (r.status_code, r.json()["code"]) == (409, "username_taken")
    # the same registration sent again (a retry after a lost answer) is the account it made
    r = register(client, username="ZhangSan")
    assert r.status_code == 201 and r.json()["username"] == "zhangsan", r.text
    r = register(client, username="lisi", id_number="11010519491231002X")
    assert (r.status_code, r.json()["code"]) == (409, "id_number_registered")


def test_login_me_and_token_expiry(client: TestClient, clock: Any) -> None:
    register(client)
    headers = login(client, "zhangsan")
    me = client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["role"] == "learner"
    assert me.json()["id_number_masked"] == "110105********002X"
    assert me.json()["biometric_consent"] is False
    clock.advance(minutes=61)
    r = client.get("/api/v1/me", headers=headers)
    assert (r.status_code, r.json()["code"]) == (401, "invalid_token")
    assert client.get("/api/v1/me").json()["code"] == "not_authenticated"
    r = client.get("/api/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert r.json()["code"] == "invalid_token"


def test_login_backoff(client: TestClient, clock: Any) -> None:
    register(client)
    bad = {"username": "zhangsan", "password": "wrong-password"}
    for _ in range(4):
        r = client.post("/api/v1/auth/token", data=bad)
        assert (r.status_code, r.json()["code"]) == (401, "invalid_credentials")
    r = client.post("/api/v1/auth/token", data=bad)  # 5th failure locks
    assert r.json()["code"] == "invalid_credentials"
    good = {"username": "zhangsan", "password": PASSWORD}
    r = client.post("/api/v1/auth/token", data=good)
    assert (r.status_code, r.json()["code"]) == (429, "too_many_attempts")
    assert 0 < int(r.headers["Retry-After"]) <= 31
    clock.advance(seconds=31)
    r = client.post("/api/v1/auth/token", data=bad)  # 6th failure: 60 s
    r = client.post("/api/v1/auth/token", data=good)
    assert r.status_code == 429 and 30 < int(r.headers["Retry-After"]) <= 61
    clock.advance(seconds=61)
    assert client.post("/api/v1/auth/token", data=good).status_code == 200
    # success resets the count
    assert client.post("/api/v1/auth/token", data=bad).json()["code"] == "invalid_credentials"
    assert client.post("/api/v1/auth/token", data=good).status_code == 200


def test_unknown_usernames_are_throttled_too(client: TestClient) -> None:
    bad = {"username": "nobody", "password": "whatever-123"}
    codes = [client.post("/api/v1/auth/token", data=bad).json()["code"] for _ in range(6)]
    assert codes == ["invalid_credentials"] * 5 + ["too_many_attempts"]


def test_consent_grant_and_withdraw(client: TestClient, engine: Any) -> None:
    register(client)
    h = login(client, "zhangsan")
    r = client.post("/api/v1/me/consent", json={"biometric": True}, headers=h)
    assert r.status_code == 200 and r.json()["biometric_consent"] is True
    assert client.get("/api/v1/me", headers=h).json()["biometric_consent"] is True
    r = client.post("/api/v1/me/consent", json={"biometric": False}, headers=h)
    assert r.json()["biometric_consent"] is False
    with Session(engine) as s:
        records = list(s.execute(select(ConsentRecord).order_by(ConsentRecord.at)).scalars())  # type: ignore[arg-type]
        actions = [
            e.action for e in s.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
        ]  # type: ignore[arg-type]
    assert [r.granted for r in records] == [True, False]
    assert all(r.version for r in records)
    assert actions[-2:] == ["consent.granted", "consent.withdrawn"]


def test_roles_and_api_key_scoping(client: TestClient, engine: Any) -> None:
    a, b = make_institution(engine, "A01"), make_institution(engine, "B01")
    staff_a = make_user(engine, Role.staff, a, username="staff_a")
    make_user(engine, Role.regulator, username="reg")
    learner_a = make_learner(engine, a)
    learner_b = make_learner(engine, b)
    make_learner(engine, None, username="self_registered")

    h_staff = login(client, staff_a.username)
    h_learner = login(client, learner_a.username)
    h_reg = login(client, "reg")

    # learners can't list learners nor create API keys
    assert client.get("/api/v1/learners", headers=h_learner).status_code == 403
    assert client.post("/api/v1/api-keys", json={"name": "x"}, headers=h_learner).status_code == 403
    # staff see their own institution's learners only
    items = client.get("/api/v1/learners", headers=h_staff).json()["items"]
    assert [i["id"] for i in items] == [str(learner_a.id)]
    # regulators see everyone
    assert len(client.get("/api/v1/learners", headers=h_reg).json()["items"]) == 3

    r = client.post(
        "/api/v1/api-keys",
        json={"name": "partner", "scopes": ["learners:read", "learners:write"]},
        headers=h_staff,
    )
    assert r.status_code == 201, r.text
    key = r.json()["key"]
    assert key.startswith("stk_")
    listed = client.get("/api/v1/api-keys", headers=h_staff).json()
    assert "key" not in listed[0] and listed[0]["prefix"] in key
    hk = {"Authorization": f"Bearer {key}"}

    items = client.get("/api/v1/learners", headers=hk).json()["items"]
    assert [i["id"] for i in items] == [str(learner_a.id)]
    assert client.get(f"/api/v1/learners/{learner_a.id}", headers=hk).status_code == 200
    r = client.get(f"/api/v1/learners/{learner_b.id}", headers=hk)
    assert (r.status_code, r.json()["code"]) == (404, "user_not_found")
    r = client.post(
        "/api/v1/learners",
        json={
            "username": "partner1",
            "password": PASSWORD,
            "real_name": "赵六",
            "id_number": id_number(seq=321),
        },
        headers=hk,
    )
    assert r.status_code == 201 and r.json()["institution_id"] == str(a.id)
    # an API key is not a user
    assert client.get("/api/v1/me", headers=hk).status_code == 403
    # a key without the scope is refused
    r = client.post(
        "/api/v1/api-keys", json={"name": "ro", "scopes": ["learners:read"]}, headers=h_staff
    )
    hro = {"Authorization": f"Bearer {r.json()['key']}"}
    r = client.post(
        "/api/v1/learners",
        json={
            "username": "partner2",
            "password": PASSWORD,
            "real_name": "赵七",
            "id_number": id_number(seq=322),
        },
        headers=hro,
    )
    assert (r.status_code, r.json()["code"]) == (403, "insufficient_scope")
    # unknown scopes are refused
    r = client.post("/api/v1/api-keys", json={"name": "bad", "scopes": ["root"]}, headers=h_staff)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_input")
    # revocation takes effect at once; a tampered key fails
    key_id = listed[0]["id"]
    assert client.post(f"/api/v1/api-keys/{key_id}/revoke", headers=h_staff).status_code == 200
    assert client.get("/api/v1/learners", headers=hk).json()["code"] == "invalid_token"
    assert (
        client.get("/api/v1/learners", headers={"Authorization": f"Bearer {key}x"}).status_code
        == 401
    )


def test_problem_json_has_request_id(client: TestClient) -> None:
    r = client.get("/api/v1/me", headers={"X-Request-ID": "req-12345678"})
    assert r.headers["x-request-id"] == "req-12345678"
    assert r.json()["request_id"] == "req-12345678"
    r = client.get("/api/v1/nowhere")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_openapi_documents_error_codes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    register_op = spec["paths"]["/api/v1/auth/register"]["post"]
    codes = str(register_op["responses"])
    for code in ("invalid_id_number", "username_taken", "id_number_registered", "weak_password"):
        assert code in codes
