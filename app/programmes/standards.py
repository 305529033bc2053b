"""Subsidy standards: set by the regulator of a region, versioned, capped by the regions above.

The amount on a certificate is looked up when it is issued (:func:`standard_in_force`) from the
standard in force for the institution's region on the issue date — the most specific region
with a standard for the occupation, level and programme kind wins, and every region above
that has one caps it — and the certificate records the version it used, so a later version or
a withdrawal changes nothing already issued. Institutions do not set amounts.

Stable interface for the other domains: :func:`standard_in_force` (certificates, claims, the
course page's "subsidy you can get"), :class:`InForce`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlmodel import Session, col, select

from app.accounts.models import Institution, LearnerGroup
from app.accounts.principal import Principal
from app.audit import service as audit
from app.errors import Forbidden
from app.programmes import eligibility, regions
from app.programmes.exceptions import (
    InvalidOccupationCode,
    InvalidStandard,
    OutsideJurisdiction,
    StandardAboveCap,
    StandardNotFound,
    StandardNotProposed,
    StandardOverlaps,
)
from app.programmes.models import (
    CertificateKind,
    ProgrammeKind,
    ResidenceKind,
    StandardStatus,
    SubsidyStandard,
)
from app.validation import check_text, normalise_identifier

#: 《国家职业分类大典》 (2015/2022): major group 1-8, then three two-digit groups.
OCCUPATION_CODE = re.compile(r"[1-8]-[0-9]{2}-[0-9]{2}-[0-9]{2}", re.ASCII)
#: The values of app.courses.models.Level (tests/programmes checks they stay equal).
LEVELS = ("level5", "level4", "level3", "level2", "level1", "special")
#: The levels in words (国家职业资格等级 / 职业技能等级), as the pages and the CLI show them.
LEVEL_NAMES_ZH: dict[str, str] = {
    "level5": "五级/初级工",
    "level4": "四级/中级工",
    "level3": "三级/高级工",
    "level2": "二级/技师",
    "level1": "一级/高级技师",
    "special": "专项职业能力",
}
MAX_AMOUNT_FEN = 10_000_000  # 100,000 yuan: above any standard in the policy texts
MAX_UPLIFT = 100


def normalise_occupation_code(raw: str) -> str:
    """``6-31-01-03`` (full-width digits and dashes folded), or 422 ``invalid_occupation_code``."""
    code = normalise_identifier(raw).replace("－", "-").replace("—", "-")
    if not OCCUPATION_CODE.fullmatch(code):
        raise InvalidOccupationCode(
            f"{raw!r} is not an occupation code of the form X-XX-XX-XX (e.g. 6-31-01-03).",
            field="occupation_code",
        )
    return code


_YUAN = re.compile(r"([0-9]{1,6})(?:\.([0-9]{1,2}))?", re.ASCII)


def fen_of_yuan(raw: str) -> int:
    """An amount typed in yuan (``1500`` or ``1500.5``; full-width digits and commas folded)
    as fen, or 422 ``invalid_standard``; the range is :func:`set_standard`'s to check."""
    text = normalise_identifier(raw).replace("，", "").replace(",", "").replace("．", ".")
    m = _YUAN.fullmatch(text)
    if not m:
        raise InvalidStandard(
            f"{raw!r} is not an amount in yuan (e.g. 1500 or 1500.50).", field="amount_fen"
        )
    return int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))


def payable(standard: SubsidyStandard, base_fen: int | None = None) -> int:
    """The amount a standard pays: its base (or a capped base) plus a project's uplift."""
    base = standard.amount_fen if base_fen is None else base_fen
    return base + base * standard.uplift_percent // 100


@dataclass(frozen=True)
class InForce:
    """The standard that applies, and what it pays after the caps of the regions above."""

    standard: SubsidyStandard
    amount_fen: int
    capped_by: SubsidyStandard | None = None


def _applies(on: date) -> list[object]:
    return [
        col(SubsidyStandard.status) == StandardStatus.in_force,
        col(SubsidyStandard.effective_from) <= on,
        (col(SubsidyStandard.effective_to).is_(None)) | (col(SubsidyStandard.effective_to) >= on),
    ]


