"""The institution registry (issue 16 item 2): the record (credit code, legal name, kind), the
status the regulator of the institution's jurisdiction sets — pending → approved → suspended →
revoked, each with a reason, audited in the institution's chain — and the one rule that follows:
an institution that is not approved cannot open classes, issue certificates or file claims
(the API and the pages answer alike), while its staff keep reading."""

from __future__ import annotations

import base64
import json
import re
import uuid
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app import clock
from app.accounts import service as accounts
from app.accounts.models import Institution, RegistryStatus, Role
from app.accounts.principal import Principal
from app.audit.models import AuditEntry
from app.audit.service import Actor, chain_for
from app.clock import SHANGHAI
from app.courses import classes
from app.db import transaction
from app.programmes import registry
from app.programmes.exceptions import (
    CreditCodeTaken,
    InstitutionNotApproved,
    InvalidCreditCode,
    RegistryIncomplete,
    RegistryReasonRequired,
    RegistryTransitionRefused,
)
from tests.factories import (
    DEFAULT_SCOPE,
    course_row,
    credit_code,
    enrollment_row,
    issue,
    login,
    make_institution,
    make_learner,
    make_user,
)
from tests.web.staff_world import sign_in

API = "/api/v1"
NANSHAN = "440305"  # 深圳市南山区
SCOPE = [{"occupation_code": "6-31-01-03", "level": "level4"}]


def _regulator(engine: Engine, jurisdiction: str = "440300") -> Any:
    return make_user(engine, Role.regulator, jurisdiction=jurisdiction)


def _chain(engine: Engine, inst_id: uuid.UUID) -> list[tuple[str, dict[str, Any]]]:
    with Session(engine) as s:
        rows = s.exec(
            select(AuditEntry)
            .where(col(AuditEntry.chain) == chain_for(inst_id))
            .order_by(col(AuditEntry.seq))
        )
        return [(e.action, json.loads(e.payload)) for e in rows]


# ---------------------------------------------------------------- the credit code, wired


def test_the_credit_code_is_checked_when_an_institution_is_created(engine: Engine) -> None:
    good = credit_code(777)
    with transaction(engine) as s:
        inst = accounts.create_institution(
            s, code="CC1", name="信用代码学校", credit_code=good.lower(), actor=Actor.system()
        )
        assert inst.credit_code == good  # capitals, as registered
        assert inst.registry_status is RegistryStatus.pending  # an admin's new one waits
    wrong_check = good[:17] + ("0" if good[17] != "0" else "1")
    for bad in (wrong_check, good[:17], good[:16] + "I" + good[17], "52ABCDEF" + good[8:]):
        with transaction(engine) as s, pytest.raises(InvalidCreditCode):
            accounts.create_institution(
                s, code="CC2", name="错码学校", credit_code=bad, actor=Actor.system()
            )
    with transaction(engine) as s, pytest.raises(CreditCodeTaken):
        accounts.create_institution(
            s, code="CC3", name="重复学校", credit_code=good, actor=Actor.system()
        )
    with Session(engine) as s:
        assert s.exec(select(Institution).where(col(Institution.code) == "CC2")).first() is None


