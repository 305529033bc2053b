"""The registration page in Chromium: a refusal about the ID number disappears once the number
is edited, and a number typed with full-width digits is read the way the server reads it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.factories import PASSWORD, id_number, make_institution, make_learner
from tests.web.conftest import Shots

pytestmark = [
    pytest.mark.browser,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


def test_stale_id_error_clears_when_the_number_is_edited(
    live_server: str, launch_browser: Callable[[Path], Any], engine: Any, tmp_path: Path
) -> None:
    taken = id_number(seq=7)
    inst = make_institution(engine)
    make_learner(engine, inst, id_number=taken)
    page = launch_browser(tmp_path / "none.mjpeg").new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/register")
    page.select_option("#institution", inst.code)
    page.fill("input[name=real_name]", "李四")
    page.fill("#id_number", taken)
    page.fill("input[name=username]", "lisi_reg")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    error = page.locator("#register-error")
    error.wait_for()
    assert error.get_attribute("data-code") == "id_number_registered"
    Shots(page, "register")("id-taken")

    # Editing the number hides the refusal that was about the old number.
    page.fill("#id_number", "")
    page.type("#id_number", id_number(seq=8).translate(FULL_WIDTH))
    error.wait_for(state="hidden")
    page.locator("#id_number").blur()
    hint = page.locator("#id_hint")
    page.wait_for_function("document.getElementById('id_hint').dataset.kind === 'ok'")
    assert "格式正确" in hint.inner_text()


def test_register_with_an_institution_picked_from_the_list(
    live_server: str, launch_browser: Callable[[Path], Any], engine: Any, tmp_path: Path
) -> None:
    """Registration names the institution: forgetting it is refused in words next to the form
    (the rest kept), the refusal goes once one is picked, and the learner joins it."""
    from sqlmodel import Session, select

    from app.accounts.models import User

    make_institution(engine, "SZ101", region="440306", name="宝安区技工培训学校")
    chosen = make_institution(engine, "SZ102", region="440305", name="示范职业技能培训学校")
    browser = launch_browser(tmp_path / "none.mjpeg")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/register")
    shot = Shots(page, "register")
    assert (shot("institution") or 0) <= 360  # no sideways scrolling on a phone
    page.set_viewport_size({"width": 360, "height": 800})
    page.fill("input[name=real_name]", "王芳")
    page.fill("#id_number", id_number(seq=9))
    page.fill("input[name=username]", "wangfang")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    error = page.locator("#register-error")
    error.wait_for()
    assert error.get_attribute("data-code") == "institution_required"
    assert page.locator("input[name=real_name]").input_value() == "王芳"
    shot("institution-required")
    # Options are grouped by region; picking one hides the refusal.
    group = page.locator("#institution optgroup", has_text="示范职业技能培训学校")
    assert group.get_attribute("label") == "广东省深圳市南山区"
    page.select_option("#institution", "SZ102")
    error.wait_for(state="hidden")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/consent")
    with Session(engine) as s:
        user = s.exec(select(User).where(User.username == "wangfang")).one()
    assert user.institution_id == chosen.id


def test_a_learner_of_no_institution_is_asked_to_choose(
    live_server: str, launch_browser: Callable[[Path], Any], engine: Any, tmp_path: Path
) -> None:
    """A learner registered before every registration named an institution is sent to choose
    one when they sign in; the institution of their courses is offered first."""
    from sqlmodel import Session

    from app.accounts.models import User
    from tests.factories import make_course, make_enrollment

    make_institution(engine, "SZ201", region="440306", name="宝安区技工培训学校")
    studied = make_institution(engine, "SZ202", region="440305", name="示范职业技能培训学校")
    learner = make_learner(engine, real_name="赵敏")
    make_enrollment(engine, learner, make_course(engine, studied))
    page = launch_browser(tmp_path / "none.mjpeg").new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", learner.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/consent")
    page.goto(f"{live_server}/my")
    page.wait_for_url("**/institution")
    assert "示范职业技能培训学校" in page.inner_text("#institution-suggested")
    assert page.locator("#institution").input_value() == "SZ202"
    assert (Shots(page, "institution")("choose") or 0) <= 360
    page.click("#institution-form button[type=submit]")
    page.wait_for_url("**/my")
    with Session(engine) as s:
        user = s.get(User, learner.id)
        assert user is not None and user.institution_id == studied.id
