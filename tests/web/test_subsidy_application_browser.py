"""The learner's subsidy application on the certificate page in Chromium at 1280 and 360 px
(issue 17 item 8): the form, then the filed application's steps; the regulator's batch page of
that application with the masked account. Screenshots go to var/screenshots/; at phone width no
page scrolls sideways."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.claims.application_world import ACCOUNT, world
from tests.factories import PASSWORD
from tests.web.conftest import WATCH_CSP, Shots
from tests.web.fakecam import lfw_photo, still_of

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


def test_subsidy_application_at_desktop_and_phone_width(
    live_server: str,
    launch_browser: Callable[[Path], Any],
    engine: Engine,
    clock: Any,
    tmp_path: Path,
) -> None:
    w = world(engine, clock)
    cert, learner = w["certs"][0], w["learners"][0]
    from app import clock as clock_mod

    clock_mod.set_clock(clock_mod.Clock())  # the data is built; the server runs on real time
    browser = launch_browser(still_of(tmp_path / "cam.mjpeg", lfw_photo("Adrien_Brody"), 1))
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    context.add_init_script(WATCH_CSP)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # The mistyped account is refused with 422 on purpose: the browser logs that response.
    page.on(
        "console",
        lambda m: (
            errors.append(m.text) if m.type == "error" and "status of 422" not in m.text else None
        ),
    )
    shots = Shots(page, "subsidy-application")

    def sign_in(username: str) -> None:
        context.clear_cookies()
        page.goto(f"{live_server}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("header nav")

    sign_in(learner.username)
    page.goto(f"{live_server}/my/certificates/{cert.serial}")
    page.wait_for_selector("#apply-form")
    page.locator("#subsidy-apply").scroll_into_view_if_needed()
    shots("form")
    page.fill("input[name=account]", ACCOUNT[:-1] + str((int(ACCOUNT[-1]) + 1) % 10))
    page.check("input[name=declared_insured]")
    page.click("#apply-form button[type=submit]")
    page.wait_for_selector("#apply-error")
    page.locator("#apply-form").scroll_into_view_if_needed()
    shots("mistyped")
    page.fill("input[name=account]", ACCOUNT)
    page.check("input[name=declared_insured]")
    page.click("#apply-form button[type=submit]")
    page.wait_for_selector("#subsidy-claim[data-claim-status=filed]")
    page.locator("#subsidy-claim").scroll_into_view_if_needed()
    shots("filed")

    sign_in(w["reg"].username)
    page.goto(f"{live_server}/regulator/claims")
    page.click("#batches-table a")
    page.wait_for_selector("#application-account")
    shots("regulator-batch")

    assert errors == []
    assert page.evaluate("window.__csp") == []
    assert all(width <= 360 for width in shots.scroll_widths.values()), shots.scroll_widths
