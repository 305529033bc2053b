"""Blended training in Chromium: staff schedule an offline session through the form, the learner
shows their rotating QR on the phone page, the station page takes the QR (a handheld scanner
types it) and checks the learner's face with its camera (the fake camera plays the enrolled
person blinking), and the attendance sheet and the learner's pages show the check-in. Pages
fit 1280 px and 360 px without sideways scrolling or CSP violations (screenshots in
var/screenshots/offline-*)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from tests.factories import PASSWORD, id_number
from tests.web.conftest import FACE_TIMEOUT_MS, Camera, Shots, signs_in

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


def test_schedule_show_qr_and_check_in_at_the_station(
    camera: Camera,
    engine: Any,
) -> None:
    from app import clock
    from app.accounts import service as accounts
    from app.accounts.models import Role
    from app.accounts.principal import Principal
    from app.attendance import service as attendance
    from app.clock import SHANGHAI
    from app.courses import service as courses
    from app.courses.models import OfflineAttendance
    from app.db import transaction
    from tests.face_data import blink_burst
    from tests.factories import make_course, make_institution, make_user

    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst, username="lijianguo")
    course = make_course(
        engine, inst, staff=staff, title="低压电工作业（初级）", offline_required_minutes=120
    )
    with transaction(engine) as session:
        learner = accounts.register_learner(
            session,
            username="chenjing",
            password=PASSWORD,
            real_name="陈静",
            id_number=id_number(seq=72),
            institution_id=inst.id,
        )
        accounts.set_biometric_consent(session, learner, granted=True)
        challenge = attendance.create_challenge(session, learner)
        challenge.actions = ["blink"]
        attendance.enrol(session, learner, challenge_id=challenge.id, frames=blink_burst("a"))
        class_id = courses.enrol(session, Principal.of_user(learner), course.id).class_id

    browser = camera.browser(300, "station.mjpeg")
    errors: list[str] = []

    def context(viewport: dict[str, int]) -> Any:
        ctx = browser.new_context(viewport=viewport, locale="zh-CN")
        ctx.add_init_script(CSP_LISTENER)
        page = ctx.new_page()
        page.set_default_timeout(30_000)
        page.on("pageerror", lambda e: errors.append(str(e)))
        return page

    # ---- Staff schedule the session through the form (Beijing time, running now).
    desk = context({"width": 1280, "height": 860})
    shots = Shots(desk, "offline")
    signs_in(desk, camera.base, staff.username, "**/staff/**")
    desk.goto(f"{camera.base}/staff/classes/{class_id}")
    desk.click("#class-offline")
    desk.wait_for_selector("#offline-form")
    now = clock.now().astimezone(SHANGHAI)
    desk.fill("#offline-title", "照明线路安装实操")
    desk.fill("#offline-site_address", "深圳市南山区留仙大道 1088 号 实训楼 302 室")
    desk.fill("#offline-starts_at", (now - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M"))
    desk.fill("#offline-ends_at", (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    desk.fill("#offline-capacity", "30")
    desk.click("#create-offline")
    desk.wait_for_url(re.compile(r".*/staff/offline/[0-9a-f-]{36}$"))
    sid = desk.url.rsplit("/", 1)[1]
    # Nobody has checked in: the session may still be cancelled (with a reason).
    desk.locator("#cancel-offline summary").click()
    desk.wait_for_selector("#cancel-reason")
    widths = {"sheet-empty": shots("sheet-empty")}

    # ---- The learner shows the QR on the phone.
    phone = context({"width": 360, "height": 740})
    signs_in(phone, camera.base, learner.username)
    assert "线下实训 0 / 120 分钟" in phone.inner_text("main")
    phone.goto(f"{camera.base}/offline")
    card = phone.locator(f"#offline-{sid}")
    card.locator(".show-qr").click()
    phone.wait_for_selector(f"#offline-{sid} img.qr[data-token]")
    token = card.locator("img.qr").get_attribute("data-token")
    assert token and token.startswith("st1.")
    assert "只能扫一次" in card.locator(".qr-left").inner_text()
    Shots(phone, "offline-learner")("qr")

    # ---- The station: a handheld scanner types the token and presses Enter; the camera
    # checks the face; the learner is checked in.
    desk.goto(f"{camera.base}/staff/stations/{sid}")
    desk.wait_for_selector("#scan-token")
    desk.fill("#scan-token", token)
    desk.press("#scan-token", "Enter")
    desk.wait_for_function(
        "() => { const r = document.getElementById('station').dataset.result;"
        " return Boolean(r) && r !== 'running'; }",
        timeout=FACE_TIMEOUT_MS,
    )
    assert desk.get_attribute("#station", "data-result") == "checkin", (
        desk.inner_text("#station-state"),
        _last_face_decision(engine),
    )
    assert "陈*" in desk.inner_text("#station-state")
    widths["station"] = shots("station")
    # The same QR again: refused (each is good for one scan).
    desk.fill("#scan-token", token)
    desk.press("#scan-token", "Enter")
    desk.wait_for_selector("#station[data-result=offline_token_used]")
    assert "已经扫过" in desk.inner_text("#station-state")

    with transaction(engine) as session:
        from sqlmodel import select

        row = session.exec(select(OfflineAttendance)).one()
        assert row.user_id == learner.id and row.checkout_at is None

    # ---- The sheet and the learner's page show it.
    desk.goto(f"{camera.base}/staff/offline/{sid}")
    assert desk.inner_text("#offline-counts").startswith("1 / 0 / 30")
    widths["sheet"] = shots("sheet")
    desk.goto(f"{camera.base}/staff/classes/{class_id}/offline")
    desk.wait_for_selector("#offline-table")
    widths["sessions"] = shots("sessions")
    assert desk.locator("#cancel-offline").count() == 0  # someone checked in: no cancelling
    phone.goto(f"{camera.base}/offline")
    assert "离开时请签退" in phone.inner_text(f"#offline-{sid}")
    assert phone.locator(f"#offline-{sid} .show-qr").inner_text() == "出示签退二维码"

    # ---- Check-out: the learner's check-out QR, the station's camera again.
    card = phone.locator(f"#offline-{sid}")
    card.locator(".show-qr").click()
    phone.wait_for_function(
        "([sel, old]) => { const img = document.querySelector(sel);"
        " return Boolean(img) && Boolean(img.dataset.token) && img.dataset.token !== old; }",
        arg=[f"#offline-{sid} img.qr", token],
    )
    out_token = card.locator("img.qr").get_attribute("data-token")
    assert out_token and out_token != token
    # The exit's station: another tablet (its own browser and camera; Chromium replays a fake
    # camera file from its start, and the server refuses frames it has seen before).
    exit_browser = camera.browser(120, "exit.mjpeg", first_mark=20_000)
    exit_ctx = exit_browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    exit_ctx.add_init_script(CSP_LISTENER)
    door = exit_ctx.new_page()
    door.set_default_timeout(30_000)
    door.on("pageerror", lambda e: errors.append(str(e)))
    signs_in(door, camera.base, staff.username, "**/staff/**")
    door.goto(f"{camera.base}/staff/stations/{sid}")
    door.wait_for_selector("#scan-token")
    door.fill("#scan-token", out_token)
    door.press("#scan-token", "Enter")
    door.wait_for_function(
        "() => { const r = document.getElementById('station').dataset.result;"
        " return Boolean(r) && r !== 'running'; }",
        timeout=FACE_TIMEOUT_MS,
    )
    assert door.get_attribute("#station", "data-result") == "checkout", door.inner_text(
        "#station-state"
    )
    assert "已签退" in door.inner_text("#station-state")
    widths["station-checkout"] = Shots(door, "offline")("station-checkout")
    assert door.evaluate("window.__cspViolations") == []
    with transaction(engine) as session:
        from sqlmodel import select

        row = session.exec(select(OfflineAttendance)).one()
        assert row.checkout_at is not None and row.checkout_event_id is not None

    # ---- The instructor marks the assessment on the sheet; the enrolment page shows it all.
    desk.goto(f"{camera.base}/staff/offline/{sid}")
    assert desk.inner_text("#offline-counts").startswith("1 / 1 / 30")
    form = desk.locator(".assess-form").first
    form.locator("input[value=fail]").check()
    form.locator("input[name=note]").fill("接地线未按规范连接，需复训")
    form.locator("button[type=submit]").click()
    desk.wait_for_selector(".flash")
    assert "不合格" in desk.inner_text("#attendance-sheet")
    widths["sheet-checked-out"] = shots("sheet-checked-out")
    from app.courses.models import Enrollment

    with transaction(engine) as session:
        eid = session.exec(select(Enrollment.id)).one()
    desk.goto(f"{camera.base}/staff/enrollments/{eid}")
    records = desk.locator("#offline-records")
    records.wait_for()
    assert "照明线路安装实操" in records.inner_text()
    assert "接地线未按规范连接" in records.inner_text()
    widths["enrollment"] = shots("enrollment")
    phone.goto(f"{camera.base}/offline")
    assert "已签退" in phone.inner_text(f"#offline-{sid}")
    assert all(w is not None and w <= Shots.PHONE["width"] for w in widths.values()), widths
    assert phone.evaluate("document.documentElement.scrollWidth") <= Shots.PHONE["width"]
    for page in (desk, phone):
        assert page.evaluate("window.__cspViolations") == []
    assert errors == []


def _last_face_decision(engine: Any) -> tuple[Any, ...] | None:
    """The last face event's reason and liveness detail: what a failed station check says."""
    from sqlmodel import Session, col, select

    from app.attendance.models import AttendanceEvent

    with Session(engine) as s:
        newest = col(AttendanceEvent.created_at).desc()
        ev = s.exec(select(AttendanceEvent).order_by(newest)).first()
        return None if ev is None else (ev.reason_code, ev.liveness)
