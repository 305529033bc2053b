"""The staff pages in Chromium: a course made through the forms (a refused field first), lessons
and questions added, a lesson moved, the course published; the learners page; a certificate
issued for a learner whose enrolment was completed through the services; a claim file
downloaded. Screenshots of each page at 1280 and 360 px; no page scrolls sideways at 360 px.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from app.accounts.models import LearnerGroup, Role, User
from app.courses.models import Course, CourseStatus
from app.db import transaction
from tests import factories
from tests.factories import PASSWORD, make_institution, make_learner, make_user
from tests.web.conftest import Shots
from tests.web.fakecam import lfw_photo, still_of

PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1280, "height": 860}


def fits_a_phone(page: Any) -> None:
    """At 360 px the page itself never scrolls sideways (wide tables scroll in their box)."""
    page.set_viewport_size(PHONE)
    width = page.evaluate("document.documentElement.scrollWidth")
    page.set_viewport_size(DESKTOP)
    assert width <= 360, f"{page.url} is {width}px wide at 360px"


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_staff_build_publish_certify_and_claim(
    live_server: str,
    launch_browser: Callable[[Path], Any],
    engine: Any,
    tmp_path: Path,
) -> None:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    learner = make_learner(engine, inst, real_name="赵小红")
    with transaction(engine) as s:
        row = s.get(User, learner.id)
        assert row is not None
        row.group = LearnerGroup.unemployed
        s.add(row)
    browser = launch_browser(still_of(tmp_path / "cam.mjpeg", lfw_photo("Adrien_Brody"), 1))
    context = browser.new_context(viewport=DESKTOP, locale="zh-CN", accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    shots = Shots(page, "staff")

    def snap(name: str) -> None:
        shots(name)
        fits_a_phone(page)

    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", staff.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/staff/review")

    # The course list (empty), then a new course: a refused field first, in words.
    page.click("header nav a[href='/staff/courses']")
    page.wait_for_url("**/staff/courses")
    page.locator("#courses-empty").wait_for()
    snap("courses-empty")
    page.click("#new-course")
    page.wait_for_url("**/staff/courses/new")
    form = page.locator("#new-course-form")
    form.locator("input[name=title]").fill("养老护理员（初级）")
    form.locator("input[name=occupation_code]").fill("4-10-01-05")
    form.locator("input[name=occupation_name]").fill("养老护理员")
    form.locator("select[name=level]").select_option("level5")
    form.locator("input[name=required_minutes]").fill("60")
    form.locator("input[name=subsidy_yuan]").fill("1500")
    # Durations are typed with a unit: an hour's minimum above a half-hour maximum.
    form.locator("input[name=min_interval]").fill("1")
    form.locator("select[name=min_interval_unit]").select_option("h")
    form.locator("input[name=max_interval]").fill("30")
    form.locator("select[name=max_interval_unit]").select_option("min")
    form.locator("input[name=question_count]").fill("2")
    form.locator("button[type=submit]").click()
    error = page.locator('.field-error[data-field="min_interval_s"]')
    error.wait_for()
    assert "不长于最长间隔" in error.inner_text()
    assert page.locator("#new-course-form input[name=title]").input_value() == "养老护理员（初级）"
    snap("course-new-error")
    # The refusal is answered 422 on purpose; Chromium logs any non-2xx document load.
    assert all("422" in e for e in errors), errors
    errors.clear()
    page.locator("#new-course-form input[name=min_interval]").fill("10")
    page.locator("#new-course-form select[name=min_interval_unit]").select_option("min")
    page.locator("#new-course-form button[type=submit]").click()
    page.wait_for_url("**/staff/courses/*-*")
    course_id = uuid.UUID(page.url.rsplit("/", 1)[1].split("#")[0])
    assert "课程草稿已创建" in page.locator(".flash").inner_text()

    # Lessons: two added, the second moved first.
    for title in ("照料基础", "安全防护"):
        details = page.locator("#add-lesson")
        if details.get_attribute("open") is None:
            details.locator("summary").click()
        lesson = page.locator("#new-lesson-form")
        lesson.locator("input[name=title]").fill(title)
        lesson.locator("textarea[name=body_or_url]").fill(f"{title}：要点与操作规范。")
        lesson.locator("input[name=minutes]").fill("30")
        lesson.locator("button[type=submit]").click()
        page.locator(".flash").wait_for()
    page.locator(".lesson-item").nth(1).locator("button.move-up").click()
    page.locator(".flash").wait_for()
    titles = page.locator(".lesson-item .item-title").all_inner_texts()
    assert titles == ["安全防护", "照料基础"]

    # Questions: a single choice, then a true/false with its default options.
    question = page.locator("#new-question-form")
    question.locator("select[name=kind]").select_option("single")
    question.locator("textarea[name=stem]").fill("协助老人翻身时，应先做什么？")
    for i, text in enumerate(["向老人说明并取得配合", "直接用力翻动", "等待家属到场"]):
        question.locator("input[name=option]").nth(i).fill(text)
    question.locator('input[name=answer][value="0"]').check()
    question.locator("button[type=submit]").click()
    page.locator(".flash").wait_for()
    details = page.locator("#add-question")
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    question = page.locator("#new-question-form")
    question.locator("select[name=kind]").select_option("judge")
    question.locator("textarea[name=stem]").fill("为卧床老人每 2 小时翻身一次。")
    question.locator('input[name=answer][value="0"]').check()
    question.locator("button[type=submit]").click()
    page.locator(".flash").wait_for()
    assert page.locator(".question-item").count() == 2
    assert "正确" in page.locator(".question-item").nth(1).inner_text()
    snap("course-draft")

    page.click("#publish-button")
    page.locator("#frozen").wait_for()
    assert page.locator("#course-status").get_attribute("data-status") == "published"
    assert page.locator("#new-lesson-form").count() == 0
    snap("course-published")

    # The regulator's standard pays 1500 yuan for this occupation and level (the amount a
    # certificate carries comes from the standard in force, never from the course).
    factories.subsidy_standard(engine, "4-10-01-05", "level5", amount_fen=150000)

    # Two learners enrolled; one completed through the services (no faces needed here).
    with Session(engine) as s:
        course = s.get(Course, course_id)
        assert course is not None and course.status is CourseStatus.published
    done = factories.enrollment_row(engine, learner, course)
    factories.enrollment_row(
        engine, make_learner(engine, inst, real_name="钱小白"), course, complete=False
    )

    page.click("#to-learners")
    page.wait_for_url(f"**/staff/courses/{course_id}/learners")
    rows = page.locator("#learner-table tbody tr")
    assert rows.count() == 2
    assert "失业人员" in page.locator(f"#enr-{done.id}").inner_text()
    snap("learners")
    # The institution's learners list: searched and filtered by state, in the form it was asked.
    page.click("header nav a[href='/staff/learners']")
    page.wait_for_url("**/staff/learners")
    page.locator("#learner-filters select[name=state]").select_option("complete")
    page.locator("#learner-filters button[type=submit]").click()
    page.wait_for_url("**/staff/learners?*state=complete*")
    assert page.locator("#learner-table tbody tr").count() == 1
    assert page.locator(f"#enr-{done.id}").count() == 1
    snap("learners-filtered")

    page.click(f"#enr-{done.id} a")
    page.wait_for_url(f"**/staff/enrollments/{done.id}")
    page.click("#issue-button")
    page.locator(".flash").wait_for()
    serial = page.locator("#cert-serial").inner_text()
    assert (
        serial.startswith(inst.code) and "培训合格证明已颁发" in page.locator(".flash").inner_text()
    )
    snap("enrollment")
    page.goto(f"{live_server}/staff/courses/{course_id}/learners")
    assert serial in page.locator(f"#enr-{done.id}").inner_text()

    # The claims of this quarter: one certificate, 1500 yuan; the CSV downloads.
    page.click("header nav a[href='/staff/claims']")
    page.wait_for_url("**/staff/claims")
    assert page.locator("#claims-count").inner_text() == "1"
    assert page.locator("#claims-total").inner_text() == "1500.00"
    snap("claims")
    with page.expect_download() as download:
        page.click("#download-csv")
    body = Path(download.value.path()).read_bytes()
    rows_csv = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert [r[7] for r in rows_csv[1:-1]] == [serial] and rows_csv[-1][11] == "150000"
    assert download.value.suggested_filename.endswith(".csv")
    with page.expect_download() as download:
        page.click("#download-xlsx")
    assert Path(download.value.path()).read_bytes()[:2] == b"PK"
    assert not errors, errors
