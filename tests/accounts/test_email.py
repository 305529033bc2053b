"""An account's optional e-mail address and password resets by e-mail (issue 14 item 5): the
address is verified by a code before it counts, stored in one spelling (unique whatever the
case; full-width forms fold; look-alike letters are refused), and a verified address is a
second channel for reset codes — limited and single use exactly like SMS. The e-mail sender is
pluggable like the SMS one: the console (log) sender by default, SMTP through smtplib (tested
here against a small SMTP server in a thread)."""

from __future__ import annotations

import logging
import re
import socket
import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.accounts.models import PasswordResetCode, User
from app.config import get_settings
from tests.factories import PASSWORD, audit_actions, login, make_institution, make_learner

API = "/api/v1"
NEW = "Xin-Mima-2026-ok"


@pytest.fixture
def mails(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="skilltrace.notify")
    return caplog


def codes(mails: pytest.LogCaptureFixture, channel: str = "email") -> list[str]:
    return [
        m.group(1)
        for r in mails.records
        if r.name == "skilltrace.notify"
        and r.getMessage().startswith(channel)
        and (m := re.search(r"验证码为 (\d{6})", r.getMessage()))
    ]


def token(client: TestClient, username: str, password: str) -> Any:
    return client.post(f"{API}/auth/token", data={"username": username, "password": password})


def add_email(client: TestClient, h: dict[str, str], mails: Any, address: str) -> Any:
    r = client.post(f"{API}/me/email", json={"email": address}, headers=h)
    assert r.status_code == 202, r.text
    code = codes(mails)[-1]
    return client.post(f"{API}/me/email/confirm", json={"code": code}, headers=h)


def test_an_address_counts_once_confirmed_and_is_unique_whatever_its_spelling(
    client: TestClient, engine: Any, mails: pytest.LogCaptureFixture
) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    h = login(client, learner.username)
    assert client.get(f"{API}/me/email", headers=h).json() == {"email": None, "verified_at": None}

    # Full-width letters and ＠ fold; the case does not matter; the code goes to the address.
    r = client.post(f"{API}/me/email", json={"email": "Ｌｉ.Juan88＠QQ.com"}, headers=h)
    assert r.status_code == 202 and r.json()["email"] == "li.juan88@qq.com"
    assert "l***@qq.com" in mails.text and "li.juan88@qq.com" not in mails.text  # masked
    assert client.get(f"{API}/me/email", headers=h).json()["email"] is None  # not yet
    (code,) = codes(mails)
    wrong = "000000" if code != "000000" else "111111"
    r = client.post(f"{API}/me/email/confirm", json={"code": wrong}, headers=h)
    assert r.status_code == 400 and r.json()["code"] == "reset_code_invalid"
    r = client.post(f"{API}/me/email/confirm", json={"code": code}, headers=h)
    assert r.status_code == 200 and r.json()["email"] == "li.juan88@qq.com"
    assert r.json()["verified_at"]
    r = client.post(f"{API}/me/email/confirm", json={"code": code}, headers=h)
    assert r.status_code == 400  # single use
    actions = audit_actions(engine, f"user:{learner.id}")
    assert "email.verification_sent" in actions and "email.verified" in actions

    # Another account cannot take it, in any spelling; look-alikes are refused.
    other = login(client, make_learner(engine, inst).username)
    for spelling in ("LI.JUAN88@qq.com", "ｌｉ．ｊｕａｎ８８@qq.com"):
        r = client.post(f"{API}/me/email", json={"email": spelling}, headers=other)
        assert r.status_code == 409 and r.json()["code"] == "email_taken", spelling
    for bad in ("li.juаn88@qq.com", "张三@qq.com", "li.juan88@qq", "not-an-address"):
        r = client.post(f"{API}/me/email", json={"email": bad}, headers=other)
        assert r.status_code == 422 and r.json()["code"] == "invalid_email", bad

    # A verification code resets no password.
    r = client.post(
        f"{API}/auth/password-reset/confirm",
        json={"login": learner.username, "code": code, "new_password": NEW},
    )
    assert r.status_code == 400

    assert client.delete(f"{API}/me/email", headers=h).status_code == 204
    assert client.get(f"{API}/me/email", headers=h).json()["email"] is None
    assert "email.removed" in audit_actions(engine, f"user:{learner.id}")


