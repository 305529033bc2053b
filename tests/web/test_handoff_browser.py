"""The no-camera fallback in Chromium: a computer whose camera is refused hands the face check to
a phone (360 px, fake camera playing the learner); the phone passes the blink challenge and the
computer's page proceeds by itself — face enrolment, then a check-in whose study session runs
with heartbeats from the computer."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlmodel import Session, col, select

from tests.web.conftest import (
    FACE_TIMEOUT_MS,
    Camera,
    Shots,
    seed_course,
    signs_in,
    wait_for_preview,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),  # one backend is enough here
]

#: The computer: getUserMedia refused, as when the learner blocks the camera (or has none).
NO_CAMERA = """
(() => {
  const refuse = () => Promise.reject(new DOMException("Permission denied", "NotAllowedError"));
  if (navigator.mediaDevices) navigator.mediaDevices.getUserMedia = refuse;
})();
"""


def seed_learner(engine: Any) -> tuple[str, uuid.UUID]:
    """A learner with biometric consent (no face yet) enrolled in the seeded course."""
    from app.accounts import service as accounts
    from app.accounts.models import Institution, User
    from app.accounts.principal import Principal
    from app.courses import service as courses
    from app.courses.models import Course
    from app.db import transaction
    from tests.factories import make_learner

    course_id, _ = seed_course(engine)
    with transaction(engine) as session:
        course = session.get(Course, course_id)
        assert course is not None
        inst = session.get(Institution, course.institution_id)
    learner = make_learner(engine, inst, real_name="王小明")
    with transaction(engine) as session:
        user = session.get(User, learner.id)
        assert user is not None
        accounts.set_biometric_consent(session, user, granted=True)
        enrollment = courses.enrol(session, Principal.of_user(user), course_id)
        return learner.username, enrollment.id


def computer_and_phone(camera: Camera, username: str) -> tuple[Any, Any, list[str]]:
    """The learner signed in on a computer without a camera, and a phone (360 px) whose fake
    camera plays the learner; and the script errors either page has seen."""
    browser = camera.browser(300)
    desktop_ctx = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    desktop_ctx.add_init_script(NO_CAMERA)
    desktop = desktop_ctx.new_page()
    desktop.set_default_timeout(30_000)
    errors: list[str] = []
    desktop.on("pageerror", lambda e: errors.append(str(e)))
    phone_ctx = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="zh-CN", is_mobile=True, has_touch=True
    )
    camera.hold(phone_ctx)
    phone = phone_ctx.new_page()
    phone.set_default_timeout(30_000)
    phone.on("pageerror", lambda e: errors.append(str(e)))
    signs_in(desktop, camera.base, username)
    return desktop, phone, errors


def hand_off(
    desktop: Any, phone: Any, panel: str, shot: Shots, phone_shot: Shots, name: str
) -> str:
    """Click the panel's button on the computer, open the shown link on the phone, pass the
    check there; returns the phone link. The computer's panel must end ``passed`` by itself."""
    root = desktop.locator(f"#{panel}")
    root.locator(".fc-go").click()
    desktop.wait_for_selector(f"#{panel}[data-state=handoff] .fc-handoff:not([hidden])")
    # Why the phone, and the institution's offline alternative as the last resort.
    said = root.locator(".fc-status").inner_text()
    assert "用手机继续" in said and "培训机构" in said, said
    link = root.locator(".fc-link code").inner_text().strip()
    assert re.search(r"/m/[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$", link), link
    qr = root.locator(".fc-qr")
    desktop.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=qr.element_handle()
    )
    assert qr.get_attribute("src", timeout=1000).endswith("/qr.svg")
    assert "失效" in root.locator(".fc-handoff-left").inner_text()
    shot(f"{name}-handoff")

    phone.goto(link)
    assert "王*明" in phone.inner_text("main") and "王小明" not in phone.inner_text("main")
    desktop.wait_for_selector(f"#{panel} .fc-handoff-state[data-state=opened]")
    wait_for_preview(phone, "phone-check")
    phone_shot(name)
    check = phone.locator("#phone-check")
    for _ in range(3):
        check.locator(".fc-go").click()
        phone.wait_for_function(
            "el => el.dataset.state === 'passed' || el.dataset.state === 'failed'",
            arg=check.element_handle(),
            timeout=FACE_TIMEOUT_MS,
        )
        if check.get_attribute("data-state") == "passed":
            break
    assert check.get_attribute("data-state") == "passed", check.locator(".fc-status").inner_text()
    phone.wait_for_selector("#handoff-done:not([hidden])")
    assert "回到电脑" in phone.inner_text("#handoff-done")
    phone_shot(f"{name}-done")
    desktop.wait_for_selector(f"#{panel}[data-state=passed]", state="attached", timeout=15_000)
    return link


