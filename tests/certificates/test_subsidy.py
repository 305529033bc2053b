"""Subsidy eligibility: every rule named and explained; at most 3 a year, never the same
occupation and level twice (ever, or within a year by setting), attendance must have passed,
revoked certificates don't count."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlmodel import Session

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.certificates import service as certificates
from app.certificates import subsidy
from app.certificates.models import Certificate
from app.courses.models import Level
from app.db import transaction
from tests.factories import certified, login, make_institution, make_learner, make_user, reload

OCCUPATIONS = [
    ("4-10-01-02", "育婴员"),
    ("6-31-01-03", "电工"),
    ("4-03-02-01", "中式烹调师"),
    ("4-10-01-05", "养老护理员"),
    ("6-29-01-01", "焊工"),
]


def _decide(engine: Any, cert: Certificate) -> subsidy.Decision:
    with Session(engine) as s:
        return subsidy.decide(s, reload(engine, cert.serial))


def _rule(decision: subsidy.Decision, name: str) -> subsidy.RuleResult:
    return next(r for r in decision.rules if r.rule == name)


def test_api_explains_every_rule(client: Any, engine: Any, clock: Any) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    cert = certified(engine, learner, inst, subsidy_fen=180_000)
    r = client.get(
        f"/api/v1/certificates/{cert.serial}/subsidy", headers=login(client, learner.username)
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["eligible"] is True and body["amount_fen"] == 180_000
    assert [x["rule"] for x in body["rules"]] == list(subsidy.RULES)
    assert all(x["passed"] and x["detail"] and x["detail_zh"] for x in body["rules"])
    staff = login(client, make_user(engine, Role.staff, inst).username)
    assert (
        client.get(f"/api/v1/certificates/{cert.serial}/subsidy", headers=staff).status_code == 200
    )
    foreign = login(client, make_user(engine, Role.staff, make_institution(engine)).username)
    assert (
        client.get(f"/api/v1/certificates/{cert.serial}/subsidy", headers=foreign).status_code
        == 404
    )


def test_fourth_in_a_calendar_year_is_refused(client: Any, engine: Any, clock: Any) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    certs = []
    for i, (code, name) in enumerate(OCCUPATIONS[:4]):
        clock.set(datetime(2026, 2 + i, 10, tzinfo=UTC))
        certs.append(certified(engine, learner, inst, occupation_code=code, occupation_name=name))
    decisions = [_decide(engine, c) for c in certs]
    assert [d.eligible for d in decisions] == [True, True, True, False]
    fourth = decisions[3]
    assert fourth.refused_by == ["max_per_year"] and fourth.amount_fen == 0
    assert "at most 3 per learner per calendar year" in _rule(fourth, "max_per_year").detail
    assert "每人每年不超过 3 次" in _rule(fourth, "max_per_year").detail_zh
    body = client.get(
        f"/api/v1/certificates/{certs[3].serial}/subsidy",
        headers=login(client, learner.username),
    ).json()
    assert body["eligible"] is False and body["amount_fen"] == 0
    assert [x["rule"] for x in body["rules"] if not x["passed"]] == ["max_per_year"]

    # The next calendar year starts again.
    clock.set(datetime(2027, 1, 10, tzinfo=UTC))
    code, name = OCCUPATIONS[4]
    assert _decide(
        engine, certified(engine, learner, inst, occupation_code=code, occupation_name=name)
    ).eligible

    # A revoked certificate does not use up a place: revoke the second, the fourth is granted.
    staff = make_user(engine, Role.staff, inst)
    with transaction(engine) as s:
        certificates.revoke(s, Principal.of_user(staff), certs[1].serial, "撤销测试")
    assert _decide(engine, certs[3]).eligible
    revoked = _decide(engine, certs[1])
    assert revoked.refused_by == ["not_revoked"] and "撤销测试" in revoked.rules[0].detail


def test_same_occupation_and_level_never_twice(engine: Any, clock: Any, monkeypatch: Any) -> None:
    inst, other = make_institution(engine), make_institution(engine)
    learner = make_learner(engine, inst)
    first = certified(engine, learner, inst, level=Level.level4)
    # Another institution, another course: same occupation and level all the same.
    clock.set(datetime(2027, 5, 1, tzinfo=UTC))
    repeat = certified(engine, learner, other, level=Level.level4)
    higher = certified(engine, learner, other, level=Level.level3)
    d = _decide(engine, repeat)
    assert d.refused_by == ["no_repeat_occupation_level"]
    assert first.serial in _rule(d, "no_repeat_occupation_level").detail
    assert "同一职业同一等级不可重复享受" in _rule(d, "no_repeat_occupation_level").detail_zh
    assert _decide(engine, higher).eligible
    # With the "same year" reading (a local text's), a repeat in a later year is allowed...
    from app.config import get_settings

    monkeypatch.setenv("SKILLTRACE_SUBSIDY_REPEAT_SCOPE", "same_year")
    get_settings.cache_clear()
    assert _decide(engine, repeat).eligible
    # ...but not within the same year.
    clock.advance(days=1)
    same_year = certified(engine, learner, inst, level=Level.level4)
    assert _decide(engine, same_year).refused_by == ["no_repeat_occupation_level"]


def test_only_certificates_whose_attendance_passed(engine: Any, clock: Any) -> None:
    """A course can complete without any random roll-call having come up (a short course, long
    intervals); its certificate is then no evidence of attendance for a subsidy."""
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    cert = certified(engine, learner, inst, rollcalls=(0, 0))
    assert cert.attendance_passed is False
    d = _decide(engine, cert)
    assert d.refused_by == ["attendance_passed"]
    assert "no random roll-call" in _rule(d, "attendance_passed").detail


@pytest.mark.parametrize(
    ("minutes", "rollcalls", "passed"),
    [(60, (4, 5), True), (59, (5, 5), False), (60, (3, 5), False), (60, (0, 0), False)],
)
def test_attendance_rule(minutes: int, rollcalls: tuple[int, int], passed: bool) -> None:
    """Verified minutes reach the requirement and the roll-call rate the policy (80 %)."""
    cert = Certificate.model_construct(
        credited_minutes=minutes,
        required_minutes=60,
        rollcalls_passed=rollcalls[0],
        rollcalls_total=rollcalls[1],
        min_pass_rate=80,
    )
    assert subsidy.attendance_passed(cert) is passed


def test_unsubsidised_course(engine: Any, clock: Any) -> None:
    inst = make_institution(engine)
    learner = make_learner(engine, inst)
    d = _decide(engine, certified(engine, learner, inst, subsidy_fen=0))
    assert d.refused_by == ["standard_in_force"] and d.amount_fen == 0
