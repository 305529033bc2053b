"""The registry pages in Chromium: a regulator finds the pending institution, approves it for
the occupations typed one per line, then suspends it, and sees the history; the staff's own page
says in words what a suspended institution may no longer do; screenshots at 1280 and 360 px, and
no sideways scrolling at 360 px."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine

from app.accounts.models import RegistryStatus, Role
from tests.factories import course_row, make_institution, make_user
from tests.web.conftest import Browsing, Shots

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


def test_registry_pages_in_the_browser(browsing: Browsing, engine: Engine) -> None:
    pending = make_institution(
        engine,
        "NSXJ01",
        region="440305",
        name="深圳市南山区新建职业技能培训学校",
        status=RegistryStatus.pending,
    )
    course_row(engine, pending, occupation_code="4-10-01-05", occupation_name="保育师")
    make_institution(engine, "NSOK01", region="440305", name="南山区职业技能培训学校")
    make_institution(engine, "BAOK01", region="440306", name="深圳市宝安区技工培训学校")
    regulator = make_user(engine, Role.regulator, jurisdiction="440300")
    staff = make_user(engine, Role.staff, pending)
    page = browsing.page

    browsing.sign_in(regulator.username)
    page.click("nav a[href='/regulator/institutions']")
    page.wait_for_url("**/regulator/institutions")
    assert page.locator("#institution-table tbody tr").count() == 3
    shots = Shots(page, "regulator-registry")
    assert (shots("list") or 0) <= 360
    page.click("#tab-pending")
    page.wait_for_url("**/regulator/institutions?status=pending")
    assert page.locator("#institution-table tbody tr").count() == 1
    page.click("#institution-table a.item-title")
    page.wait_for_selector("#approve-form")
    form = page.locator("#approve-form")
    assert "4-10-01-05" in form.locator("textarea").input_value()
    form.locator("textarea").fill("6-31-01-03 四级\n4-10-01-05 五级")
    form.locator("input[name=reason]").fill("材料齐全，现场核查合格（深人社函〔2026〕12号）")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=已核准，核准范围已记入该机构的审计日志")
    assert page.locator("#registry-status").get_attribute("data-status") == "approved"
    suspend = page.locator("#suspend-form")
    suspend.locator("input[name=reason]").fill("专项检查发现代学代考，暂停补贴性培训资格")
    suspend.locator("button[type=submit]").click()
    page.wait_for_selector("text=已暂停该机构")
    assert page.locator("#registry-status").get_attribute("data-status") == "suspended"
    assert page.locator("#history-table tbody tr").count() >= 3
    assert (shots("detail") or 0) <= 360

    browsing.sign_in(staff.username)
    page.click("nav a[href='/staff/registry']")
    page.wait_for_url("**/staff/registry")
    assert "不能开班、发放培训合格证明或申报补贴" in page.locator("#status-note").inner_text()
    assert "专项检查发现代学代考" in page.locator("#history-table").inner_text()
    assert (Shots(page, "staff-registry")("suspended") or 0) <= 360
    assert browsing.csp_violations() == []
    assert browsing.errors == []
