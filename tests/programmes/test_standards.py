"""Subsidy standards: owned by the regulator of a region, versioned, capped by the regions
above; the amount on a certificate is the standard in force on its issue date, recorded with
its version, and later versions do not alter it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.audit.service import Actor
from app.certificates import subsidy
from app.certificates.models import Certificate
from app.courses.models import Level
from app.db import transaction
from app.programmes import regions, standards
from app.programmes.exceptions import (
    InvalidOccupationCode,
    InvalidStandard,
    OutsideJurisdiction,
    StandardAboveCap,
    StandardNotProposed,
    StandardOverlaps,
)
from app.programmes.models import ProgrammeKind, StandardStatus, SubsidyStandard
from tests.factories import (
    certified,
    login,
    make_institution,
    make_learner,
    make_user,
    reload,
)

ELECTRICIAN = {"occupation_code": "6-31-01-03", "occupation_name": "电工", "level": "level4"}


@pytest.mark.parametrize(
    ("raw", "code"),
    [("6-31-01-03", "6-31-01-03"), ("４-03-02-01", "4-03-02-01"), (" 2-02-07-04 ", "2-02-07-04")],
)
def test_occupation_codes_are_validated_and_normalised(raw: str, code: str) -> None:
    assert standards.normalise_occupation_code(raw) == code


@pytest.mark.parametrize(
    "raw",
    [
        "",  # nothing
        "63101",  # no separators
        "6-31-01",  # a group missing
        "6-31-01-03-01",  # one too many
        "9-31-01-03",  # no major group 9
        "0-31-01-03",  # nor 0
        "6-3-01-03",  # a one-digit group
        "6-31-0A-03",  # a letter
        "6_31_01_03",  # other separators
    ],
)
def test_invalid_occupation_codes_are_refused(raw: str) -> None:
    with pytest.raises(InvalidOccupationCode):
        standards.normalise_occupation_code(raw)


def test_levels_match_the_courses_levels() -> None:
    assert standards.LEVELS == tuple(level.value for level in Level)


def _regulator(engine: Engine, jurisdiction: str) -> Principal:
    user = make_user(engine, Role.regulator, jurisdiction=jurisdiction)
    return Principal.of_user(user)


def _as(session: Session, p: Principal) -> Principal:
    user = session.get(User, p.user.id)  # type: ignore[union-attr]
    assert user is not None
    return Principal.of_user(user)


def _set(engine: Engine, p: Principal, amount: int, start: date, **kw: Any) -> SubsidyStandard:
    with transaction(engine) as s:
        return standards.set_standard(
            s, _as(s, p), amount_fen=amount, effective_from=start, **{**ELECTRICIAN, **kw}
        )


@pytest.fixture
def places(engine: Engine) -> dict[str, Principal]:
    with transaction(engine) as s:
        regions.seed_demo_province(s, actor=Actor.system())
    return {
        "province": _regulator(engine, "440000"),
        "shenzhen": _regulator(engine, "440300"),
        "nanshan": _regulator(engine, "440305"),
        "guangzhou": _regulator(engine, "440100"),
    }


def test_a_county_standard_above_the_prefecture_cap_is_refused(
    engine: Engine, places: dict[str, Principal]
) -> None:
    _set(engine, places["shenzhen"], 150_000, date(2026, 1, 1))
    with pytest.raises(StandardAboveCap) as err:
        _set(engine, places["nanshan"], 180_000, date(2026, 3, 1))
    assert err.value.extra["cap_fen"] == 150_000 and err.value.extra["cap_region"] == "440300"
    assert "广东省深圳市" in err.value.detail
    ok = _set(engine, places["nanshan"], 120_000, date(2026, 3, 1))
    assert ok.region_code == "440305" and ok.version == 1
    # ... nor may a regulator set one outside their jurisdiction
    with pytest.raises(OutsideJurisdiction):
        _set(engine, places["guangzhou"], 100_000, date(2026, 3, 1), region_code="440305")
    with pytest.raises(InvalidStandard):  # an uplift is for project-based training only
        _set(engine, places["nanshan"], 100_000, date(2026, 4, 1), uplift_percent=20)


def test_versions_lookup_and_caps(engine: Engine, places: dict[str, Principal]) -> None:
    inst = make_institution(engine, region="440305")
    v1 = _set(engine, places["nanshan"], 120_000, date(2026, 1, 1))
    v2 = _set(engine, places["nanshan"], 130_000, date(2026, 7, 1))
    with Session(engine) as s:
        old = s.get(SubsidyStandard, v1.id)
        assert old is not None and old.effective_to == date(2026, 6, 30)  # ended the day before
        got = standards.standard_in_force(s, inst, "6-31-01-03", "level4", date(2026, 5, 1))
        assert got is not None and got.standard.id == v1.id and got.amount_fen == 120_000
        got = standards.standard_in_force(s, inst, "6-31-01-03", "level4", date(2026, 8, 1))
        assert got is not None and got.standard.version == 2 and got.amount_fen == 130_000
        assert (
            standards.standard_in_force(s, inst, "6-31-01-03", "level4", date(2025, 12, 1)) is None
        )
        assert (
            standards.standard_in_force(s, inst, "6-31-01-03", "level3", date(2026, 8, 1)) is None
        )
    with pytest.raises(StandardOverlaps):  # a version must start after the last one
        _set(engine, places["nanshan"], 110_000, date(2026, 7, 1))
    # the province sets a lower cap later: the county's amount is capped at lookup
    _set(engine, places["province"], 100_000, date(2026, 10, 1))
    with Session(engine) as s:
        got = standards.standard_in_force(s, inst, "6-31-01-03", "level4", date(2026, 11, 1))
        assert got is not None and got.standard.id == v2.id and got.amount_fen == 100_000
        assert got.capped_by is not None and got.capped_by.region_code == "440000"
    # project-based training pays its uplift on top
    _set(
        engine,
        places["nanshan"],
        100_000,
        date(2026, 1, 1),
        programme_kind=ProgrammeKind.project_based,
        uplift_percent=40,
    )
    with Session(engine) as s:
        got = standards.standard_in_force(
            s, inst, "6-31-01-03", "level4", date(2026, 2, 1), ProgrammeKind.project_based
        )
        assert got is not None and got.amount_fen == 140_000


def _issue_on(engine: Engine, clock: Any, learner: User, inst: Any, when: datetime) -> Certificate:
    clock.set(when)
    return certified(engine, learner, inst, subsidy_fen=0, occupation_code="6-31-01-03")


def test_the_certificate_carries_the_standard_in_force_on_its_issue_date(
    engine: Engine, clock: Any, places: dict[str, Principal]
) -> None:
    inst = make_institution(engine, region="440305")
    learner = make_learner(engine, inst)
    v1 = _set(engine, places["shenzhen"], 150_000, date(2026, 1, 1))
    first = _issue_on(engine, clock, learner, inst, datetime(2026, 3, 2, 2, tzinfo=UTC))
    assert (first.subsidy_fen, first.subsidy_standard_id) == (150_000, v1.id)
    assert first.subsidy_standard_version == 1 and first.subsidy_region_code == "440300"
    # a new version later does not alter the certificate already issued
    v2 = _set(engine, places["shenzhen"], 180_000, date(2026, 6, 1))
    again = reload(engine, first.serial)
    assert (again.subsidy_fen, again.subsidy_standard_version) == (150_000, 1)
    with Session(engine) as s:
        decision = subsidy.decide(s, again)
    assert decision.eligible and decision.amount_fen == 150_000
    [rule] = [r for r in decision.rules if r.rule == "standard_in_force"]
    assert "version 1" in rule.detail and "440300" in rule.detail and "第 1 版" in rule.detail_zh
    # one issued after the new version started carries it (another level: not a repeat)
    later = certified(engine, learner, inst, subsidy_fen=0, level=Level.level3)
    assert later.subsidy_fen == 0 and later.subsidy_standard_id is None  # no level3 standard
    with Session(engine) as s:
        refused = subsidy.decide(s, later)
    assert refused.refused_by == ["standard_in_force"]
    assert "no subsidy standard was in force" in refused.rules[2].detail
    clock.set(datetime(2026, 6, 2, 2, tzinfo=UTC))
    other = make_learner(engine, inst)
    newer = _issue_on(engine, clock, other, inst, datetime(2026, 6, 2, 2, tzinfo=UTC))
    assert (newer.subsidy_fen, newer.subsidy_standard_id) == (180_000, v2.id)


def test_a_proposed_standard_is_confirmed_by_the_regulator(
    engine: Engine, places: dict[str, Principal]
) -> None:
    inst = make_institution(engine, region="440305")
    with transaction(engine) as s:  # what migration 0024 makes of a course's old amount
        row = SubsidyStandard(
            region_code="440300",
            **ELECTRICIAN,
            certificate_kind="training_certificate",
            programme_kind="employment_skills",
            amount_fen=99_000,
            effective_from=date(2026, 1, 1),
            version=1,
            status=StandardStatus.proposed,
            created_by="system:migration",
        )
        s.add(row)
    with Session(engine) as s:  # a proposal pays nothing
        assert (
            standards.standard_in_force(s, inst, "6-31-01-03", "level4", date(2026, 5, 1)) is None
        )
    with transaction(engine) as s:
        confirmed = standards.confirm(
            s, _as(s, places["shenzhen"]), row.id, effective_from=date(2026, 4, 1)
        )
        assert confirmed.status is StandardStatus.in_force
    with Session(engine) as s:
        got = standards.standard_in_force(s, inst, "6-31-01-03", "level4", date(2026, 5, 1))
        assert got is not None and got.amount_fen == 99_000
    with transaction(engine) as s, pytest.raises(StandardNotProposed):
        standards.confirm(s, _as(s, places["shenzhen"]), row.id, effective_from=date(2026, 4, 1))


def test_the_api_for_regulators(client: TestClient, engine: Engine, places: dict[str, Any]) -> None:
    inst = make_institution(engine, region="440305")
    shenzhen = login(client, places["shenzhen"].user.username)
    body = {**ELECTRICIAN, "amount_fen": 150_000, "effective_from": "2026-01-01"}
    r = client.post("/api/v1/subsidy-standards", json=body, headers=shenzhen)
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["region_code"] == "440300" and made["region_name"] == "广东省深圳市"
    nanshan = login(client, places["nanshan"].user.username)
    r = client.post(
        "/api/v1/subsidy-standards",
        json={**body, "amount_fen": 200_000, "effective_from": "2026-02-01"},
        headers=nanshan,
    )
    assert r.status_code == 422 and r.json()["code"] == "standard_above_cap"
    r = client.post(
        "/api/v1/subsidy-standards", json={**body, "occupation_code": "6-31-01"}, headers=nanshan
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_occupation_code"
    staff = login(client, make_user(engine, Role.staff, inst).username)
    r = client.post("/api/v1/subsidy-standards", json=body, headers=staff)
    assert r.status_code == 403  # institutions do not set amounts
    # the catalogue: 南山 sees 深圳's cap; 广州 does not see 深圳's standard
    listed = client.get("/api/v1/subsidy-standards", headers=nanshan).json()
    assert [s["id"] for s in listed] == [made["id"]]
    guangzhou = login(client, places["guangzhou"].user.username)
    assert client.get("/api/v1/subsidy-standards", headers=guangzhou).json() == []
    r = client.get(f"/api/v1/subsidy-standards/{made['id']}", headers=guangzhou)
    assert r.status_code == 404
    # what a certificate issued on a day would carry
    r = client.get(
        "/api/v1/subsidy-standards/in-force",
        params={
            "institution_id": str(inst.id),
            "occupation_code": "6-31-01-03",
            "level": "level4",
            "on": "2026-03-01",
        },
        headers=staff,
    )
    assert r.status_code == 200 and r.json()["amount_fen"] == 150_000
    assert r.json()["standard"]["version"] == 1
    r = client.get("/api/v1/regions", params={"parent": "440300"}, headers=staff)
    assert [x["code"] for x in r.json()][:2] == ["440303", "440304"]
