"""Eligibility from facts: who a subsidised programme is for, decided from what staff confirmed
and the regulator verified, never from what a learner declared.

A programme is a subsidy standard (app/programmes/standards.py); the rules it sets are data on
the standard, and each outcome is explained in Chinese and English words:

``target_group``
    the learner holds one of the programme's target groups (``target_groups``; none: anyone),
    confirmed by staff from evidence or verified by the regulator — a declared group counts for
    nothing until then, a rejected one never;
``age``
    age on the first day of training, from the ID number's birth date, within ``min_age`` and
    ``max_age``, and not past the statutory retirement age of ``retirement_rule`` — the
    retirement ages are data (app/programmes/data/retirement_ages.json: the 2025 gradual
    reform's schedules by birth month and sex), not code;
``residence``
    one of the learner's regions of the kinds the programme names (``residence_kinds``:
    户籍地 / 常住地 / 就业地) lies inside the standard's region. The 户籍 region is the ID
    number's first 6 digits (the region at issue) unless staff confirmed a newer one; 常住地
    and 就业地 count once staff confirmed them;
``certificate_kind``
    the certificate the programme requires (the standard's ``certificate_kind``): the platform's
    training certificate (培训合格证明), or a certificate others issue (职业技能等级证书,
    专项职业能力证书, 特种作业操作证) for the same occupation (and level), obtained on or after
    the first day of training and confirmed by a regulator.

Stable interface for the rules engine (app/certificates/subsidy.py): :func:`load`,
:class:`Facts`, :func:`check`, :data:`RULES`, :func:`max_per_year`; the retirement ages are
app/programmes/retirement.py's (re-exported here).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from sqlmodel import Session, col, select

from app.accounts.models import GROUP_NAMES_ZH, User
from app.crypto import decrypt
from app.programmes import regions
from app.programmes.models import (
    CertificateKind,
    ExternalCertificate,
    ExternalStatus,
    FactStatus,
    LearnerGroupFact,
    Region,
    ResidenceFact,
    ResidenceKind,
    SubsidyStandard,
)
from app.programmes.retirement import (
    age_on,
    retirement_age_months,
    retirement_data,
    retirement_date,
    retirement_rules,
    years_months,
)

RULES = ("target_group", "age", "residence", "certificate_kind")
#: Subsidised trainings per learner per calendar year when no programme says otherwise.
DEFAULT_MAX_PER_YEAR = 3
COUNTING = (FactStatus.confirmed, FactStatus.verified)

RESIDENCE_NAMES_ZH = {
    ResidenceKind.household: "户籍地",
    ResidenceKind.resident: "常住地",
    ResidenceKind.employed: "就业地",
}
RESIDENCE_NAMES_EN = {
    ResidenceKind.household: "registered (户籍) region",
    ResidenceKind.resident: "region of residence",
    ResidenceKind.employed: "region of employment",
}
KIND_NAMES_ZH = {
    CertificateKind.training_certificate: "培训合格证明",
    CertificateKind.skill_level: "职业技能等级证书",
    CertificateKind.special_ability: "专项职业能力证书",
    CertificateKind.special_operations: "特种作业操作证",
}
KIND_NAMES_EN = {
    CertificateKind.training_certificate: "the platform's training certificate",
    CertificateKind.skill_level: "a vocational skill level certificate",
    CertificateKind.special_ability: "a special vocational ability certificate",
    CertificateKind.special_operations: "a special operations certificate",
}


# ---------------------------------------------------------------- the facts


@dataclass
class LearnerFacts:
    user_id: uuid.UUID
    birth_date: date | None = None
    sex: str | None = None
    #: The ID number's first 6 digits: the 户籍 region when the ID was issued.
    id_region: str | None = None
    groups: list[LearnerGroupFact] = field(default_factory=list)
    residences: list[ResidenceFact] = field(default_factory=list)
    externals: list[ExternalCertificate] = field(default_factory=list)


@dataclass
class Facts:
    """What the rules need about some learners, loaded in a few queries."""

    learners: dict[uuid.UUID, LearnerFacts] = field(default_factory=dict)
    standards: dict[uuid.UUID, SubsidyStandard] = field(default_factory=dict)
    region_names: dict[str, str] = field(default_factory=dict)

    def of(self, user_id: uuid.UUID) -> LearnerFacts:
        return self.learners.get(user_id) or LearnerFacts(user_id)

    def standard(self, standard_id: uuid.UUID | None) -> SubsidyStandard | None:
        return self.standards.get(standard_id) if standard_id else None

    def region(self, code: str) -> str:
        return f"{self.region_names.get(code, '')}（{code}）"


def identity(user: User, *, with_birth: bool = True) -> tuple[date | None, str | None, str | None]:
    """(birth date, sex, 户籍 region code) from the learner's ID number (Nones: no number);
    ``with_birth=False`` reads only the region, from the masked number (nothing decrypted)."""
    region = user.id_number_masked[:6] if user.id_number_masked else None
    if not with_birth or not user.id_number_enc:
        return None, None, region
    value = decrypt("id_number", user.id_number_enc).decode()
    try:
        birth = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None, None, value[:6]
    return birth, "M" if int(value[16]) % 2 else "F", value[:6]


_T = TypeVar("_T")
_CHUNK = 500  # ids per IN list (SQLite bounds a statement's parameters)


def _chunks(items: list[_T]) -> Iterable[list[_T]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def load(
    session: Session, user_ids: Sequence[uuid.UUID], standard_ids: Iterable[uuid.UUID | None] = ()
) -> Facts:
    """The facts of these learners and the programmes (standards) named; ID numbers are
    decrypted only when one of the programmes has an age rule."""
    ids = list(set(user_ids))
    facts = Facts()
    if not ids:
        return facts
    wanted = list({s for s in standard_ids if s is not None})
    for part in _chunks(wanted):
        for s in session.exec(select(SubsidyStandard).where(col(SubsidyStandard.id).in_(part))):
            facts.standards[s.id] = s
    ages = any(
        s.min_age is not None or s.max_age is not None or s.retirement_rule
        for s in facts.standards.values()
    )
    needs_facts = any(
        s.target_groups
        or s.residence_kinds
        or s.certificate_kind is not CertificateKind.training_certificate
        for s in facts.standards.values()
    )
    for part in _chunks(ids):
        for user in session.exec(select(User).where(col(User.id).in_(part))):
            birth, sex, region = identity(user, with_birth=ages)
            facts.learners[user.id] = LearnerFacts(user.id, birth, sex, region)
        if not needs_facts:
            continue
        for g in session.exec(
            select(LearnerGroupFact).where(col(LearnerGroupFact.user_id).in_(part))
        ):
            _facts(facts, g.user_id).groups.append(g)
        for r in session.exec(select(ResidenceFact).where(col(ResidenceFact.user_id).in_(part))):
            _facts(facts, r.user_id).residences.append(r)
        for e in session.exec(
            select(ExternalCertificate).where(col(ExternalCertificate.user_id).in_(part))
        ):
            _facts(facts, e.user_id).externals.append(e)
    codes = {s.region_code for s in facts.standards.values()}
    if any(s.residence_kinds for s in facts.standards.values()):
        for lf in facts.learners.values():
            codes.update(r.region_code for r in lf.residences)
            if lf.id_region:
                codes.add(lf.id_region)
    for part_codes in _chunks(list(codes)):
        for row in session.exec(select(Region).where(col(Region.code).in_(part_codes))):
            facts.region_names[row.code] = row.name
    return facts


def _facts(facts: Facts, user_id: uuid.UUID) -> LearnerFacts:
    return facts.learners.setdefault(user_id, LearnerFacts(user_id))


# ---------------------------------------------------------------- the rules


@dataclass(frozen=True)
class Outcome:
    rule: str
    passed: bool
    detail: str
    detail_zh: str


@dataclass(frozen=True)
class Training:
    """What the rules need of the certificate being decided."""

    user_id: uuid.UUID
    standard_id: uuid.UUID | None
    first_day: date
    occupation_code: str
    occupation_name: str
    level: str


def max_per_year(standard: SubsidyStandard | None) -> int:
    return standard.max_per_year if standard is not None else DEFAULT_MAX_PER_YEAR


def check(facts: Facts, t: Training) -> list[Outcome]:
    """The programme's rules for one certificate, each explained (in :data:`RULES` order)."""
    standard = facts.standard(t.standard_id)
    learner = facts.of(t.user_id)
    if standard is None:
        words = (
            "no programme rules: the certificate was not paid from a regulator's standard",
            "无适用的项目规则：该证书未按人社部门补贴标准核定",
        )
        return [Outcome(rule, True, *words) for rule in RULES]
    return [
        _target_group(standard, learner),
        _age(standard, learner, t.first_day),
        _residence(facts, standard, learner),
        _certificate_kind(standard, learner, t),
    ]


