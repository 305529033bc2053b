"""The learner's course page (the subsidy it pays and what that requires; when the quiz opens)
and the quiz page's refusal while the course's rule keeps the quiz closed."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.courses import exceptions as cx
from app.courses.models import Level, QuizOpens
from app.db import transaction
from app.programmes.models import SubsidyStandard
from tests.factories import (
    certified,
    face_learner,
    make_course,
    make_enrollment,
    make_institution,
    make_learner,
    set_enrollment,
    sign_in,
    subsidy_standard,
)


def _subsidy(html: str) -> str:
    start = html.index('id="subsidy"')
    return html[start : html.index("</section>", start)]


def test_the_course_page_shows_the_subsidy_and_what_it_requires(
    client: TestClient, engine: Any
) -> None:
    inst = make_institution(engine)
    course = make_course(
        engine,
        inst,
        occupation_code="6-31-01-03",
        level=Level.level4,
        subsidy_fen=150_000,
        required_minutes=90,
        pass_score=70,
        quiz_opens=QuizOpens.after_hours,
    )
    learner = make_learner(engine, inst)
    sign_in(client, learner.username)
    page = client.get(f"/courses/{course.id}")
    assert page.status_code == 200
    box = _subsidy(page.text)
    # The amount is the regulator's standard in force for the institution's region, in words.
    assert 'data-available="1"' in box and 'data-amount-fen="150000"' in box
    assert "1500.00 元/人" in box and "第 1 版" in box and "2000-01-01 起施行" in box
    assert "有效学时达到 90 分钟" in box and "考试成绩达到 70 分" in box
    assert "每人每年最多享受 3 次" in box and "您 " in box and "已享受 0 次" in box
    assert "同一职业同一等级只能享受一次补贴" in box
    # The programme's own rules, for this learner: this standard is open to everyone.
    assert 'data-rule="target_group" data-passed="1"' in box and "该项目不限人员类别" in box
    # When the quiz opens, from the course's setting.
    rule = re.search(r'id="quiz-rule" data-opens="after_hours">([^<]+)<', page.text)
    assert rule and "学完要求的 90 分钟有效学时后方可参加考试" in rule.group(1)

    # A granted subsidy for the same occupation and level rules this course out, and says so.
    cert = certified(engine, learner, inst, occupation_code="6-31-01-03", level=Level.level4)
    box = _subsidy(client.get(f"/courses/{course.id}").text)
    assert 'data-available="0"' in box and "已享受 1 次" in box
    assert f"您已就该职业等级享受过补贴（证书 {cert.serial}）" in box

    en = _subsidy(client.get(f"/courses/{course.id}?lang=en").text)
    assert "Training subsidy" in en and "1500.00 yuan per learner" in en
    assert f"certificate {cert.serial}" in en
    client.get("/my", params={"lang": "zh"})


def test_no_standard_in_force_is_said_honestly(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine)
    course = make_course(engine, inst, occupation_code="4-10-01-05", subsidy_fen=0)
    learner = make_learner(engine, inst)
    sign_in(client, learner.username)
    box = _subsidy(client.get(f"/courses/{course.id}").text)
    assert 'data-available="0"' in box and "data-amount-fen" not in box
    assert "目前没有适用于本课程的补贴标准" in box and "元/人" not in box
    # The regulator publishes one: the page shows it at once.
    subsidy_standard(engine, "4-10-01-05", course.level, amount_fen=180_000)
    box = _subsidy(client.get(f"/courses/{course.id}").text)
    assert "1800.00 元/人" in box and 'data-available="1"' in box


@pytest.mark.slow
def test_the_quiz_page_refuses_as_the_api_does_until_the_hours_are_done(
    client: TestClient, engine: Any
) -> None:
    inst = make_institution(engine)
    course = make_course(engine, inst, required_minutes=30, quiz_opens=QuizOpens.after_hours)
    learner, _h = face_learner(client, engine, inst)
    eid = make_enrollment(engine, learner, course).id
    set_enrollment(engine, eid, credited_ms=12 * 60_000)
    sign_in(client, learner.username)
    page = client.get(f"/quiz/{eid}")
    assert page.status_code == 200
    closed = re.search(r'id="quiz-closed" data-code="([a-z_]+)"', page.text)
    assert closed and closed.group(1) == "quiz_not_open"
    assert cx.QuizNotOpen.message_zh in page.text
    assert "已完成有效学时 12 分钟，要求 30 分钟，还差 18 分钟" in page.text
    assert '<div id="quiz-start" hidden>' in page.text

    set_enrollment(engine, eid, credited_ms=30 * 60_000)
    page = client.get(f"/quiz/{eid}")
    assert 'id="quiz-closed"' not in page.text and '<div id="quiz-start">' in page.text


def test_the_programmes_rules_say_what_the_learner_lacks(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine)
    course = make_course(engine, inst, occupation_code="4-10-01-05", subsidy_fen=0)
    standard = subsidy_standard(engine, "4-10-01-05", course.level, amount_fen=180_000)
    assert standard is not None
    with transaction(engine) as s:  # the regulator's programme is for the unemployed only
        row = s.get(SubsidyStandard, standard.id)
        assert row is not None
        row.target_groups = ["unemployed"]
        row.max_per_year = 2
        s.add(row)
    learner = make_learner(engine, inst)
    sign_in(client, learner.username)
    box = _subsidy(client.get(f"/courses/{course.id}").text)
    assert 'data-available="0"' in box and "1800.00 元/人" in box
    assert 'data-rule="target_group" data-passed="0"' in box and "该项目面向失业人员" in box
    assert "每人每年最多享受 2 次" in box  # the programme's yearly limit
