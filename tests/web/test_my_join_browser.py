"""Joining a class by its invite code on /my, in Chromium on a phone (360 px), as a learner who
already studies one course (so the join form sits below it): a wrong code is answered in words
about a class code, next to the form and in view (the form is focused); the right code joins;
the same code again says so; a double tap is one enrolment (two at once on the server:
tests/web/test_learner_double_submit.py). Screenshots in var/screenshots/my-join-*."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, col, select

from tests.factories import course_row, enrollment_row, filed_class, make_institution, make_learner
from tests.web.conftest import Browsing, Shots

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
JOIN = "#join-form button[type=submit]"


def test_joining_a_class_by_code_on_a_phone(browsing: Browsing, engine: Any) -> None:
    from app.courses import invites
    from app.courses.exceptions import ClassCodeUnavailable
    from app.courses.models import Enrollment
    from app.web.render import FLASHES

    inst = make_institution(engine)
    care = filed_class(engine, course_row(engine, inst, title="养老护理员（中级）职业技能提升培训"))
    wiring = filed_class(engine, course_row(engine, inst, title="低压电工作业（初级）"))
    learner = make_learner(engine, inst, real_name="李雪梅")
    enrollment_row(engine, learner, course_row(engine, inst, title="电子商务师（四级）"))
    page = browsing.page
    shot = Shots(page, "my-join")

    def send(code: str) -> None:
        page.set_viewport_size(PHONE)
        page.goto(f"{browsing.base}/my")
        page.click("#join-class summary")
        page.fill("#join-form input[name=code]", code)
        page.click(JOIN)
        page.wait_for_load_state()

    def shots(name: str) -> None:
        page.set_viewport_size(DESKTOP)
        assert shot(name) == PHONE["width"]  # no sideways scrolling on a phone

    browsing.sign_in(learner.username)

    # A wrong code: the class code's own words, beside the form, in view, the field focused.
    send("ZZZZ-ZZZZ")
    error = page.locator("#join-error")
    assert error.inner_text() == ClassCodeUnavailable.message_zh
    box = error.bounding_box()
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], box
    assert page.evaluate("document.activeElement.name") == "code"
    shots("unknown")

    # The right code (typed in lower case): joined, and said at the top.
    send(invites.shown(care.invite_code).lower())
    page.wait_for_url("**/my")
    assert page.inner_text(".flash") == FLASHES["class_joined"]
    # The class line's dates and head teacher are never broken in their middle.
    lines = page.eval_on_selector_all(
        ".my-class .nowrap", "days => days.map((d) => d.getClientRects().length)"
    )
    assert len(lines) >= 2 and set(lines) == {1}, lines
    shots("joined")

    # The same code again: already there.
    send(invites.shown(care.invite_code))
    assert page.inner_text(".flash") == FLASHES["already_enrolled"]
    shots("again")

    # A double tap on the button: one enrolment, and the page says it is there.
    page.set_viewport_size(PHONE)
    page.goto(f"{browsing.base}/my")
    page.click("#join-class summary")
    page.fill("#join-form input[name=code]", invites.shown(wiring.invite_code))
    page.dblclick(JOIN)
    page.wait_for_selector(".flash")
    assert page.inner_text(".flash") in {
        FLASHES["class_joined"],
        FLASHES["already_enrolled"],
    }
    assert page.locator(f"#class-of-{_enrolment_in(engine, wiring.id, learner.id)}").count() == 1
    with Session(engine) as s:
        mine = s.exec(select(Enrollment).where(col(Enrollment.user_id) == learner.id)).all()
    assert sorted(str(e.class_id) for e in mine if e.class_id in (care.id, wiring.id)) == sorted(
        [str(care.id), str(wiring.id)]
    )
    assert len(mine) == 3
    assert not [e for e in browsing.errors if not e.startswith("Failed to load resource")]
    assert browsing.csp_violations() == []


def _enrolment_in(engine: Any, class_id: Any, user_id: Any) -> Any:
    from app.courses.models import Enrollment

    with Session(engine) as s:
        return s.exec(
            select(Enrollment.id).where(
                col(Enrollment.class_id) == class_id, col(Enrollment.user_id) == user_id
            )
        ).one()
