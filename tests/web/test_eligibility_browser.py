"""The eligibility pages in Chromium: staff confirm a group and record an external certificate
with its scan through the forms; the regulator confirms it from the queue and verifies the
group; screenshots at 1280 and 360 px, and no sideways scrolling at 360 px."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from app.accounts.models import LearnerGroup, Role
from app.audit.service import Actor
from app.db import transaction
from app.programmes import regions
from tests.factories import PASSWORD, make_institution, make_learner, make_user
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


def test_eligibility_pages_in_the_browser(
    live_server: str, browser_page: Any, engine: Engine, clock: Any, tmp_path: Path
) -> None:
    clock.set(datetime(2026, 3, 12, 2, tzinfo=UTC))
    with transaction(engine) as s:
        regions.seed_demo_province(s, actor=Actor.system())
    inst = make_institution(engine, region="440305", name="南山区职业技能培训学校")
    staff = make_user(engine, Role.staff, inst)
    regulator = make_user(engine, Role.regulator, jurisdiction="440300")
    learner = make_learner(engine, inst, group=LearnerGroup.unemployed, real_name="陈志强")
    from app import clock as clock_mod

    clock_mod.set_clock(clock_mod.Clock())  # the data is built; the server runs on real time
    page = browser_page
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    _sign_in(page, live_server, staff.username)
    page.goto(f"{live_server}/staff/learners/{learner.id}/eligibility")
    form = page.locator("#group-form")
    form.locator("select[name=group]").select_option("ex_serviceman")
    form.locator("select[name=evidence_kind]").select_option("veteran_card")
    form.locator("input[name=evidence_number]").fill("粤退证 440300-0012")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=人员类别已按证明材料核实")
    assert page.locator("#group-table tr[data-status=confirmed]").count() == 1
    scan = tmp_path / "证书.pdf"
    scan.write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n")
    form = page.locator("#external-form")
    form.locator("select[name=kind]").select_option("skill_level")
    form.locator("input[name=number]").fill("S000044030500001")
    form.locator("input[name=issuer]").fill("深圳市南山区职业技能鉴定所")
    form.locator("input[name=issued_on]").fill("2026-03-10")
    form.locator("input[name=occupation_code]").fill("6-31-01-03")
    form.locator("input[name=occupation_name]").fill("电工")
    form.locator("select[name=level]").select_option("level4")
    form.locator("input[name=scan]").set_input_files(str(scan))
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=外部证书已登记")
    assert page.locator("#external-table tr[data-status=recorded]").count() == 1
    shots = Shots(page, "staff-eligibility")
    assert (shots("recorded") or 0) <= 360

    _sign_in(page, live_server, regulator.username)
    page.click("nav a[href='/regulator/external-certificates']")
    page.wait_for_url("**/regulator/external-certificates")
    assert page.locator("#external-queue tbody tr").count() == 1
    queue = Shots(page, "regulator-external")
    assert (queue("queue") or 0) <= 360
    page.locator("#external-queue form button.primary").click()
    page.wait_for_selector("text=外部证书已确认")
    page.goto(f"{live_server}/regulator/learners/{learner.id}/eligibility")
    page.locator("#group-table tr[data-status=confirmed] button.primary").click()
    page.wait_for_selector("text=已核验")
    assert page.locator("#group-table tr[data-status=verified]").count() == 1
    assert page.locator("#external-table tr[data-status=confirmed]").count() == 1
    assert (Shots(page, "regulator-eligibility")("verified") or 0) <= 360
    assert page.evaluate("window.__csp") == []
    assert errors == []
