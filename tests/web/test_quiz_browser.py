"""The quiz page after a lost answer, in Chromium: the learner passes the face gate with the
(fake) camera, answers, and submits; the server records the submission but its answer never
reaches the page (the connection drops). The page says the network failed and lets her submit
again; the server answers that repeat with 409 ``attempt_closed`` and the result it recorded,
and the page shows that result exactly as it shows a normal finish. One submission recorded."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import Session, col, select

from tests.factories import set_enrollment
from tests.web.conftest import (
    Camera,
    answer_right,
    face_enrolled_learner,
    run_check,
    seed_course,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.parametrize("db_url", ["sqlite"], indirect=True),
]


def test_a_lost_answer_then_a_retry_shows_the_recorded_result(
    camera: Camera,
    engine: Any,
) -> None:
    from app.audit.models import AuditEntry
    from app.courses.models import QuizAttempt
    from app.web.i18n import JS_STRINGS

    course_id, bank = seed_course(engine, auto_certificate=False)
    _, enrollment_id = face_enrolled_learner(
        engine, course_id, username="sunli", real_name="孙丽", seq=55
    )
    set_enrollment(engine, enrollment_id, credited_ms=60_000)  # the required minute studied

    page, errors = camera.learner_page("sunli", seconds=60)
    page.goto(f"{camera.base}/quiz/{enrollment_id}")
    run_check(page, "quiz-check")
    page.wait_for_selector("#paper:not([hidden])")
    answer_right(page, bank)

    # The first submission reaches the server, which records it; its answer is lost on the way
    # back (the connection drops after the server answered).
    answered: list[int] = []

    def lose_the_answer(route: Any) -> None:
        answered.append(route.fetch().status)
        route.abort("connectionreset")

    submit_url = "**/api/v1/quiz-attempts/*/submit"
    page.route(submit_url, lose_the_answer)
    page.click("#submit-quiz")
    page.wait_for_function(
        "text => document.getElementById('quiz-result').textContent === text",
        arg=JS_STRINGS["network"],
    )
    assert answered == [200]
    assert page.locator("#submit-quiz").is_enabled()
    assert page.locator("#paper").is_visible()
    page.unroute(submit_url)

    # She submits again: the server refuses a second submission and says what the first scored;
    # the page shows that, in the words and the places of a normal finish.
    page.click("#submit-quiz")
    page.wait_for_selector("#quiz-result[data-passed='1']")
    expected = (
        JS_STRINGS["quiz_result_pass"]
        .replace("{score}", "100")
        .replace("{correct}", "3")
        .replace("{total}", "3")
    )
    assert page.inner_text("#quiz-result") == expected
    assert page.locator("#quiz-result").get_attribute("class") == "status ok"
    assert page.locator("#paper").is_hidden()
    assert page.inner_text("#attempts-left") == "2"
    assert page.locator("#attempts-used").is_hidden()
    assert page.locator("#quiz-again").is_hidden()  # passed: no other go offered
    assert page.locator("#attempt-record").is_visible()
    assert page.locator("#attempt-list li").last.inner_text() == expected

    with Session(engine) as s:
        [attempt] = s.exec(select(QuizAttempt)).all()
        assert attempt.score == 100 and attempt.passed
        submitted = s.exec(
            select(AuditEntry).where(col(AuditEntry.action) == "quiz.attempt_submitted")
        ).all()
        assert len(submitted) == 1
    assert not errors, errors