def _group_zh(group: str) -> str:
    return next((name for g, name in GROUP_NAMES_ZH.items() if g.value == group), group)


def _target_group(s: SubsidyStandard, lf: LearnerFacts) -> Outcome:
    if not s.target_groups:
        return Outcome(
            "target_group", True, "the programme is open to every learner", "该项目不限人员类别"
        )
    wanted = ", ".join(s.target_groups)
    wanted_zh = "、".join(_group_zh(g) for g in s.target_groups)
    held = [g for g in lf.groups if g.group in s.target_groups]
    counting = [g for g in held if g.status in COUNTING]
    if counting:
        g = counting[0]
        how = (
            "verified by the regulator" if g.status is FactStatus.verified else "confirmed by staff"
        )
        how_zh = "经人社部门核验" if g.status is FactStatus.verified else "经机构核实"
        return Outcome(
            "target_group",
            True,
            f"the learner is {g.group} ({g.evidence_kind.value} {g.evidence_number or ''}, "
            f"{how}); the programme is for {wanted}",
            f"学员属于{_group_zh(g.group)}（{how_zh}）；该项目面向{wanted_zh}",
        )
    if held:
        states, states_zh = [], []
        for g in held:
            if g.status is FactStatus.rejected:
                states.append(f"{g.group} was rejected: {g.reason}")
                states_zh.append(f"“{_group_zh(g.group)}”已被驳回：{g.reason}")
            else:
                states.append(f"{g.group} is declared but not yet confirmed from evidence")
                states_zh.append(f"“{_group_zh(g.group)}”仅为申报，尚未凭证核实")
        return Outcome(
            "target_group",
            False,
            f"the programme is for {wanted}; the learner's group " + "; ".join(states),
            f"该项目面向{wanted_zh}；学员的类别" + "；".join(states_zh),
        )
    return Outcome(
        "target_group",
        False,
        f"the programme is for {wanted}; the learner holds none of these groups",
        f"该项目面向{wanted_zh}；学员不属于其中任何一类（或未经核实）",
    )