def test_staff_edit_their_record_while_pending_and_only_fill_gaps_after(
    client: TestClient, engine: Engine
) -> None:
    inst = make_institution(engine, region=NANSHAN, status=RegistryStatus.pending)
    staff = login(client, make_user(engine, Role.staff, inst).username)
    r = client.patch(
        f"{API}/me/institution/registry", json={"credit_code": "91440300X"}, headers=staff
    )
    assert (r.status_code, r.json()["code"]) == (422, "invalid_credit_code")
    assert "统一社会信用代码" in r.json()["message_zh"]
    fresh = credit_code(4242, region=NANSHAN)
    r = client.patch(
        f"{API}/me/institution/registry",
        json={"credit_code": fresh, "legal_name": "深圳市南山区安全技能培训学校", "kind": "public"},
        headers=staff,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["credit_code"], r.json()["kind"]) == (fresh, "public")
    assert r.json()["history"][-1]["action"] == "institution.registry.updated"
    other = make_institution(engine)
    with Session(engine) as s:
        taken = s.get(Institution, other.id)
        assert taken is not None and taken.credit_code
        taken_code = taken.credit_code
    r = client.patch(
        f"{API}/me/institution/registry", json={"credit_code": taken_code}, headers=staff
    )
    assert (r.status_code, r.json()["code"]) == (409, "credit_code_taken")
    # approved: the record is the regulator's to change now, an empty field may be filled
    reg = login(client, _regulator(engine).username)
    r = client.post(
        f"{API}/registry/institutions/{inst.id}/approve",
        json={"approved_scope": SCOPE, "reason": "材料齐全，核准"},
        headers=reg,
    )
    assert r.status_code == 200, r.text
    r = client.patch(f"{API}/me/institution/registry", json={"kind": "private"}, headers=staff)
    assert (r.status_code, r.json()["code"]) == (409, "registry_locked")
    assert r.json()["fields"] == ["kind"]
    with transaction(engine) as s:  # as migration 0032 leaves a trading institution
        row = s.get(Institution, inst.id)
        assert row is not None
        row.legal_name = None
    r = client.patch(
        f"{API}/me/institution/registry",
        json={"legal_name": "深圳市南山区安全技能培训学校"},
        headers=staff,
    )
    assert r.status_code == 200 and r.json()["legal_name"] == "深圳市南山区安全技能培训学校"


# ---------------------------------------------------------------- the regulator's decisions


def test_each_transition_with_its_reason_in_the_institutions_chain(
    client: TestClient, engine: Engine
) -> None:
    inst = make_institution(engine, region=NANSHAN, status=RegistryStatus.pending)
    reg = login(client, _regulator(engine).username)
    url = f"{API}/registry/institutions/{inst.id}"

    def act(action: str, **body: Any) -> Any:
        return client.post(
            f"{url}/{action}", json={"reason": "依据现场核查结果", **body}, headers=reg
        )

    listed = client.get(f"{API}/registry/institutions", params={"status": "pending"}, headers=reg)
    assert [i["id"] for i in listed.json()["items"]] == [str(inst.id)]
    r = act("suspend")  # nothing to suspend yet
    assert (r.status_code, r.json()["code"]) == (409, "registry_transition_refused")
    r = act("approve", approved_scope=[])
    assert r.status_code == 422  # an approval names what it covers
    r = act("approve", approved_scope=[{"occupation_code": "6-31-01", "level": "level4"}])
    assert (r.status_code, r.json()["code"]) == (422, "invalid_occupation_code")
    r = act("approve", approved_scope=[{"occupation_code": "6-31-01-03", "level": "level9"}])
    assert (r.status_code, r.json()["code"]) == (422, "invalid_registry_record")
    r = client.post(f"{url}/approve", json={"approved_scope": SCOPE, "reason": "可"}, headers=reg)
    assert (r.status_code, r.json()["code"]) == (422, "registry_reason_required")
    r = act(
        "approve", approved_scope=[*SCOPE, {"occupation_code": "４-10-01-05", "level": "level5"}]
    )
    assert r.status_code == 200, r.text
    assert r.json()["registry_status"] == "approved"
    assert r.json()["approved_scope"] == [
        {"occupation_code": "4-10-01-05", "level": "level5"},
        *SCOPE,
    ]
    assert act("suspend").json()["registry_status"] == "suspended"
    assert act("suspend").json()["code"] == "registry_transition_refused"
    assert act("approve", approved_scope=SCOPE).json()["registry_status"] == "approved"
    assert act("revoke").json()["registry_status"] == "revoked"
    for again in ("approve", "suspend", "revoke"):
        r = act(again, approved_scope=SCOPE)
        assert (r.status_code, r.json()["code"]) == (409, "registry_transition_refused"), again
    decisions = [
        (a, p["from"], p["to"], p["reason"])
        for a, p in _chain(engine, inst.id)
        if a.startswith("institution.registry.") and a != "institution.registry.updated"
    ]
    assert decisions == [
        ("institution.registry.approved", "pending", "approved", "依据现场核查结果"),
        ("institution.registry.suspended", "approved", "suspended", "依据现场核查结果"),
        ("institution.registry.approved", "suspended", "approved", "依据现场核查结果"),
        ("institution.registry.revoked", "approved", "revoked", "依据现场核查结果"),
    ]
    detail = client.get(url, headers=reg).json()
    assert [h["action"] for h in detail["history"]][-4:] == [d[0] for d in decisions]


