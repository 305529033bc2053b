"""Password pages over HTTP: forgotten (a code by text message, read from the console sender's
log), a temporary password from the institution that must be changed at sign-in, and the
staff's reset button on a learner's enrolment page."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.accounts.models import Role
from tests.factories import (
    PASSWORD,
    csrf_of,
    make_course,
    make_enrollment,
    make_institution,
    make_learner,
    make_user,
    sign_in,
)

NEW = "Xin-Mima-2026-ok"


def sent_code(caplog: pytest.LogCaptureFixture) -> str:
    found = re.findall(r"验证码为 (\d{6})", caplog.text)
    assert found, "no code was sent"
    return str(found[-1])


def test_forgotten_password_by_text_message(
    client: TestClient, engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="skilltrace.notify")
    learner = make_learner(engine, make_institution(engine), phone="13912345678")
    login_page = client.get("/login")
    assert 'href="/password/forgot"' in login_page.text
    page = client.get("/password/forgot")
    assert page.status_code == 200
    # An unknown account is answered exactly like a known one, and nothing is sent.
    unknown = client.post("/password/forgot", data={"csrf": csrf_of(page.text), "login": "nobody"})
    known = client.post(
        "/password/forgot", data={"csrf": csrf_of(page.text), "login": "139 1234 5678"}
    )
    assert unknown.status_code == known.status_code == 200
    assert 'id="code-sent"' in unknown.text and 'id="code-sent"' in known.text
    assert len(re.findall(r"验证码为", caplog.text)) == 1
    form = {
        "csrf": csrf_of(known.text),
        "login": "139 1234 5678",
        "code": sent_code(caplog),
        "new_password": NEW,
        "new_password_again": NEW + "x",
    }
    r = client.post("/password/reset", data=form)
    assert r.status_code == 422 and 'data-code="password_mismatch"' in r.text
    r = client.post("/password/reset", data={**form, "code": "000000", "new_password_again": NEW})
    assert r.status_code == 400 and 'data-code="reset_code_invalid"' in r.text
    assert "验证码错误或已失效" in r.text
    form["new_password_again"] = NEW
    r = client.post("/password/reset", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert sign_in(client, learner.username, NEW).status_code == 303


def test_staff_reset_and_the_forced_change(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    learner = make_learner(engine, inst, real_name="周小燕")
    enrollment = make_enrollment(engine, learner, make_course(engine, inst, staff=staff))
    sign_in(client, staff.username)
    page = client.get(f"/staff/enrollments/{enrollment.id}")
    assert f'action="/staff/learners/{learner.id}/password-reset"' in page.text
    r = client.post(
        f"/staff/learners/{learner.id}/password-reset",
        data={"csrf": csrf_of(page.text), "back": f"/staff/enrollments/{enrollment.id}"},
    )
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    m = re.search(r'id="temporary-password">([^<]+)<', r.text)
    assert m and "周小燕" in r.text
    temporary = m.group(1)

    # The learner signs in with it: asked to set their own first, not signed in.
    client.cookies.clear()
    r = sign_in(client, learner.username, temporary)
    assert r.status_code == 403 and 'id="temporary-note"' in r.text
    assert client.get("/my", follow_redirects=False).headers["location"].startswith("/login")
    form = {
        "csrf": csrf_of(r.text),
        "username": learner.username,
        "current_password": temporary,
        "new_password": NEW,
        "new_password_again": NEW,
        "temporary": "1",
    }
    r = client.post("/password/change", data={**form, "current_password": PASSWORD})
    assert r.status_code == 401 and 'data-code="invalid_credentials"' in r.text
    r = client.post("/password/change", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/my"
    assert client.get("/my", follow_redirects=False).status_code in (200, 303)
    client.cookies.clear()
    assert sign_in(client, learner.username, NEW).status_code == 303


def test_staff_of_another_institution_cannot_reset(client: TestClient, engine: Any) -> None:
    theirs = make_learner(engine, make_institution(engine))
    staff = make_user(engine, Role.staff, make_institution(engine))
    sign_in(client, staff.username)
    page = client.get("/staff/courses")
    r = client.post(
        f"/staff/learners/{theirs.id}/password-reset", data={"csrf": csrf_of(page.text)}
    )
    assert r.status_code == 404 and "temporary-password" not in r.text
    client.cookies.clear()
    assert sign_in(client, theirs.username, PASSWORD).status_code == 303


def test_an_email_address_added_on_its_page_then_a_reset_by_email(
    client: TestClient, engine: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The account's e-mail page (the footer links it): a code goes to the address typed, the
    address counts once the code comes back; then the forgotten-password page offers e-mail."""
    caplog.set_level(logging.INFO, logger="skilltrace.notify")
    learner = make_learner(engine, make_institution(engine))
    sign_in(client, learner.username)
    page = client.get("/account/email")
    assert page.status_code == 200 and 'id="account-email-link"' in page.text
    assert 'data-email=""' in page.text
    bad = client.post(
        "/account/email", data={"csrf": csrf_of(page.text), "email": "zhаng@qq.com"}
    )  # a Cyrillic а
    assert bad.status_code == 422 and 'data-code="invalid_email"' in bad.text
    sent = client.post(
        "/account/email", data={"csrf": csrf_of(page.text), "email": "Zhang.Wei@QQ.com"}
    )
    assert sent.status_code == 200 and 'id="email-code-sent"' in sent.text
    assert "zhang.wei@qq.com" in sent.text
    wrong = client.post(
        "/account/email/confirm",
        data={"csrf": csrf_of(sent.text), "code": "12", "sent_to": "zhang.wei@qq.com"},
    )
    assert wrong.status_code == 400 and 'data-code="reset_code_invalid"' in wrong.text
    done = client.post(
        "/account/email/confirm",
        data={"csrf": csrf_of(sent.text), "code": sent_code(caplog)},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/account/email"
    assert 'data-email="zhang.wei@qq.com"' in client.get("/account/email").text

    client.cookies.clear()
    forgot = client.get("/password/forgot")
    assert 'name="channel" value="email"' in forgot.text
    asked = client.post(
        "/password/forgot",
        data={"csrf": csrf_of(forgot.text), "login": "zhang.wei@qq.com", "channel": "email"},
    )
    assert asked.status_code == 200 and 'data-channel="email"' in asked.text
    assert "邮件中的验证码" in asked.text
    r = client.post(
        "/password/reset",
        data={
            "csrf": csrf_of(asked.text),
            "login": "zhang.wei@qq.com",
            "channel": "email",
            "code": sent_code(caplog),
            "new_password": NEW,
            "new_password_again": NEW,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert sign_in(client, learner.username, NEW).status_code == 303