def test_no_camera_hands_the_check_to_a_phone(
    camera: Camera,
    engine: Any,
) -> None:
    from app.attendance.models import FaceHandoff, HandoffState
    from app.courses.models import Heartbeat, SessionState, StudySession

    username, enrollment_id = seed_learner(engine)
    desktop, phone, errors = computer_and_phone(camera, username)
    desktop.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    shot = Shots(desktop, "handoff")
    phone_shot = Shots(phone, "handoff-phone")

    # Face enrolment: the camera is refused, the panel offers the phone.
    desktop.goto(f"{camera.base}/face")
    hand_off(desktop, phone, "enrol-check", shot, phone_shot, "enrol")
    assert desktop.locator("#face-state").get_attribute("data-enrolled") == "1"
    assert not desktop.locator("#enrol-next").is_hidden()

    # Check-in: the phone passes, the computer's study session runs with its own heartbeats.
    desktop.goto(f"{camera.base}/study/{enrollment_id}")
    desktop.wait_for_selector("#checkin-check")
    hand_off(desktop, phone, "checkin-check", shot, phone_shot, "checkin")
    desktop.wait_for_selector("#study[data-state=studying]")
    # Heartbeats every 5 s: wait until the first one is stored (a condition, not a pause).
    desktop.wait_for_function(
        "() => Number(document.getElementById('credited').dataset.seconds || 0) > 0",
        timeout=FACE_TIMEOUT_MS,
    )
    shot("studying", phone=False)
    with Session(engine) as s:
        sess = s.exec(select(StudySession)).one()
        assert sess.state is SessionState.studying and sess.enrollment_id == enrollment_id
        beats = s.exec(select(Heartbeat).where(col(Heartbeat.session_id) == sess.id)).all()
        assert len(beats) >= 1
        states = [
            h.state for h in s.exec(select(FaceHandoff).order_by(col(FaceHandoff.created_at)))
        ]
    assert states == [HandoffState.passed, HandoffState.passed]

    # The spent link shows a closed page on the phone.
    phone.goto(phone.url)
    assert phone.locator("#handoff-closed").count() == 1
    assert errors == [], errors


def test_a_phone_whose_answer_was_lost_is_told_its_check_passed(
    camera: Camera,
    engine: Any,
) -> None:
    """The phone's check passes on the server but its answer is lost on the way back: the phone
    says the network failed and offers a retry; the retry finds the link used (409 handoff_used,
    ``passed``) and the phone says the check passed, once, as after a normal pass (it said "link
    used" twice, in red, with "请回到电脑继续" twice). The computer moves on by itself."""
    from app.web.i18n import JS_STRINGS

    username, _ = seed_learner(engine)
    desktop, phone, errors = computer_and_phone(camera, username)
    shot = Shots(phone, "handoff-lost")
    desktop.goto(f"{camera.base}/face")
    root = desktop.locator("#enrol-check")
    root.locator(".fc-go").click()
    desktop.wait_for_selector("#enrol-check[data-state=handoff] .fc-handoff:not([hidden])")
    phone.goto(root.locator(".fc-link code").inner_text().strip())
    wait_for_preview(phone, "phone-check")

    answers: list[int] = []

    def lose_the_answer(route: Any) -> None:
        answers.append(route.fetch().status)
        route.abort("connectionreset")

    phone.route("**/api/v1/handoffs/*/frames", lose_the_answer)
    check = phone.locator("#phone-check")
    for _ in range(3):  # a refusal on the way (the clip) is retried, as a learner would
        check.locator(".fc-go").click()
        phone.wait_for_function(
            "el => el.dataset.state === 'passed' || el.dataset.state === 'failed'",
            arg=check.element_handle(),
            timeout=FACE_TIMEOUT_MS,
        )
        if answers and answers[-1] == 200:
            break
    assert answers and answers[-1] == 200, answers
    assert check.locator(".fc-status").inner_text() == JS_STRINGS["network"]
    shot("lost")
    phone.unroute("**/api/v1/handoffs/*/frames")

    check.locator(".fc-go").click()
    phone.wait_for_selector("#handoff[data-state=passed]")
    assert phone.inner_text("#handoff-done") == JS_STRINGS["handoff_phone_done"]
    assert phone.locator("#handoff-done").get_attribute("class") == "status ok"
    assert check.locator(".fc-status").inner_text() == ""
    assert phone.inner_text("main").count(JS_STRINGS["handoff_phone_done"]) == 1
    shot("retried")
    desktop.wait_for_selector("#enrol-check[data-state=passed]", state="attached")
    assert errors == [], errors
