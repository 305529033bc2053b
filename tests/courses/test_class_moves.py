"""转班: the institution's staff move a learner to another class of the same course
(app/courses/classes/moves.py, ``POST /enrollments/{id}/class``): the move and its audit entry,
every refusal, who may, seats, recorded study and filed classes, a double submit."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app import clock
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.audit.models import AuditEntry
from app.courses import classes
from app.courses.models import Enrollment
from app.db import transaction
from tests.factories import (
    audit_log,
    checked_in,
    filed_class,
    key_headers,
    login,
    make_course,
    make_institution,
    make_learner,
    make_user,
    self_enrolled,
    set_enrollment,
    start_session,
    wait_until_blocked,
)

API = "/api/v1"
REASON = "学员工作调班，申请转入周末班"


def _class(client: TestClient, h: dict[str, str], course: Any, staff: Any, code: str, **kw: Any):
    body = {
        "code": code,
        "name": f"{code} 期低压电工作业培训班",
        "starts_on": "2026-03-02",
        "ends_on": "2026-04-17",
        "capacity": kw.pop("capacity", 5),
        "head_teacher_id": str(staff.id),
    }
    r = client.post(f"{API}/courses/{course.id}/classes", json=body, headers=h)
    assert r.status_code == 201, r.text
    return r.json()["class_id"]


@pytest.fixture
def world(client: TestClient, engine: Any) -> dict[str, Any]:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    course = make_course(engine, inst, staff=staff)
    h = login(client, staff.username)
    a = _class(client, h, course, staff, "2026-03")
    b = _class(client, h, course, staff, "2026-04", capacity=1)
    learner = make_learner(engine, inst)
    r = client.post(
        f"{API}/classes/{a}/enrollments", json={"learner_id": str(learner.id)}, headers=h
    )
    assert r.status_code == 201, r.text
    return {
        "inst": inst,
        "staff": staff,
        "course": course,
        "h": h,
        "a": a,
        "b": b,
        "learner": learner,
        "enrollment": r.json()["enrollment_id"],
    }


def _move(
    client: TestClient,
    w: dict[str, Any],
    to: str,
    *,
    reason: str = REASON,
    headers: dict[str, str] | None = None,
) -> Any:
    return client.post(
        f"{API}/enrollments/{w['enrollment']}/class",
        json={"class_id": to, "reason": reason},
        headers=headers or w["h"],
    )


def _enrolled(client: TestClient, w: dict[str, Any], class_id: str) -> int:
    return int(client.get(f"{API}/classes/{class_id}", headers=w["h"]).json()["enrolled"])


def _moves(engine: Any, enrollment: str) -> list[dict[str, Any]]:
    return [
        p
        for a, p in audit_log(engine, subject=f"enrollment:{enrollment}")
        if a == "enrollment.class_changed"
    ]


def test_staff_move_a_learner_and_the_move_is_audited_with_the_reason(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    w = world
    r = _move(client, w, w["b"], reason=f"  {REASON}  ")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "enrollment_id": w["enrollment"],
        "learner_id": str(w["learner"].id),
        "from_class_id": w["a"],
        "class_id": w["b"],
    }
    assert (_enrolled(client, w, w["a"]), _enrolled(client, w, w["b"])) == (0, 1)  # seat freed
    [entry] = _moves(engine, w["enrollment"])
    assert entry["from_class"] == w["a"] and entry["class"] == w["b"]
    assert entry["reason"] == REASON and entry["via"] == "staff"
    with Session(engine) as s:
        row = s.exec(
            select(AuditEntry).where(col(AuditEntry.action) == "enrollment.class_changed")
        ).one()
        assert row.actor == f"user:{w['staff'].id}"
    lh = login(client, w["learner"].username)
    mine = client.get(f"{API}/enrollments/{w['enrollment']}/class", headers=lh)
    assert mine.json()["class_id"] == w["b"]

    again = _move(client, w, w["b"])
    assert again.status_code == 409 and again.json()["code"] == "class_move_same_class"
    assert len(_moves(engine, w["enrollment"])) == 1


@pytest.mark.parametrize("reason", ["", "   ", "转" * (classes.REASON_CHARS + 1)])
def test_the_reason_is_required_and_limited(
    client: TestClient, engine: Any, world: dict[str, Any], reason: str
) -> None:
    r = _move(client, world, world["b"], reason=reason)
    assert r.status_code == 422, r.text
    with transaction(engine) as s, pytest.raises(classes.InvalidClassMove) as refused:
        classes.move_to_class(
            s,
            Principal.of_user(world["staff"]),
            uuid.UUID(world["enrollment"]),
            uuid.UUID(world["b"]),
            reason=reason,
        )
    assert refused.value.extra["field"] == "reason"
    assert _moves(engine, world["enrollment"]) == []


def test_refused_moves_say_why_and_change_nothing(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    w = world
    other_course = make_course(engine, w["inst"], staff=w["staff"])
    elsewhere = _class(client, w["h"], other_course, w["staff"], "2026-09")
    assert _move(client, w, elsewhere).json()["code"] == "class_move_other_course"
    assert _move(client, w, w["a"]).json()["code"] == "class_move_same_class"

    filler = make_learner(engine, w["inst"])
    client.post(
        f"{API}/classes/{w['b']}/enrollments", json={"learner_id": str(filler.id)}, headers=w["h"]
    )
    full = _move(client, w, w["b"])
    assert full.status_code == 409 and full.json()["code"] == "class_full"

    ended = _class(client, w["h"], w["course"], w["staff"], "2026-01")
    for step in ("open", "close"):
        assert client.post(f"{API}/classes/{ended}/{step}", headers=w["h"]).status_code == 200
    frozen = _move(client, w, ended)
    assert frozen.status_code == 409 and frozen.json()["code"] == "class_move_roster_frozen"
    assert "花名册已冻结" in frozen.json()["message_zh"]

    c = _class(client, w["h"], w["course"], w["staff"], "2026-05")
    set_enrollment(engine, w["enrollment"], completed_at=clock.now())
    done = _move(client, w, c)
    assert done.status_code == 409 and done.json()["code"] == "class_move_completed"
    assert _moves(engine, w["enrollment"]) == []
    assert _enrolled(client, w, w["a"]) == 1


def test_out_of_a_class_that_has_ended_is_refused(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    w = world
    for step in ("open", "close"):
        assert client.post(f"{API}/classes/{w['a']}/{step}", headers=w["h"]).status_code == 200
    r = _move(client, w, w["b"])
    assert r.status_code == 409 and r.json()["code"] == "class_move_roster_frozen"


def test_recorded_study_moves_with_the_enrolment_unless_a_filing_counts_it(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    w = world
    with Session(engine) as s:
        enrollment = s.get(Enrollment, uuid.UUID(w["enrollment"]))
    assert enrollment is not None
    start_session(engine, w["learner"], enrollment, w["course"])
    set_enrollment(engine, w["enrollment"], credited_ms=25 * 60_000)

    filed = str(filed_class(engine, w["course"]).id)
    into_filed = _move(client, w, filed)
    assert into_filed.status_code == 409, into_filed.text
    assert into_filed.json()["code"] == "class_move_filed_studied"
    assert "开班备案" in into_filed.json()["message_zh"]

    moved = _move(client, w, w["b"])  # neither class filed: she moves with what she studied
    assert moved.status_code == 200, moved.text
    rows = client.get(f"{API}/classes/{w['b']}/roster", headers=w["h"]).json()["entries"]
    assert [(e["enrollment_id"], e["credited_minutes"]) for e in rows] == [(w["enrollment"], 25)]


def test_a_learner_who_has_not_studied_moves_into_a_filed_class(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    filed = str(filed_class(engine, world["course"]).id)
    r = _move(client, world, filed)
    assert r.status_code == 200, r.text


def test_study_in_the_default_class_is_not_moved_into_a_class(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    w = world
    learner = make_learner(engine, w["inst"])
    enrollment = self_enrolled(engine, learner, w["course"])
    url = f"{API}/enrollments/{enrollment.id}/class"
    start_session(engine, learner, enrollment, w["course"])
    r = client.post(url, json={"class_id": w["a"], "reason": REASON}, headers=w["h"])
    assert r.status_code == 409 and r.json()["code"] == "class_move_default_studied"


def test_who_may_move_a_learner(client: TestClient, engine: Any, world: dict[str, Any]) -> None:
    w = world
    lh = login(client, w["learner"].username)
    assert _move(client, w, w["b"], headers=lh).status_code == 403
    stranger = make_user(engine, Role.staff, make_institution(engine))
    sh = login(client, stranger.username)
    denied = _move(client, w, w["b"], headers=sh)
    assert denied.status_code == 404 and denied.json()["code"] == "enrollment_not_found"
    their_course = make_course(engine, stranger_inst := make_institution(engine))
    their_staff = make_user(engine, Role.staff, stranger_inst)
    theirs = _class(client, login(client, their_staff.username), their_course, their_staff, "X1")
    foreign = _move(client, w, theirs)
    assert foreign.status_code == 404 and foreign.json()["code"] == "class_not_found"

    reader = key_headers(engine, w["inst"].id, ["courses:read"], name="只读")
    writer = key_headers(engine, w["inst"].id, ["enrolments:write"], name="企业报名")
    no_scope = _move(client, w, w["b"], headers=reader)
    assert no_scope.status_code == 403 and no_scope.json()["code"] == "insufficient_scope"
    assert _moves(engine, w["enrollment"]) == []
    ok = _move(client, w, w["b"], headers=writer)
    assert ok.status_code == 200, ok.text


def test_a_move_sent_twice_at_once_is_one_move(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    w = world
    gate = threading.Barrier(2, timeout=60)
    out: list[Any] = [None, None]

    def run(i: int) -> None:
        gate.wait()
        out[i] = _move(client, w, w["b"])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    answers = sorted((r.status_code, r.json().get("code")) for r in out)
    assert answers == [(200, None), (409, "class_move_same_class")], [r.text for r in out]
    assert len(_moves(engine, w["enrollment"])) == 1
    with Session(engine) as s:
        n = s.exec(
            select(func.count())
            .select_from(Enrollment)
            .where(col(Enrollment.class_id) == uuid.UUID(w["b"]))
        ).one()
    assert n == 1


def test_a_check_in_at_the_moment_of_a_move_is_seen_by_it(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    """A check-in has opened a study session in the default class and not yet committed when
    staff move the learner: the move waits on the enrolment row (the session's foreign key
    holds it) and then sees the study: refused, never a move that missed it."""
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: SQLite serialises whole transactions")
    w = world
    learner = make_learner(engine, w["inst"])
    enrollment = self_enrolled(engine, learner, w["course"])
    checkin = Session(engine, expire_on_commit=False)
    checkin.add(checked_in(enrollment, learner.id, clock.now()))
    checkin.flush()  # inserted, not committed
    out: list[Any] = []
    url = f"{API}/enrollments/{enrollment.id}/class"
    thread = threading.Thread(
        target=lambda: out.append(
            client.post(url, json={"class_id": w["a"], "reason": REASON}, headers=w["h"])
        )
    )
    thread.start()
    wait_until_blocked(engine, thread)
    checkin.commit()
    checkin.close()
    thread.join()
    (r,) = out
    assert r.status_code == 409 and r.json()["code"] == "class_move_default_studied", r.text
    assert _moves(engine, str(enrollment.id)) == []
