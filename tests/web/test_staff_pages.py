"""Staff pages over HTTP (no browser): courses, lessons and the question bank edited while a
draft, publishing, the frozen published course, learners and their progress, certificate issue
and revocation, and the claim exports; who may do what; CSRF; the audit entries; and the REST
endpoints that edit drafts.

Enrolments are built directly in the database (tests/certificates/factories.py): the study and
face rules are tested elsewhere; here only what staff see and do.
"""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
import zipfile
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.accounts.principal import Principal
from app.audit.models import AuditEntry
from app.certificates.models import Certificate, CertificateStatus
from app.courses import service as courses
from app.courses.models import Course, CourseStatus, Enrollment, Lesson, Question
from app.db import transaction
from tests import factories
from tests.factories import login, make_learner
from tests.web.staff_world import COURSE_FORM, World, draft_course, sign_in

API = "/api/v1"


# ---------------------------------------------------------------- helpers


def audits(engine: Any, action: str, subject: str | None = None) -> list[AuditEntry]:
    with Session(engine) as s:
        stmt = select(AuditEntry).where(col(AuditEntry.action) == action)
        if subject is not None:
            stmt = stmt.where(col(AuditEntry.subject) == subject)
        return list(s.exec(stmt.order_by(col(AuditEntry.id))))


def reload(engine: Any, cls: Any, row_id: uuid.UUID) -> Any:
    with Session(engine) as s:
        return s.get(cls, row_id)


def lessons_of(engine: Any, course_id: uuid.UUID) -> list[Lesson]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(Lesson)
                .where(col(Lesson.course_id) == course_id)
                .order_by(col(Lesson.position))
            )
        )


def questions_of(engine: Any, course_id: uuid.UUID) -> list[Question]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(Question)
                .where(col(Question.course_id) == course_id)
                .order_by(col(Question.created_at), col(Question.id))
            )
        )


