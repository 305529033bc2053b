"""Screenshots of the main pages at desktop (1280×860) and phone (360×740) width, saved under
var/screenshots/ (CI keeps them as artifacts), and on every page: no sideways scrolling at 360 px,
no console error, no failed request for a page's own files, no Content Security Policy violation.

The data is built through the services (a learner who consented and enrolled her face, a course
in progress, a completed course with its certificate), so no camera work is needed here."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.factories import PASSWORD, id_number
from tests.web.conftest import Shots, course_institution, seed_course
from tests.web.fakecam import blinking_learner

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]
PHONE_WIDTH = 360
DESKTOP = {"width": 1280, "height": 860}
#: Collects what the CSP blocked; init scripts run outside the page's CSP.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
});
"""


def _data(engine: Any) -> dict[str, Any]:
    from app.accounts import service as accounts
    from app.accounts.models import Institution, LearnerGroup
    from app.accounts.principal import Principal
    from app.attendance import service as attendance
    from app.courses import service as courses
    from app.courses.models import Course
    from app.db import transaction
    from tests.face_data import blink_burst
    from tests.factories import course_row, enrollment_row, issue

    course_id, _bank = seed_course(engine, auto_certificate=False)
    with transaction(engine) as session:
        learner = accounts.register_learner(
            session,
            username="ouyang",
            password=PASSWORD,
            real_name="欧阳娜娜",
            id_number=id_number(seq=99),
            institution_id=course_institution(session, course_id),
            phone="13800138000",
            group=LearnerGroup.migrant_worker,
        )
        accounts.set_biometric_consent(session, learner, granted=True)
        challenge = attendance.create_challenge(session, learner)
        attendance.enrol(session, learner, challenge_id=challenge.id, frames=blink_burst("a"))
        studying = courses.enrol(session, Principal.of_user(learner), course_id).id
        course = session.get(Course, course_id)
        assert course is not None
        institution = session.get(Institution, course.institution_id)
        assert institution is not None
    # A completed course, with a long title, and its certificate.
    done_course = course_row(
        engine,
        institution,
        title="养老护理员（中级）职业技能提升培训：失能老人照护与安全防护实务",
        occupation_name="养老护理员",
    )
    done = enrollment_row(engine, learner, done_course, minutes=125, quiz=88, rollcalls=(9, 10))
    cert = issue(engine, learner, done)
    return {
        "course": course_id,
        "studying": studying,
        "done": done.id,
        "serial": cert.serial,
    }


def test_main_pages_at_desktop_and_phone_width(
    live_server: str,
    launch_browser: Callable[[Path], Any],
    blink_challenges: None,  # the enrolment below sends a blink burst: ask for a blink
    engine: Any,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    d = _data(engine)
    browser = launch_browser(blinking_learner(tmp_path / "cam.mjpeg", seconds=5))
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(20_000)
    shot = Shots(page, "page")
    problems: list[str] = []
    seen: list[str] = []
    current = {"name": ""}

    def on_console(m: Any) -> None:
        # A page that is itself an error (404) logs "Failed to load resource" for its own
        # document; failed requests for anything else are caught by on_response below.
        if m.type == "error" and not m.text.startswith("Failed to load resource"):
            seen.append(f"{current['name']}: console: {m.text}")

    def on_response(r: Any) -> None:
        if r.request.resource_type != "document" and r.status >= 400:
            seen.append(f"{current['name']}: {r.status} {r.url}")

    page.on("console", on_console)
    page.on("pageerror", lambda e: seen.append(f"{current['name']}: script error: {e}"))
    page.on("response", on_response)

    def visit(
        name: str, path: str, status: int = 200, ready: str = "main", *, document: bool = False
    ) -> None:
        current["name"] = name
        page.set_viewport_size(DESKTOP)
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.status == status, (name, response)
        page.wait_for_selector(ready)
        desktop = page.evaluate("document.documentElement.scrollWidth")
        if desktop > DESKTOP["width"]:
            problems.append(f"{name}: {desktop} px wide at {DESKTOP['width']} px")
        # The page uses the screen (issue 14 item 7): the content column is not a ~730 px strip
        # (the public verification page is a certificate, a document of its own width).
        used = page.evaluate("document.querySelector('main').getBoundingClientRect().width")
        if not document and used < 0.9 * DESKTOP["width"]:
            problems.append(f"{name}: content only {used:.0f} px wide at {DESKTOP['width']} px")
        width = shot(name)
        if width is None or width > PHONE_WIDTH:
            problems.append(f"{name}: {width} px wide at {PHONE_WIDTH} px")
        csp = page.evaluate("window.__cspViolations")
        if csp:
            problems.append(f"{name}: CSP violations {csp}")

    serial = d["serial"]
    # Signed out: sign-in, sign-up, the public verification page (found and not found).
    visit("login", "/login", ready="form")
    visit("register", "/register", ready="#id_number")
    visit("verify", f"/certificates/{serial}", ready="[data-status=valid]", document=True)
    visit(
        "verify-not-found",
        "/certificates/NOPE-2026-000001",
        404,
        "[data-status=not_found]",
        document=True,
    )

    # Signed in as the learner.
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "ouyang")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url("**/my")
    visit("my", "/my")
    visit("consent", "/consent", ready="#consent-withdraw")
    visit("face", "/face", ready="#face-state")
    visit("catalogue", "/courses")
    visit("course", f"/courses/{d['course']}", ready="#enrol-course, a[href^='/study/']")
    visit("study", f"/study/{d['studying']}", ready="#checkin-check")
    # The course's quiz opens after its required hours: closed (and why) before them, open after.
    visit("quiz", f"/quiz/{d['studying']}", ready="#quiz-closed")
    visit("quiz-open", f"/quiz/{d['done']}", ready="#quiz-check")
    visit("progress", f"/progress/{d['studying']}", ready="ul.missing")
    visit("progress-complete", f"/progress/{d['done']}", ready="#progress[data-complete='1']")
    visit("record", "/record")
    visit("certificate", f"/my/certificates/{serial}", ready="#qr")
    visit("certificate-en", f"/my/certificates/{serial}?lang=en", ready="#qr")
    visit("error", f"/courses/{uuid.uuid4()}?lang=zh", 404, "p.error")

    assert len(shot.scroll_widths) == 18
    assert not problems, problems
    assert not seen, seen
    print(f"\nscreenshots: {len(shot.scroll_widths)} pages in {time.monotonic() - started:.0f} s")
