"""The eligibility pages in Chromium: staff confirm a group and record an external certificate
with its scan through the forms; the regulator confirms it from the queue and verifies the
group; screenshots at 1280 and 360 px, and no sideways scrolling at 360 px."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from app.accounts.models import LearnerGroup
from tests.factories import make_learner
from tests.pdfs import SCAN_PDF
from tests.web.conftest import Browsing, Shots, built_at, shenzhen_world

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


def test_eligibility_pages_in_the_browser(
    browsing: Browsing, engine: Engine, clock: Any, tmp_path: Path
) -> None:
    with built_at(clock, datetime(2026, 3, 12, 2, tzinfo=UTC)):
        w = shenzhen_world(engine)
        learner = make_learner(engine, w.inst, group=LearnerGroup.unemployed, real_name="陈志强")
    staff, regulator = w.staff, w.regulator
    page = browsing.page

    browsing.sign_in(staff.username)
    page.goto(f"{browsing.base}/staff/learners/{learner.id}/eligibility")
    form = page.locator("#group-form")
    form.locator("select[name=group]").select_option("ex_serviceman")
    form.locator("select[name=evidence_kind]").select_option("veteran_card")
    form.locator("input[name=evidence_number]").fill("粤退证 440300-0012")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=人员类别已按证明材料核实")
    assert page.locator("#group-table tr[data-status=confirmed]").count() == 1
    scan = tmp_path / "证书.pdf"
    scan.write_bytes(SCAN_PDF)
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

    browsing.sign_in(regulator.username)
    page.click("nav a[href='/regulator/external-certificates']")
    page.wait_for_url("**/regulator/external-certificates")
    assert page.locator("#external-queue tbody tr").count() == 1
    queue = Shots(page, "regulator-external")
    assert (queue("queue") or 0) <= 360
    page.locator("#external-queue form button.primary").click()
    page.wait_for_selector("text=外部证书已确认")
    page.goto(f"{browsing.base}/regulator/learners/{learner.id}/eligibility")
    page.locator("#group-table tr[data-status=confirmed] button.primary").click()
    page.wait_for_selector("text=已核验")
    assert page.locator("#group-table tr[data-status=verified]").count() == 1
    assert page.locator("#external-table tr[data-status=confirmed]").count() == 1
    assert (Shots(page, "regulator-eligibility")("verified") or 0) <= 360
    assert browsing.csp_violations() == []
    assert browsing.errors == []