def _age(s: SubsidyStandard, lf: LearnerFacts, day: date) -> Outcome:
    limits: list[str] = []
    if s.min_age is not None:
        limits.append(f"at least {s.min_age}")
    if s.max_age is not None:
        limits.append(f"at most {s.max_age}")
    if s.retirement_rule:
        limits.append("not past the statutory retirement age")
    if not limits:
        return Outcome("age", True, "the programme has no age rule", "该项目无年龄限制")
    if lf.birth_date is None or lf.sex is None:
        return Outcome(
            "age",
            False,
            "the programme has an age rule and the learner has no ID number to take the age from",
            "该项目有年龄条件，但学员没有身份证号码，无法确定年龄",
        )
    age = age_on(lf.birth_date, day)
    rule_en = "; the programme requires " + ", ".join(limits)
    passed = True
    why, why_zh = "", ""
    if s.min_age is not None and age < s.min_age:
        passed, why, why_zh = False, f" — under {s.min_age}", f"——未满 {s.min_age} 周岁"
    elif s.max_age is not None and age > s.max_age:
        passed, why, why_zh = False, f" — over {s.max_age}", f"——超过 {s.max_age} 周岁"
    retire_en = retire_zh = ""
    if s.retirement_rule:
        months = retirement_age_months(lf.birth_date, lf.sex, s.retirement_rule)
        retires = retirement_date(lf.birth_date, lf.sex, s.retirement_rule)
        en, zh = years_months(months)
        retire_en = f"; statutory retirement age for them {en}, reached on {retires.isoformat()}"
        retire_zh = f"；其法定退休年龄 {zh}，于 {retires.isoformat()} 达到"
        if passed and day >= retires:
            passed = False
            why, why_zh = (
                " — past the statutory retirement age",
                "——已达到法定退休年龄，不属于补贴对象",
            )
    zh_limits = []
    if s.min_age is not None:
        zh_limits.append(f"不低于 {s.min_age} 周岁")
    if s.max_age is not None:
        zh_limits.append(f"不超过 {s.max_age} 周岁")
    if s.retirement_rule:
        zh_limits.append("未达到法定退休年龄")
    return Outcome(
        "age",
        passed,
        f"aged {age} on the first day of training ({day.isoformat()}){retire_en}{rule_en}{why}",
        f"开始培训时（{day.isoformat()}）年满 {age} 周岁{retire_zh}；该项目要求"
        f"{'、'.join(zh_limits)}{why_zh}",
    )


def _regions_of(lf: LearnerFacts) -> dict[ResidenceKind, tuple[str, str]]:
    """Each kind's region and where it comes from (the ID number, or a confirmed fact)."""
    out: dict[ResidenceKind, tuple[str, str]] = {}
    if lf.id_region:
        out[ResidenceKind.household] = (lf.id_region, "id")
    for r in lf.residences:
        if r.status in COUNTING:
            out[r.kind] = (r.region_code, "fact")
    return out