def test_approval_needs_a_complete_record_and_a_regulator(
    client: TestClient, engine: Engine
) -> None:
    with transaction(engine) as s:
        bare = accounts.create_institution(s, code="BARE", name="空白学校", actor=Actor.system())
    national = make_user(engine, Role.regulator)
    with transaction(engine) as s, pytest.raises(RegistryIncomplete) as refused:
        registry.approve(
            s, Principal.of_user(s.merge(national)), bare.id, scope=DEFAULT_SCOPE, reason="核准开展"
        )
    assert refused.value.extra["missing"] == ["credit_code", "legal_name", "kind"]
    inst = make_institution(engine, region=NANSHAN, status=RegistryStatus.pending)
    body = {"approved_scope": SCOPE, "reason": "材料齐全，核准"}
    for role in (Role.admin, Role.staff):
        who = make_user(engine, role, inst if role is Role.staff else None)
        r = client.post(
            f"{API}/registry/institutions/{inst.id}/approve",
            json=body,
            headers=login(client, who.username),
        )
        assert r.status_code == 403, (role, r.text)
    with transaction(engine) as s, pytest.raises(RegistryReasonRequired):
        registry.suspend(s, Principal.of_user(s.merge(national)), inst.id, reason="   ")
    with transaction(engine) as s, pytest.raises(RegistryTransitionRefused):
        registry.suspend(s, Principal.of_user(s.merge(national)), inst.id, reason="暂停整改")


def test_a_regulator_of_another_prefecture_neither_sees_nor_decides(
    client: TestClient, engine: Engine
) -> None:
    inst = make_institution(engine, region=NANSHAN, status=RegistryStatus.pending)
    guangzhou = login(client, _regulator(engine, "440100").username)
    assert client.get(f"{API}/registry/institutions", headers=guangzhou).json()["items"] == []
    url = f"{API}/registry/institutions/{inst.id}"
    assert client.get(url, headers=guangzhou).status_code == 404
    before = _chain(engine, inst.id)
    for action in ("approve", "suspend", "revoke"):
        r = client.post(
            f"{url}/{action}",
            json={"approved_scope": SCOPE, "reason": "越权操作测试"},
            headers=guangzhou,
        )
        assert (r.status_code, r.json()["code"]) == (404, "institution_not_found"), action
    assert _chain(engine, inst.id) == before
    shenzhen = login(client, _regulator(engine).username)
    assert [
        i["code"]
        for i in client.get(f"{API}/registry/institutions", headers=shenzhen).json()["items"]
    ] == [inst.code]


def test_the_registry_list_is_paged_by_code_with_a_cursor(
    client: TestClient, engine: Engine
) -> None:
    codes = [f"SZP{n:03d}" for n in (5, 1, 4, 2, 3)]
    for code in codes:
        make_institution(engine, code, region=NANSHAN)
    make_institution(engine, "GZP001", region="440106")  # 广州市天河区: not Shenzhen's
    reg = login(client, _regulator(engine).username)
    url = f"{API}/registry/institutions"
    first = client.get(url, params={"limit": 2}, headers=reg).json()
    assert [i["code"] for i in first["items"]] == ["SZP001", "SZP002"]
    make_institution(engine, "SZP000", region=NANSHAN)  # before the cursor: next time round
    make_institution(engine, "SZP006", region=NANSHAN)  # after it: on a later page
    seen, cursor = [i["code"] for i in first["items"]], first["next_cursor"]
    while cursor is not None:
        r = client.get(url, params={"limit": 2, "cursor": cursor}, headers=reg)
        assert r.status_code == 200, r.text
        seen += [i["code"] for i in r.json()["items"]]
        cursor = r.json()["next_cursor"]
    assert seen == ["SZP001", "SZP002", "SZP003", "SZP004", "SZP005", "SZP006"]
    whole = client.get(url, params={"status": "approved"}, headers=reg).json()
    assert whole["next_cursor"] is None and len(whole["items"]) == 7  # default limit 50
    nul = base64.urlsafe_b64encode(b"SZP\x00").decode()  # PostgreSQL refuses NUL in text
    for bad in ("not a cursor!", "////", "QUFB" * 12, nul):  # not base64, UTF-8, a code
        r = client.get(url, params={"cursor": bad}, headers=reg)
        assert (r.status_code, r.json()["code"]) == (422, "invalid_input"), bad
    for limit in (0, 201):
        assert client.get(url, params={"limit": limit}, headers=reg).status_code == 422


