"""The admin console in Chromium: an admin signs in and lands on /admin, creates an institution,
creates a staff account for it (the password shown once), the staff member signs in with it;
the admin suspends the institution; the staff member's open session ends and signing in again is
refused in words. Screenshots of every admin page at 1280 and 360 px; tables use the desktop
width and no page scrolls sideways at 360 px; no console error, no CSP violation.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.accounts.models import Role
from tests.factories import PASSWORD, make_institution, make_learner, make_user
from tests.web.conftest import WATCH_CSP, Shots
from tests.web.fakecam import lfw_photo, still_of

DESKTOP = {"width": 1280, "height": 860}


def sign_in(page: Any, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")


def table_width(page: Any, selector: str) -> float:
    return float(
        page.evaluate(f"document.querySelector('{selector}').getBoundingClientRect().width")
    )


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_admin_creates_an_institution_and_staff_then_suspends_it(
    live_server: str,
    launch_browser: Callable[[Path], Any],
    engine: Any,
    tmp_path: Path,
) -> None:
    admin = make_user(engine, Role.admin)
    # Something in the lists besides what the test creates; its region loads the demo province
    # (an institution must name a region the platform knows).
    other = make_institution(engine, region="440106")
    make_user(engine, Role.staff, other)
    make_learner(engine, other, real_name="赵小红")
    browser = launch_browser(still_of(tmp_path / "cam.mjpeg", lfw_photo("Adrien_Brody"), 1))
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    bad: list[str] = []
    page.on("response", lambda r: bad.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    shots = Shots(page, "admin")
    widths: dict[str, int | None] = {}

    # The admin signs in and lands on the console, not on a 403.
    sign_in(page, live_server, admin.username, PASSWORD)
    page.wait_for_url(f"{live_server}/admin")
    assert page.locator(".flash").inner_text() == "登录成功。"
    assert page.locator("#db-revision").get_attribute("data-current") == "yes"
    widths["status"] = shots("status")

    # Creates an institution.
    page.click("nav a[href='/admin/institutions']")
    page.wait_for_url("**/admin/institutions")
    page.click("#create summary")
    page.fill("#inst-form input[name=code]", "SZ088")
    page.fill("#inst-form input[name=name]", "深圳市南山区职业技能培训中心")
    page.fill("#inst-form input[name=region_code]", "440305")
    page.click("#inst-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/admin/institutions/[0-9a-f-]{36}$"))
    assert "培训机构已创建" in page.locator(".flash").inner_text()
    assert page.locator("#inst-status").get_attribute("data-status") == "active"
    institution_url = page.url
    institution_id = institution_url.rsplit("/", 1)[1]
    widths["institution"] = shots("institution")

    # Creates a staff account for it: the form opens with the institution chosen.
    page.click("#add-staff")
    page.wait_for_url("**/admin/users?*")
    form = page.locator("#user-form")
    assert form.is_visible()
    assert form.locator("select[name=role]").input_value() == "staff"
    assert form.locator("select[name=institution_id]").input_value() == institution_id
    form.locator("input[name=username]").fill("nanshan.clerk")
    form.locator("input[name=real_name]").fill("陈文员")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#shown-password")
    password = page.locator("#shown-password").inner_text().strip()
    assert len(password) >= 12
    widths["user-created"] = shots("user-created")

    # The staff member signs in with it, in their own browser.
    clerk = browser.new_context(viewport=DESKTOP, locale="zh-CN").new_page()
    clerk.set_default_timeout(20_000)
    sign_in(clerk, live_server, "nanshan.clerk", password)
    clerk.wait_for_url(f"{live_server}/staff/review")

    # The admin suspends the institution, with a reason.
    page.goto(institution_url)
    page.fill("#suspend-form textarea[name=reason]", "培训资质年检未通过，暂停招生和对接")
    page.click("#suspend-form button[type=submit]")
    page.wait_for_selector("#inst-status[data-status='suspended']")
    assert "该机构已暂停" in page.locator(".flash").inner_text()
    assert "培训资质年检未通过" in page.locator("#suspended-note").inner_text()
    widths["institution-suspended"] = shots("institution-suspended")

    # The staff member's session has ended, and signing in again is refused in words.
    clerk.goto(f"{live_server}/staff/review")
    clerk.wait_for_url("**/login?next=*")
    clerk.fill("input[name=username]", "nanshan.clerk")
    clerk.fill("input[name=password]", password)
    clerk.click("main button[type=submit]")
    clerk.wait_for_selector("main .error")
    assert "您所在的培训机构已被平台暂停使用" in clerk.locator("main .error").inner_text()
    assert "/login" in clerk.url

    # Every admin page, at desktop and phone width.
    page.goto(f"{live_server}/admin/institutions")
    assert table_width(page, "#inst-table") > 900  # the table uses a desktop's width
    widths["institutions"] = shots("institutions")
    page.goto(f"{live_server}/admin/users")
    assert table_width(page, "#user-table") > 900
    widths["users"] = shots("users")
    page.click("#user-table a >> text=nanshan.clerk")
    page.wait_for_url(re.compile(r".*/admin/users/[0-9a-f-]{36}$"))
    widths["user"] = shots("user")
    page.goto(f"{live_server}/admin/audit")
    widths["audit-platform"] = shots("audit-platform")
    page.select_option("#chain-filter select[name=institution_id]", value=institution_id)
    page.click("#chain-filter button[type=submit]")
    page.wait_for_url("**/admin/audit?institution_id=*")
    assert page.locator("#audit-table tr[data-action='institution.suspended']").count() == 1
    assert page.locator("#audit-table tr[data-action='user.created']").count() == 1
    assert table_width(page, "#audit-table") > 700
    widths["audit-institution"] = shots("audit-institution")

    too_wide = {name: w for name, w in widths.items() if w is None or w > 360}
    assert not too_wide, f"pages that scroll sideways at 360 px: {too_wide}"
    assert page.evaluate("window.__csp") == []
    assert not errors, errors
    assert not bad, bad