def _residence(facts: Facts, s: SubsidyStandard, lf: LearnerFacts) -> Outcome:
    kinds = [ResidenceKind(k) for k in s.residence_kinds]
    if not kinds or s.region_code == regions.NATIONAL:
        return Outcome(
            "residence",
            True,
            "the programme has no residence rule",
            "该项目不限户籍地、常住地或就业地",
        )
    where = facts.region(s.region_code)
    asked_en = " or ".join(RESIDENCE_NAMES_EN[k] for k in kinds)
    asked_zh = "或".join(RESIDENCE_NAMES_ZH[k] for k in kinds)
    known = _regions_of(lf)
    for k in kinds:
        if k in known and regions.within(known[k][0], s.region_code):
            code, source = known[k]
            src = " (the ID number's region)" if source == "id" else ""
            src_zh = "（身份证号码前 6 位）" if source == "id" else "（已核实）"
            return Outcome(
                "residence",
                True,
                f"the learner's {RESIDENCE_NAMES_EN[k]} {facts.region(code)}{src} is inside "
                f"{where}; the programme asks for the {asked_en} there",
                f"学员{RESIDENCE_NAMES_ZH[k]}{facts.region(code)}{src_zh}在{where}范围内；"
                f"该项目要求{asked_zh}在本地",
            )
    seen = "; ".join(f"{RESIDENCE_NAMES_EN[k]} {facts.region(c)}" for k, (c, _) in known.items())
    seen_zh = "；".join(f"{RESIDENCE_NAMES_ZH[k]}{facts.region(c)}" for k, (c, _) in known.items())
    return Outcome(
        "residence",
        False,
        f"the programme asks for the {asked_en} inside {where}; the learner's known regions: "
        f"{seen or 'none'}",
        f"该项目要求{asked_zh}在{where}；学员已知地区：{seen_zh or '无'}",
    )


def _certificate_kind(s: SubsidyStandard, lf: LearnerFacts, t: Training) -> Outcome:
    kind = s.certificate_kind
    if kind is CertificateKind.training_certificate:
        return Outcome(
            "certificate_kind",
            True,
            "the programme pays on the platform's training certificate (培训合格证明): this one",
            "该项目凭本平台培训合格证明申领补贴",
        )
    same = [
        e
        for e in lf.externals
        if e.kind is kind
        and e.occupation_code == t.occupation_code
        and (kind is not CertificateKind.skill_level or e.level == t.level)
    ]
    what = f"{KIND_NAMES_EN[kind]} for {t.occupation_code}" + (
        f" at {t.level}" if kind is CertificateKind.skill_level else ""
    )
    what_zh = f"{t.occupation_name}（{t.occupation_code}）的{KIND_NAMES_ZH[kind]}"
    after = [e for e in same if e.issued_on >= t.first_day]
    confirmed = [e for e in after if e.status is ExternalStatus.confirmed]
    if confirmed:
        e = confirmed[0]
        return Outcome(
            "certificate_kind",
            True,
            f"the programme requires {what}: No. {e.number} issued by {e.issuer} on "
            f"{e.issued_on.isoformat()}, confirmed by the regulator",
            f"该项目要求取得{what_zh}：{e.issuer} {e.issued_on.isoformat()} 颁发的 {e.number}，"
            "已经人社部门确认",
        )
    if any(e.status is ExternalStatus.recorded for e in after):
        e = next(e for e in after if e.status is ExternalStatus.recorded)
        why = f"No. {e.number} is recorded but awaits the regulator's confirmation"
        why_zh = f"证书 {e.number} 已登记，待人社部门确认"
    elif any(e.status is ExternalStatus.rejected for e in after):
        e = next(e for e in after if e.status is ExternalStatus.rejected)
        why, why_zh = (
            f"No. {e.number} was rejected: {e.reason}",
            f"证书 {e.number} 未获确认：{e.reason}",
        )
    elif same:
        why = f"the one recorded was obtained before training began ({t.first_day.isoformat()})"
        why_zh = f"已登记的证书取得于培训开始（{t.first_day.isoformat()}）之前"
    else:
        why, why_zh = "none is recorded", "尚未登记"
    return Outcome(
        "certificate_kind",
        False,
        f"the programme requires {what} obtained after the training; {why}",
        f"该项目要求培训后取得{what_zh}；{why_zh}",
    )


__all__ = [
    "RULES",
    "Facts",
    "LearnerFacts",
    "Outcome",
    "Training",
    "age_on",
    "check",
    "load",
    "max_per_year",
    "retirement_age_months",
    "retirement_data",
    "retirement_date",
    "retirement_rules",
]
