"""转班 in Chromium: staff open a learner's 转班 action from the class roster, are told why a
blank reason is refused, move the learner with a reason, and see her on the new class's roster
with the answer in words; the form of a learner with study recorded leaves out the class filed
for opening. The pages fit 1280 px and 360 px without sideways scrolling or CSP
violations (screenshots in var/screenshots/class-move-*)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.courses import classes
from app.db import transaction
from tests.factories import (
    filed_class,
    make_course,
    make_institution,
    make_learner,
    make_user,
    set_enrollment,
)
from tests.web.conftest import Browsing, Shots

PHONE_WIDTH = 360

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


def _class(engine: Any, staff: Any, course: Any, code: str, name: str) -> Any:
    with transaction(engine) as s:
        return classes.create_class(
            s,
            Principal.of_user(staff),
            course.id,
            code=code,
            name=name,
            starts_on=date(2026, 5, 6),
            ends_on=date(2026, 6, 19),
            capacity=40,
            head_teacher_id=staff.id,
        )


def test_staff_move_a_learner_to_another_class_in_the_browser(
    browsing: Browsing, engine: Any
) -> None:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    course = make_course(engine, inst, staff=staff, title="低压电工作业（中级）")
    may = _class(engine, staff, course, "2026-05", "2026年第5期低压电工作业（中级）培训班")
    june = _class(engine, staff, course, "2026-06", "2026年第6期低压电工作业（中级）周末班")
    filed = filed_class(engine, course)
    mover = make_learner(engine, inst, real_name="欧阳娜娜")
    studied = make_learner(engine, inst, real_name="王小明")
    with transaction(engine) as s:
        p = Principal.of_user(staff)
        classes.enrol_learner(s, p, may.id, mover.id, employer="国网北京市电力公司")
        busy = classes.enrol_learner(s, p, may.id, studied.id)
    set_enrollment(engine, busy.id, credited_ms=40 * 60_000)

    page, live_server = browsing.page, browsing.base
    shot = Shots(page, "class-move")
    browsing.sign_in(staff.username)
    page.wait_for_url("**/staff/**")
    page.goto(f"{live_server}/staff/classes/{may.id}")
    page.locator("#roster-table").scroll_into_view_if_needed()
    widths = {"roster": shot("roster")}

    page.click("#roster-table tr:has-text('王小明') a:text('转班')")
    page.wait_for_selector("#move-form")
    options = page.locator("#move-class_id option").all_inner_texts()
    assert any("周末班" in o for o in options) and not any("备案测试班" in o for o in options)
    assert str(filed.id) not in page.inner_html("#move-class_id")  # studied: filed class left out
    page.go_back()

    page.click("#roster-table tr:has-text('欧阳娜娜') a:text('转班')")
    page.wait_for_selector("#move-form")
    page.select_option("#move-class_id", str(june.id))
    page.fill("#move-reason", "   ")
    page.click("#move-button")
    page.wait_for_selector("#move-reason-err")
    assert "请填写转班原因" in page.inner_text("#move-reason-err")
    widths["refused"] = shot("refused")
    page.select_option("#move-class_id", str(june.id))
    page.fill("#move-reason", "学员工作调整为周末上班，申请转入周末班")
    widths["form"] = shot("form")
    page.click("#move-button")
    page.wait_for_url(f"**/staff/classes/{june.id}")
    notice = page.locator("text=已转班：学员已转入本班").first
    notice.wait_for()
    assert notice.is_visible() and page.evaluate("window.scrollY") == 0  # the answer in view
    assert "欧阳娜娜" in page.inner_text("#roster-table")
    widths["done"] = shot("done")
    page.locator("#roster-table").scroll_into_view_if_needed()
    shot("done-roster", phone=False)

    page.goto(f"{live_server}/staff/classes/{may.id}")
    page.wait_for_selector("#roster-table")
    assert "欧阳娜娜" not in page.inner_text("#roster-table")
    assert all(w is not None and w <= PHONE_WIDTH for w in widths.values()), widths
    assert browsing.csp_violations() == []
    # The blank reason's page is answered 422 (the refusal it shows): the one failed load.
    assert [e for e in browsing.errors if "status of 422" not in e] == []