# ---------------------------------------------------------------- the one rule


def _suspended_world(client: TestClient, engine: Engine) -> dict[str, Any]:
    inst = make_institution(engine, region=NANSHAN)
    staff = make_user(engine, Role.staff, inst)
    learner = make_learner(engine, inst)
    course = course_row(engine, inst)
    issued = issue(engine, learner, enrollment_row(engine, learner, course))
    waiting = enrollment_row(engine, make_learner(engine, inst), course)
    with transaction(engine) as s:
        klass = classes.create_class(
            s,
            Principal.of_user(s.merge(staff)),
            course.id,
            code="NS2026-01",
            name="南山低压电工一班",
            starts_on=date(2026, 12, 7),
            ends_on=date(2026, 12, 20),
            capacity=30,
            head_teacher_id=staff.id,
        )
    reg = login(client, _regulator(engine).username)
    r = client.post(
        f"{API}/registry/institutions/{inst.id}/suspend",
        json={"reason": "专项检查发现代学，暂停整改"},
        headers=reg,
    )
    assert r.status_code == 200, r.text
    return {
        "inst": inst,
        "staff": staff,
        "serial": issued.serial,
        "waiting": waiting,
        "klass": klass,
        "reg": reg,
    }


def test_a_suspended_institution_cannot_issue_open_a_class_or_file_a_claim(
    client: TestClient, engine: Engine
) -> None:
    w = _suspended_world(client, engine)
    h = login(client, w["staff"].username)
    today = clock.now().astimezone(SHANGHAI)
    refused = [
        client.post(f"{API}/enrollments/{w['waiting'].id}/certificate", headers=h),
        client.post(f"{API}/classes/{w['klass'].id}/open", headers=h),
        client.post(
            f"{API}/claim-batches",
            json={"period": "quarter", "year": today.year, "quarter": (today.month + 2) // 3},
            headers=h,
        ),
    ]
    for r in refused:
        assert (r.status_code, r.json()["code"]) == (409, "institution_not_approved"), r.text
        assert r.json()["registry_status"] == "suspended"
        assert "不能开班、发放培训合格证明或申报补贴" in r.json()["message_zh"]
    # reading goes on
    assert client.get(f"{API}/certificates/{w['serial']}", headers=h).status_code == 200
    mine = client.get(f"{API}/me/institution/registry", headers=h).json()
    assert mine["registry_status"] == "suspended"
    assert mine["history"][-1]["payload"]["reason"] == "专项检查发现代学，暂停整改"
    # the learner's side is refused the same (one rule, wherever the issue comes from)
    with transaction(engine) as s, pytest.raises(InstitutionNotApproved):
        from app.certificates import service as certificates

        certificates.issue(s, Principal.of_user(s.merge(w["staff"])), w["waiting"].id)
    # approved again, it issues
    r = client.post(
        f"{API}/registry/institutions/{w['inst'].id}/approve",
        json={"approved_scope": SCOPE, "reason": "整改完成，恢复资格"},
        headers=w["reg"],
    )
    assert r.status_code == 200
    r = client.post(f"{API}/enrollments/{w['waiting'].id}/certificate", headers=h)
    assert r.status_code == 201, r.text


def test_the_pages_refuse_the_same_in_words(client: TestClient, engine: Engine) -> None:
    w = _suspended_world(client, engine)
    csrf = sign_in(client, w["staff"].username)
    today = clock.now().astimezone(SHANGHAI)
    pages = [
        client.post(f"/staff/enrollments/{w['waiting'].id}/certificate", data={"csrf": csrf}),
        client.post(f"/staff/classes/{w['klass'].id}/open", data={"csrf": csrf}),
        client.post(
            "/staff/claims/batches",
            data={
                "csrf": csrf,
                "period": "quarter",
                "year": str(today.year),
                "quarter": str((today.month + 2) // 3),
            },
        ),
    ]
    for r in pages:
        assert r.status_code == 409, r.text[:500]
        assert "不能开班、发放培训合格证明或申报补贴" in r.text
    with Session(engine) as s:
        klass = s.get(type(w["klass"]), w["klass"].id)
        assert klass is not None and klass.status.value == "planned"
    r = client.get("/staff/registry")
    assert r.status_code == 200 and "已暂停" in r.text and "专项检查发现代学，暂停整改" in r.text


# ---------------------------------------------------------------- migration 0032


def test_migration_approves_trading_institutions_for_their_courses(db_url: str) -> None:
    """Existing institutions are approved for their courses' occupations and levels, each
    with an audit entry in its own chain that says so; the chain still verifies."""
    from alembic import command
    from sqlalchemy import create_engine

    from app.audit.chain import GENESIS, entry_hash
    from app.migrate import alembic_config

    url = db_url.replace("postgresql://", "postgresql+psycopg://", 1)
    cfg = alembic_config(url)
    command.downgrade(cfg, "0031")
    eng = create_engine(url)
    a, b = uuid.uuid4(), uuid.uuid4()
    now = clock.now()
    try:
        with eng.begin() as conn:
            tables = sa.MetaData()
            institutions = sa.Table("institutions", tables, autoload_with=conn)
            courses = sa.Table("courses", tables, autoload_with=conn)
            for inst_id, code in ((a, "OLD-A"), (b, "OLD-B")):
                conn.execute(
                    institutions.insert().values(
                        {
                            **_filled(conn, institutions, now),
                            "id": _uuid_param(conn, inst_id),
                            "code": code,
                            "name": "老机构",
                        }
                    )
                )
            for occupation, level in (("6-31-01-03", "level4"), ("4-10-01-05", "level5")):
                conn.execute(
                    courses.insert().values(
                        {
                            **_filled(conn, courses, now),
                            "id": _uuid_param(conn, uuid.uuid4()),
                            "institution_id": _uuid_param(conn, a),
                            "occupation_code": occupation,
                            "level": level,
                            "status": "published",
                        }
                    )
                )
    except Exception:
        command.upgrade(cfg, "head")
        raise
    command.upgrade(cfg, "head")
    with Session(eng) as s:
        got = {
            i.code: i for i in s.exec(select(Institution).where(col(Institution.id).in_([a, b])))
        }
        assert got["OLD-A"].registry_status is RegistryStatus.approved
        assert got["OLD-A"].approved_scope == [
            {"occupation_code": "4-10-01-05", "level": "level5"},
            {"occupation_code": "6-31-01-03", "level": "level4"},
        ]
        assert got["OLD-B"].registry_status is RegistryStatus.approved
        assert got["OLD-B"].approved_scope == []
        for inst_id in (a, b):
            [entry] = s.exec(
                select(AuditEntry).where(col(AuditEntry.chain) == chain_for(inst_id))
            ).all()
            assert (entry.action, entry.actor, entry.seq) == (
                "institution.registry.migrated",
                "system:migration",
                1,
            )
            assert entry.prev_hash == GENESIS
            fields = {
                "chain": entry.chain,
                "seq": entry.seq,
                "time": entry.time.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "actor": entry.actor,
                "action": entry.action,
                "subject": entry.subject,
                "payload": json.loads(entry.payload),
                "prev_hash": entry.prev_hash,
            }
            assert entry_hash(fields) == entry.hash
            assert re.search("migration 0032", json.loads(entry.payload)["reason"])
        # the history a regulator reads starts with it
        assert [h.action for h in registry.history(s, a)] == ["institution.registry.migrated"]
    eng.dispose()


def _uuid_param(conn: Any, value: uuid.UUID) -> Any:
    return value.hex if conn.dialect.name == "sqlite" else value


def _filled(conn: Any, table: Any, now: Any) -> dict[str, Any]:
    """A value for every required column of a table as it was at revision 0031."""
    out: dict[str, Any] = {}
    for c in table.columns:
        if c.nullable:
            continue
        kind = c.type.python_type
        if kind is bool:
            out[c.name] = True
        elif kind is int:
            out[c.name] = 1
        elif kind is str:
            out[c.name] = "x"
        else:  # the timestamps
            out[c.name] = now.replace(tzinfo=None) if conn.dialect.name == "sqlite" else now
    return out
