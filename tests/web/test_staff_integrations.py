"""The staff integrations page over HTTP: the institution's API keys (create, shown once, used as
a Bearer key, revoked) and webhook subscriptions (create with the secret shown once, disable,
enable, rotate, test ping), each audited; another institution's rows never shown nor touched;
CSRF; learners refused."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import ApiKey, Institution, Role, User
from app.api.deps import CSRF_COOKIE
from app.audit.models import AuditEntry
from app.audit.service import Actor
from app.db import transaction
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from tests.factories import PASSWORD, csrf_of, make_institution, make_learner, make_user
from tests.web.conftest import Shots
from tests.web.fakecam import lfw_photo, still_of

PAGE = "/staff/integrations"
HOOK_URL = "https://hooks.example.com/x"


def sign_in(client: TestClient, username: str) -> str:
    client.cookies.clear()
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "username": username, "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return str(client.cookies.get(CSRF_COOKIE))


def audits(engine: Any, action: str, subject: str) -> list[AuditEntry]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(AuditEntry).where(
                    col(AuditEntry.action) == action, col(AuditEntry.subject) == subject
                )
            )
        )


def shown_value(text: str) -> str:
    m = re.search(r'<code class="wrap secret" id="shown-value">([^<]+)</code>', text)
    assert m, "nothing shown once"
    return html.unescape(m.group(1))


class World:
    def __init__(self, engine: Any) -> None:
        self.inst: Institution = make_institution(engine)
        self.staff: User = make_user(engine, Role.staff, self.inst)
        self.other_inst = make_institution(engine)
        self.stranger = make_user(engine, Role.staff, self.other_inst)
        with transaction(engine) as s:
            self.their_key, _ = accounts.create_api_key(
                s,
                institution_id=self.other_inst.id,
                name="别家的密钥",
                scopes=["learners:read"],
                actor=Actor.system(),
            )
        self.learner = make_learner(engine, self.inst)


def their_webhook(client: TestClient, w: World) -> uuid.UUID:
    """A subscription of the other institution, made by its staff through the page."""
    csrf = sign_in(client, w.stranger.username)
    r = client.post(
        f"{PAGE}/webhooks",
        data={"csrf": csrf, "url": "https://hooks.example.com/theirs", "events": ["ping-none"]},
    )
    assert r.status_code == 422 and "订阅的事件类型不存在" in r.text  # refused in words
    r = client.post(
        f"{PAGE}/webhooks",
        data={
            "csrf": csrf,
            "url": "https://hooks.example.com/theirs",
            "events": ["certificate.issued"],
        },
    )
    assert r.status_code == 200, r.text
    m = re.search(r'id="webhook-([0-9a-f-]{36})"', r.text)
    assert m
    return uuid.UUID(m.group(1))


# ---------------------------------------------------------------- who may see the page


def test_page_renders_for_staff_and_refuses_others(client: TestClient, engine: Any) -> None:
    w = World(engine)
    r = client.get(PAGE, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")

    sign_in(client, w.staff.username)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert 'href="/staff/integrations"' in page.text and "对接设置" in page.text  # nav
    assert 'id="keys-empty"' in page.text and 'id="webhooks-empty"' in page.text
    for scope in ("learners:read", "webhooks:manage", "audit:read"):
        assert f'name="scopes" value="{scope}"' in page.text
    for event in ("attendance.verified", "certificate.revoked"):
        assert f'name="events" value="{event}"' in page.text
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert "别家的密钥" not in page.text

    english = client.get(PAGE, params={"lang": "en"})
    assert english.status_code == 200
    assert "API keys" in english.text and "Webhook subscriptions" in english.text
    assert not re.search(r"[\u4e00-\u9fff]", english.text.split("<main", 1)[1].split("</main>")[0])

    csrf = sign_in(client, w.learner.username)
    r = client.get(PAGE)
    assert r.status_code == 403 and "此页面仅供培训机构工作人员使用" in r.text
    r = client.post(f"{PAGE}/keys", data={"csrf": csrf, "name": "x", "scopes": ["verify"]})
    assert r.status_code == 403
    with Session(engine) as s:
        assert s.exec(select(ApiKey).where(col(ApiKey.name) == "x")).first() is None

    regulator = make_user(engine, Role.regulator)
    sign_in(client, regulator.username)
    assert client.get(PAGE).status_code == 403


# ---------------------------------------------------------------- API keys


def test_key_shown_once_works_then_revoked(client: TestClient, engine: Any) -> None:
    w = World(engine)
    csrf = sign_in(client, w.staff.username)

    r = client.post(f"{PAGE}/keys", data={"csrf": csrf, "name": "  ", "scopes": ["verify"]})
    assert r.status_code == 422 and "请填写密钥名称" in r.text
    r = client.post(f"{PAGE}/keys", data={"csrf": csrf, "name": "坏的", "scopes": ["root"]})
    assert r.status_code == 422 and 'id="key-error"' in r.text and "坏的" in r.text

    r = client.post(
        f"{PAGE}/keys",
        data={"csrf": csrf, "name": "人社平台", "scopes": ["learners:read", "verify"]},
        follow_redirects=False,
    )
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert "st_flash" not in r.headers.get("set-cookie", "")
    assert "将无法再次查看" in r.text
    full = shown_value(r.text)
    with Session(engine) as s:
        key = s.exec(select(ApiKey).where(col(ApiKey.name) == "人社平台")).one()
    assert key.institution_id == w.inst.id and key.scopes == ["learners:read", "verify"]
    assert key.prefix in full and full not in r.headers.get("location", "")
    assert len(audits(engine, "api_key.created", f"api_key:{key.id}")) == 1

    # Listed afterwards, never the key itself.
    page = client.get(PAGE)
    assert f'id="key-{key.id}"' in page.text and full not in page.text
    assert "从未使用" in page.text

    # Works as a Bearer key where its scope allows, refused where it does not.
    bearer = {"Authorization": f"Bearer {full}"}
    client.cookies.clear()
    learners = client.get("/api/v1/learners", headers=bearer)
    assert learners.status_code == 200, learners.text
    assert [x["id"] for x in learners.json()["items"]] == [str(w.learner.id)]
    assert client.get("/api/v1/webhooks", headers=bearer).status_code == 403

    # Another institution's key: never listed, its id refused.
    csrf = sign_in(client, w.staff.username)
    r = client.post(f"{PAGE}/keys/{w.their_key.id}/revoke", data={"csrf": csrf})
    assert r.status_code == 404 and "找不到该 API 密钥" in r.text
    with Session(engine) as s:
        theirs = s.get(ApiKey, w.their_key.id)
        assert theirs is not None and theirs.revoked_at is None

    # Revoked: stops working at once.
    r = client.post(f"{PAGE}/keys/{key.id}/revoke", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}#keys"
    page = client.get(PAGE)
    assert "API 密钥已撤销" in page.text
    assert f'id="key-{key.id}" data-revoked="yes"' in page.text
    assert len(audits(engine, "api_key.revoked", f"api_key:{key.id}")) == 1
    client.cookies.clear()
    assert client.get("/api/v1/learners", headers=bearer).status_code == 401


def test_csrf_missing_is_refused(client: TestClient, engine: Any) -> None:
    w = World(engine)
    sign_in(client, w.staff.username)
    r = client.post(f"{PAGE}/keys", data={"name": "无令牌", "scopes": ["verify"]})
    assert r.status_code == 403
    r = client.post(
        f"{PAGE}/webhooks",
        data={"csrf": "forged-" + "x" * 30, "url": HOOK_URL, "events": ["ping"]},
    )
    assert r.status_code == 403
    with Session(engine) as s:
        assert s.exec(select(ApiKey).where(col(ApiKey.name) == "无令牌")).first() is None
        assert s.exec(select(WebhookSubscription)).first() is None


# ---------------------------------------------------------------- webhooks


def test_webhook_lifecycle(client: TestClient, engine: Any) -> None:
    w = World(engine)
    theirs = their_webhook(client, w)
    csrf = sign_in(client, w.staff.username)

    r = client.post(f"{PAGE}/webhooks", data={"csrf": csrf, "url": HOOK_URL, "events": []})
    assert r.status_code == 422 and 'id="webhook-error"' in r.text and HOOK_URL in r.text
    r = client.post(
        f"{PAGE}/webhooks",
        data={"csrf": csrf, "url": "ftp://hooks.example.com/x", "events": ["certificate.issued"]},
    )
    assert r.status_code == 422 and "Webhook 地址无效" in r.text

    r = client.post(
        f"{PAGE}/webhooks",
        data={
            "csrf": csrf,
            "url": HOOK_URL,
            "events": ["certificate.issued", "attendance.verified"],
            "description": "人社对接",
        },
        follow_redirects=False,
    )
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    secret = shown_value(r.text)
    assert secret.startswith("whsec_") and "将无法再次查看" in r.text
    with Session(engine) as s:
        sub = s.exec(
            select(WebhookSubscription).where(col(WebhookSubscription.institution_id) == w.inst.id)
        ).one()
    assert sub.events == ["attendance.verified", "certificate.issued"]
    subject = f"webhook:{sub.id}"
    assert len(audits(engine, "webhook.created", subject)) == 1

    page = client.get(PAGE)
    assert f'id="webhook-{sub.id}" data-enabled="yes"' in page.text
    assert HOOK_URL in page.text and "人社对接" in page.text and secret not in page.text
    assert f'id="webhook-{theirs}"' not in page.text and "/theirs" not in page.text

    # Test ping: queued, audited, listed among the deliveries.
    r = client.post(f"{PAGE}/webhooks/{sub.id}/test", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}#webhook-{sub.id}"
    assert len(audits(engine, "webhook.test_queued", subject)) == 1
    page = client.get(PAGE)
    assert "测试消息已加入发送队列" in page.text
    assert (
        '<tr class="delivery" data-status="pending">' in page.text
        and "<code>ping</code>" in page.text
    )

    # Rotate: a new secret shown once, audited.
    r = client.post(f"{PAGE}/webhooks/{sub.id}/rotate", data={"csrf": csrf})
    assert r.status_code == 200 and "签名密钥已轮换" in r.text
    rotated = shown_value(r.text)
    assert rotated.startswith("whsec_") and rotated != secret
    assert len(audits(engine, "webhook.secret_rotated", subject)) == 1

    # Disable: the pending ping is cancelled; a test is then refused in words.
    r = client.post(
        f"{PAGE}/webhooks/{sub.id}/disable", data={"csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    assert len(audits(engine, "webhook.disabled", subject)) == 1
    page = client.get(PAGE)
    assert f'id="webhook-{sub.id}" data-enabled="no"' in page.text and "手动停用" in page.text
    assert '<tr class="delivery" data-status="cancelled">' in page.text
    with Session(engine) as s:
        statuses = s.exec(
            select(WebhookDelivery.status).where(col(WebhookDelivery.subscription_id) == sub.id)
        ).all()
    assert statuses == [DeliveryStatus.cancelled]
    r = client.post(f"{PAGE}/webhooks/{sub.id}/test", data={"csrf": csrf})
    assert r.status_code == 409 and "该 Webhook 订阅已停用" in r.text

    # Enable again.
    r = client.post(f"{PAGE}/webhooks/{sub.id}/enable", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert len(audits(engine, "webhook.enabled", subject)) == 1
    assert f'id="webhook-{sub.id}" data-enabled="yes"' in client.get(PAGE).text

    # The other institution's subscription: every action refused as not found, nothing changed.
    for action in ("disable", "enable", "rotate", "test"):
        r = client.post(f"{PAGE}/webhooks/{theirs}/{action}", data={"csrf": csrf})
        assert r.status_code == 404 and "找不到该 Webhook 订阅" in r.text, action
    with Session(engine) as s:
        other = s.get(WebhookSubscription, theirs)
        assert other is not None and other.enabled and other.previous_secret_enc is None
    for action in ("webhook.disabled", "webhook.secret_rotated", "webhook.test_queued"):
        assert audits(engine, action, f"webhook:{theirs}") == []


# ---------------------------------------------------------------- in a browser, at 360 px


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_page_in_a_browser_fits_a_phone(
    live_server: str, launch_browser: Callable[[Path], Any], engine: Any, tmp_path: Path
) -> None:
    w = World(engine)
    browser = launch_browser(still_of(tmp_path / "cam.mjpeg", lfw_photo("Adrien_Brody"), 1))
    page = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN").new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    shots = Shots(page, "staff-integrations")

    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", w.staff.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/review")
    page.click("header nav a[href='/staff/integrations']")
    page.wait_for_url("**/staff/integrations")
    shots("empty")

    page.click("#keys details.add summary")
    page.fill("#key-form input[name=name]", "人社平台对接（长名称用于检查换行）")
    page.check("#key-form input[value='learners:read']")
    page.check("#key-form input[value='webhooks:manage']")
    page.click("#key-form button[type=submit]")
    page.locator("#shown-once").wait_for()
    assert page.locator("#shown-value").inner_text().startswith("stk_")
    shots("key-shown")

    page.click("#shown-once a.button")
    page.click("#webhooks details.add summary")
    page.fill("#webhook-form input[name=url]", "https://hooks.example.com/skilltrace/" + "x" * 60)
    page.check("#webhook-form input[value='certificate.issued']")
    page.click("#webhook-form button[type=submit]")
    page.locator("#shown-once[data-kind=webhook]").wait_for()
    page.click("#shown-once a.button")
    page.click(".webhook-item button.test")
    page.locator(".flash").wait_for()
    page.click(".webhook-item details.edit summary")
    shots("listed")

    assert all(width <= 360 for width in shots.scroll_widths.values()), shots.scroll_widths
    assert not errors, errors
