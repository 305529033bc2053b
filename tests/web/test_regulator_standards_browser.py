"""The subsidy standards pages in Chromium: a regulator adds a standard through the form and
sees the flash and the row; a county amount above the cap is refused in words; the staff's
view; screenshots at 1280 and 360 px, and no sideways scrolling at 360 px."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from app.accounts.models import Role
from tests.factories import make_course, make_user
from tests.web.conftest import Browsing, Shots, built_at, shenzhen_world

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


def test_standards_pages_in_the_browser(browsing: Browsing, engine: Engine, clock: Any) -> None:
    with built_at(clock, datetime(2026, 3, 2, 2, tzinfo=UTC)):
        w = shenzhen_world(engine)
        nanshan = make_user(engine, Role.regulator, jurisdiction="440305")
        make_course(engine, w.inst, staff=w.staff, title="低压电工作业", subsidy_fen=0)
    shenzhen, staff = w.regulator, w.staff
    page = browsing.page

    browsing.sign_in(shenzhen.username)
    page.click("nav a[href='/regulator/standards']")
    page.wait_for_url("**/regulator/standards")
    form = page.locator("#add-form")
    form.locator("input[name=occupation_code]").fill("6-31-01-03")
    form.locator("input[name=occupation_name]").fill("电工")
    form.locator("select[name=level]").select_option("level4")
    form.locator("input[name=amount_yuan]").fill("1500")
    form.locator("input[name=effective_from]").fill("2026-01-01")
    # who the programme is for: the rules the API sets, set from the form
    form.locator("#rule-groups input[value=unemployed]").check()
    form.locator("#rule-groups input[value=migrant_worker]").check()
    form.locator("input[name=min_age]").fill("18")
    form.locator("select[name=retirement_rule]").select_option("statutory")
    form.locator("#rule-residence input[value=household]").check()
    form.locator("input[name=max_per_year]").fill("2")
    shots = Shots(page, "regulator-standards")
    form.locator("#rule-residence").scroll_into_view_if_needed()
    assert (shots("rules-form") or 0) <= 360
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=补贴标准已保存并生效")
    row = page.locator("#standard-table tbody tr")
    assert row.count() == 1 and row.first.get_attribute("data-amount-fen") == "150000"
    rules = row.first.locator("[data-rules]").inner_text()
    assert "失业人员" in rules and "每人每年最多 2 次" in rules and "法定退休年龄" in rules
    assert (shots("catalogue") or 0) <= 360

    browsing.sign_in(nanshan.username)
    page.goto(f"{browsing.base}/regulator/standards")
    form = page.locator("#add-form")
    form.locator("select[name=region_code]").select_option("440305")
    form.locator("input[name=occupation_code]").fill("6-31-01-03")
    form.locator("input[name=occupation_name]").fill("电工")
    form.locator("select[name=level]").select_option("level4")
    form.locator("input[name=amount_yuan]").fill("1800")
    form.locator("input[name=effective_from]").fill("2026-03-01")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#add-error")
    assert "上级地区规定的上限" in page.locator("#add-error").inner_text()
    assert (shots("refused") or 0) <= 360

    browsing.sign_in(staff.username)
    page.goto(f"{browsing.base}/staff/standards")
    page.wait_for_selector("#course-standards")
    assert page.locator("#course-standards tbody tr").first.get_attribute("data-amount-fen") == (
        "150000"
    )
    assert (Shots(page, "staff-standards")("in-force") or 0) <= 360
    assert browsing.csp_violations() == []
    # the refusal page answers 422 (as the API would); nothing else may fail
    assert [e for e in browsing.errors if "status of 422" not in e] == []
