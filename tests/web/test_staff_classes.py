"""The staff's class pages (no browser): a course's classes, a new class with its errors in
words, 开班 and 结业, enrolling a learner, and the roster with progress by class."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.courses.models import ClassStatus, CourseClass, Enrollment
from tests.factories import audit_log, make_learner
from tests.web.staff_world import World, class_form, sign_in


def test_staff_run_a_class_through_the_pages(client: TestClient, engine: Any) -> None:
    w = World(engine)
    csrf = sign_in(client, w.staff.username)
    page = client.get(f"/staff/courses/{w.course.id}/classes")
    assert page.status_code == 200
    assert 'id="class-form"' in page.text and "默认班" in page.text  # existing enrolments

    bad = client.post(
        f"/staff/courses/{w.course.id}/classes",
        data=class_form(w, csrf, ends_on="2026-05-01", capacity="很多"),
    )
    assert bad.status_code == 422
    assert 'data-field="capacity"' in bad.text and "之间的整数" in bad.text
    backwards = client.post(
        f"/staff/courses/{w.course.id}/classes", data=class_form(w, csrf, ends_on="2026-05-01")
    )
    assert backwards.status_code == 422 and 'data-field="ends_on"' in backwards.text

    r = client.post(
        f"/staff/courses/{w.course.id}/classes", data=class_form(w, csrf), follow_redirects=False
    )
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    taken = client.post(f"/staff/courses/{w.course.id}/classes", data=class_form(w, csrf))
    assert taken.status_code == 409 and "相同期次编号" in taken.text

    newcomer = make_learner(engine, w.inst, real_name="孙立新")
    page = client.get(url)
    assert "孙立新" in page.text and 'id="open-class"' in page.text
    r = client.post(
        f"{url}/enrol",
        data={"csrf": csrf, "learner_id": str(newcomer.id), "employer": "国网北京电力"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    twice = client.post(f"{url}/enrol", data={"csrf": csrf, "learner_id": str(newcomer.id)})
    assert twice.status_code == 409 and "该学员已报名本课程" in twice.text  # not "您已报名"
    assert 'id="enrol-error">该学员已报名本课程' in twice.text
    assert client.post(f"{url}/open", data={"csrf": csrf}, follow_redirects=False).status_code == (
        303
    )
    page = client.get(url)
    assert 'data-status="open"' in page.text and "国网北京电力" in page.text
    assert "还需完成" in page.text  # progress of the class's learner, in words
    assert client.post(f"{url}/close", data={"csrf": csrf}, follow_redirects=False).status_code == (
        303
    )
    page = client.get(url)
    assert 'data-status="closed"' in page.text and 'id="enrol-form"' not in page.text

    class_id = url.rsplit("/", 1)[1]
    with Session(engine) as s:
        k = s.get(CourseClass, uuid.UUID(class_id))
        assert k is not None and k.status is ClassStatus.closed
        e = s.exec(select(Enrollment).where(col(Enrollment.user_id) == newcomer.id)).one()
        assert e.class_id == k.id and e.employer == "国网北京电力"
    actions = [a for a, _ in audit_log(engine, subject=f"class:{class_id}")]
    assert actions == ["class.created", "class.opened", "class.closed"]

    sign_in(client, newcomer.username)  # the learner sees their class on their own page
    mine = client.get("/my").text
    assert (
        '班级：2026年第5期低压电工班（<span class="nowrap">2026-05-06</span> — '
        '<span class="nowrap">2026-06-19</span>）'
    ) in mine


def test_other_institutions_staff_do_not_see_the_class(client: TestClient, engine: Any) -> None:
    w = World(engine)
    csrf = sign_in(client, w.staff.username)
    r = client.post(
        f"/staff/courses/{w.course.id}/classes", data=class_form(w, csrf), follow_redirects=False
    )
    url = r.headers["location"]
    csrf = sign_in(client, w.stranger.username)
    assert client.get(url).status_code == 404
    assert client.get(f"/staff/courses/{w.course.id}/classes").status_code == 404
    r = client.post(f"{url}/open", data={"csrf": csrf})
    assert r.status_code == 404
