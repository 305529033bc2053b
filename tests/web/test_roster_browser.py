"""Roster import in Chromium: the file goes up with the progress bar, the preview lists the
problems, a clean file commits and shows the activation codes, the learner activates on
/activate; every page fits 1280 px and 360 px without sideways scrolling or CSP violations
(screenshots in var/screenshots/roster-*)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from app.accounts.models import Role
from tests.factories import PASSWORD, id_number, make_course, make_institution, make_user
from tests.web.conftest import Shots

DESKTOP = {"width": 1280, "height": 860}
PHONE_WIDTH = 360
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""
HEADER = "姓名,身份证号,手机号,人员类别,工作单位\r\n"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


def test_roster_upload_preview_commit_and_activation_in_the_browser(
    live_server: str, launch_browser: Callable[[Path], Any], engine: Any, tmp_path: Path
) -> None:
    from app.accounts.principal import Principal
    from app.courses import classes
    from app.db import transaction

    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    course = make_course(engine, inst, staff=staff, title="低压电工作业（中级）")
    with transaction(engine) as s:
        k = classes.create_class(
            s,
            Principal.of_user(staff),
            course.id,
            code="2026-05",
            name="2026年第5期企业职工低压电工班",
            starts_on=date(2026, 5, 6),
            ends_on=date(2026, 6, 19),
            capacity=100,
            head_teacher_id=staff.id,
        )
    ids = [id_number(birth="19880321", region="440305", seq=i) for i in range(40)]
    bad = ids[3][:17] + ("1" if ids[3][17] != "1" else "2")
    rows = [f"员工{i:02d},{n},1390000{i:04d},企业职工,深圳市城建集团" for i, n in enumerate(ids)]
    broken = [*rows[:3], f'=HYPERLINK("http://x"),{bad},,农民工,', *rows[4:], rows[7]]
    (tmp_path / "broken.csv").write_text(HEADER + "\r\n".join(broken) + "\r\n", "utf-8-sig")
    (tmp_path / "clean.csv").write_text(HEADER + "\r\n".join(rows) + "\r\n", "utf-8-sig")

    browser = launch_browser(tmp_path / "none.mjpeg")
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    shot = Shots(page, "roster")
    widths: dict[str, int | None] = {}

    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", staff.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/staff/**")
    page.goto(f"{live_server}/staff/classes/{k.id}")
    widths["class"] = shot("class")
    page.set_input_files("#roster-file", str(tmp_path / "broken.csv"))
    page.click("#roster-upload")
    page.wait_for_url("**/staff/roster-imports/**")
    page.wait_for_selector("#roster-summary[data-ready='0']")
    problems = page.inner_text("#problem-table")
    assert "第 5 行 姓名：以 = + - @ 开头" in problems
    assert "第 5 行 身份证号：校验码不对" in problems
    assert "第 42 行 身份证号：与第 9 行重复" in problems
    widths["preview-errors"] = shot("preview-errors")

    page.goto(f"{live_server}/staff/classes/{k.id}")
    page.set_input_files("#roster-file", str(tmp_path / "clean.csv"))
    page.click("#roster-upload")
    page.wait_for_selector("#roster-summary[data-ready='1']")
    page.click("#commit-roster")
    page.wait_for_selector("#code-table")
    code = page.inner_text("#code-table tbody tr:first-child td.serial").strip()
    assert len(code) == 14
    widths["committed"] = shot("committed")

    context.clear_cookies()
    page.goto(f"{live_server}/activate")
    widths["activate"] = shot("activate")
    page.fill("input[name=id_number]", ids[0])
    page.fill("input[name=activation_code]", code)
    page.fill("input[name=username]", "yuangong00")
    page.fill("input[name=password]", PASSWORD)
    page.click("#activate-button")
    page.wait_for_url("**/login")
    assert all(w is not None and w <= PHONE_WIDTH for w in widths.values()), widths
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []
