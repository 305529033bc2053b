"""The account's e-mail address and a reset by e-mail in Chromium (1280 and 360 px): the learner
opens the page from the footer, adds an address, types back the code the console sender wrote
to the log, then — signed out — asks for a reset code by e-mail and sets a new password. Every
wait is on a condition; no console error, no CSP violation, no sideways scrolling."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.factories import PASSWORD, make_institution, make_learner
from tests.web.conftest import WATCH_CSP, Shots

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]

NEW = "Xin-Mima-2026-ok"


def last_code(caplog: pytest.LogCaptureFixture) -> str:
    found = re.findall(r"验证码为 (\d{6})", caplog.text)
    assert found, "no code was sent"
    return str(found[-1])


def test_add_an_email_address_and_reset_by_email(
    live_server: str,
    launch_browser: Callable[[Path], Any],
    engine: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="skilltrace.notify")
    learner = make_learner(engine, make_institution(engine), real_name="张伟")
    browser = launch_browser(tmp_path / "none.mjpeg")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    shot = Shots(page, "email")
    widths: dict[str, int | None] = {}

    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", learner.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/consent")  # a learner who has not consented yet lands there
    page.click("#account-email-link")
    page.wait_for_url("**/account/email")
    widths["empty"] = shot("empty")
    page.fill("#email-form input[name=email]", "Zhang.Wei@QQ.com")
    page.click("#email-form button[type=submit]")
    page.wait_for_selector("#email-code-sent")
    assert "zhang.wei@qq.com" in page.locator("#email-code-sent").inner_text()
    widths["code-sent"] = shot("code-sent")
    page.fill("#email-confirm-form input[name=code]", last_code(caplog))
    page.click("#email-confirm-form button[type=submit]")
    page.wait_for_selector("#email-current[data-email='zhang.wei@qq.com']")
    assert "电子邮箱已验证" in page.locator(".flash").inner_text()
    widths["verified"] = shot("verified")

    # Signed out: the forgotten-password page sends the code by e-mail.
    context.clear_cookies()
    page.goto(f"{live_server}/password/forgot")
    page.fill("#forgot-form input[name=login]", "zhang.wei@qq.com")
    page.check("#channel-choice input[value=email]")
    widths["forgot"] = shot("forgot")
    page.click("#forgot-form button[type=submit]")
    page.wait_for_selector("#code-sent[data-channel=email]")
    page.fill("#reset-form input[name=code]", last_code(caplog))
    page.fill("#reset-form input[name=new_password]", NEW)
    page.fill("#reset-form input[name=new_password_again]", NEW)
    widths["reset"] = shot("reset")
    page.click("#reset-form button[type=submit]")
    page.wait_for_url("**/login")
    page.fill("input[name=username]", learner.username)
    page.fill("input[name=password]", NEW)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/consent")

    too_wide = {name: w for name, w in widths.items() if w is None or w > 360}
    assert not too_wide, f"pages that scroll sideways at 360 px: {too_wide}"
    assert page.evaluate("window.__csp") == []
    assert not errors, errors
