"""`GET /api/v1/reports/summary`: counts by period, institution, occupation, level and learner
group on a crafted data set (two institutions, two months, two groups), and who sees what.
Enrolments and certificates are made directly (tests/factories.py), no faces."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from app.accounts import service as accounts
from app.accounts.models import Institution, LearnerGroup, Role, User
from app.accounts.principal import Principal
from app.audit.service import Actor
from app.certificates import service as certificates
from app.courses.models import Course, DailyCredit, Enrollment, Level
from app.db import transaction
from app.reports import statistics
from tests.factories import (
    course_row,
    enrollment_row,
    issue,
    login,
    make_institution,
    make_learner,
    make_user,
)

URL = "/api/v1/reports/summary"
MIGRANT, UNEMPLOYED = LearnerGroup.migrant_worker, LearnerGroup.unemployed
JAN = datetime(2026, 1, 10, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
FEB = datetime(2026, 2, 10, 2, 0, tzinfo=UTC)
#: 2026-02-01 01:00 in Shanghai: February there, still January in UTC.
FEB_IN_SHANGHAI = datetime(2026, 1, 31, 17, 0, tzinfo=UTC)
ZERO = dict.fromkeys(statistics.COUNTS, 0)


def learner(engine: Engine, inst: Institution, group: LearnerGroup) -> User:
    user = make_learner(engine, inst)
    with transaction(engine) as s:
        u = s.get(User, user.id)
        assert u is not None
        u.group = group
        s.add(u)
    return u


def credit(engine: Engine, en: Enrollment, *days: date) -> None:
    with transaction(engine) as s:
        for d in days:
            s.add(DailyCredit(enrollment_id=en.id, day=d, ms=600_000))


def enrol(engine: Engine, clock: Any, at: datetime, user: User, course: Course, **kw: Any) -> Any:
    clock.set(at)
    return enrollment_row(engine, user, course, **kw)


def certify(engine: Engine, clock: Any, at: datetime, user: User, en: Enrollment) -> Any:
    clock.set(at)
    return issue(engine, user, en)


@pytest.fixture
def world(engine: Engine, clock: Any) -> dict[str, Any]:
    a, b = make_institution(engine), make_institution(engine)
    ca = course_row(engine, a)  # 6-31-01-03 电工, level4, 1500 yuan
    cb = course_row(
        engine,
        b,
        occupation_code="4-10-01-01",
        occupation_name="保育师",
        level=Level.level5,
        subsidy_fen=100_000,
    )
    a1, a2 = learner(engine, a, MIGRANT), learner(engine, a, UNEMPLOYED)
    a3, a4 = learner(engine, a, MIGRANT), learner(engine, a, UNEMPLOYED)
    b1, b2 = learner(engine, b, MIGRANT), learner(engine, b, UNEMPLOYED)

    # a1: enrolled, trained, qualified in January; subsidised.
    e = enrol(engine, clock, JAN, a1, ca)
    credit(engine, e, date(2026, 1, 10), date(2026, 1, 11))
    certify(engine, clock, JAN.replace(day=20), a1, e)
    # a2: enrolled in January, first credit in February, certificate on 1 Feb (Shanghai).
    e = enrol(engine, clock, JAN, a2, ca)
    credit(engine, e, date(2026, 2, 3), date(2026, 2, 4))
    certify(engine, clock, FEB_IN_SHANGHAI, a2, e)
    # a3: enrolled on 1 Feb (Shanghai), 30 seconds only: not trained.
    enrol(engine, clock, FEB_IN_SHANGHAI, a3, ca, complete=False)
    set_seconds(engine, a3, 30)
    # a4: enrolled in February, credit without daily rows (counted in the month of enrolment),
    # certificate issued in February and then revoked.
    e = enrol(engine, clock, FEB, a4, ca)
    cert = certify(engine, clock, FEB, a4, e)
    staff_a = make_user(engine, Role.staff, a)
    with transaction(engine) as s:
        certificates.revoke(s, Principal.of_user(staff_a), cert.serial, "冒名顶替")
    # b1: January; qualified but attendance was never roll-called: no subsidy.
    e = enrol(engine, clock, JAN, b1, cb, rollcalls=(0, 0))
    credit(engine, e, date(2026, 1, 12))
    certify(engine, clock, JAN.replace(day=25), b1, e)
    # b2: February; subsidised.
    e = enrol(engine, clock, FEB, b2, cb)
    credit(engine, e, date(2026, 2, 10))
    certify(engine, clock, FEB, b2, e)
    return {"a": a, "b": b, "staff_a": staff_a, "a3": a3}


def set_seconds(engine: Engine, user: User, seconds: int) -> None:
    with transaction(engine) as s:
        en = s.exec(select(Enrollment).where(col(Enrollment.user_id) == user.id)).one()
        en.credited_ms = seconds * 1000
        s.add(en)


def rows_by_key(body: dict[str, Any]) -> dict[tuple[str, str, str, str, str | None], Any]:
    out = {}
    for r in body["rows"]:
        key = (r["period"], r["institution_id"], r["occupation_code"], r["level"])
        out[(*key, r["learner_group"])] = {k: r[k] for k in statistics.COUNTS}
    return out


def get(client: TestClient, headers: dict[str, str], **params: Any) -> Any:
    r = client.get(URL, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def regulator(engine: Engine, client: TestClient) -> dict[str, str]:
    return login(client, make_user(engine, Role.regulator).username)


def expected(world: dict[str, Any]) -> dict[Any, Any]:
    a, b = str(world["a"].id), str(world["b"].id)
    el, bao = ("6-31-01-03", "level4"), ("4-10-01-01", "level5")
    return {
        ("2026-01", a, *el, "migrant_worker"): {
            **ZERO,
            "enrolled": 1,
            "trained": 1,
            "qualified": 1,
            "subsidy_eligible": 1,
            "subsidy_amount_fen": 150_000,
        },
        ("2026-01", a, *el, "unemployed"): {**ZERO, "enrolled": 1},
        ("2026-02", a, *el, "migrant_worker"): {**ZERO, "enrolled": 1},
        ("2026-02", a, *el, "unemployed"): {
            **ZERO,
            "enrolled": 1,
            "trained": 2,
            "qualified": 1,
            "certificates_revoked": 1,
            "subsidy_eligible": 1,
            "subsidy_amount_fen": 150_000,
        },
        ("2026-01", b, *bao, "migrant_worker"): {
            **ZERO,
            "enrolled": 1,
            "trained": 1,
            "qualified": 1,
        },
        ("2026-02", b, *bao, "unemployed"): {
            **ZERO,
            "enrolled": 1,
            "trained": 1,
            "qualified": 1,
            "subsidy_eligible": 1,
            "subsidy_amount_fen": 100_000,
        },
    }


def test_counts_by_month_institution_occupation_level_and_group(
    engine: Engine, world: dict[str, Any], client: TestClient, regulator: dict[str, str]
) -> None:
    body = get(client, regulator)
    assert rows_by_key(body) == expected(world)
    assert body["totals"] == {
        "enrolled": 6,
        "trained": 5,
        "qualified": 4,
        "certificates_revoked": 1,
        "subsidy_eligible": 3,
        "subsidy_amount_fen": 400_000,
        "outcomes_recorded": 0,
        "employed": 0,
        "offline_trained": 0,
        "offline_minutes": 0,
        "employment_rate": 0.0,
    }
    assert body["institution_id"] is None
    assert body["period"] == "month"
    codes = {str(i.id): i.code for i in (world["a"], world["b"])}
    for r in body["rows"]:
        assert r["institution_code"] == codes[r["institution_id"]]
        assert r["institution_name"] == "测试培训学校"
        want = "电工" if r["occupation_code"] == "6-31-01-03" else "保育师"
        assert r["occupation_name"] == want
    assert [r["period"] for r in body["rows"]] == sorted(r["period"] for r in body["rows"])


def test_a_minute_makes_an_enrolment_trained(
    engine: Engine, world: dict[str, Any], client: TestClient, regulator: dict[str, str]
) -> None:
    set_seconds(engine, world["a3"], 60)  # no daily rows: counted in the month of enrolment
    rows = rows_by_key(get(client, regulator))
    key = ("2026-02", str(world["a"].id), "6-31-01-03", "level4", "migrant_worker")
    assert rows[key] == {**ZERO, "enrolled": 1, "trained": 1}


def test_quarters_and_windows(
    engine: Engine, world: dict[str, Any], client: TestClient, regulator: dict[str, str]
) -> None:
    body = get(client, regulator, period="quarter")
    assert {r["period"] for r in body["rows"]} == {"2026-Q1"}
    a = str(world["a"].id)
    key = ("2026-Q1", a, "6-31-01-03", "level4", "unemployed")
    assert rows_by_key(body)[key] == {
        **ZERO,
        "enrolled": 2,
        "trained": 2,
        "qualified": 1,
        "certificates_revoked": 1,
        "subsidy_eligible": 1,
        "subsidy_amount_fen": 150_000,
    }
    assert body["totals"]["enrolled"] == 6
    # February only, in Shanghai days: 1 Feb 01:00 Shanghai is in, 31 Jan (UTC) is not out.
    feb = get(client, regulator, since="2026-02-01", until="2026-03-01")
    assert {r["period"] for r in feb["rows"]} == {"2026-02"}
    want = {k: v for k, v in expected(world).items() if k[0] == "2026-02"}
    assert rows_by_key(feb) == want
    assert (feb["since"], feb["until"]) == ("2026-02-01", "2026-03-01")
    jan = get(client, regulator, until="2026-02-01")
    assert rows_by_key(jan) == {k: v for k, v in expected(world).items() if k[0] == "2026-01"}
    assert get(client, regulator, since="2026-03-01")["rows"] == []
    r = client.get(URL, params={"since": "2026-02-01", "until": "2026-02-01"}, headers=regulator)
    assert (r.status_code, r.json()["code"]) == (422, "invalid_window")


def test_staff_see_their_own_institution_only(
    engine: Engine, world: dict[str, Any], client: TestClient, regulator: dict[str, str]
) -> None:
    a, b = str(world["a"].id), str(world["b"].id)
    staff = login(client, world["staff_a"].username)
    mine = {k: v for k, v in expected(world).items() if k[1] == a}
    body = get(client, staff)
    assert body["institution_id"] == a
    assert rows_by_key(body) == mine
    assert rows_by_key(get(client, staff, institution_id=a)) == mine
    r = client.get(URL, params={"institution_id": b}, headers=staff)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    # regulators: all, or one institution
    assert rows_by_key(get(client, regulator, institution_id=a)) == mine
    theirs = {k: v for k, v in expected(world).items() if k[1] == b}
    assert rows_by_key(get(client, regulator, institution_id=b)) == theirs
    r = client.get(URL, params={"institution_id": str(uuid.uuid4())}, headers=regulator)
    assert (r.status_code, r.json()["code"]) == (404, "institution_not_found")
    learner_h = login(client, make_learner(engine, world["a"]).username)
    r = client.get(URL, headers=learner_h)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    assert client.get(URL).status_code == 401


def test_api_keys_need_audit_read_and_see_their_own(
    engine: Engine, world: dict[str, Any], client: TestClient
) -> None:
    a, b = world["a"], world["b"]
    with transaction(engine) as s:
        _, key = accounts.create_api_key(
            s, institution_id=a.id, name="partner", scopes=["audit:read"], actor=Actor.system()
        )
        _, weak = accounts.create_api_key(
            s, institution_id=a.id, name="weak", scopes=["courses:read"], actor=Actor.system()
        )
    h = {"Authorization": f"Bearer {key}"}
    body = get(client, h)
    assert body["institution_id"] == str(a.id)
    assert {r["institution_id"] for r in body["rows"]} == {str(a.id)}
    r = client.get(URL, params={"institution_id": str(b.id)}, headers=h)
    assert (r.status_code, r.json()["code"]) == (403, "forbidden")
    r = client.get(URL, headers={"Authorization": f"Bearer {weak}"})
    assert (r.status_code, r.json()["code"]) == (403, "insufficient_scope")


def test_revoked_certificate_is_not_qualified_nor_subsidised(
    engine: Engine, clock: Any, client: TestClient
) -> None:
    inst = make_institution(engine)
    course = course_row(engine, inst)
    user = learner(engine, inst, MIGRANT)
    e = enrol(engine, clock, JAN, user, course)
    cert = certify(engine, clock, JAN, user, e)
    regulator = login(client, make_user(engine, Role.regulator).username)
    before = get(client, regulator)["totals"]
    assert (before["qualified"], before["subsidy_eligible"], before["subsidy_amount_fen"]) == (
        1,
        1,
        150_000,
    )
    staff = make_user(engine, Role.staff, inst)
    with transaction(engine) as s:
        certificates.revoke(s, Principal.of_user(staff), cert.serial, "证件造假")
    after = get(client, regulator)["totals"]
    assert after == {
        **ZERO,
        "enrolled": 1,
        "trained": 1,
        "certificates_revoked": 1,
        "employment_rate": None,  # nobody qualified
    }


def test_empty(client: TestClient, regulator: dict[str, str]) -> None:
    body = get(client, regulator, period="quarter")
    assert body["rows"] == []
    assert body["totals"] == {**ZERO, "employment_rate": None}
