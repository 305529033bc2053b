"""The lists of issue 14 item 7 in Chromium, with screenshots at 1280 and 360 px: the
regulator's learners list (filter by institution through the form, the learner's file one click
away) and the review queue's decided tab with a granted roll-call exception. No console error,
no CSP violation, no sideways scrolling at 360 px; every wait is on a condition."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from app.accounts.principal import Principal
from app.attendance.models import Outcome
from app.courses.rollcall import MAX_ATTEMPTS, grant_exception
from app.db import transaction
from tests.courses.rollcall_world import MISMATCH, answer, rollcall_world
from tests.factories import PASSWORD
from tests.web.conftest import WATCH_CSP, Shots
from tests.web.fakecam import lfw_photo, still_of
from tests.web.regulator_world import World

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


def _page(launch_browser: Callable[[Path], Any], tmp_path: Path) -> tuple[Any, list[str]]:
    browser = launch_browser(still_of(tmp_path / "cam.mjpeg", lfw_photo("Adrien_Brody"), 1))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return page, errors


def _sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: not url.endswith("/login"))


def test_the_regulator_learners_list(
    live_server: str,
    launch_browser: Callable[[Path], Any],
    engine: Engine,
    clock: Any,
    tmp_path: Path,
) -> None:
    w = World(engine, clock)
    from app import clock as clock_mod

    clock_mod.set_clock(clock_mod.Clock())  # the data is built; the server runs on real time
    page, errors = _page(launch_browser, tmp_path)
    _sign_in(page, live_server, w.regulator.username)
    page.click("nav a[href='/regulator/learners']")
    page.wait_for_selector("#learner-table")
    assert page.locator("#learner-table tbody tr").count() == 4
    page.select_option("#learner-filters select[name=institution]", str(w.b.id))
    page.click("#learner-filters button[type=submit]")
    page.wait_for_url(f"**institution={w.b.id}**")
    page.wait_for_function("document.querySelectorAll('#learner-table tbody tr').length === 2")
    assert "郑春花" in page.locator("#learner-table").inner_text()
    shots = Shots(page, "regulator-learners")
    assert (shots("list") or 0) <= 360
    page.click(f"#learner-table a[href='/regulator/learners/{w.b1.id}']")
    page.wait_for_url(f"**/regulator/learners/{w.b1.id}")
    assert page.evaluate("window.__csp") == []
    assert not errors, errors


def test_the_decided_tab_lists_a_granted_exception(
    live_server: str,
    launch_browser: Callable[[Path], Any],
    engine: Engine,
    clock: Any,
    tmp_path: Path,
) -> None:
    world = rollcall_world(engine, clock)
    for _ in range(MAX_ATTEMPTS):
        rc = answer(engine, world, Outcome.failed, **MISMATCH)
    with transaction(engine) as s:
        staff = s.get(type(world["staff"]), world["staff"].id)
        grant_exception(s, Principal.of_user(staff), rc.id, reason="学员电话说明摄像头故障，已核实")
    from app import clock as clock_mod

    clock_mod.set_clock(clock_mod.Clock())
    page, errors = _page(launch_browser, tmp_path)
    _sign_in(page, live_server, world["staff"].username)
    page.goto(f"{live_server}/staff/review")
    page.click("#tab-decided")
    page.wait_for_selector(f"#exc-{rc.id}")
    row = page.locator(f"#exc-{rc.id}").inner_text()
    assert "学员电话说明摄像头故障，已核实" in row and "5 分钟" in row
    shots = Shots(page, "review-exceptions")
    assert (shots("decided") or 0) <= 360
    page.click(f"#exc-{rc.id} a[href='/staff/rollcalls/{rc.id}']")
    page.wait_for_url(f"**/staff/rollcalls/{rc.id}")
    assert page.evaluate("window.__csp") == []
    assert not errors, errors