def standard_in_force(
    session: Session,
    institution: Institution,
    occupation_code: str,
    level: str,
    on_date: date,
    programme_kind: ProgrammeKind = ProgrammeKind.employment_skills,
) -> InForce | None:
    """The standard in force on ``on_date`` for an institution's region (its own region's, else
    the nearest region above with one), capped by every region above; None: no standard."""
    chain = (
        [r.code for r in regions.chain(session, institution.region_code)]
        if institution.region_code
        else [regions.NATIONAL]
    )
    rows = session.exec(
        select(SubsidyStandard).where(
            col(SubsidyStandard.region_code).in_(chain),
            col(SubsidyStandard.occupation_code) == occupation_code,
            col(SubsidyStandard.level) == level,
            col(SubsidyStandard.programme_kind) == programme_kind,
            *_applies(on_date),  # type: ignore[arg-type]
        )
    ).all()
    by_region = {s.region_code: s for s in rows}
    found = [by_region[c] for c in chain if c in by_region]  # most specific first
    if not found:
        return None
    own, above = found[0], found[1:]
    cap = min(above, key=lambda s: s.amount_fen, default=None)
    if cap is not None and cap.amount_fen < own.amount_fen:
        return InForce(own, payable(own, cap.amount_fen), cap)
    return InForce(own, payable(own))


# ---------------------------------------------------------------- the programme's rules

MIN_AGE, MAX_AGE = 16, 80  # 16: the legal working age; 80: beyond any training programme


@dataclass(frozen=True)
class ProgrammeRules:
    """Who a programme is for (app/programmes/eligibility.py decides from these): data the
    regulator sets with each version of a standard, never code."""

    target_groups: tuple[str, ...] = ()
    min_age: int | None = None
    max_age: int | None = None
    retirement_rule: str | None = None
    residence_kinds: tuple[str, ...] = ()
    max_per_year: int = eligibility.DEFAULT_MAX_PER_YEAR

    def checked(self) -> ProgrammeRules:
        """The same rules, duplicates dropped and in a stable order, or 422 invalid_standard."""
        groups = {g.value for g in LearnerGroup}
        bad = [g for g in self.target_groups if g not in groups]
        if bad:
            raise InvalidStandard(
                f"Unknown target group(s) {', '.join(bad)}; one of {', '.join(sorted(groups))}.",
                field="target_groups",
            )
        kinds = {k.value for k in ResidenceKind}
        bad = [k for k in self.residence_kinds if k not in kinds]
        if bad:
            raise InvalidStandard(
                f"Unknown residence kind(s) {', '.join(bad)}; one of {', '.join(sorted(kinds))}.",
                field="residence_kinds",
            )
        for name, age in (("min_age", self.min_age), ("max_age", self.max_age)):
            if age is not None and not MIN_AGE <= age <= MAX_AGE:
                raise InvalidStandard(f"Ages are {MIN_AGE} to {MAX_AGE} years.", field=name)
        if self.min_age is not None and self.max_age is not None and self.min_age > self.max_age:
            raise InvalidStandard("The minimum age is above the maximum.", field="min_age")
        known = eligibility.retirement_rules()
        if self.retirement_rule is not None and self.retirement_rule not in known:
            raise InvalidStandard(
                f"Unknown retirement rule {self.retirement_rule!r}; one of {', '.join(known)}.",
                field="retirement_rule",
            )
        if not 1 <= self.max_per_year <= 12:
            raise InvalidStandard(
                "At most 1 to 12 subsidised trainings a year.", field="max_per_year"
            )
        return ProgrammeRules(
            target_groups=tuple(g.value for g in LearnerGroup if g.value in self.target_groups),
            min_age=self.min_age,
            max_age=self.max_age,
            retirement_rule=self.retirement_rule,
            residence_kinds=tuple(
                k.value for k in ResidenceKind if k.value in self.residence_kinds
            ),
            max_per_year=self.max_per_year,
        )


# ---------------------------------------------------------------- the regulator's catalogue


def _regulator(principal: Principal) -> str:
    if principal.user is None or not principal.is_regulator or principal.jurisdiction is None:
        raise Forbidden("Subsidy standards are set by regulators.")
    return principal.jurisdiction


def _own_region(session: Session, principal: Principal, region_code: str | None) -> str:
    jurisdiction = _regulator(principal)
    code = regions.get_region(session, region_code or jurisdiction).code
    if not regions.within(code, jurisdiction):
        raise OutsideJurisdiction()
    return code


def _check_cap(
    session: Session, region_code: str, s: SubsidyStandard, start: date, end: date | None
) -> None:
    """Every region above with a standard for the key in force during [start, end] caps it."""
    above = [r.code for r in regions.chain(session, region_code)[1:]]
    if not above:
        return
    stmt = select(SubsidyStandard).where(
        col(SubsidyStandard.region_code).in_(above),
        col(SubsidyStandard.occupation_code) == s.occupation_code,
        col(SubsidyStandard.level) == s.level,
        col(SubsidyStandard.programme_kind) == s.programme_kind,
        col(SubsidyStandard.status) == StandardStatus.in_force,
        (col(SubsidyStandard.effective_to).is_(None))
        | (col(SubsidyStandard.effective_to) >= start),
    )
    if end is not None:
        stmt = stmt.where(col(SubsidyStandard.effective_from) <= end)
    for cap in session.exec(stmt):
        if s.amount_fen > cap.amount_fen:
            name = regions.full_name(session, cap.region_code)
            raise StandardAboveCap(
                f"{s.amount_fen / 100:.2f} yuan is above the cap of {cap.amount_fen / 100:.2f} "
                f"yuan that {name} set (version {cap.version}, from {cap.effective_from}).",
                cap_fen=cap.amount_fen,
                cap_region=cap.region_code,
            )


