"""Eligibility from facts (issue 16 items 5 and 6): the programme's rules are data on its
standard, the facts are what staff confirmed and the regulator verified, every outcome is
explained in words — a learner past the statutory retirement age is refused by a programme with
that rule and accepted by one without; several groups; an external certificate counts only once
the regulator confirmed it; the residence rule."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.accounts.exceptions import UserNotFound
from app.accounts.models import LearnerGroup, Role, User
from app.accounts.principal import Principal
from app.audit.models import AuditEntry
from app.audit.service import Actor
from app.certificates import subsidy
from app.certificates.models import Certificate
from app.db import transaction
from app.errors import Forbidden
from app.programmes import eligibility, external, facts, regions, standards
from app.programmes.exceptions import (
    ExternalCertificateDecided,
    ExternalCertificateExists,
    ExternalCertificateNotFound,
    InvalidExternalCertificate,
    InvalidFact,
    InvalidScan,
    InvalidStandard,
)
from app.programmes.models import (
    CertificateKind,
    ExternalStatus,
    FactStatus,
    LearnerGroupFact,
)
from app.programmes.standards import ProgrammeRules
from app.storage import media_store
from tests.factories import (
    certified,
    id_number,
    make_institution,
    make_learner,
    make_user,
    reload,
)
from tests.pdfs import SCAN_PDF

PDF = SCAN_PDF
ISSUE_DAY = datetime(2026, 3, 2, 2, tzinfo=UTC)  # 2026-03-02 in Shanghai


# ---------------------------------------------------------------- the retirement-age data


@pytest.mark.parametrize(
    ("birth", "sex", "rule", "months"),
    [
        (date(1964, 12, 31), "M", "statutory", 60 * 12),  # before the reform's first cohort
        (date(1965, 1, 1), "M", "statutory", 60 * 12 + 1),  # +1 month from January 1965
        (date(1965, 4, 30), "M", "statutory", 60 * 12 + 1),
        (date(1965, 5, 1), "M", "statutory", 60 * 12 + 2),  # +1 month every 4 months
        (date(1976, 9, 1), "M", "statutory", 63 * 12),  # reaches 63
        (date(1990, 1, 1), "M", "statutory", 63 * 12),  # and stays there
        (date(1970, 1, 1), "F", "statutory", 55 * 12 + 1),
        (date(1981, 9, 1), "F", "statutory", 58 * 12),
        (date(1975, 1, 1), "F", "statutory_female_worker", 50 * 12 + 1),
        (date(1975, 3, 1), "F", "statutory_female_worker", 50 * 12 + 2),  # every 2 months
        (date(1984, 12, 1), "F", "statutory_female_worker", 55 * 12),
    ],
)
def test_statutory_retirement_ages_follow_the_2025_schedule(
    birth: date, sex: str, rule: str, months: int
) -> None:
    assert eligibility.retirement_age_months(birth, sex, rule) == months


def test_retirement_date_and_age() -> None:
    assert eligibility.retirement_date(date(1965, 6, 15), "M", "statutory") == date(2025, 8, 15)
    assert eligibility.retirement_date(date(1964, 2, 29), "M", "statutory") == date(2024, 2, 29)
    assert eligibility.age_on(date(1990, 3, 7), date(2026, 3, 6)) == 35
    assert eligibility.age_on(date(1990, 3, 7), date(2026, 3, 7)) == 36
    assert set(eligibility.retirement_rules()) == {"statutory", "statutory_female_worker"}


# ---------------------------------------------------------------- helpers


@pytest.fixture
def places(engine: Engine, clock: Any) -> dict[str, Principal]:
    clock.set(ISSUE_DAY)
    with transaction(engine) as s:
        regions.seed_demo_province(s, actor=Actor.system())
    out = {}
    for name, code in (("nanshan", "440305"), ("guangzhou", "440100"), ("shenzhen", "440300")):
        out[name] = Principal.of_user(make_user(engine, Role.regulator, jurisdiction=code))
    return out


def _as(s: Session, p: Principal) -> Principal:
    user = s.get(User, p.user.id)  # type: ignore[union-attr]
    assert user is not None
    return Principal.of_user(user)


def _programme(
    engine: Engine,
    regulator: Principal,
    rules: ProgrammeRules | None = None,
    *,
    occupation: tuple[str, str] = ("6-31-01-03", "电工"),
    level: str = "level4",
    kind: CertificateKind = CertificateKind.training_certificate,
    amount: int = 150_000,
) -> None:
    with transaction(engine) as s:
        standards.set_standard(
            s,
            _as(s, regulator),
            occupation_code=occupation[0],
            occupation_name=occupation[1],
            level=level,
            amount_fen=amount,
            effective_from=date(2026, 1, 1),
            certificate_kind=kind,
            rules=rules,
        )


def _cert(engine: Engine, learner: User, inst: Any, **fields: Any) -> Certificate:
    return certified(engine, learner, inst, subsidy_fen=0, **fields)


def _decide(engine: Engine, cert: Certificate) -> subsidy.Decision:
    with Session(engine) as s:
        return subsidy.decide(s, reload(engine, cert.serial))


def _rule(d: subsidy.Decision, name: str) -> subsidy.RuleResult:
    return next(r for r in d.rules if r.rule == name)


def _staff(engine: Engine, inst: Any) -> Principal:
    return Principal.of_user(make_user(engine, Role.staff, inst))


# ---------------------------------------------------------------- age


def test_past_retirement_age_is_refused_by_a_programme_with_that_rule_only(
    engine: Engine, places: dict[str, Principal]
) -> None:
    shenzhen = make_institution(engine, region="440305")
    guangzhou = make_institution(engine, region="440106")
    _programme(engine, places["nanshan"], ProgrammeRules(retirement_rule="statutory"))
    _programme(engine, places["guangzhou"])  # the same occupation, no age rule
    # A man born 1962-05-10 (sex digit odd): statutory retirement at 60, on 2022-05-10.
    retired = make_learner(engine, shenzhen, id_number=id_number("19620510", seq=1))
    refused = _decide(engine, _cert(engine, retired, shenzhen))
    assert refused.refused_by == ["age"] and refused.amount_fen == 0
    age = _rule(refused, "age")
    assert "aged 63 on the first day of training (2026-03-02)" in age.detail
    assert "past the statutory retirement age" in age.detail and "2022-05-10" in age.detail
    assert "已达到法定退休年龄" in age.detail_zh and "60 周岁" in age.detail_zh
    # The refused one used up no place: the same occupation and level in 广州 is no repeat.
    accepted = _decide(engine, _cert(engine, retired, guangzhou))
    assert accepted.eligible and accepted.amount_fen == 150_000
    assert _rule(accepted, "age").detail == "the programme has no age rule"
    # A woman born 1972-03-01 is 53: under the 55-from rule she retires in 2027 (accepted)...
    woman = make_learner(engine, shenzhen, id_number=id_number("19720301", seq=2))
    ok = _decide(engine, _cert(engine, woman, shenzhen))
    assert ok.eligible, ok.summary()
    assert "2027-10-01" in _rule(ok, "age").detail and "55 周岁7 个月" in _rule(ok, "age").detail_zh


def test_the_age_limits_are_the_programmes_data(
    engine: Engine, places: dict[str, Principal]
) -> None:
    inst = make_institution(engine, region="440305")
    # The women-workers' schedule (from 50): the same woman is past it.
    _programme(engine, places["nanshan"], ProgrammeRules(retirement_rule="statutory_female_worker"))
    woman = make_learner(engine, inst, id_number=id_number("19720301", seq=2))
    d = _decide(engine, _cert(engine, woman, inst))
    assert d.refused_by == ["age"] and "2022-03-01" in _rule(d, "age").detail
    # A youth programme: 16 to 24.
    _programme(
        engine,
        places["nanshan"],
        ProgrammeRules(min_age=16, max_age=24),
        occupation=("4-10-01-02", "育婴员"),
    )
    young = make_learner(engine, inst, id_number=id_number("20040101", seq=5))
    older = make_learner(engine, inst, id_number=id_number("19900307", seq=7))
    assert _decide(engine, _cert(engine, young, inst, occupation_code="4-10-01-02")).eligible
    d = _decide(engine, _cert(engine, older, inst, occupation_code="4-10-01-02"))
    assert d.refused_by == ["age"] and "over 24" in _rule(d, "age").detail
    assert "超过 24 周岁" in _rule(d, "age").detail_zh
    # Rules that are not data are refused.
    for bad in (
        ProgrammeRules(retirement_rule="at_65"),
        ProgrammeRules(min_age=30, max_age=20),
        ProgrammeRules(target_groups=("pensioner",)),
        ProgrammeRules(residence_kinds=("anywhere",)),
        ProgrammeRules(max_per_year=0),
    ):
        with pytest.raises(InvalidStandard):
            _programme(engine, places["nanshan"], bad, occupation=("6-29-01-01", "焊工"))


# ---------------------------------------------------------------- groups


def test_several_groups_count_once_confirmed_from_evidence(
    engine: Engine, places: dict[str, Principal]
) -> None:
    inst = make_institution(engine, region="440305")
    other = make_institution(engine, region="440106")
    _programme(
        engine, places["nanshan"], ProgrammeRules(target_groups=("unemployed", "ex_serviceman"))
    )
    learner = make_learner(engine, inst, group=LearnerGroup.unemployed)
    cert = _cert(engine, learner, inst)
    # Declared at registration: a fact, but it counts for nothing yet.
    d = _decide(engine, cert)
    assert d.refused_by == ["target_group"]
    assert "declared but not yet confirmed" in _rule(d, "target_group").detail
    assert "失业人员" in _rule(d, "target_group").detail_zh
    staff = _staff(engine, inst)
    with transaction(engine) as s:
        with pytest.raises(InvalidFact):  # a veteran card does not prove unemployment
            facts.confirm_group(
                s,
                staff,
                learner.id,
                group="unemployed",
                evidence_kind="veteran_card",
                evidence_number="X",
            )
    with transaction(engine) as s, pytest.raises(UserNotFound):  # another institution's staff
        facts.confirm_group(
            s,
            _staff(engine, other),
            learner.id,
            group="ex_serviceman",
            evidence_kind="veteran_card",
            evidence_number="V1",
        )
    with transaction(engine) as s:
        vet = facts.confirm_group(
            s,
            staff,
            learner.id,
            group="ex_serviceman",
            evidence_kind="veteran_card",
            evidence_number="粤退证 440300-0012",
        )
        facts.confirm_group(
            s,
            staff,
            learner.id,
            group="migrant_worker",
            evidence_kind="household_register",
            evidence_number="HK-2231",
        )
    d = _decide(engine, cert)
    assert d.eligible, d.summary()
    assert "ex_serviceman" in _rule(d, "target_group").detail
    assert "退役军人（经机构核实）" in _rule(d, "target_group").detail_zh
    with Session(engine) as s:
        held = s.exec(select(LearnerGroupFact).where(LearnerGroupFact.user_id == learner.id)).all()
        assert {(f.group, f.status) for f in held} == {
            ("unemployed", FactStatus.declared),
            ("ex_serviceman", FactStatus.confirmed),
            ("migrant_worker", FactStatus.confirmed),
        }
    # A regulator outside the jurisdiction cannot see it; the one inside verifies or rejects.
    with transaction(engine) as s, pytest.raises(Exception) as err:
        facts.verify_group(s, _as(s, places["guangzhou"]), vet.id)
    assert getattr(err.value, "code", "") == "fact_not_found"
    with transaction(engine) as s:
        facts.verify_group(s, _as(s, places["nanshan"]), vet.id)
    assert "verified by the regulator" in _rule(_decide(engine, cert), "target_group").detail
    with transaction(engine) as s:
        facts.reject_group(s, _as(s, places["shenzhen"]), vet.id, reason="退役证号与档案不符")
    d = _decide(engine, cert)
    assert d.refused_by == ["target_group"]
    assert "退役证号与档案不符" in _rule(d, "target_group").detail_zh
    with Session(engine) as s:
        actions = [
            e.action
            for e in s.exec(select(AuditEntry).where(AuditEntry.subject == f"user:{learner.id}"))
        ]
    assert actions.count("learner.group_confirmed") == 2
    assert "learner.group_verified" in actions and "learner.group_rejected" in actions


# ---------------------------------------------------------------- residence


def test_the_residence_rule(engine: Engine, places: dict[str, Principal]) -> None:
    inst = make_institution(engine, region="440305")
    _programme(
        engine, places["shenzhen"], ProgrammeRules(residence_kinds=("household", "resident"))
    )
    local = make_learner(engine, inst, id_number=id_number("19900307", region="440304", seq=3))
    d = _decide(engine, _cert(engine, local, inst))
    assert d.eligible, d.summary()
    assert "the ID number's region" in _rule(d, "residence").detail
    assert "福田区（440304）" in _rule(d, "residence").detail_zh
    beijing = make_learner(engine, inst, id_number=id_number("19900307", region="110105", seq=4))
    cert = _cert(engine, beijing, inst)
    d = _decide(engine, cert)
    assert d.refused_by == ["residence"]
    assert "inside 深圳市（440300）" in _rule(d, "residence").detail
    assert "户籍地或常住地" in _rule(d, "residence").detail_zh
    staff = _staff(engine, inst)
    with transaction(engine) as s:  # employment elsewhere is not what this programme asks
        facts.confirm_residence(
            s,
            staff,
            beijing.id,
            kind="employed",
            region_code="440305",
            evidence_kind="labour_contract",
            evidence_number="LC-88",
        )
    assert _decide(engine, cert).refused_by == ["residence"]
    with transaction(engine) as s:
        fact = facts.confirm_residence(
            s,
            staff,
            beijing.id,
            kind="resident",
            region_code="440305",
            evidence_kind="other_document",
            evidence_number="居住证 4403050001",
        )
    d = _decide(engine, cert)
    assert d.eligible and "常住地南山区（440305）（已核实）" in _rule(d, "residence").detail_zh
    with transaction(engine) as s:
        facts.reject_residence(s, _as(s, places["nanshan"]), fact.id, reason="居住证已过期")
    assert _decide(engine, cert).refused_by == ["residence"]


# ---------------------------------------------------------------- external certificates


def _record(engine: Engine, staff: Principal, learner: User, scan: bytes = PDF, **kw: Any) -> Any:
    values: dict[str, Any] = {
        "kind": "skill_level",
        "number": "S000044030500001",
        "issuer": "深圳市南山区职业技能鉴定所",
        "issued_on": date(2026, 3, 10),
        "occupation_code": "6-31-01-03",
        "occupation_name": "电工",
        "level": "level4",
        **kw,
    }
    with transaction(engine) as s:
        return external.record_external(
            s, staff, learner.id, external.ExternalInput(**values), scan
        )


def test_an_external_certificate_counts_only_after_the_regulators_confirmation(
    engine: Engine, places: dict[str, Principal], clock: Any
) -> None:
    inst = make_institution(engine, region="440305")
    _programme(engine, places["nanshan"], kind=CertificateKind.skill_level)
    learner = make_learner(engine, inst)
    cert = _cert(engine, learner, inst)
    d = _decide(engine, cert)
    assert d.refused_by == ["certificate_kind"]
    assert "none is recorded" in _rule(d, "certificate_kind").detail
    assert "职业技能等级证书" in _rule(d, "certificate_kind").detail_zh
    clock.set(datetime(2026, 3, 12, 2, tzinfo=UTC))
    staff = _staff(engine, inst)
    for bad_scan in (b"", b"GIF89a....", PDF + b"\0" * external.MAX_SCAN_BYTES):
        with pytest.raises(InvalidScan):
            _record(engine, staff, learner, scan=bad_scan)
    with pytest.raises(InvalidExternalCertificate):  # a skill level certificate names its level
        _record(engine, staff, learner, level=None)
    with pytest.raises(InvalidExternalCertificate):  # not the platform's own kind
        _record(engine, staff, learner, kind="training_certificate")
    ext = _record(engine, staff, learner)
    assert ext.status is ExternalStatus.recorded and ext.scan_media_type == "application/pdf"
    assert media_store().read(ext.scan_key) == PDF
    with pytest.raises(ExternalCertificateExists):
        _record(engine, staff, learner)
    d = _decide(engine, cert)
    assert d.refused_by == ["certificate_kind"]
    assert "awaits the regulator's confirmation" in _rule(d, "certificate_kind").detail
    assert "待人社部门确认" in _rule(d, "certificate_kind").detail_zh
    # Only a regulator whose jurisdiction covers the institution confirms; staff cannot.
    with transaction(engine) as s, pytest.raises(ExternalCertificateNotFound):
        external.decide_external(s, _as(s, places["guangzhou"]), ext.id, confirm=True)
    with transaction(engine) as s, pytest.raises(Forbidden):
        external.decide_external(s, staff, ext.id, confirm=True)
    with transaction(engine) as s:
        external.decide_external(s, _as(s, places["shenzhen"]), ext.id, confirm=True)
    d = _decide(engine, cert)
    assert d.eligible, d.summary()
    assert "S000044030500001" in _rule(d, "certificate_kind").detail
    assert "已经人社部门确认" in _rule(d, "certificate_kind").detail_zh
    with transaction(engine) as s, pytest.raises(ExternalCertificateDecided):
        external.decide_external(s, _as(s, places["nanshan"]), ext.id, confirm=False, reason="x")
    with Session(engine) as s:
        trail = s.exec(
            select(AuditEntry)
            .where(AuditEntry.subject == f"external_certificate:{ext.id}")
            .order_by(col(AuditEntry.id))
        ).all()
    assert [e.action for e in trail] == [
        "external_certificate.recorded",
        "external_certificate.confirmed",
    ]
    assert all(e.chain == f"inst:{inst.id}" for e in trail)


def test_a_rejected_or_earlier_external_certificate_does_not_count(
    engine: Engine, places: dict[str, Principal], clock: Any
) -> None:
    inst = make_institution(engine, region="440305")
    _programme(engine, places["nanshan"], kind=CertificateKind.special_operations)
    learner = make_learner(engine, inst)
    cert = _cert(engine, learner, inst)
    staff = _staff(engine, inst)
    early = _record(
        engine,
        staff,
        learner,
        kind="special_operations",
        number="T440305199001010011",
        issuer="深圳市应急管理局",
        issued_on=date(2025, 6, 1),
        level=None,
    )
    with transaction(engine) as s:
        external.decide_external(s, _as(s, places["nanshan"]), early.id, confirm=True)
    d = _decide(engine, cert)
    assert "obtained before training began" in _rule(d, "certificate_kind").detail
    clock.set(datetime(2026, 3, 20, 2, tzinfo=UTC))
    buf = io.BytesIO()
    Image.new("L", (620, 877), 250).save(buf, "PNG")  # a whole picture (a scan is checked)
    png = buf.getvalue()
    later = _record(
        engine,
        staff,
        learner,
        png,
        kind="special_operations",
        number="T440305199001010012",
        issuer="深圳市应急管理局",
        issued_on=date(2026, 3, 18),
        level=None,
    )
    with transaction(engine) as s:
        external.decide_external(
            s, _as(s, places["nanshan"]), later.id, confirm=False, reason="编号查询不到"
        )
    d = _decide(engine, cert)
    assert d.refused_by == ["certificate_kind"]
    assert "编号查询不到" in _rule(d, "certificate_kind").detail_zh


# ---------------------------------------------------------------- per programme, and the words


def test_the_yearly_limit_is_the_programmes(engine: Engine, places: dict[str, Principal]) -> None:
    inst = make_institution(engine, region="440305")
    occupations = [("6-31-01-03", "电工"), ("4-10-01-02", "育婴员")]
    for code, name in occupations:
        _programme(
            engine, places["nanshan"], ProgrammeRules(max_per_year=1), occupation=(code, name)
        )
    learner = make_learner(engine, inst)
    first, second = (_cert(engine, learner, inst, occupation_code=c) for c, _ in occupations)
    assert _decide(engine, first).eligible
    d = _decide(engine, second)
    assert d.refused_by == ["max_per_year"]
    assert "at most 1 per learner" in _rule(d, "max_per_year").detail


def test_every_rule_is_explained_in_words(engine: Engine, places: dict[str, Principal]) -> None:
    inst = make_institution(engine, region="440305")
    _programme(
        engine,
        places["nanshan"],
        ProgrammeRules(
            target_groups=("unemployed",),
            min_age=16,
            retirement_rule="statutory",
            residence_kinds=("household",),
        ),
    )
    learner = make_learner(engine, inst, id_number=id_number("19900307", region="440305", seq=9))
    d = _decide(engine, _cert(engine, learner, inst))
    assert [r.rule for r in d.rules] == list(subsidy.RULES)
    assert all(r.detail and r.detail_zh for r in d.rules)
    assert d.refused_by == ["target_group"]
    assert "该项目面向失业人员" in d.summary_zh()
