"""Classes (班级/期次): scheduling, 开班/结业, enrolment into a class, capacity, rosters with
progress by class, and the migration that put earlier enrolments into a default class."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit.service import Actor
from app.courses import classes
from app.courses.exceptions import ClassFull, NoOpenClass
from app.courses.models import ClassStatus, CourseClass, Enrollment, StudySession
from app.db import transaction
from app.migrate import upgrade
from tests.factories import (
    audit_log,
    login,
    make_course,
    make_enrollment,
    make_institution,
    make_learner,
    make_user,
    set_enrollment,
)

API = "/api/v1"


def class_body(teacher: Any, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "2026-03",
        "name": "2026年第3期低压电工作业培训班",
        "starts_on": "2026-03-02",
        "ends_on": "2026-04-17",
        "capacity": 2,
        "head_teacher_id": str(teacher.id),
    }
    body.update(over)
    return body


@pytest.fixture
def world(client: TestClient, engine: Any) -> dict[str, Any]:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    course = make_course(engine, inst, staff=staff)
    return {
        "inst": inst,
        "staff": staff,
        "course": course,
        "h": login(client, staff.username),
    }


def test_staff_schedule_open_and_close_a_class_audited(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    h, course, staff = world["h"], world["course"], world["staff"]
    r = client.post(f"{API}/courses/{course.id}/classes", json=class_body(staff), headers=h)
    assert r.status_code == 201, r.text
    k = r.json()
    assert (k["status"], k["capacity"], k["enrolled"], k["seats_left"]) == ("planned", 2, 0, 2)
    assert k["head_teacher_id"] == str(staff.id)

    again = client.post(f"{API}/courses/{course.id}/classes", json=class_body(staff), headers=h)
    assert again.status_code == 409 and again.json()["code"] == "class_code_taken"
    backwards = client.post(
        f"{API}/courses/{course.id}/classes",
        json=class_body(staff, code="2026-04", ends_on="2026-03-01"),
        headers=h,
    )
    assert backwards.status_code == 422 and backwards.json()["code"] == "invalid_class"

    closed_too_early = client.post(f"{API}/classes/{k['class_id']}/close", headers=h)
    assert closed_too_early.json()["code"] == "class_transition_refused"
    opened = client.post(f"{API}/classes/{k['class_id']}/open", headers=h)
    assert opened.status_code == 200 and opened.json()["status"] == "open"
    assert opened.json()["opened_at"] is not None
    moved = client.patch(
        f"{API}/classes/{k['class_id']}", json={"starts_on": "2026-03-09"}, headers=h
    )
    assert moved.status_code == 422  # an open class keeps its first day
    closed = client.post(f"{API}/classes/{k['class_id']}/close", headers=h)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    actions = [a for a, _ in audit_log(engine, subject=f"class:{k['class_id']}")]
    assert actions == ["class.created", "class.opened", "class.closed"]


def test_head_teacher_must_be_staff_of_the_institution(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    other = make_user(engine, Role.staff, make_institution(engine))
    learner = make_learner(engine, world["inst"])
    for who in (other, learner):
        r = client.post(
            f"{API}/courses/{world['course'].id}/classes",
            json=class_body(who),
            headers=world["h"],
        )
        assert r.status_code == 422 and r.json()["field"] == "head_teacher_id"


def test_only_the_owning_staff_manage_classes_and_others_do_not_see_them(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    k = client.post(
        f"{API}/courses/{world['course'].id}/classes",
        json=class_body(world["staff"]),
        headers=world["h"],
    ).json()
    learner = make_learner(engine, world["inst"])
    lh = login(client, learner.username)
    assert client.post(f"{API}/classes/{k['class_id']}/open", headers=lh).status_code == 403
    assert client.get(f"{API}/classes/{k['class_id']}", headers=lh).status_code == 404
    stranger = make_user(engine, Role.staff, make_institution(engine))
    sh = login(client, stranger.username)
    assert client.get(f"{API}/classes/{k['class_id']}", headers=sh).status_code == 404
    assert client.post(f"{API}/classes/{k['class_id']}/open", headers=sh).status_code == 404
    regulator = make_user(engine, Role.regulator)
    rh = login(client, regulator.username)
    assert client.get(f"{API}/classes/{k['class_id']}/roster", headers=rh).status_code == 200


def test_self_enrolment_goes_to_the_default_class_when_none_is_scheduled(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    learner = make_learner(engine, world["inst"])
    lh = login(client, learner.username)
    r = client.post(f"{API}/courses/{world['course'].id}/enrol", headers=lh)
    assert r.status_code == 201, r.text
    k = client.get(f"{API}/enrollments/{r.json()['enrollment_id']}/class", headers=lh).json()
    assert k["is_default"] and k["status"] == "open" and k["capacity"] is None
    assert k["class_id"] == r.json()["class_id"]
    mine = client.get(f"{API}/me/enrollments", headers=lh).json()
    assert mine[0]["class_id"] == k["class_id"]


def test_self_enrolment_fills_scheduled_classes_up_to_capacity(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    h, course, staff = world["h"], world["course"], world["staff"]
    first = client.post(
        f"{API}/courses/{course.id}/classes", json=class_body(staff, capacity=1), headers=h
    ).json()
    second = client.post(
        f"{API}/courses/{course.id}/classes",
        json=class_body(staff, code="2026-04", starts_on="2026-04-01", capacity=1),
        headers=h,
    ).json()
    placed = []
    for _ in range(2):
        learner = make_learner(engine, world["inst"])
        r = client.post(f"{API}/courses/{course.id}/enrol", headers=login(client, learner.username))
        assert r.status_code == 201, r.text
        placed.append(r.json()["class_id"])
    assert placed == [first["class_id"], second["class_id"]]  # earliest class first
    late = make_learner(engine, world["inst"])
    lh = login(client, late.username)
    r = client.post(f"{API}/courses/{course.id}/enrol", headers=lh)
    assert r.status_code == 409 and r.json()["code"] == "no_open_class"
    chosen = client.post(
        f"{API}/courses/{course.id}/enrol", json={"class_id": first["class_id"]}, headers=lh
    )
    assert chosen.status_code == 409 and chosen.json()["code"] == "class_full"
    # Capacity never drops below the roster; raising it makes room.
    low = client.patch(f"{API}/classes/{first['class_id']}", json={"capacity": 1}, headers=h)
    assert low.status_code == 200
    grown = client.patch(f"{API}/classes/{first['class_id']}", json={"capacity": 3}, headers=h)
    assert grown.json()["seats_left"] == 2
    r = client.post(
        f"{API}/courses/{course.id}/enrol", json={"class_id": first["class_id"]}, headers=lh
    )
    assert r.status_code == 201 and r.json()["class_id"] == first["class_id"]


def test_a_closed_class_takes_no_enrolment(engine: Any, world: dict[str, Any]) -> None:
    principal = Principal.of_user(world["staff"])
    with transaction(engine) as s:
        k = classes.create_class(
            s,
            principal,
            world["course"].id,
            code="A1",
            name="甲班",
            starts_on=datetime(2026, 3, 2, tzinfo=UTC).date(),
            ends_on=datetime(2026, 3, 30, tzinfo=UTC).date(),
            capacity=5,
            head_teacher_id=world["staff"].id,
        )
        classes.open_class(s, principal, k.id)
        classes.close_class(s, principal, k.id)
    learner = make_learner(engine, world["inst"])
    with transaction(engine) as s, pytest.raises(NoOpenClass):
        classes.class_for_self_enrolment(s, world["course"], None)
    with transaction(engine) as s:
        with pytest.raises(Exception) as refused:
            classes.enrol_learner(s, principal, k.id, learner.id)
        assert getattr(refused.value, "code", None) == "class_closed"


def test_staff_and_scoped_keys_enrol_learners_into_a_class(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    h, course, staff, inst = world["h"], world["course"], world["staff"], world["inst"]
    k = client.post(
        f"{API}/courses/{course.id}/classes", json=class_body(staff, capacity=2), headers=h
    ).json()
    a, b, c = (make_learner(engine, inst) for _ in range(3))
    r = client.post(
        f"{API}/classes/{k['class_id']}/enrollments",
        json={"learner_id": str(a.id), "employer": "北京城建集团有限公司"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    assert audit_log(engine, subject=f"enrollment:{r.json()['enrollment_id']}")[0][1]["via"] == (
        "staff"
    )
    twice = client.post(
        f"{API}/classes/{k['class_id']}/enrollments", json={"learner_id": str(a.id)}, headers=h
    )
    assert twice.status_code == 409 and twice.json()["code"] == "already_enrolled"

    with transaction(engine) as s:
        _, read_only = accounts.create_api_key(
            s, institution_id=inst.id, name="只读", scopes=["courses:read"], actor=Actor.system()
        )
        _, writer = accounts.create_api_key(
            s,
            institution_id=inst.id,
            name="企业报名",
            scopes=["enrolments:write"],
            actor=Actor.system(),
        )
    body = {"learner_id": str(b.id)}
    url = f"{API}/classes/{k['class_id']}/enrollments"
    denied = client.post(url, json=body, headers={"Authorization": f"Bearer {read_only}"})
    assert denied.status_code == 403 and denied.json()["code"] == "insufficient_scope"
    ok = client.post(url, json=body, headers={"Authorization": f"Bearer {writer}"})
    assert ok.status_code == 201, ok.text
    full = client.post(
        url, json={"learner_id": str(c.id)}, headers={"Authorization": f"Bearer {writer}"}
    )
    assert full.status_code == 409 and full.json()["code"] == "class_full"
    outsider = make_learner(engine, make_institution(engine))
    r = client.post(url, json={"learner_id": str(outsider.id)}, headers=h)
    assert r.status_code == 404


def test_roster_shows_progress_by_class(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    h, course, staff, inst = world["h"], world["course"], world["staff"], world["inst"]
    elsewhere = make_enrollment(engine, make_learner(engine, inst), course)  # default class
    k = client.post(
        f"{API}/courses/{course.id}/classes", json=class_body(staff, capacity=5), headers=h
    ).json()
    done, halfway = make_learner(engine, inst), make_learner(engine, inst)
    ids = {}
    for learner in (done, halfway):
        ids[learner.id] = client.post(
            f"{API}/classes/{k['class_id']}/enrollments",
            json={"learner_id": str(learner.id)},
            headers=h,
        ).json()["enrollment_id"]
    set_enrollment(engine, ids[halfway.id], credited_ms=30 * 60_000)
    set_enrollment(
        engine,
        ids[done.id],
        credited_ms=60 * 60_000,
        quiz_passed=True,
        best_quiz_score=90,
        completed_at=datetime.now(UTC),
    )
    r = client.get(f"{API}/classes/{k['class_id']}/roster", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["class"]["enrolled"] == 2 and body["class"]["completed"] == 1
    by_id = {e["learner_id"]: e for e in body["entries"]}
    assert str(elsewhere.user_id) not in by_id
    assert by_id[str(halfway.id)]["credited_minutes"] == 30
    assert "还需完成 30 分钟有效学时" in by_id[str(halfway.id)]["missing_zh"]
    assert by_id[str(done.id)]["missing_zh"] == []
    assert by_id[str(done.id)]["real_name_masked"] == "王*明"
    listing = client.get(f"{API}/courses/{course.id}/classes", headers=h).json()
    assert {c["code"]: c["enrolled"] for c in listing} == {"default": 1, "2026-03": 2}


def test_the_last_seat_goes_once(engine: Any, world: dict[str, Any]) -> None:
    principal = Principal.of_user(world["staff"])
    with transaction(engine) as s:
        k = classes.create_class(
            s,
            principal,
            world["course"].id,
            code="B1",
            name="乙班",
            starts_on=datetime(2026, 3, 2, tzinfo=UTC).date(),
            ends_on=datetime(2026, 3, 30, tzinfo=UTC).date(),
            capacity=1,
            head_teacher_id=world["staff"].id,
        )
    first, second = make_learner(engine, world["inst"]), make_learner(engine, world["inst"])
    with transaction(engine) as s:
        classes.enrol_learner(s, principal, k.id, first.id)
    with transaction(engine) as s, pytest.raises(ClassFull):
        classes.enrol_learner(s, principal, k.id, second.id)
    with Session(engine) as s:
        n = s.exec(select(Enrollment).where(col(Enrollment.class_id) == k.id)).all()
        assert len(n) == 1


def test_migration_moves_existing_enrolments_into_a_default_class(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url, "0013")  # rows as an older database holds them
    eng = sa.create_engine(url)
    # Reflected SQLite columns are CHAR(32): UUIDs go in as hex, as sa.Uuid stores them.
    inst, user, course, other = (uuid.uuid4().hex for _ in range(4))
    published = datetime(2026, 2, 28, 17, 0, tzinfo=UTC)  # 1 March in Shanghai
    with eng.begin() as conn:
        meta = sa.MetaData()
        meta.reflect(conn)
        t = meta.tables
        conn.execute(
            t["institutions"]
            .insert()
            .values(id=inst, code="M1", name="迁移学校", created_at=published)
        )
        conn.execute(
            t["users"].insert().values(
                id=user, username="m1", password_hash="!", role="learner", is_active=True,
                biometric_consent=False, face_enrolled=False, token_version=0, created_at=published,
            )
        )  # fmt: skip
        for cid in (course, other):
            conn.execute(
                t["courses"].insert().values(
                    id=cid, institution_id=inst, title="电工", description="",
                    occupation_code="6-31-01-03",
                    occupation_name="电工", level="level4", required_minutes=60, pass_score=60,
                    subsidy_fen=0, rollcall_min_interval_s=600, rollcall_max_interval_s=1800,
                    rollcall_response_window_s=90, rollcall_min_pass_rate=80, daily_cap_minutes=480,
                    credit_policy="strict", heartbeat_interval_s=30, quiz_question_count=3,
                    quiz_time_limit_s=600, quiz_max_attempts=3, status="published",
                    created_at=published, published_at=published,
                )
            )  # fmt: skip
        enrollment = uuid.uuid4().hex
        conn.execute(
            t["enrollments"].insert().values(
                id=enrollment, course_id=course, user_id=user, institution_id=inst,
                created_at=published, credited_ms=0, quiz_passed=False, rollcalls_total=0,
                rollcalls_passed=0,
            )
        )  # fmt: skip
        # Rows that refer to the enrolment and the course: the table rebuilds must keep them.
        conn.execute(
            t["study_sessions"].insert().values(
                id=uuid.uuid4().hex, enrollment_id=enrollment, user_id=user, state="ended",
                checkin_event_id=uuid.uuid4().hex, started_at=published,
                segment_started_at=published, open_ms=0,
            )
        )  # fmt: skip
    eng.dispose()
    upgrade(url)
    with Session(sa.create_engine(url)) as s:
        made = s.exec(select(CourseClass)).all()
        assert len(made) == 1  # only the course with enrolments
        k = made[0]
        assert (k.course_id.hex, k.is_default, k.status) == (course, True, ClassStatus.open)
        assert k.starts_on.isoformat() == "2026-03-01" and k.capacity is None
        e = s.exec(select(Enrollment)).one()
        assert e.class_id == k.id and e.employer is None
        assert s.exec(select(StudySession)).one().enrollment_id == e.id
