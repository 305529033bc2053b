"""Opening /login while signed in leads to one's own home, not to a learner-only page."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.accounts.models import Role
from tests.factories import PASSWORD, csrf_of, make_institution, make_user


@pytest.mark.parametrize(
    ("role", "home"), [(Role.staff, "/staff/review"), (Role.regulator, "/regulator")]
)
def test_login_page_sends_a_signed_in_user_home(
    client: TestClient, engine: Any, role: Role, home: str
) -> None:
    inst = make_institution(engine)
    user = make_user(engine, role, inst if role is Role.staff else None)
    page = client.get("/login")
    signed = client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "username": user.username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert signed.headers["location"] == home
    again = client.get("/login", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == home
    assert client.get(home).status_code == 200
    # An explicit local `next` is still honoured.
    there = client.get("/login?next=/staff/courses", follow_redirects=False)
    assert there.headers["location"] == "/staff/courses"
