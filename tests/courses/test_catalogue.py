"""Courses, lessons, question banks, publishing, the catalogue and enrolment over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit.service import Actor
from app.courses import service as courses
from app.courses.exceptions import EnrollmentNotFound, InvalidCourse
from app.courses.models import Course, CourseStatus, Enrollment, Lesson, Level
from app.db import transaction
from app.errors import Forbidden
from tests.factories import (
    audit_actions,
    audit_log,
    login,
    make_course,
    make_enrollment,
    make_institution,
    make_learner,
    make_user,
)

API = "/api/v1"


def course_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "低压电工作业（中级）",
        "occupation_code": "6-31-01-03",
        "occupation_name": "电工",
        "level": "level4",
        "required_minutes": 120,
        "pass_score": 60,
        "subsidy_fen": 150_000,
        "rollcall": {
            "min_interval_s": 5,
            "max_interval_s": 10,
            "response_window_s": 30,
            "min_pass_rate": 80,
        },
    }
    body.update(over)
    return body


def rollcall(**over: Any) -> dict[str, Any]:
    return {**course_body()["rollcall"], **over}


@pytest.fixture
def staff(client: TestClient, engine: Any) -> tuple[Any, dict[str, str]]:
    inst = make_institution(engine)
    user = make_user(engine, Role.staff, inst)
    return inst, login(client, user.username)


def add_lesson(client: TestClient, h: dict[str, str], cid: str, **over: Any) -> Any:
    body = {"title": "第一课 安全用电", "kind": "text", "body_or_url": "正文", "minutes": 30}
    return client.post(f"{API}/courses/{cid}/lessons", json={**body, **over}, headers=h)


def add_question(client: TestClient, h: dict[str, str], cid: str, **over: Any) -> Any:
    body = {"kind": "single", "stem": "安全电压是多少？", "options": ["36V", "220V"], "answer": [0]}
    return client.post(f"{API}/courses/{cid}/questions", json={**body, **over}, headers=h)


# ---------------------------------------------------------------- creating and reading


def test_staff_create_a_draft_that_only_they_and_regulators_see(
    client: TestClient, engine: Any, staff: Any
) -> None:
    inst, h = staff
    body = course_body(
        description="面向在岗电工",
        quiz={"question_count": 5, "time_limit_s": 600, "max_attempts": 2},
    )
    body["rollcall"] |= {"daily_cap_minutes": 240, "credit_policy": "lenient"}
    r = client.post(f"{API}/courses", json=body, headers=h)
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["status"] == "draft" and c["institution_id"] == str(inst.id)
    assert c["level_name_zh"] == "四级/中级工" and c["published_at"] is None
    assert c["rollcall"] == {
        "min_interval_s": 5,
        "max_interval_s": 10,
        "response_window_s": 30,
        "min_pass_rate": 80,
        "daily_cap_minutes": 240,
        "credit_policy": "lenient",
        "heartbeat_interval_s": 30,
    }
    # A course that does not say when its quiz opens gets the default: after the required hours.
    assert c["quiz"] == {
        "question_count": 5,
        "time_limit_s": 600,
        "max_attempts": 2,
        "opens": "after_hours",
    }
    with Session(engine) as s:
        stored = s.get(Course, uuid.UUID(c["id"]))
        assert stored is not None and stored.rollcall_min_interval_s == 5
        assert stored.quiz_max_attempts == 2 and stored.daily_cap_minutes == 240

    url = f"{API}/courses/{c['id']}"
    assert client.get(url, headers=h).status_code == 200
    regulator = make_user(engine, Role.regulator)
    assert client.get(url, headers=login(client, regulator.username)).status_code == 200
    learner = make_learner(engine, inst)  # even a learner of the same institution
    hl = login(client, learner.username)
    r = client.get(url, headers=hl)
    assert (r.status_code, r.json()["code"]) == (404, "course_not_found")
    other = make_user(engine, Role.staff, make_institution(engine))
    r = client.get(url, headers=login(client, other.username))
    assert (r.status_code, r.json()["code"]) == (404, "course_not_found")
    assert "course.created" in audit_actions(engine, f"course:{c['id']}")


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"level": "level6"}, "validation_error"),
        ({"level": "高级工"}, "validation_error"),
        ({"required_minutes": 0}, "validation_error"),
        ({"pass_score": 101}, "validation_error"),
        ({"pass_score": -1}, "validation_error"),
        ({"subsidy_fen": -1}, "validation_error"),
        ({"title": ""}, "validation_error"),
        ({"title": "   "}, "invalid_course"),
        ({"title": "bad\x00title"}, "invalid_text"),  # control characters: issue 12
        ({"rollcall": rollcall(min_interval_s=60, max_interval_s=30)}, "invalid_course"),
        ({"rollcall": rollcall(min_interval_s=4)}, "validation_error"),
        ({"rollcall": rollcall(response_window_s=9)}, "validation_error"),
        ({"rollcall": rollcall(min_pass_rate=101)}, "validation_error"),
        ({"rollcall": rollcall(credit_policy="generous")}, "validation_error"),
        ({"quiz": {"question_count": 0}}, "validation_error"),
        ({"unknown_field": 1}, "validation_error"),
    ],
)
def test_course_validation(
    client: TestClient, engine: Any, staff: Any, over: dict[str, Any], code: str
) -> None:
    _, h = staff
    r = client.post(f"{API}/courses", json=course_body(**over), headers=h)
    assert (r.status_code, r.json()["code"]) == (422, code), r.text
    with Session(engine) as s:
        assert s.exec(select(Course)).all() == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("level", "level0"),
        ("required_minutes", 0),
        ("pass_score", 101),
        ("subsidy_fen", -5),
        ("rollcall_min_interval_s", 4),
        ("rollcall_response_window_s", 9),
        ("rollcall_min_pass_rate", -1),
        ("quiz_max_attempts", 0),
    ],
)
def test_service_checks_bounds_without_http(engine: Any, field: str, value: Any) -> None:
    """The service enforces the rules itself, for callers that skip the request schemas."""
    inst = make_institution(engine)
    principal = Principal.of_user(make_user(engine, Role.staff, inst))
    kw: dict[str, Any] = {
        "title": "t",
        "occupation_code": "x",
        "occupation_name": "y",
        "level": "level5",
        "required_minutes": 1,
        "pass_score": 60,
        "subsidy_fen": 0,
    }
    policy = courses.CoursePolicy()
    if field in kw:
        kw[field] = value
    else:
        policy = courses.CoursePolicy(**{field: value})
    with pytest.raises(InvalidCourse), transaction(engine) as session:
        courses.create_course(session, principal, policy=policy, **kw)


def test_only_staff_create_courses(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    r = client.post(f"{API}/courses", json=course_body(), headers=login(client, learner.username))
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    regulator = make_user(engine, Role.regulator)
    r = client.post(f"{API}/courses", json=course_body(), headers=login(client, regulator.username))
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    with transaction(engine) as session:
        _, key = accounts.create_api_key(
            session, institution_id=inst.id, name="p", scopes=["courses:read"], actor=Actor.system()
        )
    r = client.post(
        f"{API}/courses", json=course_body(), headers={"Authorization": f"Bearer {key}"}
    )
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    admin = make_user(engine, Role.admin)
    r = client.post(f"{API}/courses", json=course_body(), headers=login(client, admin.username))
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")  # no institution to own it
    assert client.post(f"{API}/courses", json=course_body()).status_code == 401


# ---------------------------------------------------------------- lessons and questions


def test_lessons(client: TestClient, engine: Any, staff: Any) -> None:
    _, h = staff
    cid = client.post(f"{API}/courses", json=course_body(), headers=h).json()["id"]
    assert add_lesson(client, h, cid).status_code == 201
    r = add_lesson(
        client, h, cid, title="第二课 视频", kind="video", body_or_url="https://v.example.cn/2.mp4"
    )
    assert r.status_code == 201, r.text
    assert r.json()["position"] == 2
    for bad in (
        "ftp://v.example.cn/2.mp4",
        "javascript:alert(1)",
        "v.example.cn/2.mp4",
        "https://",
    ):
        r = add_lesson(client, h, cid, kind="video", body_or_url=bad)
        assert (r.status_code, r.json()["code"]) == (422, "invalid_lesson"), bad
    assert add_lesson(client, h, cid, minutes=0).json()["code"] == "validation_error"
    assert add_lesson(client, h, cid, kind="audio").json()["code"] == "validation_error"
    lessons = client.get(f"{API}/courses/{cid}/lessons", headers=h).json()
    assert [(x["position"], x["kind"]) for x in lessons] == [(1, "text"), (2, "video")]


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"answer": [0, 1]}, "invalid_question"),  # single: exactly one
        ({"answer": []}, "invalid_question"),
        ({"answer": [2]}, "invalid_question"),  # out of range
        ({"answer": [-1]}, "invalid_question"),
        ({"options": ["只有一个"]}, "invalid_question"),
        ({"options": ["同", "同"]}, "invalid_question"),
        ({"options": ["A", " "]}, "invalid_question"),
        ({"kind": "multiple", "answer": []}, "invalid_question"),
        ({"kind": "multiple", "answer": [0, 0]}, "invalid_question"),
        ({"kind": "judge", "options": ["对", "错", "不确定"]}, "invalid_question"),
        ({"kind": "judge", "answer": [0, 1]}, "invalid_question"),
        ({"kind": "essay"}, "validation_error"),
        ({"answer": ["a"]}, "validation_error"),
        ({"options": [f"o{i}" for i in range(11)]}, "validation_error"),
    ],
)
def test_question_validation(
    client: TestClient, engine: Any, staff: Any, over: dict[str, Any], code: str
) -> None:
    _, h = staff
    cid = client.post(f"{API}/courses", json=course_body(), headers=h).json()["id"]
    r = add_question(client, h, cid, **over)
    assert (r.status_code, r.json()["code"]) == (422, code), r.text


def test_questions_kinds_and_who_sees_answers(client: TestClient, engine: Any, staff: Any) -> None:
    inst, h = staff
    body = course_body(quiz={"question_count": 3})
    cid = client.post(f"{API}/courses", json=body, headers=h).json()["id"]
    r = add_question(client, h, cid, kind="judge", options=None, answer=[1])
    assert r.status_code == 201, r.text
    assert r.json()["options"] == ["正确", "错误"] and r.json()["answer"] == [1]
    r = add_question(client, h, cid, kind="multiple", options=["A", "B", "C", "D"], answer=[3, 0])
    assert r.status_code == 201 and r.json()["answer"] == [0, 3]
    listed = client.get(f"{API}/courses/{cid}/questions", headers=h).json()
    assert [q["kind"] for q in listed] == ["judge", "multiple"]
    assert all("answer" in q for q in listed)
    entries = [p for _, p in audit_log(engine, action="question.added")]
    assert len(entries) == 2 and all("answer" not in p and "content_sha256" in p for p in entries)

    add_lesson(client, h, cid, minutes=120)
    add_question(client, h, cid)
    assert client.post(f"{API}/courses/{cid}/publish", headers=h).status_code == 200
    # published: learners, regulators and other staff read the course, never the bank
    learner = make_learner(engine, inst)
    regulator = make_user(engine, Role.regulator)
    other = make_user(engine, Role.staff, make_institution(engine))
    for user in (learner, regulator, other):
        hu = login(client, user.username)
        assert client.get(f"{API}/courses/{cid}", headers=hu).status_code == 200
        assert client.get(f"{API}/courses/{cid}/lessons", headers=hu).status_code == 200
        r = client.get(f"{API}/courses/{cid}/questions", headers=hu)
        assert (r.status_code, r.json()["code"]) == (403, "forbidden"), user.role


def test_other_institutions_cannot_write(client: TestClient, engine: Any, staff: Any) -> None:
    inst, h = staff
    draft = client.post(f"{API}/courses", json=course_body(), headers=h).json()["id"]
    published = make_course(engine, inst)
    other = make_user(engine, Role.staff, make_institution(engine))
    ho = login(client, other.username)

    # another institution's draft does not exist for them; its published course is not theirs
    assert add_lesson(client, ho, draft).json()["code"] == "course_not_found"
    assert add_question(client, ho, draft).json()["code"] == "course_not_found"
    r = client.post(f"{API}/courses/{draft}/publish", headers=ho)
    assert (r.status_code, r.json()["code"]) == (404, "course_not_found")
    r = add_lesson(client, ho, str(published.id))
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    r = add_question(client, ho, str(published.id))
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    # learners never write
    learner = make_learner(engine, inst)
    hl = login(client, learner.username)
    r = add_lesson(client, hl, str(published.id))
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    r = client.get(f"{API}/courses/{uuid.uuid4()}", headers=h)
    assert (r.status_code, r.json()["code"]) == (404, "course_not_found")
    with Session(engine) as s:
        assert s.exec(select(Lesson).where(col(Lesson.course_id) == uuid.UUID(draft))).all() == []


def test_publish_needs_a_lesson_and_a_full_quiz(
    client: TestClient, engine: Any, staff: Any
) -> None:
    _, h = staff
    body = course_body(quiz={"question_count": 2, "time_limit_s": 600, "max_attempts": 3})
    cid = client.post(f"{API}/courses", json=body, headers=h).json()["id"]
    url = f"{API}/courses/{cid}/publish"
    r = client.post(url, headers=h)
    assert (r.status_code, r.json()["code"]) == (409, "course_incomplete")
    assert len(r.json()["missing"]) == 2 and r.json()["questions"] == 0
    add_lesson(client, h, cid)
    add_question(client, h, cid)
    r = client.post(url, headers={**h, "Accept-Language": "en"})
    assert (r.status_code, r.json()["code"]) == (409, "course_incomplete")
    hours_en = (
        "90 more minutes of lessons (the lessons add up to 30 minutes, the course requires "
        "120): add or lengthen lessons, or lower the course's required minutes"
    )
    hours_zh = (
        "再增加 90 分钟课时（各课时合计 30 分钟，课程要求 120 分钟学时）："
        "请添加或延长课时，或降低课程要求学时"
    )
    assert r.json()["missing"] == [
        "1 more quiz questions (a quiz draws 2, the bank has 1)",
        hours_en,
    ]
    assert r.json()["missing_zh"] == ["再添加 1 道试题（每次考试抽 2 题，题库现有 1 题）", hours_zh]
    assert "1 more quiz questions" in r.json()["detail"]
    add_question(client, h, cid, kind="judge", options=None, answer=[0])
    # The course-hour norm: its lessons (30 minutes) must add up to its 120 required minutes.
    r = client.post(url, headers=h)
    assert (r.status_code, r.json()["code"]) == (409, "course_hours_short")
    body = r.json()
    assert (body["required_minutes"], body["lesson_minutes"], body["minutes_short"]) == (
        120,
        30,
        90,
    )
    assert (body["missing"], body["missing_zh"]) == ([hours_en], [hours_zh])
    assert body["message_zh"] == "课程尚不能发布：各课时时长之和少于课程要求的学时。"
    add_lesson(client, h, cid, title="第二课 触电急救", minutes=89)
    r = client.post(url, headers=h)
    assert (r.status_code, r.json()["minutes_short"]) == (409, 1)
    add_lesson(client, h, cid, title="第三课 复习", minutes=1)
    r = client.post(url, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "published" and r.json()["published_at"]
    assert client.post(url, headers=h).status_code == 200  # repeatable, audited once
    assert audit_actions(engine, f"course:{cid}") == ["course.created", "course.published"]
    # a published course is frozen: nothing is added to it, nothing is written
    for r in (add_lesson(client, h, cid), add_question(client, h, cid)):
        assert (r.status_code, r.json()["code"]) == (409, "course_published")
    assert audit_actions(engine, f"course:{cid}") == ["course.created", "course.published"]
    with Session(engine) as s:
        lessons = s.exec(select(Lesson).where(col(Lesson.course_id) == uuid.UUID(cid))).all()
        assert len(lessons) == 3


# ---------------------------------------------------------------- catalogue


def test_catalogue_filters_and_pagination(client: TestClient, engine: Any, clock: Any) -> None:
    a, b = make_institution(engine), make_institution(engine)
    made = [
        make_course(engine, a, occupation_code="6-31-01-03", level=Level.level4),
        make_course(engine, a, occupation_code="6-31-01-03", level=Level.level3),
        make_course(engine, b, occupation_code="6-31-01-03", level=Level.level4),
        make_course(engine, b, occupation_code="4-10-01-01", level=Level.special),
        make_course(engine, b, occupation_code="4-10-01-01", level=Level.level5),
    ]
    clock.advance(seconds=5)
    made.append(make_course(engine, a, occupation_code="4-10-01-01", level=Level.level4))
    drafts = [make_course(engine, a, publish=False), make_course(engine, b, publish=False)]
    learner = make_learner(engine)
    h = login(client, learner.username)

    def ids(**params: Any) -> list[str]:
        r = client.get(f"{API}/courses", params=params, headers=h)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["items"]]

    everything = ids()
    assert sorted(everything) == sorted(str(c.id) for c in made)
    assert not {str(d.id) for d in drafts} & set(everything)
    assert everything[-1] == str(made[-1].id)  # oldest first
    assert set(ids(occupation_code="6-31-01-03")) == {str(c.id) for c in made[:3]}
    assert set(ids(level="level4")) == {str(made[i].id) for i in (0, 2, 5)}
    assert set(ids(occupation_code="4-10-01-01", level="special")) == {str(made[3].id)}
    assert set(ids(institution_id=str(b.id))) == {str(c.id) for c in made[2:5]}
    assert ids(institution_id=str(uuid.uuid4())) == []
    r = client.get(f"{API}/courses", params={"level": "level9"}, headers=h)
    assert r.json()["code"] == "validation_error"

    # pages of two, with five courses sharing one created_at: the id breaks the tie
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{API}/courses", params=params, headers=h).json()
        seen += [c["id"] for c in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == everything
    r = client.get(f"{API}/courses", params={"cursor": "not-a-cursor"}, headers=h)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_input")
    r = client.get(f"{API}/courses", params={"occupation_code": "6-31\x00"}, headers=h)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_input")  # not a 500 on PostgreSQL

    # partners read with the courses:read scope only
    with transaction(engine) as session:
        _, ok = accounts.create_api_key(
            session, institution_id=a.id, name="r", scopes=["courses:read"], actor=Actor.system()
        )
        _, no = accounts.create_api_key(
            session, institution_id=a.id, name="v", scopes=["verify"], actor=Actor.system()
        )
    r = client.get(f"{API}/courses", headers={"Authorization": f"Bearer {ok}"})
    assert r.status_code == 200 and len(r.json()["items"]) == len(made)
    r = client.get(f"{API}/courses/{drafts[0].id}", headers={"Authorization": f"Bearer {ok}"})
    assert r.status_code == 200  # its own institution's draft
    r = client.get(f"{API}/courses/{drafts[1].id}", headers={"Authorization": f"Bearer {ok}"})
    assert r.status_code == 404
    r = client.get(f"{API}/courses", headers={"Authorization": f"Bearer {no}"})
    assert (r.status_code, r.json()["code"]) == (403, "insufficient_scope")


# ---------------------------------------------------------------- enrolment


def test_enrol_once_and_list_my_enrollments(client: TestClient, engine: Any) -> None:
    inst, other_inst = make_institution(engine), make_institution(engine)
    course = make_course(engine, inst, title="电工上岗培训")
    draft = make_course(engine, inst, publish=False)
    learner = make_learner(engine, other_inst)  # learners may enrol anywhere
    h = login(client, learner.username)

    r = client.post(f"{API}/courses/{course.id}/enrol", headers=h)
    assert r.status_code == 201, r.text
    eid = r.json()["enrollment_id"]
    r = client.post(f"{API}/courses/{course.id}/enrol", headers=h)
    assert (r.status_code, r.json()["code"]) == (409, "already_enrolled")
    assert r.json()["enrollment_id"] == eid
    r = client.post(f"{API}/courses/{draft.id}/enrol", headers=h)
    assert (r.status_code, r.json()["code"]) == (404, "course_not_found")
    staff = make_user(engine, Role.staff, inst)
    r = client.post(f"{API}/courses/{course.id}/enrol", headers=login(client, staff.username))
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")

    with Session(engine) as s:
        e = s.exec(select(Enrollment)).one()
        assert str(e.id) == eid and e.institution_id == inst.id and e.user_id == learner.id
    mine = client.get(f"{API}/me/enrollments", headers=h).json()
    assert [(m["enrollment_id"], m["course_title"]) for m in mine] == [(eid, "电工上岗培训")]
    assert mine[0]["required_minutes"] == 60 and mine[0]["completed_at"] is None
    assert client.get(f"{API}/me/enrollments", headers=login(client, staff.username)).json() == []
    assert audit_actions(engine, f"enrollment:{eid}") == ["enrollment.created"]


def test_enrollment_visibility(engine: Any) -> None:
    inst, other_inst = make_institution(engine), make_institution(engine)
    course = make_course(engine, inst)
    learner = make_learner(engine)
    enrollment = make_enrollment(engine, learner, course)
    with transaction(engine) as session:
        keys = {}
        for name, institution, scopes in (
            ("read", inst, ["courses:read"]),
            ("verify", inst, ["verify"]),
            ("elsewhere", other_inst, ["courses:read"]),
        ):
            key, _ = accounts.create_api_key(
                session,
                institution_id=institution.id,
                name=name,
                scopes=scopes,
                actor=Actor.system(),
            )
            keys[name] = Principal.of_key(key)
    sees = {
        "self": Principal.of_user(learner),
        "staff": Principal.of_user(make_user(engine, Role.staff, inst)),
        "regulator": Principal.of_user(make_user(engine, Role.regulator)),
        "key": keys["read"],
    }
    blind = {
        "other learner": Principal.of_user(make_learner(engine, inst)),
        "other staff": Principal.of_user(make_user(engine, Role.staff, other_inst)),
        "key without scope": keys["verify"],
        "other key": keys["elsewhere"],
    }
    with transaction(engine, reading=True) as session:
        for name, p in sees.items():
            assert courses.get_enrollment_for(session, p, enrollment.id).id == enrollment.id, name
        for name, p in blind.items():
            with pytest.raises(EnrollmentNotFound):
                courses.get_enrollment_for(session, p, enrollment.id)
            assert name
        with pytest.raises(EnrollmentNotFound):
            courses.get_enrollment_for(session, sees["regulator"], uuid.uuid4())


def test_create_course_refuses_non_staff_in_the_service(engine: Any) -> None:
    learner = make_learner(engine, make_institution(engine))
    with pytest.raises(Forbidden), transaction(engine) as session:
        courses.create_course(
            session,
            Principal.of_user(learner),
            title="t",
            occupation_code="x",
            occupation_name="y",
            level="level5",
            required_minutes=1,
            pass_score=60,
            subsidy_fen=0,
        )
    with Session(engine) as s:
        assert s.exec(select(Course).where(col(Course.status) == CourseStatus.draft)).all() == []


def test_openapi_documents_course_error_codes(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()["paths"]

    def codes(path: str, method: str, status: str) -> list[str]:
        content = spec[path][method]["responses"][status]["content"]
        return content["application/problem+json"]["schema"]["properties"]["code"]["enum"]

    assert "invalid_course" in codes("/api/v1/courses", "post", "422")
    assert "course_incomplete" in codes("/api/v1/courses/{course_id}/publish", "post", "409")
    assert "course_hours_short" in codes("/api/v1/courses/{course_id}/publish", "post", "409")
    assert "already_enrolled" in codes("/api/v1/courses/{course_id}/enrol", "post", "409")
    start = "/api/v1/enrollments/{enrollment_id}/quiz-attempts"
    assert {"attempt_open", "attempt_limit_reached"} <= set(codes(start, "post", "409"))
    assert "face_mismatch" in codes(start, "post", "403")
    submit = "/api/v1/quiz-attempts/{attempt_id}/submit"
    # attempt_closed, plus the Idempotency-Key codes every POST may answer with
    assert set(codes(submit, "post", "409")) == {
        "attempt_closed",
        "idempotency_request_in_progress",
        "idempotency_response_too_large",
    }
    assert "invalid_answers" in codes(submit, "post", "422")