def test_reset_by_email_code_is_limited_and_single_use_like_sms(
    client: TestClient, engine: Any, mails: pytest.LogCaptureFixture
) -> None:
    learner = make_learner(engine, make_institution(engine), phone="13912345678")
    h = login(client, learner.username)
    assert add_email(client, h, mails, "zhou.min@163.com").status_code == 200

    # Named by the address (any case), the code goes to the address, not the phone.
    r = client.post(
        f"{API}/auth/password-reset", json={"login": "Zhou.Min@163.com", "channel": "email"}
    )
    assert r.status_code == 202 and "电子邮箱" in r.json()["detail"]
    code = codes(mails)[-1]
    assert codes(mails, "sms") == []
    with Session(engine) as s:
        sent = s.exec(select(PasswordResetCode).where(PasswordResetCode.channel == "email")).one()
        assert code not in sent.code_hash
    r = client.post(
        f"{API}/auth/password-reset/confirm",
        json={"login": learner.username, "code": code, "new_password": NEW},
    )
    assert r.status_code == 200, r.text
    assert token(client, learner.username, NEW).status_code == 200
    assert token(client, learner.username, PASSWORD).status_code == 401
    r = client.post(
        f"{API}/auth/password-reset/confirm",
        json={"login": learner.username, "code": code, "new_password": "Another-Pass-2026"},
    )
    assert r.status_code == 400  # single use

    # The per-account limit counts both channels together (3 an hour by default): this
    # account already had one; two more, then nothing is sent — and the answer is the same.
    before = len(codes(mails)) + len(codes(mails, "sms"))
    for channel in ("sms", "email", "email", "sms"):
        r = client.post(
            f"{API}/auth/password-reset", json={"login": learner.username, "channel": channel}
        )
        assert r.status_code == 202
    assert len(codes(mails)) + len(codes(mails, "sms")) == before + 2

    # No verified address: nothing is sent, and the answer is the same as for anyone.
    plain = make_learner(engine, make_institution(engine))
    r = client.post(
        f"{API}/auth/password-reset", json={"login": plain.username, "channel": "email"}
    )
    assert r.status_code == 202
    with Session(engine) as s:
        assert not s.exec(
            select(PasswordResetCode).where(PasswordResetCode.user_id == plain.id)
        ).all()


class _SmtpStub:
    """A tiny SMTP server (no TLS) in a thread that keeps what it received."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.received: list[str] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.sock.accept()
        f = conn.makefile("rb")

        def say(line: str) -> None:
            conn.sendall(line.encode() + b"\r\n")

        say("220 stub")
        while True:
            line = f.readline().decode().strip()
            verb = line.split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                say("250-stub")
                say("250 8BITMIME")
            elif verb == "DATA":
                say("354 go on")
                lines = []
                while (chunk := f.readline()) not in (b".\r\n", b""):
                    lines.append(chunk.decode("utf-8", "replace"))
                self.received.append("".join(lines))
                say("250 queued")
            elif verb == "QUIT":
                say("221 bye")
                break
            else:
                say("250 ok")
        conn.close()
        self.sock.close()


def test_the_smtp_sender_delivers_through_the_configured_relay(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from email import message_from_string
    from email.header import decode_header, make_header

    from app.accounts import notify

    stub = _SmtpStub()
    for name, value in {
        "EMAIL_SENDER": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(stub.port),
        "SMTP_SECURITY": "none",
        "SMTP_FROM": "技能培训学习平台 <noreply@px.example.cn>",
    }.items():
        monkeypatch.setenv(f"SKILLTRACE_{name}", value)
    get_settings.cache_clear()
    notify._configured.cache_clear()
    try:
        notify.sender("email").send(
            notify.Message(channel="email", to="li.juan88@qq.com", text="验证码为 305718")
        )
    finally:
        notify._configured.cache_clear()
    stub.thread.join(timeout=10)
    (raw,) = stub.received
    mail = message_from_string(raw)
    assert mail["To"] == "li.juan88@qq.com"
    assert str(make_header(decode_header(mail["Subject"]))) == notify.SmtpSender.SUBJECT
    assert "305718" in mail.get_payload(decode=True).decode("utf-8")


def test_smtp_settings_are_checked_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import Settings

    with pytest.raises(ValueError, match="SKILLTRACE_SMTP_HOST and SKILLTRACE_SMTP_FROM"):
        Settings(email_sender="smtp")
    assert User.__table__.c.email.unique  # type: ignore[attr-defined]
