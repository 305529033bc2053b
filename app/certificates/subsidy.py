"""Subsidy eligibility of a certificate, decided by named rules and explained.

The rules (DESIGN.md §1, from 国办发〔2019〕24号 and the local texts in the seeds):

``not_revoked``
    a revoked certificate is evidence of nothing;
``attendance_passed``
    the attendance behind it held: verified minutes reached the course's requirement, the
    roll-call pass rate reached the policy, and at least one random roll-call was answered;
``standard_in_force``
    a subsidy standard of the regulator was in force for the occupation and level in the
    institution's region on the issue date (app/programmes/standards.py) — the amount and the
    standard's version were recorded on the certificate when it was issued;
``class_filed``
    the training was done in a class whose opening filing (开班备案) the regulator of the
    institution's jurisdiction approved (app/filing): self-enrolled training outside any
    scheduled class, an unfiled class, a filing awaiting a decision or returned are not
    subsidised (nor, with ``class_filing_late_counts`` off, a class filed late); certificates
    issued before filing was required are decided as before;
``max_per_year``
    at most 3 subsidised trainings per learner per calendar year (每人每年可享受不超过3次);
``no_repeat_occupation_level``
    never twice for the same occupation at the same level (同一职业同一等级不可重复享受); the
    setting ``subsidy_repeat_scope`` narrows it to the same calendar year;
``target_group``, ``age``, ``residence``, ``certificate_kind``
    the programme's own rules (the standard the certificate was paid from), decided from the
    facts staff confirmed and the regulator verified: app/programmes/eligibility.py. The yearly
    limit of ``max_per_year`` is the programme's too (3 unless it says otherwise).

A learner's certificates are decided together, oldest first (across institutions): only the
earlier certificates that were themselves granted count against a later one, so a revoked or
refused certificate never uses up a place. Years are Asia/Shanghai calendar years of issue.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlmodel import Session, col, select

from app.certificates.models import Certificate, CertificateStatus
from app.clock import SHANGHAI
from app.config import get_settings
from app.courses.models import LEVEL_NAMES_ZH
from app.filing import facts as filing_facts
from app.programmes import eligibility

MAX_PER_YEAR = 3
RULES = (
    "not_revoked",
    "attendance_passed",
    "standard_in_force",
    "class_filed",
    "max_per_year",
    "no_repeat_occupation_level",
    *eligibility.RULES,
)


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    detail: str
    detail_zh: str


@dataclass(frozen=True)
class Decision:
    certificate_id: uuid.UUID
    eligible: bool
    amount_fen: int
    rules: list[RuleResult] = field(default_factory=list)

    @property
    def refused_by(self) -> list[str]:
        return [r.rule for r in self.rules if not r.passed]

    def summary(self) -> str:
        if self.eligible:
            return "eligible: all rules passed"
        return "refused: " + "; ".join(r.detail for r in self.rules if not r.passed)

    def summary_zh(self) -> str:
        if self.eligible:
            return "符合补贴条件"
        return "不符合：" + "；".join(r.detail_zh for r in self.rules if not r.passed)


def yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def pass_rate(cert: Certificate) -> int | None:
    if cert.rollcalls_total == 0:
        return None
    return (100 * cert.rollcalls_passed) // cert.rollcalls_total


def attendance_passed(cert: Certificate) -> bool:
    rate = pass_rate(cert)
    return (
        cert.credited_minutes >= cert.required_minutes
        and rate is not None
        and rate >= cert.min_pass_rate
    )


def _attendance(cert: Certificate) -> RuleResult:
    rate = pass_rate(cert)
    shown = "none" if rate is None else f"{rate}%"
    detail = (
        f"{cert.credited_minutes} of {cert.required_minutes} verified minutes; "
        f"roll-calls passed {cert.rollcalls_passed}/{cert.rollcalls_total} ({shown}, "
        f"policy {cert.min_pass_rate}%)"
    )
    detail_zh = (
        f"有效学时 {cert.credited_minutes}/{cert.required_minutes} 分钟；随机点名通过 "
        f"{cert.rollcalls_passed}/{cert.rollcalls_total}（{'无' if rate is None else shown}，"
        f"要求 {cert.min_pass_rate}%）"
    )
    if not cert.attendance_passed:
        if rate is None:
            detail += " — no random roll-call was answered, attendance is not evidenced"
            detail_zh += "——未经任何随机点名核验，考勤不足以作为补贴依据"
        else:
            detail += " — attendance did not pass"
            detail_zh += "——考勤未达标"
    return RuleResult("attendance_passed", cert.attendance_passed, detail, detail_zh)


def _standard(cert: Certificate) -> RuleResult:
    day = cert.issued_at.astimezone(SHANGHAI).date().isoformat()
    what = f"{cert.occupation_code} at {cert.level.value}"
    if cert.subsidy_standard_id is not None:
        return RuleResult(
            "standard_in_force",
            cert.subsidy_fen > 0,
            f"the subsidy standard of region {cert.subsidy_region_code} for {what} in force on "
            f"{day} (version {cert.subsidy_standard_version}) pays {yuan(cert.subsidy_fen)} yuan",
            f"{day} 适用地区 {cert.subsidy_region_code} 的{_level(cert)}补贴标准"
            f"（第 {cert.subsidy_standard_version} 版）：{yuan(cert.subsidy_fen)} 元",
        )
    if cert.subsidy_fen > 0:  # issued before the regulators' standards existed
        return RuleResult(
            "standard_in_force",
            True,
            f"issued before subsidy standards: the course's amount of {yuan(cert.subsidy_fen)} "
            "yuan applies",
            f"发证早于人社部门补贴标准：按课程原定金额 {yuan(cert.subsidy_fen)} 元",
        )
    return RuleResult(
        "standard_in_force",
        False,
        f"no subsidy standard was in force for {what} in the institution's region on {day}",
        f"{day} 培训机构所在地区没有适用于{_level(cert)}的补贴标准，不予补贴",
    )


def _level(cert: Certificate) -> str:
    return f"{cert.occupation_name}（{cert.occupation_code}）{LEVEL_NAMES_ZH[cert.level]}"


def _training(cert: Certificate) -> eligibility.Training:
    first = cert.study_started_at or cert.issued_at
    return eligibility.Training(
        user_id=cert.user_id,
        standard_id=cert.subsidy_standard_id,
        first_day=first.astimezone(SHANGHAI).date(),
        occupation_code=cert.occupation_code,
        occupation_name=cert.occupation_name,
        level=cert.level.value,
    )


def _class_filed(cert: Certificate, fact: filing_facts.FilingFact | None) -> RuleResult:
    passed, detail, detail_zh = filing_facts.explain(cert, fact)
    return RuleResult("class_filed", passed, detail, detail_zh)


def evaluate(
    certs: Iterable[Certificate],
    repeat_scope: Literal["ever", "same_year"] | None = None,
    facts: eligibility.Facts | None = None,
    *,
    filings: Mapping[uuid.UUID, filing_facts.FilingFact],
) -> dict[uuid.UUID, Decision]:
    """Decide every certificate of one learner (pass them all; any order), with the facts
    :func:`eligibility.load` read for them (none given: no learner fact is known) and each
    certificate's class filing fact (:func:`app.filing.facts.facts_for`)."""
    scope = repeat_scope or get_settings().subsidy_repeat_scope
    facts = facts or eligibility.Facts()
    ordered = sorted(certs, key=lambda c: (c.issued_at, c.serial))
    granted: list[Certificate] = []
    out: dict[uuid.UUID, Decision] = {}
    for cert in ordered:
        rules: list[RuleResult] = []
        revoked = cert.status is CertificateStatus.revoked
        if revoked:
            when = cert.revoked_at.date().isoformat() if cert.revoked_at else "?"
            rules.append(
                RuleResult(
                    "not_revoked",
                    False,
                    f"the certificate was revoked on {when}: {cert.revoked_reason}",
                    f"证书已于 {when} 撤销：{cert.revoked_reason}",
                )
            )
        else:
            rules.append(RuleResult("not_revoked", True, "the certificate is valid", "证书有效"))
        rules.append(_attendance(cert))
        rules.append(_standard(cert))
        rules.append(_class_filed(cert, filings.get(cert.id)))
        same_year = [g for g in granted if g.year == cert.year]
        n = len(same_year)
        serials = ", ".join(g.serial for g in same_year)
        limit = eligibility.max_per_year(facts.standard(cert.subsidy_standard_id))
        rules.append(
            RuleResult(
                "max_per_year",
                n < limit,
                f"{n} earlier subsidised certificate(s) in {cert.year}"
                + (f" ({serials})" if serials else "")
                + f"; at most {limit} per learner per calendar year",
                f"{cert.year} 年已享受补贴 {n} 次"
                + (f"（{serials}）" if serials else "")
                + f"；每人每年不超过 {limit} 次",
            )
        )
        repeats = [
            g
            for g in granted
            if g.occupation_code == cert.occupation_code
            and g.level == cert.level
            and (scope == "ever" or g.year == cert.year)
        ]
        where = "ever" if scope == "ever" else f"in {cert.year}"
        where_zh = "" if scope == "ever" else f"{cert.year} 年内"
        if repeats:
            detail = (
                f"a subsidy was already granted for {cert.occupation_code} at {cert.level.value} "
                f"({repeats[0].serial}); never twice for the same occupation and level ({where})"
            )
            detail_zh = (
                f"{where_zh}已就{_level(cert)}享受过补贴（{repeats[0].serial}）；"
                "同一职业同一等级不可重复享受"
            )
        else:
            detail = (
                f"no earlier subsidy for {cert.occupation_code} at {cert.level.value} ({where})"
            )
            detail_zh = f"{where_zh}此前未就{_level(cert)}享受补贴"
        rules.append(RuleResult("no_repeat_occupation_level", not repeats, detail, detail_zh))
        rules.extend(
            RuleResult(o.rule, o.passed, o.detail, o.detail_zh)
            for o in eligibility.check(facts, _training(cert))
        )
        eligible = all(r.passed for r in rules)
        if eligible:
            granted.append(cert)
        out[cert.id] = Decision(
            certificate_id=cert.id,
            eligible=eligible,
            amount_fen=cert.subsidy_fen if eligible else 0,
            rules=rules,
        )
    return out


def for_learners(session: Session, user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Decision]:
    """Decisions for every certificate of these learners (one query)."""
    if not user_ids:
        return {}
    certs = session.exec(
        select(Certificate).where(col(Certificate.user_id).in_(list(set(user_ids))))
    ).all()
    return decide_all(session, certs)


def decide_all(session: Session, certs: Sequence[Certificate]) -> dict[uuid.UUID, Decision]:
    """Decide certificates given all of their learners' certificates (each learner's decided
    together, :func:`evaluate`), with the learners' facts and the certificates' class filings
    looked up in a few queries."""
    by_user: dict[uuid.UUID, list[Certificate]] = {}
    for c in certs:
        by_user.setdefault(c.user_id, []).append(c)
    facts = eligibility.load(session, list(by_user), (c.subsidy_standard_id for c in certs))
    filings = filing_facts.facts_for(session, certs)
    out: dict[uuid.UUID, Decision] = {}
    for group in by_user.values():
        out.update(evaluate(group, facts=facts, filings=filings))
    return out


def decide(session: Session, cert: Certificate) -> Decision:
    return for_learners(session, [cert.user_id])[cert.id]
