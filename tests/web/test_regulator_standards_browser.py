"""The subsidy standards pages in Chromium: a regulator adds a standard through the form and
sees the flash and the row; a county amount above the cap is refused in words; the staff's
view; screenshots at 1280 and 360 px, and no sideways scrolling at 360 px."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from app.accounts.models import Role
from app.audit.service import Actor
from app.db import transaction
from app.programmes import regions
from tests.factories import PASSWORD, make_course, make_institution, make_user
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


def test_standards_pages_in_the_browser(
    live_server: str, browser_page: Any, engine: Engine, clock: Any
) -> None:
    clock.set(datetime(2026, 3, 2, 2, tzinfo=UTC))
    with transaction(engine) as s:
        regions.seed_demo_province(s, actor=Actor.system())
    shenzhen = make_user(engine, Role.regulator, jurisdiction="440300")
    nanshan = make_user(engine, Role.regulator, jurisdiction="440305")
    inst = make_institution(engine, region="440305", name="南山区职业技能培训学校")
    staff = make_user(engine, Role.staff, inst)
    make_course(engine, inst, staff=staff, title="低压电工作业", subsidy_fen=0)
    from app import clock as clock_mod

    clock_mod.set_clock(clock_mod.Clock())  # the data is built; the server runs on real time
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    _sign_in(page, live_server, shenzhen.username)
    page.click("nav a[href='/regulator/standards']")
    page.wait_for_url("**/regulator/standards")
    form = page.locator("#add-form")
    form.locator("input[name=occupation_code]").fill("6-31-01-03")
    form.locator("input[name=occupation_name]").fill("电工")
    form.locator("select[name=level]").select_option("level4")
    form.locator("input[name=amount_yuan]").fill("1500")
    form.locator("input[name=effective_from]").fill("2026-01-01")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=补贴标准已保存并生效")
    row = page.locator("#standard-table tbody tr")
    assert row.count() == 1 and row.first.get_attribute("data-amount-fen") == "150000"
    shots = Shots(page, "regulator-standards")
    assert (shots("catalogue") or 0) <= 360

    _sign_in(page, live_server, nanshan.username)
    page.goto(f"{live_server}/regulator/standards")
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

    _sign_in(page, live_server, staff.username)
    page.goto(f"{live_server}/staff/standards")
    page.wait_for_selector("#course-standards")
    assert page.locator("#course-standards tbody tr").first.get_attribute("data-amount-fen") == (
        "150000"
    )
    assert (Shots(page, "staff-standards")("in-force") or 0) <= 360
    assert page.evaluate("window.__csp") == []
    # the refusal page answers 422 (as the API would); nothing else may fail
    assert [e for e in errors if "status of 422" not in e] == []