def _put_in_force(
    session: Session, s: SubsidyStandard, actor_principal: Principal, action: str
) -> None:
    """Cap check, then end the previous version of the key in the region the day before."""
    _check_cap(session, s.region_code, s, s.effective_from, s.effective_to)
    previous = session.exec(
        select(SubsidyStandard).where(
            col(SubsidyStandard.region_code) == s.region_code,
            col(SubsidyStandard.occupation_code) == s.occupation_code,
            col(SubsidyStandard.level) == s.level,
            col(SubsidyStandard.programme_kind) == s.programme_kind,
            col(SubsidyStandard.status) == StandardStatus.in_force,
            col(SubsidyStandard.id) != s.id,
        )
    ).all()
    for prev in previous:
        if prev.effective_from >= s.effective_from:
            raise StandardOverlaps(
                f"Version {prev.version} already starts on {prev.effective_from}; a new version "
                "must start after it."
            )
        if prev.effective_to is None or prev.effective_to >= s.effective_from:
            prev.effective_to = s.effective_from - timedelta(days=1)
            session.add(prev)
            audit.append(
                session,
                actor=actor_principal.actor,
                action="standard.superseded",
                subject=f"standard:{prev.id}",
                payload={"version": prev.version, "effective_to": prev.effective_to.isoformat()},
            )
    s.status = StandardStatus.in_force
    session.add(s)
    session.flush()
    audit.append(
        session,
        actor=actor_principal.actor,
        action=action,
        subject=f"standard:{s.id}",
        payload=describe(s),
    )


def describe(s: SubsidyStandard) -> dict[str, object]:
    return {
        "region_code": s.region_code,
        "occupation_code": s.occupation_code,
        "level": s.level,
        "certificate_kind": s.certificate_kind.value,
        "programme_kind": s.programme_kind.value,
        "uplift_percent": s.uplift_percent,
        "amount_fen": s.amount_fen,
        "effective_from": s.effective_from.isoformat(),
        "effective_to": s.effective_to.isoformat() if s.effective_to else None,
        "version": s.version,
        "status": s.status.value,
        "target_groups": list(s.target_groups),
        "min_age": s.min_age,
        "max_age": s.max_age,
        "retirement_rule": s.retirement_rule,
        "residence_kinds": list(s.residence_kinds),
        "max_per_year": s.max_per_year,
    }


def _next_version(session: Session, s: SubsidyStandard) -> int:
    versions = session.exec(
        select(col(SubsidyStandard.version)).where(
            col(SubsidyStandard.region_code) == s.region_code,
            col(SubsidyStandard.occupation_code) == s.occupation_code,
            col(SubsidyStandard.level) == s.level,
            col(SubsidyStandard.programme_kind) == s.programme_kind,
        )
    ).all()
    return max(versions, default=0) + 1


