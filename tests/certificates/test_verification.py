"""Public verification (API and the QR code's page, zh-CN and en) before and after revocation;
revocation is for the issuing institution's staff only and is audited."""

from __future__ import annotations

from typing import Any

from app.accounts.models import Role
from tests.factories import audit_log, certified, login, make_institution, make_learner, make_user


def test_verify_then_revoke_shows_on_api_and_page(client: Any, engine: Any, clock: Any) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst, real_name="张三丰")
    cert = certified(engine, learner, inst, title="电工（中级）", minutes=90, required_minutes=90)
    api = f"/api/v1/certificates/{cert.serial}/verify"
    page = f"/certificates/{cert.serial}"

    r = client.get(api)
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["valid"] is True and v["status"] == "valid"
    assert v["learner_name_masked"] == "张*丰"
    assert v["course"] == "电工（中级）" and v["hours"] == 1.5 and v["level_name"] == "四级/中级工"
    assert v["issued_at"].startswith("2026-01-05") and v["revoked_at"] is None
    html = client.get(page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert 'lang="zh-CN"' in html.text and "证书有效" in html.text and "张*丰" in html.text
    assert "default-src 'self'" in html.headers["content-security-policy"]
    assert "<style" not in html.text and "<script" not in html.text
    assert client.get("/static/css/certificate.css").status_code == 200
    assert "张三丰" not in html.text
    assert "Valid" in client.get(page, params={"lang": "en"}).text

    clock.advance(days=3)
    staff = login(client, make_user(engine, Role.staff, inst).username)
    r = client.post(
        f"/api/v1/certificates/{cert.serial}/revoke",
        json={"reason": "学时造假，经核查属实"},
        headers=staff,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "revoked"

    v = client.get(api).json()
    assert v["valid"] is False and v["status"] == "revoked"
    assert (
        v["revoked_at"].startswith("2026-01-08") and v["revoked_reason"] == "学时造假，经核查属实"
    )
    zh = client.get(page).text
    assert "已撤销" in zh and "2026-01-08" in zh and "学时造假，经核查属实" in zh
    assert 'data-status="revoked"' in zh
    en = client.get(page, params={"lang": "en"}).text
    assert 'lang="en"' in en and "Revoked" in en and "2026-01-08" in en
    [(action, payload)] = audit_log(engine, action="certificate.revoked")
    assert payload["reason"] == "学时造假，经核查属实"

    again = client.post(
        f"/api/v1/certificates/{cert.serial}/revoke", json={"reason": "again"}, headers=staff
    )
    assert again.status_code == 409 and again.json()["code"] == "already_revoked"


def test_only_the_issuing_institutions_staff_revoke(client: Any, engine: Any, clock: Any) -> None:
    inst, other = make_institution(engine), make_institution(engine)
    learner = make_learner(engine, inst)
    cert = certified(engine, learner, inst)
    url = f"/api/v1/certificates/{cert.serial}/revoke"
    body = {"reason": "测试"}
    for who in (
        make_user(engine, Role.staff, other),
        make_user(engine, Role.regulator),
        learner,
    ):
        r = client.post(url, json=body, headers=login(client, who.username))
        assert r.status_code == 403, (who.role, r.text)
    assert client.post(url, json=body).status_code == 401
    assert client.get(f"/api/v1/certificates/{cert.serial}/verify").json()["valid"] is True
    assert audit_log(engine, action="certificate.revoked") == []


def test_unknown_serial(client: Any, engine: Any) -> None:
    r = client.get("/api/v1/certificates/NONE-2026-000001/verify")
    assert r.status_code == 404 and r.json()["code"] == "certificate_not_found"
    page = client.get("/certificates/NONE-2026-000001")
    assert page.status_code == 404 and "未找到" in page.text
    assert "<script" not in client.get("/certificates/%3Cscript%3E").text  # escaped


def test_a_serial_typed_full_width_is_the_same_certificate(client: Any, engine: Any) -> None:
    """Typed with a Chinese input method in full-width mode (issue 12: one spelling per
    identifier): the page and the API find the certificate."""
    inst = make_institution(engine, code="FW1")
    cert = certified(engine, make_learner(engine, inst), inst)
    wide = cert.serial.translate(str.maketrans("0123456789-FW", "０１２３４５６７８９－ＦＷ"))
    r = client.get(f"/api/v1/certificates/{wide}/verify")
    assert r.status_code == 200, r.text
    assert r.json()["serial"] == cert.serial
    assert client.get(f"/certificates/{wide}").status_code == 200
