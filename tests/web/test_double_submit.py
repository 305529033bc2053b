"""A staff form that makes something, sent twice (a double click, a reload of the POST, the back
button and send again): the second makes nothing and goes where the first went, saying so. The
form carries a one-use token (``once``) claimed with the change; a refused form keeps it usable,
another form's token is its own; a form without one (a page from before) works as it did."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.courses.models import Course, CourseClass, Lesson, OfflineSession, Question
from app.web.render import FLASH_COOKIE
from tests.web.staff_world import COURSE_FORM, World, class_form, offline_form, sign_in


def _once(html: str, form_id: str) -> str:
    form = html[html.index(f'id="{form_id}"') :]
    (token,) = re.findall(r'name="once" value="([0-9a-f]{32})"', form[: form.index("</form>")])
    return token


def _count(engine: Any, model: Any, *where: Any) -> int:
    with Session(engine) as s:
        return int(s.exec(select(func.count()).select_from(model).where(*where)).one())


def _twice(client: TestClient, url: str, data: dict[str, str]) -> tuple[Any, Any]:
    first = client.post(url, data=data, follow_redirects=False)
    assert first.status_code == 303, first.text
    client.cookies.delete(FLASH_COOKIE)
    again = client.post(url, data=data, follow_redirects=False)
    return first, again


def test_a_new_lesson_sent_twice_is_one_lesson(client: TestClient, engine: Any) -> None:
    w = World(engine)
    csrf = sign_in(client, w.staff.username)
    page = client.get(f"/staff/courses/{w.draft.id}")
    once = _once(page.text, "new-lesson-form")
    lesson = {"csrf": csrf, "once": once, "title": "第一课 安全用电", "kind": "text"}
    url = f"/staff/courses/{w.draft.id}/lessons"
    # refused first (no minutes): the token is not spent
    refused = client.post(url, data={**lesson, "body_or_url": "内容", "minutes": "很久"})
    assert refused.status_code == 422
    assert _once(refused.text, "new-lesson-form") != once  # a fresh one on the page again
    first, again = _twice(client, url, {**lesson, "body_or_url": "触电急救。", "minutes": "30"})
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert again.cookies.get(FLASH_COOKIE) == "form_already_sent"
    assert "刚才已经提交过" in client.get(again.headers["location"]).text
    assert _count(engine, Lesson, col(Lesson.course_id) == w.draft.id) == 1
    # the next form on the page has its own token: a second lesson is made
    once2 = _once(client.get(f"/staff/courses/{w.draft.id}").text, "new-lesson-form")
    r = client.post(
        url,
        data={**lesson, "once": once2, "body_or_url": "绝缘工具。", "minutes": "20"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.cookies.get(FLASH_COOKIE) == "lesson_added"
    # a page from before (no token): as it was
    r = client.post(
        url,
        data={"csrf": csrf, "title": "第三课", "kind": "text", "body_or_url": "x", "minutes": "5"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _count(engine, Lesson, col(Lesson.course_id) == w.draft.id) == 3


def test_an_offline_session_sent_twice_is_one_session(client: TestClient, engine: Any) -> None:
    w = World(engine)
    csrf = sign_in(client, w.staff.username)
    url = f"/staff/classes/{w.doing.class_id}/offline"
    once = _once(client.get(url).text, "offline-form")
    form = offline_form(w, csrf, once=once)
    first, again = _twice(client, url, form)
    assert first.headers["location"].startswith("/staff/offline/")
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert again.cookies.get(FLASH_COOKIE) == "form_already_sent"
    assert _count(engine, OfflineSession, col(OfflineSession.class_id) == w.doing.class_id) == 1


def test_a_new_class_sent_twice_is_one_class_not_a_code_taken(
    client: TestClient, engine: Any
) -> None:
    w = World(engine)
    csrf = sign_in(client, w.staff.username)
    url = f"/staff/courses/{w.course.id}/classes"
    form = class_form(w, csrf, once=_once(client.get(url).text, "class-form"))
    first, again = _twice(client, url, form)
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert again.cookies.get(FLASH_COOKIE) == "form_already_sent"
    assert _count(engine, CourseClass, col(CourseClass.code) == "2026-05") == 1
    # the same token on another form's address is that form's own: it makes its session
    other = client.post(
        f"/staff/classes/{w.doing.class_id}/offline",
        data=offline_form(w, csrf, once=form["once"]),
        follow_redirects=False,
    )
    assert other.status_code == 303, other.text
    assert other.cookies.get(FLASH_COOKIE) == "offline_scheduled"
    assert _count(engine, OfflineSession) == 1


def test_a_new_course_sent_twice_is_one_draft(client: TestClient, engine: Any) -> None:
    w = World(engine)
    csrf = sign_in(client, w.staff.username)
    page = client.get("/staff/courses/new")
    form = {"csrf": csrf, "once": _once(page.text, "new-course-form"), **COURSE_FORM}
    drafts = _count(engine, Course, col(Course.institution_id) == w.inst.id)
    first, again = _twice(client, "/staff/courses/new", form)
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert again.cookies.get(FLASH_COOKIE) == "form_already_sent"
    assert _count(engine, Course, col(Course.institution_id) == w.inst.id) == drafts + 1


def test_a_new_question_sent_twice_is_one_question(client: TestClient, engine: Any) -> None:
    w = World(engine)
    csrf = sign_in(client, w.staff.username)
    once = _once(client.get(f"/staff/courses/{w.draft.id}").text, "new-question-form")
    question = {
        "csrf": csrf,
        "once": once,
        "kind": "single",
        "stem": "油温六成热约为多少度？",
        "option": ["180℃", "100℃"],
        "answer": ["0"],
    }
    before = _count(engine, Question, col(Question.course_id) == w.draft.id)
    first, again = _twice(client, f"/staff/courses/{w.draft.id}/questions", question)
    assert again.status_code == 303 and again.headers["location"] == first.headers["location"]
    assert again.cookies.get(FLASH_COOKIE) == "form_already_sent"
    assert _count(engine, Question, col(Question.course_id) == w.draft.id) == before + 1