def programme_ids(
    session: Session, standard_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """Standard version → its programme's id: the first version of its series (the same region,
    occupation, level and programme kind), one id for the programme across all its versions
    (claim lines name it beside the version their amount came from)."""
    out: dict[uuid.UUID, uuid.UUID] = {}
    for s in session.exec(
        select(SubsidyStandard).where(col(SubsidyStandard.id).in_(set(standard_ids)))
    ):
        first = session.exec(
            select(col(SubsidyStandard.id))
            .where(
                col(SubsidyStandard.region_code) == s.region_code,
                col(SubsidyStandard.occupation_code) == s.occupation_code,
                col(SubsidyStandard.level) == s.level,
                col(SubsidyStandard.programme_kind) == s.programme_kind,
            )
            .order_by(col(SubsidyStandard.version))
            .limit(1)
        ).one()
        out[s.id] = first
    return out


def set_standard(
    session: Session,
    principal: Principal,
    *,
    occupation_code: str,
    occupation_name: str,
    level: str,
    amount_fen: int,
    effective_from: date,
    effective_to: date | None = None,
    region_code: str | None = None,
    certificate_kind: CertificateKind = CertificateKind.training_certificate,
    programme_kind: ProgrammeKind = ProgrammeKind.employment_skills,
    uplift_percent: int = 0,
    note: str | None = None,
    rules: ProgrammeRules | None = None,
) -> SubsidyStandard:
    """A new version of a standard in a region of the regulator's jurisdiction (default: the
    jurisdiction itself), in force from ``effective_from``; audited on the platform chain."""
    region = _own_region(session, principal, region_code)
    occupation = normalise_occupation_code(occupation_code)
    name = check_text(" ".join(occupation_name.split()), field="occupation_name")
    if not name or len(name) > 100:
        raise InvalidStandard("The occupation name must be 1-100 characters.")
    if level not in LEVELS:
        raise InvalidStandard(f"The level must be one of {', '.join(LEVELS)}.", field="level")
    if not 0 < amount_fen <= MAX_AMOUNT_FEN:
        raise InvalidStandard(f"The amount must be 1 to {MAX_AMOUNT_FEN} fen.", field="amount_fen")
    if uplift_percent and programme_kind is not ProgrammeKind.project_based:
        raise InvalidStandard("Only project-based training has an uplift.", field="uplift_percent")
    if not 0 <= uplift_percent <= MAX_UPLIFT:
        raise InvalidStandard(f"The uplift is 0 to {MAX_UPLIFT} %.", field="uplift_percent")
    if effective_to is not None and effective_to < effective_from:
        raise InvalidStandard("It cannot end before it starts.", field="effective_to")
    rules = (rules or ProgrammeRules()).checked()
    s = SubsidyStandard(
        region_code=region,
        occupation_code=occupation,
        occupation_name=name,
        level=level,
        certificate_kind=certificate_kind,
        programme_kind=programme_kind,
        uplift_percent=uplift_percent,
        amount_fen=amount_fen,
        effective_from=effective_from,
        effective_to=effective_to,
        version=0,
        status=StandardStatus.in_force,
        note=check_text(note, field="note") if note else None,
        created_by=str(principal.actor),
        target_groups=list(rules.target_groups),
        min_age=rules.min_age,
        max_age=rules.max_age,
        retirement_rule=rules.retirement_rule,
        residence_kinds=list(rules.residence_kinds),
        max_per_year=rules.max_per_year,
    )
    s.version = _next_version(session, s)
    _put_in_force(session, s, principal, "standard.set")
    return s


def visible(session: Session, principal: Principal) -> list[SubsidyStandard]:
    """The catalogue a regulator reads: the standards of their jurisdiction and of the regions
    above it (the caps that bind them), newest version first per key."""
    jurisdiction = _regulator(principal)
    prefix = regions.prefix(jurisdiction)
    above = [r.code for r in regions.chain(session, jurisdiction)]
    stmt = select(SubsidyStandard)
    if prefix:
        stmt = stmt.where(
            col(SubsidyStandard.region_code).startswith(prefix)
            | col(SubsidyStandard.region_code).in_(above)
        )
    return list(
        session.exec(
            stmt.order_by(
                col(SubsidyStandard.region_code),
                col(SubsidyStandard.occupation_code),
                col(SubsidyStandard.level),
                col(SubsidyStandard.programme_kind),
                col(SubsidyStandard.version).desc(),
            )
        )
    )


def get_standard(session: Session, principal: Principal, standard_id: uuid.UUID) -> SubsidyStandard:
    s = session.get(SubsidyStandard, standard_id)
    if s is None or s not in visible(session, principal):
        raise StandardNotFound()
    return s


def _owned(session: Session, principal: Principal, standard_id: uuid.UUID) -> SubsidyStandard:
    """A standard of a region in the caller's jurisdiction (the ones above are read-only)."""
    jurisdiction = _regulator(principal)
    s = session.get(SubsidyStandard, standard_id, with_for_update=True)
    if s is None or not regions.within(s.region_code, jurisdiction):
        raise StandardNotFound()
    return s


def confirm(
    session: Session, principal: Principal, standard_id: uuid.UUID, *, effective_from: date
) -> SubsidyStandard:
    """Put a proposed standard (from a course's old amount) in force from a date."""
    s = _owned(session, principal, standard_id)
    if s.status is not StandardStatus.proposed:
        raise StandardNotProposed()
    s.effective_from = effective_from
    _put_in_force(session, s, principal, "standard.confirmed")
    return s


def withdraw(
    session: Session, principal: Principal, standard_id: uuid.UUID, *, reason: str
) -> SubsidyStandard:
    """Withdraw a proposal or a version (certificates already issued keep their amount)."""
    s = _owned(session, principal, standard_id)
    reason = check_text(" ".join(reason.split()), field="reason")
    if not reason:
        raise InvalidStandard("Say why it is withdrawn.", field="reason")
    if s.status is StandardStatus.withdrawn:
        return s
    s.status = StandardStatus.withdrawn
    session.add(s)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="standard.withdrawn",
        subject=f"standard:{s.id}",
        payload={"version": s.version, "reason": reason},
    )
    return s
