"""Password resets (issue 14, item 5): by the learner's institution (a temporary password that
must be changed, audited, refused for other institutions' learners) and self-service by a code
sent through the pluggable sender (the console sender's log is the phone here)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import PasswordResetCode, Role
from app.config import get_settings
from tests.factories import (
    PASSWORD,
    audit_actions,
    login,
    make_institution,
    make_learner,
    make_user,
)

API = "/api/v1"
NEW = "Xin-Mima-2026-ok"
PHONE = "13912345678"


def token(client: TestClient, username: str, password: str) -> Any:
    return client.post(f"{API}/auth/token", data={"username": username, "password": password})


@pytest.fixture
def texts(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """What the console sender 'sent' (the embedded default sender)."""
    caplog.set_level(logging.INFO, logger="skilltrace.notify")
    return caplog


def sent_codes(texts: pytest.LogCaptureFixture) -> list[str]:
    return [
        m.group(1)
        for r in texts.records
        if r.name == "skilltrace.notify" and (m := re.search(r"验证码为 (\d{6})", r.getMessage()))
    ]


def low(monkeypatch: pytest.MonkeyPatch, **values: int) -> None:
    for name, value in values.items():
        monkeypatch.setenv(f"SKILLTRACE_{name.upper()}", str(value))
    get_settings.cache_clear()


# ---------------------------------------------------------------- by the institution's staff


def test_staff_reset_gives_a_temporary_password_that_must_be_changed(
    client: TestClient, engine: Any
) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    old_session = login(client, learner.username)
    staff = login(client, make_user(engine, Role.staff, inst).username)

    r = client.post(f"{API}/learners/{learner.id}/password-reset", headers=staff)
    assert r.status_code == 200, r.text
    body = r.json()
    temporary = body["temporary_password"]
    assert body["must_change_password"] is True and body["username"] == learner.username
    # The learner's sessions ended; the temporary password signs in only to be changed.
    assert client.get(f"{API}/me", headers=old_session).status_code == 401
    assert token(client, learner.username, PASSWORD).status_code == 401
    refused = token(client, learner.username, temporary)
    assert refused.status_code == 403 and refused.json()["code"] == "password_change_required"

    same = {"username": learner.username, "current_password": temporary}
    r = client.post(f"{API}/auth/password-change", json={**same, "new_password": temporary})
    assert r.status_code == 422 and r.json()["code"] == "password_unchanged"
    r = client.post(f"{API}/auth/password-change", json={**same, "new_password": "12345678"})
    assert r.status_code == 422 and r.json()["code"] == "weak_password"
    r = client.post(f"{API}/auth/password-change", json={**same, "new_password": NEW})
    assert r.status_code == 200 and r.json() == {"username": learner.username}
    assert token(client, learner.username, NEW).status_code == 200
    assert token(client, learner.username, temporary).status_code == 401
    actions = audit_actions(engine, f"user:{learner.id}")
    assert actions.index("password.reset_by_staff") < actions.index("password.changed")


def test_staff_reset_is_refused_for_other_institutions_learners(
    client: TestClient, engine: Any
) -> None:
    mine, theirs = make_institution(engine), make_institution(engine)
    stranger = make_learner(engine, theirs)
    staff = login(client, make_user(engine, Role.staff, mine).username)
    r = client.post(f"{API}/learners/{stranger.id}/password-reset", headers=staff)
    assert r.status_code == 404 and r.json()["code"] == "user_not_found"
    # Nor by a learner, nor by a regulator who sees them but is not their institution.
    learner = login(client, make_learner(engine, theirs).username)
    r = client.post(f"{API}/learners/{stranger.id}/password-reset", headers=learner)
    assert r.status_code == 403
    regulator = login(client, make_user(engine, Role.regulator).username)
    r = client.post(f"{API}/learners/{stranger.id}/password-reset", headers=regulator)
    assert r.status_code == 403
    assert token(client, stranger.username, PASSWORD).status_code == 200
    assert "password.reset_by_staff" not in audit_actions(engine, f"user:{stranger.id}")


# ---------------------------------------------------------------- self-service by code


def test_self_service_reset_end_to_end(
    client: TestClient, engine: Any, texts: pytest.LogCaptureFixture
) -> None:
    learner = make_learner(engine, make_institution(engine), phone=PHONE)
    old_session = login(client, learner.username)
    r = client.post(f"{API}/auth/password-reset", json={"login": PHONE})
    assert r.status_code == 202, r.text
    (code,) = sent_codes(texts)
    assert "139****5678" in texts.text and PHONE not in texts.text
    with Session(engine) as s:
        row = s.exec(select(PasswordResetCode)).one()
        assert code not in row.code_hash and len(row.code_hash) == 64  # only a keyed hash

    r = client.post(
        f"{API}/auth/password-reset/confirm",
        json={"login": learner.username, "code": code, "new_password": NEW},
    )
    assert r.status_code == 200 and r.json() == {"username": learner.username}, r.text
    assert token(client, learner.username, NEW).status_code == 200
    assert client.get(f"{API}/me", headers=old_session).status_code == 401
    # Single use.
    r = client.post(
        f"{API}/auth/password-reset/confirm",
        json={"login": learner.username, "code": code, "new_password": "Another-Pass-2026"},
    )
    assert r.status_code == 400 and r.json()["code"] == "reset_code_invalid"
    actions = audit_actions(engine, f"user:{learner.id}")
    assert "password.reset_code_sent" in actions and "password.reset_by_code" in actions


def test_the_answer_never_tells_who_has_an_account(
    client: TestClient, engine: Any, texts: pytest.LogCaptureFixture
) -> None:
    make_learner(engine, make_institution(engine), phone=PHONE, username="haswphone")
    make_learner(engine, make_institution(engine), username="nophone")
    answers = [
        client.post(f"{API}/auth/password-reset", json={"login": login_})
        for login_ in ("haswphone", "nophone", "nobody-at-all", "13800000000")
    ]
    assert {(r.status_code, r.text) for r in answers} == {(answers[0].status_code, answers[0].text)}
    assert answers[0].status_code == 202
    assert len(sent_codes(texts)) == 1
    for who in ("nobody-at-all", "nophone"):
        r = client.post(
            f"{API}/auth/password-reset/confirm",
            json={"login": who, "code": "123456", "new_password": NEW},
        )
        assert r.status_code == 400 and r.json()["code"] == "reset_code_invalid"


def test_wrong_expired_and_too_many_codes(
    client: TestClient, engine: Any, texts: pytest.LogCaptureFixture, clock: Any
) -> None:
    learner = make_learner(engine, make_institution(engine), phone=PHONE)

    def confirm(code: str, password: str = NEW) -> Any:
        return client.post(
            f"{API}/auth/password-reset/confirm",
            json={"login": learner.username, "code": code, "new_password": password},
        )

    # Expired: ten minutes and one second later.
    client.post(f"{API}/auth/password-reset", json={"login": learner.username})
    clock.advance(seconds=601)
    r = confirm(sent_codes(texts)[-1])
    assert r.status_code == 400 and r.json()["code"] == "reset_code_invalid"

    # A weak new password is refused without using the code up.
    client.post(f"{API}/auth/password-reset", json={"login": learner.username})
    code = sent_codes(texts)[-1]
    assert confirm(code, "12345678").json()["code"] == "weak_password"
    # Wrong codes: the fifth kills the live code, even the right one is refused after.
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(get_settings().password_reset_max_failures):
        r = confirm(wrong)
        assert r.status_code == 400 and r.json()["code"] == "reset_code_invalid"
    assert confirm(code).status_code == 400
    assert token(client, learner.username, PASSWORD).status_code == 200

    # At most three codes an hour per account: a fourth request is answered alike, sends
    # nothing, and the third code still works.
    client.post(f"{API}/auth/password-reset", json={"login": learner.username})
    third = sent_codes(texts)[-1]
    r = client.post(f"{API}/auth/password-reset", json={"login": learner.username})
    assert r.status_code == 202 and len(sent_codes(texts)) == 3
    assert confirm(third).status_code == 200


def test_a_new_code_retires_the_earlier_one(
    client: TestClient, engine: Any, texts: pytest.LogCaptureFixture, clock: Any
) -> None:
    learner = make_learner(engine, make_institution(engine), phone=PHONE)
    for _ in range(2):
        client.post(f"{API}/auth/password-reset", json={"login": learner.username})
    assert len(sent_codes(texts)) == 1  # asked again within a minute: the code on its way
    clock.advance(seconds=get_settings().password_reset_resend_after_s + 1)
    client.post(f"{API}/auth/password-reset", json={"login": learner.username})
    first, second = sent_codes(texts)
    url = f"{API}/auth/password-reset/confirm"
    body = {"login": learner.username, "new_password": NEW}
    assert client.post(url, json={**body, "code": first}).status_code == 400
    assert client.post(url, json={**body, "code": second}).status_code == 200


def test_codes_are_limited_per_address(
    client: TestClient, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    low(monkeypatch, password_reset_ip_max=3)
    for n in range(3):
        r = client.post(f"{API}/auth/password-reset", json={"login": f"someone{n}"})
        assert r.status_code == 202
    r = client.post(f"{API}/auth/password-reset", json={"login": "someone9"})
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    assert int(r.headers["retry-after"]) >= 1
    r = client.post(
        f"{API}/auth/password-reset/confirm",
        json={"login": "someone0", "code": "123456", "new_password": NEW},
    )
    assert r.status_code == 429


def test_a_pluggable_sender_receives_the_message(
    client: TestClient, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.accounts import notify

    monkeypatch.setenv("SKILLTRACE_NOTIFY_SENDER", f"{__name__}:RecordingSender")
    get_settings.cache_clear()
    notify._configured.cache_clear()
    RecordingSender.sent.clear()
    try:
        make_learner(engine, make_institution(engine), phone=PHONE, username="plugged")
        r = client.post(f"{API}/auth/password-reset", json={"login": "plugged"})
        assert r.status_code == 202
    finally:
        notify._configured.cache_clear()
    (message,) = RecordingSender.sent
    assert message.channel == "sms" and message.to == PHONE and re.search(r"\d{6}", message.text)


class RecordingSender:
    sent: list[Any] = []

    def send(self, message: Any) -> None:
        self.sent.append(message)


def test_a_code_typed_with_an_input_methods_digits_is_the_code(
    client: TestClient, engine: Any, texts: pytest.LogCaptureFixture
) -> None:
    """A Chinese input method types ``１２３ ４５６``: the same code, not a counted failure.
    Other scripts' digits (``isdigit()`` is true for them) are a failure like any wrong code."""
    learner = make_learner(engine, make_institution(engine), phone=PHONE)
    assert client.post(f"{API}/auth/password-reset", json={"login": PHONE}).status_code == 202
    (code,) = sent_codes(texts)
    url = f"{API}/auth/password-reset/confirm"
    arabic = "".join(chr(0x0660 + int(c)) for c in code)
    r = client.post(url, json={"login": PHONE, "code": arabic, "new_password": NEW})
    assert (r.status_code, r.json()["code"]) == (400, "reset_code_invalid")
    typed = "".join(chr(ord(c) + 0xFEE0) for c in code[:3]) + "\u3000" + code[3:]
    r = client.post(url, json={"login": PHONE, "code": typed, "new_password": NEW})
    assert r.status_code == 200, r.text
    assert token(client, learner.username, NEW).status_code == 200


@pytest.mark.parametrize("env", ["production", "development"])
def test_passwords_cost_owasp_argon2id_outside_the_test_environment(
    env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suite hashes cheaply (SKILLTRACE_ENV=test); everywhere else the cost is OWASP's, and
    a cheap hash still signs in there, to be re-hashed at the real cost."""
    from app.accounts import passwords

    monkeypatch.setenv("SKILLTRACE_ENV", env)
    monkeypatch.setenv("SKILLTRACE_SECRET_KEY", "x" * 48)
    get_settings.cache_clear()
    try:
        real = passwords.hash_password(NEW)
        assert real.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert passwords.verify_password(real, NEW) and not passwords.needs_rehash(real)
        assert passwords.dummy_hash().startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        cheap = passwords._TEST.hash(NEW)
        assert passwords.verify_password(cheap, NEW) and passwords.needs_rehash(cheap)
        assert not passwords.verify_password(cheap, PASSWORD)
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    assert passwords.hash_password(NEW).startswith("$argon2id$v=19$m=8,t=1,p=1$")
