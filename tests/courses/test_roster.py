"""Enrolment by institutions and employers: a 500-row roster with planted errors shows every one
of them in words and enrols nobody; a clean one enrols all 500 in one transaction (or none when
the database changed since the check); learners set their own password with their activation
code and give consent themselves. On SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlmodel import Session, col, func, select

from app.accounts.models import Role, User
from app.audit import service as audit
from app.audit.chain import ChainVerifier
from app.audit.models import AuditEntry
from app.courses.models import Enrollment
from tests.factories import (
    PASSWORD,
    id_number,
    key_headers,
    login,
    make_course,
    make_enrollment,
    make_institution,
    make_learner,
    make_user,
)

API = "/api/v1"
HEADER = ["姓名", "身份证号", "手机号", "人员类别", "工作单位"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平"


def person(i: int) -> list[Any]:
    """A distinct, valid row (birth 1985, sequence i: 500 different ID numbers)."""
    name = SURNAMES[i % 20] + GIVEN[(i // 20) % 20] + GIVEN[(i * 7) % 20]
    return [
        name,
        id_number(birth="19850612", region="440305", seq=i),
        f"139{i:08d}",
        "企业职工" if i % 2 else "农民工",
        "深圳市南山区城市建设集团有限公司",
    ]


def xlsx(rows: list[list[Any]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for r in rows:
        sheet.append(r)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def upload(client: TestClient, h: dict[str, str], class_id: str, data: bytes, name: str) -> Any:
    return client.post(
        f"{API}/classes/{class_id}/roster-imports",
        files={"file": (name, data, "application/octet-stream")},
        headers=h,
    )


@pytest.fixture
def world(client: TestClient, engine: Any) -> dict[str, Any]:
    inst = make_institution(engine)
    staff = make_user(engine, Role.staff, inst)
    course = make_course(engine, inst, staff=staff)
    h = login(client, staff.username)
    k = client.post(
        f"{API}/courses/{course.id}/classes",
        json={
            "code": "2026-07",
            "name": "2026年第7期企业职工低压电工班",
            "starts_on": "2026-07-01",
            "ends_on": "2026-08-31",
            "capacity": 600,
            "head_teacher_id": str(staff.id),
        },
        headers=h,
    )
    assert k.status_code == 201, k.text
    return {"inst": inst, "staff": staff, "course": course, "h": h, "class": k.json()["class_id"]}


def counts(engine: Any, class_id: str) -> tuple[int, int]:
    """(enrolments in the class, learner accounts)."""
    with Session(engine) as s:
        enrolled = s.exec(
            select(func.count())
            .select_from(Enrollment)
            .where(col(Enrollment.class_id) == uuid.UUID(class_id))
        ).one()
        learners = s.exec(
            select(func.count()).select_from(User).where(col(User.role) == Role.learner)
        ).one()
        return int(enrolled), int(learners)


def test_a_500_row_roster_shows_every_planted_error_and_enrols_nobody(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    rows = [person(i) for i in range(500)]
    good = rows[10][1]
    rows[10][1] = good[:17] + ("0" if good[17] != "0" else "1")  # bad check character
    rows[20][1] = rows[5][1]  # the same person twice
    rows[30][0] = '=HYPERLINK("http://evil.example/","点此核验")'  # formula in a name
    rows[40][4] = "+cmd|' /C calc'!A0"  # formula in the employer
    rows[50][1] = 440305198506120123  # an ID number Excel turned into a number
    rows[60][3] = "外星人"  # not a target group
    rows[70][1] = id_number(birth="19850632", region="440305", seq=70)  # 32nd day
    elsewhere = make_learner(engine, make_institution(engine), id_number=rows[80][1])
    enrolled = make_learner(engine, world["inst"], id_number=rows[90][1])
    make_enrollment(engine, enrolled, world["course"])
    before = counts(engine, world["class"])

    r = upload(client, world["h"], world["class"], xlsx(rows), "名册.xlsx")
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["total_rows"], body["ready"]) == (500, False)
    found = {(e["row"], e["field"], e["code"]) for e in body["errors"]}
    # Spreadsheet rows: the header is row 1, so rows[i] is row i + 2.
    assert found == {
        (12, "id_number", "id_check_digit"),
        (22, "id_number", "duplicate_in_file"),
        (32, "real_name", "formula"),
        (42, "employer", "formula"),
        (52, "id_number", "number_cell"),
        (62, "group", "unknown_group"),
        (72, "id_number", "id_birth_date"),
        (82, "id_number", "registered_elsewhere"),
        (92, "id_number", "already_enrolled"),
    }
    words = {e["row"]: e["message_zh"] for e in body["errors"]}
    assert words[22] == "第 22 行 身份证号：与第 7 行重复"
    assert "校验码不对" in words[12] and "公式" in words[32] and "数字" in words[52]
    assert body["valid_rows"] == 500 - 9

    refused = client.post(f"{API}/roster-imports/{body['import_id']}/commit", headers=world["h"])
    assert refused.status_code == 409 and refused.json()["code"] == "roster_not_ready"
    assert counts(engine, world["class"]) == before
    assert elsewhere.institution_id != world["inst"].id


def test_a_clean_roster_enrols_all_500_in_one_transaction(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    rows = [person(i) for i in range(500)]
    r = upload(client, world["h"], world["class"], xlsx(rows), "名册.xlsx")
    assert r.status_code == 201 and r.json()["ready"] and r.json()["errors"] == []
    first = r.json()["import_id"]
    # Between the check and the commit someone registers row 250's ID number elsewhere: the
    # commit refuses, and not one of the other 499 is enrolled (one transaction).
    make_learner(engine, make_institution(engine), id_number=rows[250][1])
    _enrolled0, learners0 = counts(engine, world["class"])
    changed = client.post(f"{API}/roster-imports/{first}/commit", headers=world["h"])
    assert changed.status_code == 409 and changed.json()["code"] == "roster_changed"
    assert counts(engine, world["class"]) == (0, learners0)
    again = client.get(f"{API}/roster-imports/{first}", headers=world["h"]).json()
    assert [(e["row"], e["code"]) for e in again["errors"]] == [(252, "registered_elsewhere")]

    rows[250] = person(777)
    r = upload(client, world["h"], world["class"], xlsx(rows), "名册-修订.xlsx")
    assert r.json()["ready"], r.json()["errors"]
    done = client.post(f"{API}/roster-imports/{r.json()['import_id']}/commit", headers=world["h"])
    assert done.status_code == 200, done.text
    out = done.json()["enrolled"]
    assert len(out) == 500 and all(e["activation_code"] for e in out)
    assert len({e["activation_code"] for e in out}) == 500
    assert counts(engine, world["class"]) == (500, learners0 + 500)
    with Session(engine) as s:
        learners = s.exec(
            select(User).where(col(User.id).in_([uuid.UUID(e["learner_id"]) for e in out]))
        ).all()
        assert not any(u.biometric_consent for u in learners)  # never given by the employer
        actions = dict(
            s.exec(
                select(col(AuditEntry.action), func.count())
                .where(col(AuditEntry.action).in_(["learner.created", "enrollment.created"]))
                .group_by(col(AuditEntry.action))
            ).all()
        )
        assert actions == {"learner.created": 500, "enrollment.created": 500}
    twice = client.post(f"{API}/roster-imports/{r.json()['import_id']}/commit", headers=world["h"])
    assert twice.status_code == 409 and twice.json()["code"] == "roster_not_ready"


def test_learners_activate_their_own_account_and_consent_themselves(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    row = person(3)
    csv_text = ",".join(HEADER) + "\r\n" + ",".join(str(c) for c in row) + "\r\n"
    r = upload(client, world["h"], world["class"], csv_text.encode("gb18030"), "名册.csv")
    assert r.status_code == 201 and r.json()["ready"], r.text
    out = client.post(
        f"{API}/roster-imports/{r.json()['import_id']}/commit", headers=world["h"]
    ).json()["enrolled"][0]
    code = out["activation_code"]
    assert out["id_number_masked"] == row[1][:6] + "********" + row[1][-4:]

    body = {"id_number": row[1], "username": "wangwei85", "password": PASSWORD}
    wrong = client.post(f"{API}/auth/activate", json={**body, "activation_code": "AAAA-AAAA-AAAA"})
    assert wrong.status_code == 400 and wrong.json()["code"] == "activation_refused"
    ok = client.post(f"{API}/auth/activate", json={**body, "activation_code": code.lower()})
    assert ok.status_code == 200, ok.text
    h = login(client, "wangwei85")
    assert client.get(f"{API}/me/consent", headers=h).json()["biometric_consent"] is False
    # sent again (a retry after a lost answer): the account it activated, nothing recorded again
    again = client.post(f"{API}/auth/activate", json={**body, "activation_code": code})
    assert again.status_code == 200 and again.json() == ok.json(), again.text
    other = {**body, "password": "Another-pass-9381", "activation_code": code}
    again = client.post(f"{API}/auth/activate", json=other)
    assert again.status_code == 400 and again.json()["code"] == "activation_refused"
    mine = client.get(f"{API}/me/enrollments", headers=h).json()
    assert [e["class_id"] for e in mine] == [world["class"]]


def test_one_person_and_partner_keys(
    client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    kh = key_headers(engine, world["inst"].id, ["enrolments:write"], name="企业报名")
    url = f"{API}/classes/{world['class']}/learners"
    bad = client.post(
        url, json={"real_name": "=1+1", "id_number": "110105199003071235"}, headers=kh
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_roster"
    assert {e["code"] for e in bad.json()["errors"]} == {"formula", "id_check_digit"}
    ok = client.post(
        url,
        json={"real_name": "周建国", "id_number": person(9)[1], "employer": "国网深圳供电局"},
        headers=kh,
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["activation_code"]
    r = upload(client, kh, world["class"], b"not,a,roster\r\n1,2,3\r\n", "x.csv")
    assert r.status_code == 422 and r.json()["code"] == "invalid_roster"
    other = login(client, make_user(engine, Role.staff, make_institution(engine)).username)
    assert (
        client.post(url, json={"real_name": "周建国", "id_number": "x"}, headers=other).status_code
        == 404
    )


def test_a_committed_roster_chains_each_rows_entries_in_row_order(
    clock: Any, client: TestClient, engine: Any, world: dict[str, Any]
) -> None:
    """The bulk commit writes the entries the per-row path did — per row ``learner.created``
    for a new account, then ``enrollment.created`` — in row order, with the clock's time, and
    the chain verifies; known learners get only their enrolment's entry."""
    rows = [person(i) for i in range(12)]
    rows[4][3] = None  # no declared group
    rows[7][4] = None  # no employer
    known = make_learner(engine, world["inst"], id_number=rows[5][1])
    r = upload(client, world["h"], world["class"], xlsx(rows), "名册.xlsx")
    assert r.status_code == 201 and r.json()["ready"], r.text
    chain = audit.chain_for(world["inst"].id)
    with Session(engine) as s:
        checked_seq = audit.chain_head(s, chain)[0]
    done = client.post(f"{API}/roster-imports/{r.json()['import_id']}/commit", headers=world["h"])
    assert done.status_code == 200, done.text
    course = world["course"]
    expected: list[tuple[str, str, dict[str, Any]]] = []
    with Session(engine) as s:
        for i, row in enumerate(rows):
            name = known.real_name if i == 5 else row[0]
            user = s.exec(select(User).where(col(User.real_name) == name)).one()
            if i != 5:
                assert user.id_number_masked is not None
                expected.append(
                    (
                        "learner.created",
                        f"user:{user.id}",
                        {
                            "id_number_masked": user.id_number_masked,
                            "group": user.group.value if user.group else None,
                            "via": "roster",
                            "activation_required": True,
                            "activation_code_valid_days": 30,
                        },
                    )
                )
            enrollment = s.exec(
                select(Enrollment).where(
                    col(Enrollment.user_id) == user.id, col(Enrollment.course_id) == course.id
                )
            ).one()
            assert enrollment.employer == row[4]
            expected.append(
                (
                    "enrollment.created",
                    f"enrollment:{enrollment.id}",
                    {
                        "course": str(course.id),
                        "class": world["class"],
                        "user": str(user.id),
                        "occupation_code": course.occupation_code,
                        "level": course.level.value,
                        "via": "roster",
                        "employer": row[4],
                    },
                )
            )
        entries = list(
            s.exec(
                select(AuditEntry)
                .where(col(AuditEntry.chain) == chain, col(AuditEntry.seq) > checked_seq)
                .order_by(col(AuditEntry.seq))
            )
        )
        assert [(e.action, e.subject, json.loads(e.payload)) for e in entries[:-1]] == expected
        assert entries[-1].action == "roster.committed"
        assert {e.time for e in entries} == {clock.now()}
        assert {e.actor for e in entries} == {f"user:{world['staff'].id}"}
        assert len(expected) == 2 * 12 - 1
        verifier = ChainVerifier()
        checkpoint = None
        for obj in audit.iter_export(s, chain):
            if obj["type"] == "checkpoint":
                checkpoint = obj
            else:
                assert verifier.feed(obj) is None, verifier.result
    result = verifier.finish(checkpoint)
    assert result.ok and result.last_seq == entries[-1].seq, result
