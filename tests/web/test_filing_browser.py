"""Class filing in Chromium: staff file a class from its page, the regulator returns it from
the queue with a reason, staff see the reason and file again, the regulator approves;
screenshots at 1280 and 360 px, no sideways scrolling at 360 px, no CSP violation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine

from app import clock as clock_mod
from app.accounts.models import User
from app.accounts.principal import Principal
from app.courses import classes
from app.db import transaction
from tests.factories import course_row
from tests.web.conftest import Browsing, Shots, shenzhen_world

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


def test_filing_pages_in_the_browser(browsing: Browsing, engine: Engine) -> None:
    w = shenzhen_world(engine, staff_username="staff-filing")
    staff, regulator = w.staff, w.regulator
    course = course_row(engine, w.inst, title="低压电工作业（四级）")
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
    page = browsing.page

    browsing.sign_in(staff.username)
    page.goto(f"{browsing.base}/staff/classes/{klass.id}")
    page.fill("#filing-site", "深圳市南山区西丽街道留仙大道 3370 号")
    page.click("#file-opening-button")
    page.wait_for_selector("text=开班备案已提交")
    assert page.get_attribute("#filing-opening", "data-status") == "pending"
    assert page.locator("#filing-opening .late").get_attribute("data-late") == "1"
    assert (Shots(page, "staff-class-filing")("pending") or 0) <= 360

    browsing.sign_in(regulator.username)
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

    browsing.sign_in(staff.username)
    page.goto(f"{browsing.base}/staff/classes/{klass.id}")
    assert "实操场地缺少门牌号" in page.locator("#filing-opening .return-reason").inner_text()
    page.fill("#filing-site", "深圳市南山区西丽街道留仙大道 3370 号实训楼 2 层")
    page.click("#file-opening-button")
    page.wait_for_selector("text=开班备案已提交")

    browsing.sign_in(regulator.username)
    page.goto(f"{browsing.base}/regulator/filings")
    page.locator("#filing-table tbody tr").first.locator("a").click()
    page.wait_for_selector("#approve-form")
    page.click("#approve-button")
    page.wait_for_selector("text=已同意该备案")
    assert page.locator("#filing-history tbody tr").count() == 2
    assert (shots("approved") or 0) <= 360

    browsing.sign_in(staff.username)
    page.goto(f"{browsing.base}/staff/classes/{klass.id}")
    assert page.get_attribute("#filing-opening", "data-status") == "approved"
    page.click("#filing-history summary")
    assert (Shots(page, "staff-class-filing")("approved") or 0) <= 360
    assert browsing.csp_violations() == []
    assert browsing.errors == []
