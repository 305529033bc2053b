"""Every learner belongs to an institution from the start (issue 14, item 3): registration
names one (its code, or a pick from the active list), a learner of none cannot start the face
enrolment whose flags only an institution reviews, and choosing later routes what waited."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app import clock
from app.accounts import administration
from app.accounts.models import Role, User
from app.attendance.models import AttendanceEvent, Outcome, Purpose, ReviewStatus
from app.audit.service import Actor
from app.db import transaction
from tests.factories import (
    PASSWORD,
    audit_actions,
    csrf_of,
    id_number,
    login,
    make_course,
    make_enrollment,
    make_institution,
    make_learner,
    make_user,
)

API = "/api/v1"


def api_register(client: TestClient, **over: Any) -> Any:
    body = {
        "username": "zhangsan",
        "password": PASSWORD,
        "real_name": "张三",
        "id_number": id_number(seq=41),
        **over,
    }
    return client.post(f"{API}/auth/register", json=body)


def page_register(client: TestClient, **over: str) -> Any:
    page = client.get("/register")
    form = {
        "csrf": csrf_of(page.text),
        "username": "lisi",
        "password": PASSWORD,
        "real_name": "李四",
        "id_number": id_number(seq=42),
        **over,
    }
    return client.post("/register", data=form, follow_redirects=False)


def institution_of(engine: Any, username: str) -> uuid.UUID | None:
    with Session(engine) as s:
        return s.exec(select(User).where(User.username == username)).one().institution_id


def test_register_with_a_code_over_the_api(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine, "SZ001", region="440305", name="示范职业技能培训学校")
    listed = client.get(f"{API}/institutions/active").json()
    mine = {"code": "SZ001", "name": "示范职业技能培训学校", "region": "广东省深圳市南山区"}
    assert mine in listed
    r = api_register(client, institution_code="sz001")  # codes are read as typed, folded
    assert r.status_code == 201, r.text
    assert institution_of(engine, "zhangsan") == inst.id
    # The institution's staff see the learner among theirs.
    staff = login(client, make_user(engine, Role.staff, inst).username)
    names = [x["username"] for x in client.get(f"{API}/learners", headers=staff).json()["items"]]
    assert names == ["zhangsan"]


def test_unknown_and_suspended_codes_are_refused_alike(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine, "GZ009")
    with transaction(engine) as s:
        administration.suspend_institution(s, inst.id, reason="停业整顿", actor=Actor.system())
    assert "GZ009" not in [c["code"] for c in client.get(f"{API}/institutions/active").json()]
    for code in ("GZ009", "NOPE42"):
        r = api_register(client, institution_code=code)
        assert r.status_code == 422 and r.json()["code"] == "institution_unavailable", r.text
        assert r.json()["field"] == "institution_code"
    with Session(engine) as s:
        assert s.exec(select(User).where(User.role == Role.learner)).first() is None


def test_register_with_a_pick_on_the_page(client: TestClient, engine: Any) -> None:
    make_institution(engine, "SZ002", name="宝安区技工培训学校")
    inst = make_institution(engine, "SZ003", name="南山区职业培训中心")
    page = client.get("/register")
    assert 'value="SZ003"' in page.text and "南山区职业培训中心" in page.text
    r = page_register(client, institution="SZ003")
    assert r.status_code == 303 and r.headers["location"] == "/consent", r.text
    assert institution_of(engine, "lisi") == inst.id


def test_a_typed_code_wins_over_the_pick(client: TestClient, engine: Any) -> None:
    make_institution(engine, "SZ004")
    typed = make_institution(engine, "SZ005")
    r = page_register(client, institution="SZ004", institution_code=" sz005 ")
    assert r.status_code == 303, r.text
    assert institution_of(engine, "lisi") == typed.id


def test_the_page_requires_an_institution(client: TestClient, engine: Any) -> None:
    make_institution(engine, "SZ006")
    r = page_register(client)
    assert r.status_code == 422
    assert 'data-code="institution_required"' in r.text and 'data-field="institution"' in r.text
    assert "请选择您参加培训的机构" in r.text
    # The form keeps what was typed.
    assert 'value="李四"' in r.text
    r = page_register(client, institution_code="NOPE")
    assert r.status_code == 422 and 'data-code="institution_unavailable"' in r.text
    with Session(engine) as s:
        assert s.exec(select(User).where(User.role == Role.learner)).first() is None


def test_a_link_from_the_institution_preselects_it(client: TestClient, engine: Any) -> None:
    make_institution(engine, "SZ007")
    page = client.get("/register?institution=SZ007")
    assert 'value="SZ007" selected' in page.text


def test_no_institution_closes_the_face_enrolment(client: TestClient, engine: Any) -> None:
    """A learner of no institution cannot enrol a face: a duplicate-face flag would wait in no
    institution's queue. Refused before any challenge or frame is looked at."""
    learner = make_learner(engine)  # e.g. registered over the API without a code
    h = login(client, learner.username)
    assert client.post(f"{API}/me/consent", json={"biometric": True}, headers=h).status_code == 200
    r = client.post(
        f"{API}/me/face/enrol",
        data={"challenge_id": str(uuid.uuid4())},
        files=[("frames", ("f.jpg", b"\xff\xd8 not looked at", "image/jpeg"))],
        headers=h,
    )
    assert r.status_code == 409 and r.json()["code"] == "institution_required", r.text
    with Session(engine) as s:
        assert s.exec(select(AttendanceEvent)).first() is None
    # The pages send such a learner to choose first.
    from tests.factories import sign_in

    client.cookies.clear()
    sign_in(client, learner.username)
    for path in ("/face", "/my"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/institution"), path


def _flag_without_queue(engine: Any, learner: User) -> uuid.UUID:
    """A duplicate-face flag raised before the rule: in review, in no institution's queue."""
    with transaction(engine) as s:
        ev = AttendanceEvent(
            user_id=learner.id,
            institution_id=None,
            purpose=Purpose.enrol,
            outcome=Outcome.review,
            reason_code="face_matches_other_learner",
            review_status=ReviewStatus.pending,
            accept_threshold="0.5000",
            reject_threshold="0.4000",
            match_metric="cosine",
            face_engine="sface",
            model_name="test",
            model_version="0",
            model_sha256="0" * 64,
            created_at=clock.now(),
        )
        s.add(ev)
        s.flush()
        return ev.id


def test_choosing_later_routes_the_waiting_review(client: TestClient, engine: Any) -> None:
    inst = make_institution(engine, "SZ008")
    learner = make_learner(engine)
    event_id = _flag_without_queue(engine, learner)
    staff = login(client, make_user(engine, Role.staff, inst).username)
    assert client.get(f"{API}/review/attendance-events", headers=staff).json() == []

    h = login(client, learner.username)
    r = client.put(f"{API}/me/institution", json={"institution_code": "SZ008"}, headers=h)
    assert r.status_code == 200 and r.json()["institution_id"] == str(inst.id), r.text
    queue = client.get(f"{API}/review/attendance-events", headers=staff).json()
    assert [item["id"] for item in queue] == [str(event_id)]
    assert audit_actions(engine, f"user:{learner.id}")[-1] == "learner.institution_chosen"
    assert audit_actions(engine, f"attendance_event:{event_id}") == ["face.review_routed"]

    # Once only: a move to another institution is the institutions' business.
    make_institution(engine, "SZ009")
    r = client.put(f"{API}/me/institution", json={"institution_code": "SZ009"}, headers=h)
    assert r.status_code == 409 and r.json()["code"] == "institution_already_chosen"
    assert institution_of(engine, learner.username) == inst.id


def test_the_page_suggests_the_institution_of_their_courses(
    client: TestClient, engine: Any
) -> None:
    from tests.factories import sign_in

    make_institution(engine, "SZ010", name="另一所学校")
    inst = make_institution(engine, "SZ011", name="示范职业技能培训学校")
    learner = make_learner(engine)
    make_enrollment(engine, learner, make_course(engine, inst))
    sign_in(client, learner.username)
    page = client.get("/institution")
    assert page.status_code == 200
    assert "您已报名 示范职业技能培训学校 的课程" in page.text
    assert 'value="SZ011" selected' in page.text
    r = client.post(
        "/institution",
        data={"csrf": csrf_of(page.text), "institution": "SZ011", "next": "/face"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/face"
    assert institution_of(engine, learner.username) == inst.id
    # Chosen: the page steps aside.
    r = client.get("/institution", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/my"


def test_operators_migrate_learners_who_study_with_one_institution(engine: Any) -> None:
    """`skilltrace assign-institutions`: a learner whose every course is one institution's
    joins it (audited, their waiting review moves along); anyone else is left to choose."""
    import json

    from typer.testing import CliRunner

    from app.cli import app as cli

    one, two = make_institution(engine, "SZ301"), make_institution(engine, "SZ302")
    settled = make_learner(engine)
    make_enrollment(engine, settled, make_course(engine, one))
    flagged = _flag_without_queue(engine, settled)
    torn = make_learner(engine)
    make_enrollment(engine, torn, make_course(engine, one))
    make_enrollment(engine, torn, make_course(engine, two))
    idle = make_learner(engine)
    partner_made = make_learner(engine, two)
    make_enrollment(engine, partner_made, make_course(engine, one))

    def run(*args: str) -> dict[str, Any]:
        result = CliRunner().invoke(cli, ["assign-institutions", *args])
        assert result.exit_code == 0, result.output
        return dict(json.loads(result.stdout))

    assert run("--dry-run") == {"assigned": 1, "left_to_choose": 2, "dry_run": True}
    assert institution_of(engine, settled.username) is None
    assert run() == {"assigned": 1, "left_to_choose": 2, "dry_run": False}
    assert institution_of(engine, settled.username) == one.id
    assert institution_of(engine, torn.username) is None
    assert institution_of(engine, idle.username) is None
    assert institution_of(engine, partner_made.username) == two.id  # keeps theirs
    assert audit_actions(engine, f"user:{settled.id}")[-1] == "learner.institution_chosen"
    assert audit_actions(engine, f"attendance_event:{flagged}") == ["face.review_routed"]
    with Session(engine) as s:
        event = s.get(AttendanceEvent, flagged)
        assert event is not None and event.institution_id == one.id
    assert run() == {"assigned": 0, "left_to_choose": 2, "dry_run": False}
