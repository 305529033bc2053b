"""The claim batch pages in Chromium at 1280 and 360 px (issue 17): staff's batches and a batch
with an evidence request and a rejected line to claim again, the regulator's batches, a batch
under review with its signed export and a line's evidence.
Screenshots go to var/screenshots/; at phone width no page scrolls sideways."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from app.accounts.models import Role, User
from tests.factories import PASSWORD, certified, make_institution, make_learner, make_user
from tests.web.conftest import WATCH_CSP, Shots
from tests.web.fakecam import lfw_photo, still_of

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


def _world(engine: Engine, clock: Any) -> dict[str, Any]:
    from app.accounts.principal import Principal
    from app.claims import service as claims
    from app.claims.models import LineDecision
    from app.db import transaction

    inst = make_institution(engine, "SZN018", region="440305", name="南山职业技能培训学校")
    clock.set(datetime(2026, 2, 10, 2, tzinfo=UTC))
    for name in ("王小明", "欧阳娜娜", "李华"):
        certified(engine, make_learner(engine, inst, real_name=name), inst)
    staff = make_user(engine, Role.staff, inst)
    reg = make_user(engine, Role.regulator, jurisdiction="440300")
    clock.set(datetime(2026, 4, 2, 1, tzinfo=UTC))
    with transaction(engine) as s:
        batch = claims.file_quarter(s, Principal.of_user(staff), year=2026, quarter=1)
        lines = claims.lines_of(s, batch)
    with transaction(engine) as s:
        regulator = Principal.of_user(s.get(User, reg.id))  # attached: it reads regions
        claims.review_line(
            s,
            regulator,
            lines[0].id,
            decision=LineDecision.evidence_requested,
            reason="请补充线下实操培训签到表（含学员本人签名）",
        )
        claims.review_line(s, regulator, lines[1].id, decision=LineDecision.approved)
        claims.review_line(
            s,
            regulator,
            lines[2].id,
            decision=LineDecision.rejected,
            reason="随机点名通过率不足，请补充记录后重新申报",
        )
        return {"staff": staff, "reg": reg, "batch": batch.id, "line": lines[0].id}


def test_claim_pages_at_desktop_and_phone_width(
    live_server: str,
    launch_browser: Callable[[Path], Any],
    engine: Engine,
    clock: Any,
    tmp_path: Path,
) -> None:
    w = _world(engine, clock)
    from app import clock as clock_mod

    clock_mod.set_clock(clock_mod.Clock())  # the data is built; the server runs on real time
    browser = launch_browser(still_of(tmp_path / "cam.mjpeg", lfw_photo("Adrien_Brody"), 1))
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    shots = Shots(page, "claims")

    def sign_in(username: str, link: str) -> None:
        context.clear_cookies()
        page.goto(f"{live_server}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector(f"header nav a[href='{link}']")

    sign_in(w["staff"].username, "/staff/claims/batches")
    page.click("header nav a[href='/staff/claims/batches']")
    page.wait_for_selector("#batches-table")
    shots("staff-batches")
    page.click(f"a[href='/staff/claims/batches/{w['batch']}']")
    page.wait_for_selector(".evidence-form")
    page.wait_for_selector("#corrections-form")  # the rejected line can be claimed again
    shots("staff-batch")

    sign_in(w["reg"].username, "/regulator/claims")
    page.click("header nav a[href='/regulator/claims']")
    page.wait_for_selector("#batches-table")
    shots("regulator-batches")
    page.click(f"a[href='/regulator/claims/{w['batch']}']")
    page.wait_for_selector(".review-form")
    page.wait_for_selector("#export-form")  # the signed export, with its reason
    shots("regulator-batch")
    page.click(f"a[href='/regulator/claims/lines/{w['line']}/evidence']")
    page.wait_for_selector("#evidence-summary")
    shots("regulator-evidence")

    assert errors == []
    assert page.evaluate("window.__csp") == []
    assert all(width <= 360 for width in shots.scroll_widths.values()), shots.scroll_widths
