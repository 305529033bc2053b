"""Joining a class by its invite code on /my, in Chromium on a phone (360 px), as a learner who
already studies one course (so the join form sits below it): a wrong code is answered in words
about a class code, next to the form and in view (the form is focused); the right code joins;
the same code again says she is in that class; a double tap is one enrolment (two at once on
the server: tests/web/test_learner_double_submit.py), and a second tap that reaches the server
after the first joined says she is in the class too. A learner waiting in the course's default
class is moved by the code; one who has studied there is told why not. Screenshots in
var/screenshots/my-join-*."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlmodel import Session, col, select

from tests.factories import (
    course_row,
    enrollment_row,
    filed_class,
    make_institution,
    make_learner,
    self_enrolled,
    start_session,
)
from tests.web.conftest import Browsing, Shots

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 900}
JOIN = "#join-form button[type=submit]"


def typed(browsing: Browsing, code: str) -> None:
    """/my on a phone, the join form opened and the code typed in."""
    page = browsing.page
    page.set_viewport_size(PHONE)
    page.goto(f"{browsing.base}/my")
    page.click("#join-class summary")
    page.fill("#join-form input[name=code]", code)


def send(browsing: Browsing, code: str) -> None:
    """The code sent from /my's join form on a phone."""
    typed(browsing, code)
    browsing.page.click(JOIN)
    browsing.page.wait_for_load_state()


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

    def shots(name: str) -> None:
        page.set_viewport_size(DESKTOP)
        assert shot(name) == PHONE["width"]  # no sideways scrolling on a phone

    browsing.sign_in(learner.username)

    # A wrong code: the class code's own words, beside the form, in view, the field focused.
    send(browsing, "ZZZZ-ZZZZ")
    error = page.locator("#join-error")
    assert error.inner_text() == ClassCodeUnavailable.message_zh
    box = error.bounding_box()
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], box
    assert page.evaluate("document.activeElement.name") == "code"
    shots("unknown")

    # The right code (typed in lower case): joined, and said at the top.
    send(browsing, invites.shown(care.invite_code).lower())
    page.wait_for_url("**/my")
    assert page.inner_text(".flash") == FLASHES["class_joined"]
    # The class line's dates and head teacher are never broken in their middle.
    lines = page.eval_on_selector_all(
        ".my-class .nowrap", "days => days.map((d) => d.getClientRects().length)"
    )
    assert len(lines) >= 2 and set(lines) == {1}, lines
    shots("joined")

    # The same code again: she is in that class.
    send(browsing, invites.shown(care.invite_code))
    assert page.inner_text(".flash") == FLASHES["class_already_joined"]
    shots("again")

    # A double tap on the button: one enrolment, and the page says it is there.
    typed(browsing, invites.shown(wiring.invite_code))
    page.dblclick(JOIN)
    page.wait_for_selector(".flash")
    assert page.inner_text(".flash") in {
        FLASHES["class_joined"],
        FLASHES["class_already_joined"],
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


def test_a_second_tap_that_reaches_the_server_after_the_first_joined(
    browsing: Browsing, engine: Any
) -> None:
    """A real double tap on a phone: the browser drops the first POST's navigation for the
    second, after the server committed the first. The page the learner sees (the second's)
    says she is in the class, as a notice, with the class listed; one enrolment."""
    from app.courses import invites
    from app.courses.models import Enrollment
    from app.web.render import FLASHES

    inst = make_institution(engine)
    care = filed_class(engine, course_row(engine, inst, title="养老护理员（中级）职业技能提升培训"))
    learner = make_learner(engine, inst, real_name="李雪梅")
    page = browsing.page
    shot = Shots(page, "my-join-second-tap")
    browsing.sign_in(learner.username)
    typed(browsing, invites.shown(care.invite_code))

    committed: list[int] = []

    def first_tap_dropped(route: Any) -> None:
        committed.append(route.fetch(max_redirects=0).status)  # the server joins her
        route.abort("aborted")  # the browser went on with the second tap instead

    page.route("**/my/join", first_tap_dropped)
    with page.expect_event("requestfailed"):
        page.click(JOIN)
    assert committed == [303]
    page.unroute("**/my/join")
    assert page.url.endswith("/my")
    page.click(JOIN)  # the second tap: the form still holds the code
    page.wait_for_selector(".flash")
    page.set_viewport_size(DESKTOP)
    assert shot("done") == PHONE["width"]
    assert page.inner_text(".flash") == FLASHES["class_already_joined"]
    assert page.locator(".error").count() == 0
    with Session(engine) as s:
        [mine] = s.exec(select(Enrollment).where(col(Enrollment.user_id) == learner.id)).all()
    assert mine.class_id == care.id
    assert page.locator(f"#class-of-{mine.id}").inner_text().startswith(f"班级：{care.name}")
    assert not [e for e in browsing.errors if not e.startswith("Failed to load resource")]
    assert browsing.csp_violations() == []


def test_a_learner_in_the_default_class_joins_a_class_by_its_code(
    browsing: Browsing, engine: Any
) -> None:
    """Self-enrolled in a course before its institution gave her a class's code (so in the
    course's default class), nothing studied: the code moves her enrolment into that class.
    Another learner who has already studied there is told why the code cannot move her and what
    to do, beside the form."""
    from app.audit.models import AuditEntry
    from app.courses import invites
    from app.courses.models import Enrollment
    from app.web.render import FLASHES

    inst = make_institution(engine)
    course = course_row(engine, inst, title="养老护理员（中级）职业技能提升培训")
    care = filed_class(engine, course)
    fresh = make_learner(engine, inst, real_name="李雪梅")
    waiting = self_enrolled(engine, fresh, course)
    studied = make_learner(engine, inst, real_name="周晓燕")
    start_session(engine, studied, self_enrolled(engine, studied, course), course)
    page = browsing.page
    shot = Shots(page, "my-join-default-class")

    browsing.sign_in(fresh.username)
    page.set_viewport_size(PHONE)
    page.goto(f"{browsing.base}/my")
    page.set_viewport_size(DESKTOP)
    shot("before")
    send(browsing, invites.shown(care.invite_code))
    page.set_viewport_size(DESKTOP)
    assert shot("moved") == PHONE["width"]
    assert page.inner_text(".flash") == FLASHES["class_joined"]
    assert page.locator(f"#class-of-{waiting.id}").inner_text().startswith(f"班级：{care.name}")
    with Session(engine) as s:
        [mine] = s.exec(select(Enrollment).where(col(Enrollment.user_id) == fresh.id)).all()
        moved = s.exec(
            select(AuditEntry).where(col(AuditEntry.action) == "enrollment.class_changed")
        ).one()
    assert (mine.id, mine.class_id) == (waiting.id, care.id)  # the same enrolment, moved
    assert moved.subject == f"enrollment:{waiting.id}"
    assert json.loads(moved.payload)["class"] == str(care.id)

    browsing.sign_in(studied.username)
    send(browsing, invites.shown(care.invite_code))
    page.set_viewport_size(DESKTOP)
    assert shot("studied") == PHONE["width"]
    from app.courses.classes import InAnotherClass

    page.set_viewport_size(PHONE)
    error = page.locator("#join-error")
    assert error.inner_text() == InAnotherClass.message_zh
    box = error.bounding_box()
    assert box and 0 <= box["y"] and box["y"] + box["height"] <= PHONE["height"], box
    with Session(engine) as s:
        [theirs] = s.exec(select(Enrollment).where(col(Enrollment.user_id) == studied.id)).all()
    assert theirs.class_id != care.id
    assert not [e for e in browsing.errors if not e.startswith("Failed to load resource")]
    assert browsing.csp_violations() == []
