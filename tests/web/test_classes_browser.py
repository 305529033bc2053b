"""The class pages in Chromium: staff create a class through the form, open it, enrol a
learner, and the pages fit 1280 px and 360 px without sideways scrolling or CSP violations
(screenshots in var/screenshots/classes-*)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from app.accounts.models import Role
from tests.factories import PASSWORD, make_course, make_institution, make_learner, make_user
from tests.web.conftest import Shots

DESKTOP = {"width": 1280, "height": 860}
PHONE_WIDTH = 360
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


def test_staff_create_open_and_fill_a_class_in_the_browser(
    live_server: str, launch_browser: Callable[[Path], Any], engine: Any, tmp_path: Path
) -> None:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    course = make_course(engine, inst, staff=staff, title="低压电工作业（中级）")
    make_learner(engine, inst, real_name="欧阳娜娜")
    browser = launch_browser(tmp_path / "none.mjpeg")
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    shot = Shots(page, "classes")

    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", staff.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/staff/**")
    page.goto(f"{live_server}/staff/courses/{course.id}/classes")
    page.fill("#class-code", "2026-05")
    page.fill("#class-name", "2026年第5期低压电工作业（中级）培训班")
    page.fill("#class-starts_on", "2026-05-06")
    page.fill("#class-ends_on", "2026-06-19")
    page.fill("#class-capacity", "40")
    page.click("#create-class")
    page.wait_for_selector("#class-status[data-status=planned]")
    page.click("#open-class")
    page.wait_for_selector("#class-status[data-status=open]")
    page.click("#enrol-one summary")
    page.fill("#enrol-employer", "国网北京市电力公司")
    page.click("#enrol-button")
    page.wait_for_selector("#roster-table")
    assert "欧阳娜娜" in page.inner_text("#roster-table")
    widths = {"class": shot("class")}
    page.goto(f"{live_server}/staff/courses/{course.id}/classes")
    page.wait_for_selector("#class-table")
    widths["classes"] = shot("classes")
    assert all(w is not None and w <= PHONE_WIDTH for w in widths.values()), widths
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []
