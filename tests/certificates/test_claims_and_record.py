"""Quarterly claim exports (CSV and XLSX; totals match the rows; staff see their own
institution, regulators any) and the electronic training record."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from typing import Any

from openpyxl import load_workbook

from app.accounts.models import LearnerGroup, Role
from app.certificates.claims import HEADER, TOTAL_LABEL
from tests.factories import (
    certified,
    course_row,
    enrollment_row,
    login,
    make_institution,
    make_learner,
    make_user,
)

OCC = [
    ("4-10-01-02", "育婴员"),
    ("6-31-01-03", "电工"),
    ("4-03-02-01", "中式烹调师"),
    ("4-10-01-05", "养老护理员"),
]


def _setup(engine: Any, clock: Any) -> tuple[Any, list[Any]]:
    """Q1 2026: learner A gets 4 certificates (the 4th refused), B one at 2300 yuan, C one
    revoked-free but without roll-calls (refused); one more in Q2 (outside the quarter)."""
    inst = make_institution(engine, code="QTR")
    a = make_learner(engine, inst, real_name="甲一")
    b = make_learner(engine, inst, real_name="乙二")
    c = make_learner(engine, inst, real_name="丙三")
    certs = []
    for i, (code, name) in enumerate(OCC):
        clock.set(datetime(2026, 1, 10 + i, tzinfo=UTC))
        certs.append(
            certified(
                engine,
                a,
                inst,
                occupation_code=code,
                occupation_name=name,
                subsidy_fen=100_000 + i * 1_000,
                minutes=60 + i,
            )
        )
    clock.set(datetime(2026, 2, 1, tzinfo=UTC))
    certs.append(
        certified(
            engine,
            b,
            inst,
            subsidy_fen=230_000,
            minutes=125,
            occupation_code="4-07-05-03",
            occupation_name="保洁员",
        )
    )
    certs.append(certified(engine, c, inst, rollcalls=(0, 0)))
    clock.set(datetime(2026, 4, 2, tzinfo=UTC))
    certs.append(certified(engine, c, inst, occupation_code="6-29-01-01", occupation_name="焊工"))
    return inst, certs


def test_csv_and_xlsx_totals_match_rows(client: Any, engine: Any, clock: Any) -> None:
    inst, certs = _setup(engine, clock)
    staff = login(client, make_user(engine, Role.staff, inst).username)
    params = {"year": 2026, "quarter": 1}

    r = client.get("/api/v1/subsidy-claims", params=params, headers=staff)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "QTR-2026Q1.csv" in r.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    header, body, total = rows[0], rows[1:-1], rows[-1]
    assert header == HEADER
    assert [row[7] for row in body] == [c.serial for c in certs[:3]] + [certs[4].serial]
    assert {row[1] for row in body} == {"甲一", "乙二"}
    assert total[0] == TOTAL_LABEL
    fen = [int(row[11]) for row in body]
    assert fen == [100_000, 101_000, 102_000, 230_000]
    assert int(total[11]) == sum(fen) == 533_000
    assert total[10] == "5330.00" and [row[10] for row in body][0] == "1000.00"
    assert float(total[9]) == round(sum(float(row[9]) for row in body), 1) == 5.1
    assert all("*" in row[2] for row in body)
    assert "max_per_year" in body[0][12]

    x = client.get("/api/v1/subsidy-claims", params={**params, "format": "xlsx"}, headers=staff)
    assert x.status_code == 200
    ws = load_workbook(io.BytesIO(x.content)).worksheets[0]
    values = [list(r) for r in ws.iter_rows(values_only=True)]
    assert list(values[0]) == HEADER
    xbody, xtotal = values[1:-1], values[-1]
    assert [row[7] for row in xbody] == [row[7] for row in body]
    assert xtotal[0] == TOTAL_LABEL and xtotal[11] == sum(row[11] for row in xbody) == 533_000

    q2 = client.get("/api/v1/subsidy-claims", params={"year": 2026, "quarter": 2}, headers=staff)
    q2_rows = list(csv.reader(io.StringIO(q2.content.decode("utf-8-sig"))))
    assert [row[7] for row in q2_rows[1:-1]] == [certs[6].serial]


def test_who_may_export(client: Any, engine: Any, clock: Any) -> None:
    inst, _ = _setup(engine, clock)
    other = make_institution(engine)
    params = {"year": 2026, "quarter": 1}
    foreign = login(client, make_user(engine, Role.staff, other).username)
    r = client.get(
        "/api/v1/subsidy-claims", params={**params, "institution_id": str(inst.id)}, headers=foreign
    )
    assert r.status_code == 403
    # Their own export has none of the other institution's rows.
    own = client.get("/api/v1/subsidy-claims", params=params, headers=foreign)
    assert len(list(csv.reader(io.StringIO(own.content.decode("utf-8-sig"))))) == 2
    regulator = login(client, make_user(engine, Role.regulator).username)
    r = client.get("/api/v1/subsidy-claims", params=params, headers=regulator)
    assert r.status_code == 404 and r.json()["code"] == "institution_not_found"
    r = client.get(
        "/api/v1/subsidy-claims",
        params={**params, "institution_id": str(inst.id)},
        headers=regulator,
    )
    assert r.status_code == 200 and "QTR-2026-000001" in r.text
    learner = login(client, make_learner(engine, inst).username)
    assert client.get("/api/v1/subsidy-claims", params=params, headers=learner).status_code == 403


def test_training_record(client: Any, engine: Any, clock: Any) -> None:
    inst, other = make_institution(engine), make_institution(engine)
    learner = make_learner(engine, inst, real_name="周培训")
    cert = certified(engine, learner, inst, subsidy_fen=150_000, minutes=75)
    clock.advance(days=1)
    enrollment_row(engine, learner, course_row(engine, inst), complete=False)
    clock.advance(days=1)
    certified(engine, learner, other, level="level3")

    me = client.get("/api/v1/me/record", headers=login(client, learner.username))
    assert me.status_code == 200, me.text
    rec = me.json()
    assert rec["real_name"] == "周培训" and rec["id_number_masked"] == learner.id_number_masked
    assert len(rec["enrollments"]) == 3
    first = rec["enrollments"][0]
    assert first["certificate"]["serial"] == cert.serial
    assert first["subsidy"] == {"eligible": True, "amount_fen": 150_000, "refused_by": []}
    assert first["credited_minutes"] == 75 and first["hours"] == 1.2
    assert first["rollcall_pass_rate"] == 100 and first["best_quiz_score"] == 90
    assert rec["enrollments"][1]["certificate"] is None
    assert rec["enrollments"][1]["complete"] is False
    assert rec["certificates"] == 2 and rec["subsidised"] == 2 and rec["completed"] == 2

    url = f"/api/v1/learners/{learner.id}/record"
    staff = login(client, make_user(engine, Role.staff, inst).username)
    part = client.get(url, headers=staff).json()
    assert len(part["enrollments"]) == 2  # only the enrolments at their institution
    regulator = login(client, make_user(engine, Role.regulator).username)
    assert len(client.get(url, headers=regulator).json()["enrollments"]) == 3
    third = make_institution(engine)
    stranger_staff = login(client, make_user(engine, Role.staff, third).username)
    assert client.get(url, headers=stranger_staff).status_code == 404
    other_learner = login(client, make_learner(engine, inst).username)
    assert client.get(url, headers=other_learner).status_code == 404
    assert client.get("/api/v1/me/record", headers=staff).status_code == 403


def test_group_is_in_the_claim(client: Any, engine: Any, clock: Any) -> None:
    from app.accounts.models import User
    from app.db import transaction

    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    with transaction(engine) as s:
        u = s.get(User, learner.id)
        assert u is not None
        u.group = LearnerGroup.migrant_worker
        s.add(u)
    clock.set(datetime(2026, 8, 1, tzinfo=UTC))
    certified(engine, learner, inst)
    staff = login(client, make_user(engine, Role.staff, inst).username)
    r = client.get("/api/v1/subsidy-claims", params={"year": 2026, "quarter": 3}, headers=staff)
    [row] = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))[1:-1]
    assert row[3] == "农民工"


HOSTILE_NAME = '=HYPERLINK("http://x","点此核验")'


def test_a_formula_in_a_name_comes_out_inert_in_csv_and_xlsx(
    client: Any, engine: Any, clock: Any
) -> None:
    """Formula injection (OWASP CSV injection): a learner's name, an occupation name starting
    with = + - @ reach the claims sheet as text, never as a formula."""
    inst = make_institution(engine, code="INJ")
    learner = make_learner(engine, inst, real_name=HOSTILE_NAME)
    clock.set(datetime(2026, 1, 10, tzinfo=UTC))
    certified(engine, learner, inst, occupation_name="@SUM(1+1)*cmd|' /C calc'!A0")
    staff = login(client, make_user(engine, Role.staff, inst).username)
    params = {"year": 2026, "quarter": 1}

    r = client.get("/api/v1/subsidy-claims", params=params, headers=staff)
    assert r.status_code == 200, r.text
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    row = rows[1]
    assert row[1] == "'" + HOSTILE_NAME
    assert row[5] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    for cells in rows:
        for cell in cells:
            assert not cell.lstrip(" ").startswith(("=", "+", "-", "@", "\t", "\r")), cell

    x = client.get("/api/v1/subsidy-claims", params={**params, "format": "xlsx"}, headers=staff)
    assert x.status_code == 200
    wb = load_workbook(io.BytesIO(x.content))
    ws = wb.worksheets[0]
    name = ws.cell(row=2, column=2)
    assert name.value == HOSTILE_NAME  # kept exactly, but as text
    assert name.data_type == "s" and name.quotePrefix
    for sheet in wb.worksheets:
        for cells in sheet.iter_rows():
            assert all(c.data_type != "f" for c in cells)
    with zipfile.ZipFile(io.BytesIO(x.content)) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and not any(b"<f>" in z.read(n) for n in sheets)
