"""Class invite codes (班级邀请码, issue 14 item 3): every scheduled class has one; registering
with it (API or page) joins the class's institution and enrols the learner in that class; a
registered learner can join with it too. A code is read leniently (case, hyphen, full-width
forms); a closed class's code is refused like an unknown institution code."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import clock
from app.accounts.exceptions import InstitutionUnavailable
from app.accounts.models import Institution, Role, User
from app.accounts.principal import Principal
from app.courses import invites
from app.courses.classes import AlreadyInClass, InAnotherClass
from app.courses.models import ClassStatus, CourseClass, Enrollment
from app.db import transaction
from tests.factories import (
    PASSWORD,
    audit_actions,
    audit_log,
    course_row,
    csrf_of,
    filed_class,
    id_number,
    login,
    make_institution,
    make_learner,
    make_user,
    self_enrolled,
    sign_in,
    start_session,
)

API = "/api/v1"


def world(engine: Any) -> tuple[Any, Any, CourseClass]:
    inst = make_institution(engine, name="示范职业技能培训学校")
    course = course_row(engine, inst, title="中式烹调师（初级）")
    return inst, course, filed_class(engine, course)


def test_every_scheduled_class_has_a_code_and_registering_with_it_enrols(
    client: TestClient, engine: Any
) -> None:
    inst, course, klass = world(engine)
    code = klass.invite_code
    assert code and re.fullmatch(f"[{invites.ALPHABET}]{{8}}", code)
    typed = invites.shown(code).lower()  # "bk7q-m3xp": read leniently
    r = client.post(
        f"{API}/auth/register",
        json={
            "username": "wangfang",
            "password": PASSWORD,
            "real_name": "王芳",
            "id_number": id_number(seq=51),
            "institution_code": typed,
        },
    )
    assert r.status_code == 201, r.text
    with Session(engine) as s:
        user = s.exec(select(User).where(User.username == "wangfang")).one()
        assert user.institution_id == inst.id
        (e,) = s.exec(select(Enrollment).where(Enrollment.user_id == user.id)).all()
        assert (e.course_id, e.class_id) == (course.id, klass.id)

    # On the page, the code in full-width letters; the learner lands enrolled, told so.
    page = client.get("/register", params={"code": invites.shown(code)})
    assert f'value="{invites.shown(code)}"' in page.text  # the class link fills the code
    wide = {c: chr(ord(c) + 0xFEE0) for c in invites.ALPHABET}  # Ａ, ７…: full-width forms
    full_width = "".join(wide[c] for c in code)
    r = client.post(
        "/register",
        data={
            "csrf": csrf_of(page.text),
            "username": "liqiang",
            "password": PASSWORD,
            "real_name": "李强",
            "id_number": id_number(seq=52),
            "institution_code": full_width,
        },
    )
    assert r.status_code == 200 and "已按班级邀请码报名该班级" in r.text
    with Session(engine) as s:
        user = s.exec(select(User).where(User.username == "liqiang")).one()
        assert user.institution_id == inst.id
        assert s.exec(select(Enrollment.class_id).where(Enrollment.user_id == user.id)).one() == (
            klass.id
        )

    # Staff see the code and the link to hand out.
    staff = make_user(engine, Role.staff, inst)
    sign_in(client, staff.username)
    r = client.get(f"/staff/classes/{klass.id}")
    assert r.status_code == 200 and invites.shown(code) in r.text
    assert f'href="/register?code={invites.shown(code)}"' in r.text


def test_a_closed_class_or_unknown_code_is_refused_and_a_learner_can_join(
    client: TestClient, engine: Any
) -> None:
    inst, course, klass = world(engine)
    assert klass.invite_code
    body = {
        "username": "zhaolei",
        "password": PASSWORD,
        "real_name": "赵磊",
        "id_number": id_number(seq=53),
    }
    r = client.post(f"{API}/auth/register", json={**body, "institution_code": "ZZZZ-ZZZZ"})
    assert r.status_code == 422 and r.json()["code"] == "institution_unavailable"

    learner = make_learner(engine, inst)
    with transaction(engine) as s:
        me = s.get(User, learner.id)
        assert me is not None
        e = invites.join_with_code(s, Principal.of_user(me), invites.shown(klass.invite_code))
        assert e.class_id == klass.id
    other = make_learner(engine, make_institution(engine))
    with transaction(engine) as s:
        them = s.get(User, other.id)
        assert them is not None
        try:
            invites.join_with_code(s, Principal.of_user(them), klass.invite_code)
            raise AssertionError("another institution's learner joined")
        except InstitutionUnavailable:
            pass

    with transaction(engine) as s:
        k = s.get(CourseClass, klass.id)
        assert k is not None
        k.status = ClassStatus.closed
        s.add(k)
    r = client.post(f"{API}/auth/register", json={**body, "institution_code": klass.invite_code})
    assert r.status_code == 422 and r.json()["code"] == "institution_unavailable"
    with Session(engine) as s:
        assert s.exec(select(User).where(User.username == "zhaolei")).first() is None


def test_a_registered_learner_joins_with_the_code_over_the_api_and_on_my_page(
    client: TestClient, engine: Any
) -> None:
    inst, course, klass = world(engine)
    code = invites.shown(klass.invite_code)
    learner = make_learner(engine, inst, real_name="钱进")
    h = login(client, learner.username)
    r = client.post(f"{API}/me/enrollments/by-code", json={"code": "ZZZZ-ZZZZ"}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "institution_unavailable"
    # The same code for partners, in words about a class code (no institution code is asked).
    assert "班级邀请码" in r.json()["message_zh"] and "机构代码" not in r.json()["message_zh"]
    r = client.post(f"{API}/me/enrollments/by-code", json={"code": code}, headers=h)
    assert r.status_code == 201 and r.json()["class_id"] == str(klass.id)
    r = client.post(f"{API}/me/enrollments/by-code", json={"code": code}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "already_enrolled"

    other = make_learner(engine, inst, real_name="孙悦")
    sign_in(client, other.username)
    page = client.get("/my")
    assert 'id="join-form"' in page.text
    bad = client.post("/my/join", data={"csrf": csrf_of(page.text), "code": "NOPE"})
    assert bad.status_code == 422 and 'id="join-error"' in bad.text
    r = client.post(
        "/my/join", data={"csrf": csrf_of(page.text), "code": code}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/my"
    with Session(engine) as s:
        e = s.exec(select(Enrollment).where(Enrollment.user_id == other.id)).one()
        assert e.class_id == klass.id
    assert f'id="class-of-{e.id}"' in client.get("/my").text


def test_a_learner_of_no_institution_chooses_with_a_class_code_on_the_page_and_the_api(
    client: TestClient, engine: Any
) -> None:
    """Choosing later (``/institution``, ``PUT /me/institution``) reads the code as registration
    does: a class code joins the class's institution and enrols the learner in that class."""
    inst, course, klass = world(engine)
    code = invites.shown(klass.invite_code)
    on_page = make_learner(engine, real_name="周敏")
    over_api = make_learner(engine, real_name="吴刚")

    sign_in(client, on_page.username)
    page = client.get("/institution")
    assert "班级邀请码" in page.text
    r = client.post(
        "/institution",
        data={"csrf": csrf_of(page.text), "institution_code": code.lower(), "next": "/my"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/my", r.text

    client.cookies.clear()
    h = login(client, over_api.username)
    r = client.put(f"{API}/me/institution", json={"institution_code": code}, headers=h)
    assert r.status_code == 200 and r.json()["institution_id"] == str(inst.id), r.text

    with Session(engine) as s:
        for learner in (on_page, over_api):
            user = s.get(User, learner.id)
            assert user is not None and user.institution_id == inst.id
            e = s.exec(select(Enrollment).where(Enrollment.user_id == learner.id)).one()
            assert (e.course_id, e.class_id) == (course.id, klass.id)

    # Chosen once: the same code again (a retry) is the same choice and enrolment; another
    # institution is refused (moving is the institutions' business); nothing else is enrolled.
    r = client.put(f"{API}/me/institution", json={"institution_code": code}, headers=h)
    assert r.status_code == 200 and r.json()["institution_id"] == str(inst.id), r.text
    r = client.put(
        f"{API}/me/institution",
        json={"institution_code": make_institution(engine).code},
        headers=h,
    )
    assert r.status_code == 409 and r.json()["code"] == "institution_already_chosen"


def _scheduled(engine: Any, course: Any, code: str, capacity: int) -> CourseClass:
    """Another scheduled class of the course (not filed)."""
    from app.courses import classes

    with Session(engine) as s:
        inst = s.get(Institution, course.institution_id)
    staff = make_user(engine, Role.staff, inst)
    first = clock.now().astimezone(clock.SHANGHAI).date()
    with transaction(engine) as s:
        return classes.create_class(
            s,
            Principal.of_user(s.get(User, staff.id)),  # type: ignore[arg-type]
            course.id,
            code=code,
            name=f"{code} 班",
            starts_on=first,
            ends_on=first + timedelta(days=90),
            capacity=capacity,
            head_teacher_id=staff.id,
        )


def test_the_code_of_the_class_a_learner_is_in_says_so_and_the_field_is_the_code(
    client: TestClient, engine: Any
) -> None:
    """Sent again after the first committed (a second tap, the code typed again): 409
    ``already_enrolled`` as the API has always answered a repeat, in words saying the learner
    is in that class, naming the enrolment and the class. An unusable code's 422 names the
    request's field, ``code``."""
    inst, course, klass = world(engine)
    code = invites.shown(klass.invite_code)
    learner = make_learner(engine, inst)
    h = login(client, learner.username)
    r = client.post(f"{API}/me/enrollments/by-code", json={"code": "ZZZZ-ZZZZ"}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "code", r.text
    first = client.post(f"{API}/me/enrollments/by-code", json={"code": code}, headers=h)
    assert first.status_code == 201
    again = client.post(f"{API}/me/enrollments/by-code", json={"code": code}, headers=h)
    assert again.status_code == 409, again.text
    body = again.json()
    assert body["code"] == "already_enrolled"
    assert body["message_zh"] == AlreadyInClass.message_zh
    assert (body["enrollment_id"], body["class_id"]) == (
        first.json()["enrollment_id"],
        str(klass.id),
    )
    assert audit_actions(engine, f"enrollment:{body['enrollment_id']}") == ["enrollment.created"]


def test_a_learner_waiting_in_the_default_class_is_moved_by_a_code_until_she_studies(
    client: TestClient, engine: Any
) -> None:
    """Self-enrolled in the course's default class, nothing studied: the code moves the same
    enrolment into its class (201), audited ``enrollment.class_changed`` with both classes, the
    seat counted. Once anything is recorded there (a study session), or from another scheduled
    class, the code does not move her: 409 ``already_enrolled`` saying why, nothing changed.
    A full class refuses the move as it refuses an enrolment; she stays where she was."""
    from app.courses import classes

    def by_code(learner: Any, code: Any) -> Any:
        h = login(client, learner.username)
        return client.post(f"{API}/me/enrollments/by-code", json={"code": code}, headers=h)

    inst, course, klass = world(engine)
    code = invites.shown(klass.invite_code)
    waiting = make_learner(engine, inst)
    e = self_enrolled(engine, waiting, course)
    default = e.class_id
    r = by_code(waiting, code)
    assert r.status_code == 201, r.text
    assert r.json() == {"enrollment_id": str(e.id), "class_id": str(klass.id)}
    [(action, payload)] = audit_log(engine, f"enrollment:{e.id}")
    assert action == "enrollment.class_changed"
    assert payload == {
        "course": str(course.id),
        "from_class": str(default),
        "class": str(klass.id),
        "user": str(waiting.id),
        "via": "code",
    }
    with Session(engine) as s:
        assert classes.summary(s, s.get(CourseClass, klass.id)).enrolled == 1  # type: ignore[arg-type]

    studied = make_learner(engine, inst)
    e2 = self_enrolled(engine, studied, course)
    start_session(engine, studied, e2, course)
    r = by_code(studied, code)
    assert r.status_code == 409 and r.json()["code"] == "already_enrolled", r.text
    assert r.json()["message_zh"] == InAnotherClass.message_zh
    assert r.json()["enrollment_id"] == str(e2.id)

    elsewhere = make_learner(engine, inst)
    other = _scheduled(engine, course, "2027Q1", capacity=1)
    with transaction(engine) as s:
        in_other = invites.join_with_code(
            s,
            Principal.of_user(s.get(User, elsewhere.id)),  # type: ignore[arg-type]
            other.invite_code or "",
        )
    r = by_code(elsewhere, code)
    assert r.status_code == 409 and r.json()["message_zh"] == InAnotherClass.message_zh

    late = make_learner(engine, inst)
    e3 = self_enrolled(engine, late, course)
    r = by_code(late, other.invite_code)
    assert r.status_code == 409 and r.json()["code"] == "class_full", r.text

    with Session(engine) as s:
        assert s.get(Enrollment, e2.id).class_id == default  # type: ignore[union-attr]
        assert s.get(Enrollment, in_other.id).class_id == other.id  # type: ignore[union-attr]
        assert s.get(Enrollment, e3.id).class_id == default  # type: ignore[union-attr]
    for unchanged in (e2.id, in_other.id, e3.id):
        assert "enrollment.class_changed" not in audit_actions(engine, f"enrollment:{unchanged}")
