"""The learner's whole journey in Chromium with a fake camera playing talking_head_1.mp4:
register → consent → enrol face → enrol in a course → check in → study until a roll-call is
answered → quiz → progress complete → the certificate page (its PDF, and its QR code decoded
and followed to the public verification page, which says valid). And a stranger's photo fails
check-in and earns nothing."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image, ImageOps
from playwright.sync_api import expect
from sqlmodel import Session, col, select

from tests.factories import PASSWORD, id_number
from tests.web.conftest import (
    FACE_TIMEOUT_MS,
    Camera,
    Shots,
    answer_right,
    course_institution,
    face_enrolled_learner,
    pdf_text,
    run_check,
    seed_course,
    signs_in,
    wait_for_preview,
    watch_errors,
)
from tests.web.fakecam import lfw_photo, still_of

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),  # one backend is enough here
]


@pytest.mark.face_pool  # four or more streamed checks: analysed while they stream
def test_learner_journey(
    camera: Camera,
    engine: Any,
) -> None:
    from app.accounts.models import Institution, User
    from app.certificates.credential import hours
    from app.certificates.models import Certificate
    from app.courses.models import Enrollment, StudySession

    started = time.monotonic()
    course_id, bank = seed_course(engine)
    browser = camera.browser(300)
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="zh-CN")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=camera.base)
    camera.hold(context)
    page = context.new_page()
    page.set_default_timeout(30_000)
    # Refusals (e.g. a 422 liveness_failed before a retry) are not errors; script errors and
    # CSP violations are.
    errors = watch_errors(page)
    page.on("dialog", lambda d: d.accept())
    shot = Shots(page, "learner")
    refusals: list[str] = []

    # Register with the code the institution gave: the ID number is checked as it is typed,
    # the server decides.
    with Session(engine) as s:
        institution_code = s.exec(
            select(Institution.code).where(col(Institution.id) == course_institution(s, course_id))
        ).one()
    page.goto(f"{camera.base}/register")
    page.fill("#institution_code", institution_code)
    page.fill("input[name=real_name]", "李明")
    page.fill("#id_number", id_number(seq=77)[:-1] + ("1" if id_number(seq=77)[-1] != "1" else "2"))
    page.locator("#id_number").blur()
    assert page.locator("#id_hint").get_attribute("data-kind") == "error"
    page.fill("#id_number", id_number(seq=77))
    page.locator("#id_number").blur()
    assert page.locator("#id_hint").get_attribute("data-kind") == "ok"
    page.fill("input[name=username]", "liming")
    page.fill("input[name=password]", PASSWORD)
    page.select_option("select[name=group]", "unemployed")
    shot("register")
    page.click("button[type=submit].primary")

    # Consent, with what, why, how long, who, the alternative, and withdrawal.
    page.wait_for_url("**/consent")
    with Session(engine) as s:
        joined = s.exec(
            select(Institution.code)
            .join(User, col(User.institution_id) == col(Institution.id))
            .where(col(User.username) == "liming")
        ).one()
    assert joined == institution_code
    body = page.inner_text("main")
    for words in ("采集什么", "为什么采集", "180 天", "谁能看到", "线下签到", "撤回"):
        assert words in body, words
    shot("consent")
    page.click("#consent-grant")

    # Face enrolment with the camera.
    page.wait_for_url("**/face")
    page.wait_for_selector("#enrol-check .fc-go:enabled")
    shot("face")
    # A streamed check: the action appears the moment the server reveals it (in the answer to
    # a frame), not before; the page keeps streaming until the server says it is complete.
    enrol = page.locator("#enrol-check")
    enrol.locator(".fc-go").click()
    page.wait_for_function(
        "el => el.dataset.action === 'blink' || el.dataset.state === 'failed'",
        arg=enrol.element_handle(),
        timeout=FACE_TIMEOUT_MS,
    )
    if enrol.get_attribute("data-state") != "failed":
        assert "请眨眼" in enrol.locator(".prompt").inner_text()
        shot("face-prompt")
    page.wait_for_function(
        "el => el.dataset.state === 'passed' || el.dataset.state === 'failed'",
        arg=enrol.element_handle(),
        timeout=FACE_TIMEOUT_MS,
    )
    if enrol.get_attribute("data-state") != "passed":
        refusals.append(enrol.locator(".fc-status").inner_text())
        refusals += run_check(page, "enrol-check")
    assert page.locator("#face-state").get_attribute("data-enrolled") == "1"
    # The result is said once, and no empty (stopped) camera box is left on the page.
    assert page.locator("#enrol-check .preview").is_hidden()
    said = page.locator("#face-state").inner_text()
    assert said and page.inner_text("main").count(said) == 1
    shot("face-enrolled")

    # The catalogue, the course page, enrolment.
    page.click("nav >> text=选课")
    page.wait_for_url("**/courses")
    shot("catalogue")
    page.click("text=低压电工作业（初级）")
    page.wait_for_url(f"**/courses/{course_id}")
    assert "安全用电常识" in page.inner_text("main")
    # What the course pays and what that asks; when its quiz opens (after the required hours).
    assert page.locator("#subsidy #subsidy-rules li").count() >= 4
    assert page.locator("#quiz-rule").get_attribute("data-opens") == "after_hours"
    shot("course")
    page.click("#enrol-course")
    page.wait_for_url("**/study/*")
    enrollment_id = uuid.UUID(page.url.rsplit("/", 1)[1])
    shot("study")

    # Check in, then study: heartbeats every 5 s, roll-calls every 20-30 s, answered in the dialog.
    refusals += run_check(page, "checkin-check")
    page.wait_for_selector("#study[data-state=studying]")
    answered = 0
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        if page.locator("dialog#rollcall[open]").count():
            if answered == 0:
                wait_for_preview(page, "rollcall-check")
                shot("rollcall")
            refusals += run_check(page, "rollcall-check")
            page.wait_for_selector("dialog#rollcall:not([open])", state="attached")
            assert page.locator("#study").get_attribute("data-state") == "studying"
            answered += 1
        seconds = int(page.locator("#credited").get_attribute("data-seconds") or 0)
        if answered >= 1 and seconds >= 65:
            break
        page.wait_for_timeout(500)
    assert answered >= 1, "no roll-call within the study time"
    assert "分" in page.inner_text("#credited")
    shot("studying")
    page.click("#end-study")
    page.wait_for_selector("#study[data-state=ended]")

    # Progress says what is missing: only the quiz.
    page.goto(f"{camera.base}/progress/{enrollment_id}")
    missing = page.locator("ul.missing li").all_inner_texts()
    assert len(missing) == 1 and "考试" in missing[0], missing
    shot("progress-missing")

    # The face-gated quiz: questions without answers; answer by the options' text.
    page.goto(f"{camera.base}/quiz/{enrollment_id}")
    attempts_left = int(page.inner_text("#attempts-left"))
    refusals += run_check(page, "quiz-check")
    page.wait_for_selector("#paper:not([hidden])")
    # The attempt just started is counted at once; the start message sits above the paper;
    # each question's number is on the stem's line.
    assert int(page.inner_text("#attempts-left")) == attempts_left - 1
    message = page.locator("#quiz-result").bounding_box()
    assert message and message["y"] < (page.locator("#paper").bounding_box() or {"y": 0})["y"]
    numbers = [n.strip() for n in page.locator("li.question .qno").all_inner_texts()]
    assert numbers == [f"{i}." for i in range(1, len(numbers) + 1)] and numbers
    for item in page.locator("li.question").all():
        no, stem = item.locator(".qno").bounding_box(), item.locator("legend").bounding_box()
        assert no and stem and abs(no["y"] - stem["y"]) < 4
    answer_right(page, bank)
    shot("quiz")
    page.click("#submit-quiz")
    page.wait_for_selector("#quiz-result[data-passed='1']")
    assert "100" in page.inner_text("#quiz-result")
    # After submitting: the server's count of attempts left, the attempt in the record, and no
    # offer of another go (passed).
    assert int(page.inner_text("#attempts-left")) == attempts_left - 1
    assert "100" in page.locator("#attempt-list li").last.inner_text()
    assert page.locator("#attempt-record").is_visible()
    assert page.locator("#quiz-again").is_hidden()
    shot("quiz-result")

    # Complete, and the certificate issued at that moment (the institution's setting).
    page.goto(f"{camera.base}/progress/{enrollment_id}")
    assert page.locator("#progress").get_attribute("data-complete") == "1"
    shot("progress-complete")
    with Session(engine) as s:
        cert = s.exec(
            select(Certificate).where(col(Certificate.enrollment_id) == enrollment_id)
        ).one()
    assert cert.learner_name == "李明" and cert.credited_minutes >= 1

    # The learner's certificate page, from the progress page's link.
    page.click("#progress a.button.primary")
    page.wait_for_url(f"**/my/certificates/{cert.serial}")
    assert page.locator("#certificate").get_attribute("data-cert-status") == "valid"
    assert page.locator("#cert-serial").inner_text() == cert.serial
    assert page.locator("#cert-name").inner_text() == "李明"
    said = page.locator("#cert-hours").inner_text()
    minutes = cert.credited_minutes
    assert said.startswith(f"{hours(minutes)} 小时（{minutes} 分钟，要求 1 分钟）"), said
    shot("certificate")

    # The QR code as the browser draws it decodes to the public verification address.
    page.wait_for_function(
        "() => { const i = document.querySelector('#qr');"
        " return !!i && i.complete && i.naturalWidth > 0; }"
    )
    qr = Image.open(io.BytesIO(page.locator("#qr").screenshot())).convert("L")
    # Scaled up with a white quiet zone, the decode does not depend on how tightly the element
    # screenshot is cut or how the browser resampled the SVG.
    qr = ImageOps.expand(qr.resize((qr.width * 2, qr.height * 2)), border=48, fill=255)
    decoded = [b.text for b in zxingcpp.read_barcodes(qr)]
    verify_url = f"{camera.base}/certificates/{cert.serial}"
    assert decoded == [verify_url]
    assert page.locator("#verify-url").input_value() == verify_url

    # The copy button puts the same address on the clipboard.
    page.click("#copy-link")
    # The status is written once navigator.clipboard.writeText() has resolved: wait for it.
    expect(page.locator("#copy-status")).to_have_text("已复制核验链接。")
    assert page.evaluate("navigator.clipboard.readText()") == verify_url

    # "Download PDF": a file whose text carries the learner's Chinese name and the serial.
    with page.expect_download() as download:
        page.click("#download-pdf")
    assert download.value.suggested_filename == f"{cert.serial}.pdf"
    text = pdf_text(Path(download.value.path()).read_bytes())
    assert "李明" in text and cert.serial in text

    # Whoever scans the code lands on the public page: valid, the name masked.
    page.goto(decoded[0])
    page.wait_for_selector("[data-status=valid]")
    public = page.inner_text("main")
    assert cert.serial in public and "李*" in public and "李明" not in public
    shot("verification")

    page.goto(f"{camera.base}/record")
    shot("record")
    page.goto(f"{camera.base}/my?lang=en")
    assert "My courses" in page.inner_text("main")
    shot("my-en")

    with Session(engine) as s:
        e = s.get(Enrollment, enrollment_id)
        assert e is not None and e.completed_at is not None and e.credited_seconds >= 60
        assert e.rollcalls_passed == e.rollcalls_total >= 1
        sessions = s.exec(select(StudySession).where(col(StudySession.enrollment_id) == e.id)).all()
        assert [x.state.value for x in sessions] == ["ended"]
    assert not [m for m in errors if "Content Security Policy" in m or "Refused" in m], errors
    assert not errors, errors
    print(
        f"\njourney: {time.monotonic() - started:.0f} s, {answered} roll-calls, "
        f"refusals on the way: {refusals}"
    )


def test_someone_elses_photo_fails_check_in_and_earns_nothing(
    live_server: str,
    launch_browser: Callable[[Path], Any],
    blink_challenges: None,
    engine: Any,
    tmp_path: Path,
) -> None:
    from app.attendance.models import AttendanceEvent, Outcome, Purpose
    from app.courses.models import Enrollment, StudySession

    course_id, _bank = seed_course(engine)
    # The learner enrolled her own face (talking_head_1) and the course, over the services.
    _, enrollment_id = face_enrolled_learner(
        engine, course_id, username="hanmei", real_name="韩梅", seq=88
    )

    # Someone else holds a photo of another person in front of the camera.
    camera = still_of(tmp_path / "stranger.mjpeg", lfw_photo("Ariel_Sharon"))
    browser = launch_browser(camera)
    page = browser.new_page(viewport={"width": 1280, "height": 860})
    page.on("dialog", lambda d: d.accept())
    signs_in(page, live_server, "hanmei")
    page.goto(f"{live_server}/study/{enrollment_id}")
    root = page.locator("#checkin-check")
    root.locator(".fc-go").click()
    page.wait_for_function(
        "el => el.dataset.state === 'passed' || el.dataset.state === 'failed'",
        arg=root.element_handle(),
        timeout=FACE_TIMEOUT_MS,
    )
    assert root.get_attribute("data-state") == "failed"
    # Refused as not her (face_mismatch), as not live (a still picture: liveness_failed, or
    # stream_discontinuous when the camera's stalled frames leave gaps), or as no face: each
    # is a correct answer to a photo, and each is explained in words.
    message = root.locator(".fc-status").inner_text()
    code = root.get_attribute("data-code")
    words = {
        "face_mismatch": "人脸比对未通过",
        "liveness_failed": "未能确认是真人",
        "no_face": "没有检测到人脸",
        "stream_discontinuous": "视频画面不连续",
    }
    assert code in words and words[code] in message, (code, message)
    assert page.locator("#study").get_attribute("data-state") != "studying"
    assert root.locator(".fc-go").inner_text() == "重新验证"
    Shots(page, "stranger")("checkin-refused")

    with Session(engine) as s:
        e = s.get(Enrollment, enrollment_id)
        assert e is not None and e.credited_seconds == 0
        assert not s.exec(select(StudySession).where(col(StudySession.enrollment_id) == e.id)).all()
        events = s.exec(
            select(AttendanceEvent).where(col(AttendanceEvent.purpose) == Purpose.checkin)
        ).all()
        assert [ev.outcome for ev in events] == [Outcome.failed]
