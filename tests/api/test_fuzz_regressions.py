"""Cases schemathesis found, kept as plain tests so they run every time on both databases."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize(
    "username",
    [
        "\x00",  # PostgreSQL text cannot hold NUL
        "a" * 65,  # longer than login_throttles.username (varchar 64)
        "王" * 200,
    ],
    ids=["nul", "65-chars", "200-cjk"],
)
def test_login_with_an_impossible_username_is_refused_not_a_crash(
    client: TestClient, app_env: str, username: str
) -> None:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": "x" * 12})
    assert r.status_code == 401, r.text
    assert r.json()["code"] == "invalid_credentials"


def test_junk_usernames_do_not_fill_the_throttle_table(client: TestClient, engine: object) -> None:
    from sqlmodel import Session, select

    from app.accounts.models import LoginThrottle

    for i in range(3):
        client.post("/api/v1/auth/token", data={"username": f"bad name {i}!", "password": "x" * 9})
    with Session(engine) as s:  # type: ignore[arg-type]
        assert s.exec(select(LoginThrottle)).all() == []


def test_a_body_that_is_not_json_is_a_validation_error(client: TestClient) -> None:
    r = client.post(
        "/api/v1/auth/register",
        content=b"\xff\xfe not json",
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 422
    assert r.json()["code"] == "validation_error"