def with_content(engine: Any, staff: User, course: Course, lessons: int = 1) -> None:
    with transaction(engine) as s:
        p = Principal.of_user(staff)
        # The lessons add up to the course's required minutes (publishing needs that).
        each = -(-course.required_minutes // lessons)
        for n in range(lessons):
            courses.add_lesson(
                s,
                p,
                course.id,
                title=f"第 {n + 1} 课",
                kind="text",
                body_or_url="正文",
                minutes=each,
            )
        for n in range(course.quiz_question_count):
            courses.add_question(
                s, p, course.id, kind="single", stem=f"题目 {n}", options=["甲", "乙"], answer=[0]
            )


def published_course(engine: Any, staff: User, **kw: Any) -> Course:
    course = draft_course(engine, staff, **kw)
    with_content(engine, staff, course)
    with transaction(engine) as s:
        return courses.publish_course(s, Principal.of_user(staff), course.id)


# ---------------------------------------------------------------- pages render


def test_each_page_renders_for_its_staff(client: TestClient, engine: Any) -> None:
    w = World(engine)
    cert = factories.issue(engine, w.learner, w.done)
    sign_in(client, w.staff.username)

    page = client.get("/staff/courses")
    assert page.status_code == 200
    assert "草稿课程" in page.text and "低压电工作业" in page.text
    assert 'href="/staff/courses"' in page.text and 'href="/staff/claims"' in page.text  # nav
    item = page.text[page.text.index(f'id="course-{w.course.id}"') :]
    item = item[: item.index("</li>")]
    assert re.findall(r"<dd>(\d+)</dd>", item) == ["0", "0", "2", "1"]  # lessons … completed
    assert "unsafe-inline" not in page.headers["content-security-policy"]

    for url, words in (
        (
            "/staff/courses/new",
            ["新建课程", 'name="min_interval"', 'name="min_interval_unit"', 'name="credit_policy"'],
        ),
        (f"/staff/courses/{w.draft.id}", ["发布课程", "添加课时", "添加试题", "保存设置"]),
        (f"/staff/courses/{w.course.id}", ["已冻结，只能查看", "学员与进度"]),
        (
            f"/staff/courses/{w.course.id}/learners",
            ["赵小红", "钱小白", "农民工", cert.serial, "还需完成", w.learner.id_number_masked],
        ),
        (f"/staff/enrollments/{w.done.id}", ["赵小红", cert.serial, "撤销证书", "人脸验证记录"]),
        (f"/staff/enrollments/{w.doing.id}", ["钱小白", "尚未完成", "颁发证书"]),
        ("/staff/claims", ["补贴申报", "申领人次", "下载 CSV"]),
    ):
        r = client.get(url)
        assert r.status_code == 200, (url, r.text[:500])
        for word in words:
            assert str(word) in r.text, (url, word)
        assert " style=" not in r.text and "<style" not in r.text
        assert re.search(r"<script(?![^>]*(src=|application/json))", r.text) is None
        en = client.get(url, params={"lang": "en"})
        assert en.status_code == 200
        client.get(url, params={"lang": "zh"})
    published = client.get(f"/staff/courses/{w.course.id}").text
    assert "<form" not in published.split("</header>", 1)[1]  # read-only
    # The full ID number is never on the page, only its masked form.
    assert "*" in (w.learner.id_number_masked or "")
    en = client.get("/staff/courses", params={"lang": "en"}).text
    assert "Courses" in en and "New course" in en and "Subsidy claims" in en


def test_enrollment_page_links_flagged_checks_to_the_review_queue(
    client: TestClient, engine: Any
) -> None:
    from app.attendance.models import AttendanceEvent, Outcome, Purpose, ReviewStatus

    w = World(engine)
    with transaction(engine) as s:
        flagged = AttendanceEvent(
            user_id=w.learner.id,
            institution_id=w.inst.id,
            purpose=Purpose.rollcall,
            accept_threshold="0.3800",
            reject_threshold="0.5000",
            model_name="test",
            model_version="1",
            match_metric="euclidean",
            face_engine="test",
            model_sha256="0" * 64,
            outcome=Outcome.review,
            review_status=ReviewStatus.pending,
            best_distance="0.4321",
        )
        passed = AttendanceEvent(
            user_id=w.learner.id,
            institution_id=w.inst.id,
            purpose=Purpose.checkin,
            accept_threshold="0.3800",
            reject_threshold="0.5000",
            model_name="test",
            model_version="1",
            match_metric="euclidean",
            face_engine="test",
            model_sha256="0" * 64,
            outcome=Outcome.passed,
            best_distance="0.2100",
        )
        s.add(flagged)
        s.add(passed)
        s.flush()
        flagged_id, passed_id = flagged.id, passed.id
    sign_in(client, w.staff.username)
    page = client.get(f"/staff/enrollments/{w.done.id}").text
    assert f'href="/staff/review#ev-{flagged_id}"' in page and "0.4321" in page
    row = page[page.index(f'id="ev-{passed_id}"') :]
    row = row[: row.index("</tr>")]
    assert "review-link" not in row and "签到" in row and "通过" in row


def test_learners_are_paged(
    client: TestClient, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.web.staff import learners as staff_pages

    w = World(engine)
    third = factories.enrollment_row(
        engine, make_learner(engine, w.inst, real_name="孙三"), w.course
    )
    monkeypatch.setattr(staff_pages, "LEARNERS_PAGE", 2)
    sign_in(client, w.staff.username)
    first = client.get(f"/staff/courses/{w.course.id}/learners").text
    assert first.count('<tr id="enr-') == 2 and f'id="enr-{third.id}"' not in first
    nxt = re.search(r'href="([^"]+)" id="next-page"', first)
    assert nxt
    second = client.get(nxt.group(1).replace("&amp;", "&")).text
    assert second.count('<tr id="enr-') == 1 and f'id="enr-{third.id}"' in second
    assert 'id="next-page"' not in second and 'id="prev-page"' in second


# ---------------------------------------------------------------- creating and editing


def test_create_a_course_through_the_form(client: TestClient, engine: Any) -> None:
    w = World(engine)
    csrf = sign_in(client, w.staff.username)
    # Not numbers, and a roll-call minimum above the maximum: refused in words, input kept.
    bad = {**COURSE_FORM, "csrf": csrf, "required_minutes": "三小时", "subsidy_yuan": "1.234"}
    r = client.post("/staff/courses/new", data=bad)
    assert r.status_code == 422
    assert 'data-field="required_minutes"' in r.text and "请输入整数" in r.text
    assert 'data-field="subsidy_fen"' in r.text and "最多两位小数" in r.text
    assert 'value="养老护理员（初级）"' in r.text and 'value="三小时"' in r.text
    # Durations are a number and a unit: 40 minutes is above the 30-minute maximum; the rule
    # says its bounds in units, not seconds.
    bad = {**COURSE_FORM, "csrf": csrf, "min_interval": "40"}
    r = client.post("/staff/courses/new", data=bad)
    assert r.status_code == 422
    err = re.search(r'data-field="min_interval_s">([^<]+)<', r.text)
    assert err and "不长于最长间隔" in err.group(1) and "5 秒 至 24 小时" in err.group(1)
    assert 'value="40"' in r.text and '<option value="min" selected>' in r.text
    # Not a number, or not a whole second: refused in words, before the service.
    for number, unit in (("十", "min"), ("0.3", "s"), ("10", "day")):
        bad = {**COURSE_FORM, "csrf": csrf, "time_limit": number, "time_limit_unit": unit}
        r = client.post("/staff/courses/new", data=bad)
        assert r.status_code == 422, (number, unit)
        err = re.search(r'data-field="time_limit_s">([^<]+)<', r.text)
        assert err and "请输入数字并选择单位" in err.group(1) and "30 秒 至 24 小时" in err.group(1)
    r = client.post("/staff/courses/new", data={**COURSE_FORM, "csrf": csrf, "title": "  "})
    assert r.status_code == 422 and 'data-field="title"' in r.text and "必填" in r.text
    en = client.post(
        "/staff/courses/new?lang=en", data={**COURSE_FORM, "csrf": csrf, "pass_score": "101"}
    )
    assert en.status_code == 422 and "A whole number from 0 to 100." in en.text
    client.get("/staff/courses", params={"lang": "zh"})
    with Session(engine) as s:
        titles = [c.title for c in s.exec(select(Course))]
    assert "养老护理员（初级）" not in titles

    r = client.post(
        "/staff/courses/new",
        data={**COURSE_FORM, "csrf": csrf, "require_each_lesson": "on"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    course_id = uuid.UUID(r.headers["location"].rsplit("/", 1)[1])
    page = client.get(r.headers["location"])
    assert "课程草稿已创建" in page.text and "养老护理员（初级）" in page.text
    course = reload(engine, Course, course_id)
    assert course.institution_id == w.inst.id and course.status is CourseStatus.draft
    assert course.subsidy_fen == 150_050 and course.credit_policy.value == "lenient"
    assert course.quiz_question_count == 2 and course.quiz_time_limit_s == 1200  # 20 分钟
    # 10 minutes and half an hour, stored in seconds as the API has them.
    assert (course.rollcall_min_interval_s, course.rollcall_max_interval_s) == (600, 1800)
    assert course.quiz_opens.value == "after_hours"
    assert course.require_each_lesson  # the checkbox: every lesson must be finished
    assert 'name="require_each_lesson" value="on" checked' in page.text
    assert len(audits(engine, "course.created", f"course:{course_id}")) == 1


def test_edit_a_draft_then_publish(client: TestClient, engine: Any) -> None:
    w = World(engine)
    csrf = sign_in(client, w.staff.username)
    cid = w.draft.id
    base = f"/staff/courses/{cid}"

    # Settings: a bad value is refused next to its field; a good one saved and audited.
    form = {**COURSE_FORM, "csrf": csrf, "title": "中式烹调师（初级）第二版"}
    r = client.post(base, data={**form, "response_window": "5"})
    assert r.status_code == 422 and 'data-field="response_window_s"' in r.text
    assert "10 秒 至 1 小时" in r.text and 'value="中式烹调师（初级）第二版"' in r.text
    r = client.post(base, data=form, follow_redirects=False)
    assert r.status_code == 303
    assert reload(engine, Course, cid).title == "中式烹调师（初级）第二版"
    [entry] = audits(engine, "course.updated", f"course:{cid}")
    changed = json.loads(entry.payload)["changed"]
    assert changed["title"] == ["草稿课程", "中式烹调师（初级）第二版"]
    assert changed["credit_policy"] == ["strict", "lenient"]

    # Publishing with nothing in it says what is missing, in words.
    r = client.post(f"{base}/publish", data={"csrf": csrf})
    assert r.status_code == 409 and "至少一个课时" in r.text and "再添加 2 道试题" in r.text
    assert reload(engine, Course, cid).status is CourseStatus.draft

    # Lessons: three added, a bad one refused, the third moved first, one edited, one removed.
    for n in (1, 2, 3):
        r = client.post(
            f"{base}/lessons",
            data={
                "csrf": csrf,
                "title": f"课时{n}",
                "kind": "text",
                "body_or_url": "正文",
                "minutes": "10",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303
    r = client.post(
        f"{base}/lessons",
        data={
            "csrf": csrf,
            "title": "视频",
            "kind": "video",
            "body_or_url": "ftp://x",
            "minutes": "5",
        },
    )
    assert r.status_code == 422 and 'data-field="body_or_url"' in r.text and "http://" in r.text
    assert 'value="视频"' in r.text and ">ftp://x</textarea>" in r.text
    r = client.post(
        f"{base}/lessons",
        data={"csrf": csrf, "title": "x", "kind": "text", "body_or_url": "y", "minutes": "0"},
    )
    assert r.status_code == 422 and 'data-field="minutes"' in r.text
    l1, l2, l3 = lessons_of(engine, cid)
    r = client.post(
        f"{base}/lessons/{l3.id}/move", data={"csrf": csrf, "to": "1"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert [x.title for x in lessons_of(engine, cid)] == ["课时3", "课时1", "课时2"]
    r = client.post(
        f"{base}/lessons/{l1.id}",
        data={
            "csrf": csrf,
            "title": "课时一",
            "kind": "video",
            "body_or_url": "https://v.example/1.mp4",
            "minutes": "12",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    edited = reload(engine, Lesson, l1.id)
    assert (edited.title, edited.kind.value, edited.minutes) == ("课时一", "video", 12)
    r = client.post(f"{base}/lessons/{l2.id}/remove", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert [(x.title, x.position) for x in lessons_of(engine, cid)] == [("课时3", 1), ("课时一", 2)]

    # Questions: single, multiple and judge (default options) through the form.
    def add_q(**data: Any) -> Any:
        return client.post(f"{base}/questions", data={"csrf": csrf, **data}, follow_redirects=False)

    r = add_q(
        kind="single", stem="油温六成热约为多少度？", option=["180℃", "", "100℃", ""], answer=["0"]
    )
    assert r.status_code == 303
    r = add_q(
        kind="multiple", stem="哪些是刀工技法？", option=["切", "片", "煮"], answer=["0", "1"]
    )
    assert r.status_code == 303
    r = add_q(kind="judge", stem="生熟砧板应分开使用。", option=["", ""], answer=["0"])
    assert r.status_code == 303
    single, multiple, judge = questions_of(engine, cid)
    assert (single.options, single.answer) == (["180℃", "100℃"], [0])
    assert (multiple.options, multiple.answer) == (["切", "片", "煮"], [0, 1])
    assert (judge.options, judge.answer) == (["正确", "错误"], [0])
    # Refusals in words, input kept: two answers for a single choice; a ticked blank row.
    r = add_q(kind="single", stem="两个答案？", option=["甲", "乙"], answer=["0", "1"])
    assert r.status_code == 422 and 'data-field="answer"' in r.text and "勾选一个" in r.text
    assert ">两个答案？</textarea>" in r.text and 'value="乙"' in r.text
    r = add_q(kind="single", stem="空行", option=["甲", "乙", ""], answer=["2"])
    assert r.status_code == 422 and 'data-field="answer"' in r.text
    r = add_q(kind="single", stem="重复", option=["甲", "甲"], answer=["0"])
    assert r.status_code == 422 and 'data-field="options"' in r.text and "互不相同" in r.text
    r = client.post(
        f"{base}/questions/{single.id}",
        data={
            "csrf": csrf,
            "kind": "single",
            "stem": "油温六成热约为？",
            "option": ["150–180℃", "100℃"],
            "answer": ["0"],
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert reload(engine, Question, single.id).options == ["150–180℃", "100℃"]
    r = client.post(
        f"{base}/questions/{multiple.id}/remove", data={"csrf": csrf}, follow_redirects=False
    )
    assert r.status_code == 303 and len(questions_of(engine, cid)) == 2

    # Every change is in the audit trail, in the same transaction as the change.
    for action, subject in (
        ("lesson.added", None),
        ("lesson.moved", f"lesson:{l3.id}"),
        ("lesson.updated", f"lesson:{l1.id}"),
        ("lesson.removed", f"lesson:{l2.id}"),
        ("question.added", None),
        ("question.updated", f"question:{single.id}"),
        ("question.removed", f"question:{multiple.id}"),
    ):
        assert audits(engine, action, subject), action
    assert len(audits(engine, "lesson.added")) == 3 and len(audits(engine, "question.added")) == 3
    moved = json.loads(audits(engine, "lesson.moved")[0].payload)
    assert (moved["from"], moved["to"]) == (3, 1)
    updated_q = json.loads(audits(engine, "question.updated")[0].payload)
    assert "150" not in json.dumps(updated_q, ensure_ascii=False)  # the key stays out

    # The lessons add up to 22 minutes, the course requires 180: refused, in words.
    r = client.post(f"{base}/publish", data={"csrf": csrf})
    assert r.status_code == 409 and "再增加 158 分钟课时" in r.text
    assert "各课时合计 22 分钟；课程要求 180 分钟学时" in r.text
    assert reload(engine, Course, cid).status is CourseStatus.draft
    r = client.post(base, data={**form, "required_minutes": "22"}, follow_redirects=False)
    assert r.status_code == 303

    r = client.post(f"{base}/publish", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    page = client.get(base).text
    assert "课程已发布" in page and "已冻结，只能查看" in page
    assert reload(engine, Course, cid).status is CourseStatus.published
    assert len(audits(engine, "course.published", f"course:{cid}")) == 1


def test_a_published_course_is_frozen(client: TestClient, engine: Any) -> None:
    w = World(engine)
    course = published_course(engine, w.staff, title="已发布课程")
    [lesson] = lessons_of(engine, course.id)
    question = questions_of(engine, course.id)[0]
    csrf = sign_in(client, w.staff.username)
    base = f"/staff/courses/{course.id}"
    page = client.get(base).text
    assert "已冻结，只能查看" in page and "添加课时" not in page and "修改此题" not in page
    before = len(audits(engine, "course.updated")) + len(audits(engine, "lesson.added"))
    lesson_form = {"csrf": csrf, "title": "新", "kind": "text", "body_or_url": "x", "minutes": "1"}
    q_form = {"csrf": csrf, "kind": "single", "stem": "新", "option": ["a", "b"], "answer": ["0"]}
    for url, data in (
        (base, {**COURSE_FORM, "csrf": csrf}),
        (f"{base}/lessons", lesson_form),
        (f"{base}/lessons/{lesson.id}", lesson_form),
        (f"{base}/lessons/{lesson.id}/move", {"csrf": csrf, "to": "1"}),
        (f"{base}/lessons/{lesson.id}/remove", {"csrf": csrf}),
        (f"{base}/questions", q_form),
        (f"{base}/questions/{question.id}", q_form),
        (f"{base}/questions/{question.id}/remove", {"csrf": csrf}),
    ):
        r = client.post(url, data=data, follow_redirects=False)
        assert r.status_code == 409, url
        assert "课程已发布" in r.text and "不能修改" in r.text, url
    assert reload(engine, Course, course.id).title == "已发布课程"
    assert [x.id for x in lessons_of(engine, course.id)] == [lesson.id]
    assert len(questions_of(engine, course.id)) == 2
    after = len(audits(engine, "course.updated")) + len(audits(engine, "lesson.added"))
    assert after == before
    # The REST API says the same, with its stable code (adding included).
    h = login(client, w.staff.username)
    new_lesson = {"title": "新课时", "kind": "text", "body_or_url": "内容", "minutes": 5}
    new_question = {"kind": "judge", "stem": "对吗？", "answer": [0]}
    for method, url, body in (
        ("POST", f"{API}/courses/{course.id}/lessons", new_lesson),
        ("POST", f"{API}/courses/{course.id}/questions", new_question),
        ("PATCH", f"{API}/courses/{course.id}", {"title": "x"}),
        ("PATCH", f"{API}/courses/{course.id}/lessons/{lesson.id}", {"position": 1}),
        ("DELETE", f"{API}/courses/{course.id}/lessons/{lesson.id}", None),
        ("PATCH", f"{API}/courses/{course.id}/questions/{question.id}", {"stem": "x"}),
        ("DELETE", f"{API}/courses/{course.id}/questions/{question.id}", None),
    ):
        r = client.request(method, url, json=body, headers=h)
        assert r.status_code == 409 and r.json()["code"] == "course_published", url
    assert [x.id for x in lessons_of(engine, course.id)] == [lesson.id]
    assert len(questions_of(engine, course.id)) == 2


def test_form_posts_without_csrf_are_refused(client: TestClient, engine: Any) -> None:
    w = World(engine)
    with_content(engine, w.staff, w.draft, lessons=2)
    [l1, _l2] = lessons_of(engine, w.draft.id)
    q = questions_of(engine, w.draft.id)[0]
    sign_in(client, w.staff.username)
    base = f"/staff/courses/{w.draft.id}"
    for url, data in (
        ("/staff/courses/new", COURSE_FORM),
        (base, COURSE_FORM),
        (f"{base}/publish", {}),
        (f"{base}/lessons", {"title": "x", "kind": "text", "body_or_url": "y", "minutes": "1"}),
        (f"{base}/lessons/{l1.id}/move", {"to": "2"}),
        (f"{base}/lessons/{l1.id}/remove", {}),
        (f"{base}/questions/{q.id}/remove", {}),
        (f"/staff/enrollments/{w.done.id}/certificate", {}),
        (f"/staff/enrollments/{w.done.id}/revoke", {"reason": "x", "confirm": "yes"}),
    ):
        r = client.post(url, data=data, follow_redirects=False)
        assert r.status_code == 403 and r.json()["code"] == "csrf_failed", url
        r = client.post(url, data={**data, "csrf": "forged-" + "x" * 30}, follow_redirects=False)
        assert r.status_code == 403, url
    assert reload(engine, Course, w.draft.id).status is CourseStatus.draft
    assert lessons_of(engine, w.draft.id)[0].id == l1.id
    with Session(engine) as s:
        assert not s.exec(select(Certificate)).all()


# ---------------------------------------------------------------- who may do what


def test_other_institutions_learners_and_regulators_are_refused(
    client: TestClient, engine: Any
) -> None:
    w = World(engine)
    cert = factories.issue(engine, w.learner, w.done)
    pages = [
        f"/staff/courses/{w.draft.id}",
        f"/staff/courses/{w.course.id}",
        f"/staff/courses/{w.course.id}/learners",
        f"/staff/enrollments/{w.done.id}",
    ]
    # Not signed in: to the login page.
    for url in ["/staff/courses", "/staff/claims", *pages]:
        r = client.get(url, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), url

    # Staff of another institution: not found, nothing changes, no rows of the other claims.
    csrf = sign_in(client, w.stranger.username)
    listing = client.get("/staff/courses").text
    assert "草稿课程" not in listing and "低压电工作业" not in listing
    for url in pages:
        r = client.get(url)
        assert r.status_code == 404, url
        assert "赵小红" not in r.text and "草稿课程" not in r.text
    for url, data in (
        (f"/staff/courses/{w.draft.id}", {**COURSE_FORM, "csrf": csrf}),
        (f"/staff/courses/{w.draft.id}/publish", {"csrf": csrf}),
        (
            f"/staff/courses/{w.draft.id}/lessons",
            {"csrf": csrf, "title": "x", "kind": "text", "body_or_url": "y", "minutes": "1"},
        ),
        (f"/staff/enrollments/{w.doing.id}/certificate", {"csrf": csrf}),
        (
            f"/staff/enrollments/{w.done.id}/revoke",
            {"csrf": csrf, "reason": "伪造", "confirm": "yes"},
        ),
    ):
        r = client.post(url, data=data, follow_redirects=False)
        assert r.status_code == 404, url
    assert reload(engine, Course, w.draft.id).title == "草稿课程"
    assert reload(engine, Certificate, cert.id).status is CertificateStatus.valid
    assert not lessons_of(engine, w.draft.id)
    claims_page = client.get("/staff/claims").text
    assert cert.serial not in claims_page and 'data-count="0"' in claims_page
    csv_bytes = client.get(
        "/staff/claims/download", params={"year": cert.issued_at.year, "quarter": 1}
    ).content
    assert cert.serial.encode() not in csv_bytes

    # Learners and regulators: the staff-only page, for every page and every form.
    for person in (w.learner, w.regulator):
        csrf = sign_in(client, person.username)
        for url in ["/staff/courses", "/staff/courses/new", "/staff/claims", *pages]:
            r = client.get(url)
            assert r.status_code == 403 and "工作人员" in r.text, (person.role, url)
        for url in (
            f"/staff/courses/{w.draft.id}/publish",
            f"/staff/enrollments/{w.done.id}/certificate",
        ):
            r = client.post(url, data={"csrf": csrf}, follow_redirects=False)
            assert r.status_code == 403, (person.role, url)
        r = client.get("/staff/claims/download", params={"year": 2026, "quarter": 1})
        assert r.status_code == 403
    assert reload(engine, Course, w.draft.id).status is CourseStatus.draft


# ---------------------------------------------------------------- certificates


def test_issue_and_revoke_through_the_pages(client: TestClient, engine: Any) -> None:
    w = World(engine)
    csrf = sign_in(client, w.staff.username)
    url = f"/staff/enrollments/{w.doing.id}"
    # Not complete: refused with what is missing, in words.
    r = client.post(f"{url}/certificate", data={"csrf": csrf})
    assert r.status_code == 409 and 'data-code="not_complete"' in r.text
    assert "还需完成 60 分钟有效学时" in r.text and "需通过考试" in r.text
    en = client.post(f"{url}/certificate?lang=en", data={"csrf": csrf})
    assert "60 more verified minutes of study" in en.text
    client.get(url, params={"lang": "zh"})

    factories.complete(engine, w.doing.id)
    r = client.post(f"{url}/certificate", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == url
    page = client.get(url).text
    assert "培训合格证明已颁发" in page
    with Session(engine) as s:
        cert = s.exec(select(Certificate).where(col(Certificate.enrollment_id) == w.doing.id)).one()
    assert cert.serial in page
    [issued] = audits(engine, "certificate.issued", f"certificate:{cert.serial}")
    assert issued.actor == f"user:{w.staff.id}"

    # Revoke: a reason is required; then a confirmation that shows it; then revoked.
    r = client.post(f"{url}/revoke", data={"csrf": csrf, "reason": "  "})
    assert r.status_code == 422 and "请填写撤销原因" in r.text
    r = client.post(f"{url}/revoke", data={"csrf": csrf, "reason": "考试作弊，经核查属实"})
    assert r.status_code == 200 and 'id="revoke-confirm"' in r.text
    assert "考试作弊，经核查属实" in r.text and "确认撤销" in r.text
    assert reload(engine, Certificate, cert.id).status is CertificateStatus.valid
    assert not audits(engine, "certificate.revoked")
    r = client.post(
        f"{url}/revoke",
        data={"csrf": csrf, "reason": "考试作弊，经核查属实", "confirm": "yes"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    after = reload(engine, Certificate, cert.id)
    assert (
        after.status is CertificateStatus.revoked and after.revoked_reason == "考试作弊，经核查属实"
    )
    [revoked] = audits(engine, "certificate.revoked", f"certificate:{cert.serial}")
    assert json.loads(revoked.payload)["reason"] == "考试作弊，经核查属实"
    page = client.get(url).text
    assert "证书已撤销" in page and 'data-status="revoked"' in page and "revoke-form" not in page
    learners = client.get(f"/staff/courses/{w.course.id}/learners").text
    assert cert.serial in learners and "已撤销" in learners
    # Revoking twice: refused in words.
    r = client.post(f"{url}/revoke", data={"csrf": csrf, "reason": "再次", "confirm": "yes"})
    assert r.status_code == 409 and "已被撤销" in r.text


def test_issuing_twice_names_the_existing_serial(client: TestClient, engine: Any) -> None:
    w = World(engine)
    cert = factories.issue(engine, w.learner, w.done)
    csrf = sign_in(client, w.staff.username)
    r = client.post(f"/staff/enrollments/{w.done.id}/certificate", data={"csrf": csrf})
    # The page already shows the certificate (no issue button), yet a stale form is answered.
    assert r.status_code == 409 and cert.serial in r.text
    assert len(audits(engine, "certificate.issued")) == 1


# ---------------------------------------------------------------- claims


def test_claim_downloads_equal_the_api(client: TestClient, engine: Any, clock: Any) -> None:
    w = World(engine)
    clock.set(datetime(2026, 2, 3, 4, 0, tzinfo=UTC))
    a = factories.certified(engine, w.learner, w.inst, subsidy_fen=150_000)
    b = factories.certified(  # another occupation: the amount is its standard's
        engine,
        make_learner(engine, w.inst, real_name="周五"),
        w.inst,
        subsidy_fen=80_050,
        occupation_code="4-10-01-05",
    )
    clock.set(datetime(2026, 4, 2, tzinfo=UTC))
    later = factories.certified(engine, make_learner(engine, w.inst), w.inst)
    sign_in(client, w.staff.username)

    page = client.get("/staff/claims", params={"year": 2026, "quarter": 1})
    assert page.status_code == 200
    assert 'data-count="2"' in page.text and 'data-total-fen="230050"' in page.text
    assert ">2300.50<" in page.text and a.serial in page.text and b.serial in page.text
    assert later.serial not in page.text
    # The current quarter by default (the clock is in Q2).
    default = client.get("/staff/claims").text
    assert later.serial in default and a.serial not in default

    h = login(client, w.staff.username)
    params = {"year": 2026, "quarter": 1}
    ours = client.get("/staff/claims/download", params={**params, "format": "csv"})
    theirs = client.get(f"{API}/subsidy-claims", params={**params, "format": "csv"}, headers=h)
    assert ours.status_code == theirs.status_code == 200
    assert ours.content == theirs.content
    assert ours.headers["content-type"] == theirs.headers["content-type"]
    assert ours.headers["content-disposition"] == theirs.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(ours.content.decode("utf-8-sig"))))
    assert [r[7] for r in rows[1:-1]] == [a.serial, b.serial]

    ours = client.get("/staff/claims/download", params={**params, "format": "xlsx"})
    theirs = client.get(f"{API}/subsidy-claims", params={**params, "format": "xlsx"}, headers=h)
    assert ours.headers["content-type"] == theirs.headers["content-type"]
    assert ours.headers["content-disposition"] == theirs.headers["content-disposition"]
    mine, api = (
        zipfile.ZipFile(io.BytesIO(ours.content)),
        zipfile.ZipFile(io.BytesIO(theirs.content)),
    )
    assert mine.namelist() == api.namelist()
    for name in mine.namelist():
        if name == "docProps/core.xml":  # openpyxl stamps its own wall-clock creation time
            continue
        assert mine.read(name) == api.read(name), name

    bad = client.get("/staff/claims", params={"year": 2026, "quarter": 5})
    assert bad.status_code == 422 and "申领期间有误" in bad.text
    bad = client.get("/staff/claims", params={"year": "二〇二六", "quarter": 1})
    assert bad.status_code == 422 and "申领期间有误" in bad.text
    r = client.get("/staff/claims/download", params={**params, "format": "pdf"})
    assert r.status_code == 422 and "申领期间有误" in r.text


# ---------------------------------------------------------------- REST: editing drafts


def test_rest_edits_of_a_draft(client: TestClient, engine: Any) -> None:
    w = World(engine)
    with_content(engine, w.staff, w.draft, lessons=3)
    l1, l2, l3 = lessons_of(engine, w.draft.id)
    q1, q2 = questions_of(engine, w.draft.id)
    h = login(client, w.staff.username)
    base = f"{API}/courses/{w.draft.id}"

    r = client.patch(base, json={"title": "新标题", "rollcall": {"min_interval_s": 900}}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["title"] == "新标题" and body["rollcall"]["min_interval_s"] == 900
    assert body["rollcall"]["max_interval_s"] == 1800 and body["pass_score"] == 60
    r = client.patch(base, json={"rollcall": {"min_interval_s": 3000}}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "invalid_course"
    assert r.json()["field"] == "min_interval_s"
    r = client.patch(base, json={"title": " "}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "invalid_course"
    n = len(audits(engine, "course.updated"))
    assert client.patch(base, json={"title": "新标题"}, headers=h).status_code == 200
    assert len(audits(engine, "course.updated")) == n  # nothing changed, nothing written

    r = client.patch(f"{base}/lessons/{l3.id}", json={"position": 1, "minutes": 7}, headers=h)
    assert r.status_code == 200 and r.json()["position"] == 1 and r.json()["minutes"] == 7
    assert [x.id for x in lessons_of(engine, w.draft.id)] == [l3.id, l1.id, l2.id]
    r = client.patch(f"{base}/lessons/{l3.id}", json={"position": 4}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "invalid_lesson"
    r = client.patch(f"{base}/lessons/{l1.id}", json={"kind": "video"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "body_or_url"
    r = client.delete(f"{base}/lessons/{l1.id}", headers=h)
    assert r.status_code == 204 and r.content == b""
    assert [(x.id, x.position) for x in lessons_of(engine, w.draft.id)] == [(l3.id, 1), (l2.id, 2)]
    assert client.delete(f"{base}/lessons/{l1.id}", headers=h).json()["code"] == "lesson_not_found"

    r = client.patch(
        f"{base}/questions/{q1.id}",
        json={"kind": "multiple", "options": ["甲", "乙", "丙"], "answer": [0, 2]},
        headers=h,
    )
    assert r.status_code == 200 and r.json()["answer"] == [0, 2]
    r = client.patch(f"{base}/questions/{q1.id}", json={"kind": "judge"}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "invalid_question"
    assert client.delete(f"{base}/questions/{q2.id}", headers=h).status_code == 204
    assert [q.id for q in questions_of(engine, w.draft.id)] == [q1.id]
    # A lesson of another course is not found through this one.
    other = published_course(engine, w.staff)
    [foreign] = lessons_of(engine, other.id)
    r = client.patch(f"{base}/lessons/{foreign.id}", json={"minutes": 3}, headers=h)
    assert r.status_code == 404 and r.json()["code"] == "lesson_not_found"

    # Staff of another institution: not found; learners: refused by role.
    stranger = login(client, w.stranger.username)
    r = client.patch(base, json={"title": "x"}, headers=stranger)
    assert r.status_code == 404 and r.json()["code"] == "course_not_found"
    assert client.delete(f"{base}/questions/{q1.id}", headers=stranger).status_code == 404
    learner = login(client, w.learner.username)
    assert client.patch(base, json={"title": "x"}, headers=learner).status_code == 403
    assert reload(engine, Course, w.draft.id).title == "新标题"
    for action in ("course.updated", "lesson.moved", "lesson.updated", "lesson.removed"):
        assert audits(engine, action), action
    assert audits(engine, "question.updated") and audits(engine, "question.removed")


def test_enrollment_rows_are_not_a_query_each(client: TestClient, engine: Any) -> None:
    """The learners page loads learners with their enrolments and certificates in bulk."""
    from sqlalchemy import event

    w = World(engine)
    for n in range(6):
        e = factories.enrollment_row(
            engine, make_learner(engine, w.inst, real_name=f"学员{n}"), w.course
        )
        factories.issue(engine, reload(engine, User, e.user_id), e)
    sign_in(client, w.staff.username)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    from app.db import get_engine

    app_engine = get_engine()
    event.listen(app_engine, "before_cursor_execute", count)
    try:
        page = client.get(f"/staff/courses/{w.course.id}/learners")
    finally:
        event.remove(app_engine, "before_cursor_execute", count)
    assert page.status_code == 200 and page.text.count('<tr id="enr-') == 8
    assert len(statements) < 15, statements
    with Session(engine) as s:
        assert len(s.exec(select(Enrollment)).all()) == 8


def test_upload_a_video_lesson_through_the_course_page(
    client: TestClient, engine: Any, tmp_path: Any
) -> None:
    from app.courses.models import Lesson
    from tests.video_clips import source_mp4, webm_clip

    w = World(engine)
    csrf = sign_in(client, w.staff.username)
    base = f"/staff/courses/{w.draft.id}"
    assert 'id="add-video-lesson"' in client.get(base).text
    clip = webm_clip(tmp_path / "lesson.webm", seconds=4, width=160)

    def upload(path: Any, minutes: str = "1") -> Any:
        with path.open("rb") as f:
            return client.post(
                f"{base}/lessons/video",
                data={"csrf": csrf, "title": "消防演示", "minutes": minutes},
                files={"file": (path.name, f, "application/octet-stream")},
                follow_redirects=False,
            )

    refused = upload(source_mp4())  # MPEG-4 Part 2: refused in words, next to the file
    assert refused.status_code == 422 and 'data-field="file"' in refused.text
    assert "H.264" in refused.text and 'value="消防演示"' in refused.text
    too_long = upload(clip, minutes="3")  # 4 s of video cannot require 3 minutes
    assert too_long.status_code == 422 and 'data-field="minutes"' in too_long.text
    r = upload(clip)
    assert r.status_code == 303 and r.headers["location"].endswith("#lessons")
    with Session(engine) as s:
        hosted = s.exec(select(Lesson).where(Lesson.course_id == w.draft.id)).all()
        assert [(x.title, x.video_type, x.duration_ms) for x in hosted if x.video_key] == [
            ("消防演示", "video/webm", 4_000)
        ]
