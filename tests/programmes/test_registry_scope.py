"""The registry's approved scope, enforced (issue 16 item 2): an institution opens a class, files
its opening (开班备案) and issues a certificate only for an occupation and level the regulator's
approval covers — 409 ``outside_approved_scope`` in words on the API and the pages otherwise —
and migration 0034 widens existing approvals to the courses that existed before the rule."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.accounts.models import Institution, RegistryStatus, Role
from app.accounts.principal import Principal
from app.audit.models import AuditEntry
from app.audit.service import chain_for
from app.courses import classes
from app.courses.models import ClassStatus, CourseClass, Level
from app.db import transaction
from app.programmes import registry
from tests.factories import (
    course_row,
    enrollment_row,
    login,
    make_institution,
    make_learner,
    make_user,
)
from tests.web.staff_world import sign_in

API = "/api/v1"
NANSHAN = "440305"  # 深圳市南山区
ELECTRICIAN = {"occupation_code": "6-31-01-03", "level": "level4"}
WORDS = "不在人社部门核准本机构开展培训的范围内"


def _world(client: TestClient, engine: Engine) -> dict[str, Any]:
    """An institution the 深圳 regulator approved for 电工 四级 only, with a planned class, a
    waiting enrolment of that course and of a 养老护理员 五级 course outside the scope."""
    inst = make_institution(engine, region=NANSHAN)
    staff = make_user(engine, Role.staff, inst)
    inside = course_row(engine, inst)
    outside = course_row(
        engine,
        inst,
        occupation_code="4-10-01-05",
        occupation_name="养老护理员",
        level=Level.level5,
    )
    waiting = {
        "inside": enrollment_row(engine, make_learner(engine, inst), inside, filed=False),
        "outside": enrollment_row(engine, make_learner(engine, inst), outside, filed=False),
    }
    planned: dict[str, CourseClass] = {}
    with transaction(engine) as s:
        for key, course in (("inside", inside), ("outside", outside)):
            planned[key] = classes.create_class(
                s,
                Principal.of_user(s.merge(staff)),
                course.id,
                code=f"NS-{key}",
                name=f"南山{course.occupation_name}一班",
                starts_on=date(2026, 12, 21),
                ends_on=date(2027, 1, 20),
                capacity=30,
                head_teacher_id=staff.id,
            )
    reg = login(client, make_user(engine, Role.regulator, jurisdiction="440300").username)
    r = client.post(
        f"{API}/registry/institutions/{inst.id}/approve",
        json={"approved_scope": [ELECTRICIAN], "reason": "现场核查：仅具备电工实训条件"},
        headers=reg,
    )
    assert r.status_code == 200, r.text
    assert r.json()["approved_scope"] == [ELECTRICIAN]
    return {"inst": inst, "staff": staff, "waiting": waiting, "classes": planned, "reg": reg}


def _refused(r: Any) -> None:
    assert (r.status_code, r.json()["code"]) == (409, "outside_approved_scope"), r.text
    assert (r.json()["occupation_code"], r.json()["level"]) == ("4-10-01-05", "level5")
    assert WORDS in r.json()["message_zh"]


def test_work_outside_the_approved_scope_is_refused_on_the_api(
    client: TestClient, engine: Engine
) -> None:
    w = _world(client, engine)
    h = login(client, w["staff"].username)
    out_class, out_enrolment = w["classes"]["outside"], w["waiting"]["outside"]
    _refused(
        client.post(f"{API}/classes/{out_class.id}/filings", json={"kind": "opening"}, headers=h)
    )
    _refused(client.post(f"{API}/classes/{out_class.id}/open", headers=h))
    _refused(client.post(f"{API}/enrollments/{out_enrolment.id}/certificate", headers=h))
    with Session(engine) as s:
        klass = s.get(CourseClass, out_class.id)
        assert klass is not None and klass.status is ClassStatus.planned
    # inside the scope everything goes on
    in_class, in_enrolment = w["classes"]["inside"], w["waiting"]["inside"]
    r = client.post(f"{API}/classes/{in_class.id}/filings", json={"kind": "opening"}, headers=h)
    assert r.status_code == 201, r.text
    assert client.post(f"{API}/classes/{in_class.id}/open", headers=h).status_code == 200
    r = client.post(f"{API}/enrollments/{in_enrolment.id}/certificate", headers=h)
    assert r.status_code == 201, r.text
    # the regulator widens the approval: the same requests succeed
    r = client.post(
        f"{API}/registry/institutions/{w['inst'].id}/approve",
        json={
            "approved_scope": [
                ELECTRICIAN,
                {"occupation_code": "4-10-01-05", "level": "level5"},
            ],
            "reason": "养老护理实训室已验收",
        },
        headers=w["reg"],
    )
    assert r.status_code == 200, r.text
    assert client.post(f"{API}/classes/{out_class.id}/open", headers=h).status_code == 200
    r = client.post(f"{API}/enrollments/{out_enrolment.id}/certificate", headers=h)
    assert r.status_code == 201, r.text


def test_the_pages_refuse_outside_the_scope_in_words(client: TestClient, engine: Engine) -> None:
    w = _world(client, engine)
    csrf = sign_in(client, w["staff"].username)
    out_class, out_enrolment = w["classes"]["outside"], w["waiting"]["outside"]
    pages = [
        client.post(f"/staff/classes/{out_class.id}/open", data={"csrf": csrf}),
        client.post(
            f"/staff/classes/{out_class.id}/filings", data={"csrf": csrf, "kind": "opening"}
        ),
        client.post(f"/staff/enrollments/{out_enrolment.id}/certificate", data={"csrf": csrf}),
    ]
    for r in pages:
        assert r.status_code == 409, r.text[:500]
        assert WORDS in r.text
    # the staff's registry record shows what the approval covers
    r = client.get("/staff/registry")
    assert r.status_code == 200 and "6-31-01-03 四级/中级工" in r.text


def test_the_rule_names_the_scope_it_checks(engine: Engine) -> None:
    inst = make_institution(engine)
    with Session(engine) as s:
        row = s.get(Institution, inst.id)
        assert row is not None
        assert registry.in_scope(row, "6-31-01-03", "level4")
        assert not registry.in_scope(row, "6-31-01-03", "level9")
        assert not registry.in_scope(row, "2-02-07-04", "level4")


# ---------------------------------------------------------------- migration 0034


def test_migration_widens_approvals_to_the_courses_that_existed(db_url: str) -> None:
    """Courses created after migration 0032 (when nothing checked the scope) are covered once
    the rule starts: approved and suspended institutions' scopes are widened, audited; pending
    ones are left alone, and an institution whose scope already covers its courses gets no
    entry."""
    from alembic import command
    from sqlalchemy import create_engine

    from app.migrate import alembic_config

    url = db_url.replace("postgresql://", "postgresql+psycopg://", 1)
    eng = create_engine(url)
    try:
        trading = make_institution(eng, region=NANSHAN)
        pending = make_institution(eng, region=NANSHAN, status=RegistryStatus.pending)
        covered = make_institution(eng, region=NANSHAN)
        for inst in (trading, pending):
            course_row(
                eng,
                inst,
                occupation_code="4-10-01-05",
                occupation_name="养老护理员",
                level="level5",
            )
        course_row(eng, covered)
        with transaction(eng) as s:  # the state between 0032 and 0034: the approval is narrower
            row = s.get(Institution, trading.id)
            assert row is not None
            row.approved_scope = [ELECTRICIAN]
            s.add(row)
        before = {i: _chain_length(eng, i) for i in (trading.id, pending.id, covered.id)}
        cfg = alembic_config(url)
        command.downgrade(cfg, "0033")
        command.upgrade(cfg, "head")
        with Session(eng) as s:
            widened = s.get(Institution, trading.id)
            assert widened is not None and widened.approved_scope == [
                {"occupation_code": "4-10-01-05", "level": "level5"},
                ELECTRICIAN,
            ]
            untouched = s.get(Institution, pending.id)
            assert untouched is not None and untouched.registry_status is RegistryStatus.pending
            last = s.exec(
                select(AuditEntry)
                .where(col(AuditEntry.chain) == chain_for(trading.id))
                .order_by(col(AuditEntry.seq).desc())
            ).first()
            assert last is not None
            assert (last.action, last.actor) == (
                "institution.registry.migrated",
                "system:migration",
            )
            payload = json.loads(last.payload)
            assert payload["added"] == [{"occupation_code": "4-10-01-05", "level": "level5"}]
            assert "migration 0034" in payload["reason"]
            assert [h.action for h in registry.history(s, trading.id)][-1] == last.action
        after = {i: _chain_length(eng, i) for i in before}
        assert after == {
            trading.id: before[trading.id] + 1,
            pending.id: before[pending.id],
            covered.id: before[covered.id],
        }
    finally:
        eng.dispose()


def _chain_length(eng: Engine, inst_id: uuid.UUID) -> int:
    with Session(eng) as s:
        return len(
            s.exec(select(AuditEntry).where(col(AuditEntry.chain) == chain_for(inst_id))).all()
        )
