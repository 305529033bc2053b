"""Class filing in Chromium: staff file a class from its page, the regulator returns it from
the queue with a reason, staff see the reason and file again, the regulator approves;
screenshots at 1280 and 360 px, no sideways scrolling at 360 px, no CSP violation."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from app import clock as clock_mod
from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.courses import classes
from app.db import transaction
from tests.factories import PASSWORD, course_row, make_institution, make_user
from tests.web.conftest import CHROMIUM, CHROMIUM_FLAGS, WATCH_CSP, Shots, require_browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def browser_page() -> Iterator[Any]:
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        context.add_init_script(WATCH_CSP)
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        browser.close()


def _sign_in(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_filing_pages_in_the_browser(live_server: str, browser_page: Any, engine: Engine) -> None:
    inst = make_institution(engine, region="440305", name="南山区职业技能培训学校")
    staff = make_user(engine, Role.staff, inst, username="staff-filing")
    regulator = make_user(engine, Role.regulator, jurisdiction="440300")
    course = course_row(engine, inst, title="低压电工作业（四级）")
    today = clock_mod.now().astimezone(clock_mod.SHANGHAI).date()
    with transaction(engine) as s:
        klass = classes.create_class(
            s,
            Principal.of_user(s.get(User, staff.id)),  # type: ignore[arg-type]
            course.id,
            code="2026-06",
            name="低压电工作业 2026 年第 6 期",
            starts_on=today - timedelta(days=1),  # started yesterday: filed late
            ends_on=today + timedelta(days=45),
            capacity=40,
            head_teacher_id=staff.id,
        )
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    _sign_in(page, live_server, staff.username)
    page.goto(f"{live_server}/staff/classes/{klass.id}")
    page.fill("#filing-site", "深圳市南山区西丽街道留仙大道 3370 号")
    page.click("#file-opening-button")
    page.wait_for_selector("text=开班备案已提交")
    assert page.get_attribute("#filing-opening", "data-status") == "pending"
    assert page.locator("#filing-opening .late").get_attribute("data-late") == "1"
    assert (Shots(page, "staff-class-filing")("pending") or 0) <= 360

    _sign_in(page, live_server, regulator.username)
    page.click("nav a[href='/regulator/filings']")
    page.wait_for_url("**/regulator/filings")
    row = page.locator("#filing-table tbody tr")
    assert row.count() == 1 and row.first.get_attribute("data-late") == "1"
    shots = Shots(page, "regulator-filings")
    assert (shots("queue") or 0) <= 360
    row.first.locator("a").click()
    page.wait_for_selector("#return-form")
    page.fill("#return-reason", "实操场地缺少门牌号，请补充")
    page.click("#return-button")
    page.wait_for_selector("text=已退回该备案")
    assert page.get_attribute("#filing-status", "data-status") == "returned"
    assert (shots("returned") or 0) <= 360

    _sign_in(page, live_server, staff.username)
    page.goto(f"{live_server}/staff/classes/{klass.id}")
    assert "实操场地缺少门牌号" in page.locator("#filing-opening .return-reason").inner_text()
    page.fill("#filing-site", "深圳市南山区西丽街道留仙大道 3370 号实训楼 2 层")
    page.click("#file-opening-button")
    page.wait_for_selector("text=开班备案已提交")

    _sign_in(page, live_server, regulator.username)
    page.goto(f"{live_server}/regulator/filings")
    page.locator("#filing-table tbody tr").first.locator("a").click()
    page.wait_for_selector("#approve-form")
    page.click("#approve-button")
    page.wait_for_selector("text=已同意该备案")
    assert page.locator("#filing-history tbody tr").count() == 2
    assert (shots("approved") or 0) <= 360

    _sign_in(page, live_server, staff.username)
    page.goto(f"{live_server}/staff/classes/{klass.id}")
    assert page.get_attribute("#filing-opening", "data-status") == "approved"
    page.click("#filing-history summary")
    assert (Shots(page, "staff-class-filing")("approved") or 0) <= 360
    assert page.evaluate("window.__csp") == []
    assert errors == []
