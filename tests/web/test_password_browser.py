"""Password pages in Chromium (360 and 1280 px): a forgotten password reset with the code the
console sender wrote to the log, and a staff member's temporary password that the learner must
replace at sign-in."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.accounts.models import Role
from tests.factories import (
    PASSWORD,
    make_course,
    make_enrollment,
    make_institution,
    make_learner,
    make_user,
)
from tests.web.conftest import Shots

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]

NEW = "Xin-Mima-2026-ok"


def sign_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit].primary")


def test_password_pages(
    live_server: str,
    launch_browser: Callable[[Path], Any],
    engine: Any,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="skilltrace.notify")
    inst = make_institution(engine, region="440305", name="示范职业技能培训学校")
    staff = make_user(engine, Role.staff, inst)
    learner = make_learner(engine, inst, real_name="周小燕", phone="13912345678")
    enrollment = make_enrollment(engine, learner, make_course(engine, inst, staff=staff))
    browser = launch_browser(tmp_path / "none.mjpeg")

    # ---- Forgotten: a code by text message.
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    shot = Shots(page, "password")
    page.goto(f"{live_server}/login")
    page.click("#to-forgot")
    page.wait_for_url("**/password/forgot")
    assert (shot("forgot") or 0) <= 360
    page.fill("input[name=login]", "13912345678")
    page.click("#forgot-form button[type=submit]")
    page.locator("#code-sent").wait_for()
    assert (shot("code") or 0) <= 360
    code = re.findall(r"验证码为 (\d{6})", caplog.text)[-1]
    page.fill("input[name=code]", code)
    page.fill("input[name=new_password]", NEW)
    page.fill("input[name=new_password_again]", NEW)
    page.click("#reset-form button[type=submit]")
    page.wait_for_url("**/login")
    assert "密码已重置" in page.inner_text("main")
    sign_in(page, live_server, learner.username, NEW)
    page.wait_for_url("**/consent")
    page.close()

    # ---- Staff: a temporary password, shown once.
    desk = browser.new_page(viewport={"width": 1280, "height": 900})
    sign_in(desk, live_server, staff.username, PASSWORD)
    desk.wait_for_url("**/staff/review")
    desk.goto(f"{live_server}/staff/enrollments/{enrollment.id}")
    desk.click("#password-reset-form button[type=submit]")
    secret = desk.locator("#temporary-password")
    secret.wait_for()
    temporary = secret.inner_text().strip()
    assert (Shots(desk, "password")("staff-temporary") or 0) <= 360

    # ---- The learner signs in with it: asked to set their own first.
    page = browser.new_context().new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, learner.username, temporary)
    page.locator("#temporary-note").wait_for()
    assert (Shots(page, "password")("change-temporary") or 0) <= 360
    page.fill("input[name=current_password]", temporary)
    page.fill("input[name=new_password]", "Wo-De-Mima-2026")
    page.fill("input[name=new_password_again]", "Wo-De-Mima-2026")
    page.click("#change-form button[type=submit]")
    page.wait_for_url("**/my")
    assert "密码已修改" in page.inner_text("main")
