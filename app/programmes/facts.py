"""The facts eligibility is decided from, recorded and checked by people who saw the evidence.

* **Groups** (several per learner): staff of the learner's institution confirm a group from its
  evidence (kind and number); a regulator whose jurisdiction covers the institution verifies or
  rejects it. What a learner declared at registration is kept as ``declared`` and counts for
  nothing until confirmed.
* **Residence** (常住地 / 就业地, or a newer 户籍地 than the ID number's): staff confirm from
  evidence, the regulator verifies or rejects.
* **External certificates** (职业技能等级证书, 专项职业能力证书, 特种作业操作证): staff record
  number, issuer, date, occupation (and level) and a scan (PDF/JPEG/PNG by its bytes, at most
  5 MB, kept in the media store); it counts only once a regulator within whose jurisdiction the
  recording institution lies confirmed it.

Every change is audited on the learner's institution's chain in the same transaction; a scan is
written before commit and removed if the transaction rolls back (app/aftercommit.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app import clock
from app.accounts.models import LearnerGroup, Role, User
from app.accounts.principal import Principal
from app.accounts.service import acting_institution, get_visible_learner
from app.audit import service as audit
from app.errors import Forbidden
from app.programmes import regions
from app.programmes.exceptions import (
    FactNotFound,
    InvalidFact,
)
from app.programmes.models import (
    EvidenceKind,
    ExternalCertificate,
    FactStatus,
    LearnerGroupFact,
    Region,
    ResidenceFact,
    ResidenceKind,
)
from app.validation import check_text, normalise_identifier, starts_like_formula

GROUP_EVIDENCE: dict[str, tuple[EvidenceKind, ...]] = {
    LearnerGroup.unemployed: (EvidenceKind.unemployment_registration,),
    LearnerGroup.ex_serviceman: (EvidenceKind.veteran_card,),
    LearnerGroup.employment_difficulty: (
        EvidenceKind.employment_difficulty_certificate,
        EvidenceKind.disability_certificate,
    ),
    LearnerGroup.college_graduate: (EvidenceKind.graduation_certificate,),
    LearnerGroup.poverty_labourer: (EvidenceKind.poverty_registration,),
    LearnerGroup.enterprise_employee: (EvidenceKind.labour_contract, EvidenceKind.social_insurance),
    LearnerGroup.migrant_worker: (
        EvidenceKind.household_register,
        EvidenceKind.labour_contract,
        EvidenceKind.social_insurance,
    ),
    LearnerGroup.school_leaver: (EvidenceKind.graduation_certificate, EvidenceKind.other_document),
    LearnerGroup.other: tuple(k for k in EvidenceKind if k is not EvidenceKind.self_declared),
}
RESIDENCE_EVIDENCE: dict[ResidenceKind, tuple[EvidenceKind, ...]] = {
    ResidenceKind.household: (EvidenceKind.household_register,),
    ResidenceKind.resident: (EvidenceKind.other_document, EvidenceKind.social_insurance),
    ResidenceKind.employed: (EvidenceKind.labour_contract, EvidenceKind.social_insurance),
}
# ---------------------------------------------------------------- who may do what


def staff_learner(session: Session, principal: Principal, learner_id: uuid.UUID) -> User:
    """A learner of the institution the caller (staff, or its API key) acts for."""
    institution = acting_institution(principal)
    learner = get_visible_learner(session, principal, learner_id)
    if learner.institution_id != institution:
        raise Forbidden("Only the learner's own institution records their facts.")
    return learner


def require_regulator(principal: Principal) -> None:
    if principal.user is None or not principal.is_regulator:
        raise Forbidden("Only regulators verify facts and confirm external certificates.")


def _evidence_number(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    value = normalise_identifier(raw)
    if len(value) > 64:
        raise InvalidFact("The evidence number is at most 64 characters.", field="evidence_number")
    if starts_like_formula(value):
        raise InvalidFact(
            "An evidence number does not start with = + - or @.", field="evidence_number"
        )
    return check_text(value, field="evidence_number")


def reason_text(raw: str) -> str:
    reason = " ".join(raw.split())
    if not reason or len(reason) > 500:
        raise InvalidFact("Say why (1-500 characters).", field="reason")
    reason = check_text(reason, field="reason")
    if not reason:
        raise InvalidFact("Say why (1-500 characters).", field="reason")
    return reason


# ---------------------------------------------------------------- groups


_F = TypeVar("_F", LearnerGroupFact, ResidenceFact)


def _inserted(session: Session, fact: _F, query: SelectOfScalar[_F]) -> _F:
    """``fact`` inserted, or — when another request inserted the same learner's fact of that
    group or kind between our look and our insert (the unique constraint says so) — that row,
    locked, for this confirmation to replace: the same outcome as one after the other."""
    try:
        with session.begin_nested():
            session.add(fact)
            session.flush()
    except IntegrityError:
        return session.exec(query).one()
    return fact


def confirm_group(
    session: Session,
    principal: Principal,
    learner_id: uuid.UUID,
    *,
    group: str,
    evidence_kind: str,
    evidence_number: str | None,
) -> LearnerGroupFact:
    """Staff confirm that a learner belongs to a group, having seen its evidence (a declared,
    rejected or earlier confirmed record of the same group is replaced by this one)."""
    learner = staff_learner(session, principal, learner_id)
    if group not in LearnerGroup.__members__:
        raise InvalidFact(f"Unknown group {group!r}.", field="group")
    try:
        kind = EvidenceKind(evidence_kind)
    except ValueError:
        raise InvalidFact(
            f"Unknown evidence kind {evidence_kind!r}.", field="evidence_kind"
        ) from None
    if kind not in GROUP_EVIDENCE[group]:
        allowed = ", ".join(k.value for k in GROUP_EVIDENCE[group])
        raise InvalidFact(
            f"{kind.value} does not prove {group}; one of: {allowed}.", field="evidence_kind"
        )
    number = _evidence_number(evidence_number)
    if number is None and kind is not EvidenceKind.other_document:
        raise InvalidFact("Give the evidence's number.", field="evidence_number")
    query = (
        select(LearnerGroupFact)
        .where(col(LearnerGroupFact.user_id) == learner.id, col(LearnerGroupFact.group) == group)
        .with_for_update()
    )
    fact = session.exec(query).first() or _inserted(
        session,
        LearnerGroupFact(
            user_id=learner.id,
            group=group,
            evidence_kind=kind,
            status=FactStatus.confirmed,
            created_by=str(principal.actor),
        ),
        query,
    )
    fact.evidence_kind, fact.evidence_number = kind, number
    fact.status, fact.reason = FactStatus.confirmed, None
    fact.decided_at, fact.decided_by = clock.now(), str(principal.actor)
    session.add(fact)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="learner.group_confirmed",
        subject=f"user:{learner.id}",
        payload={
            "fact": str(fact.id),
            "group": group,
            "evidence_kind": kind.value,
            "number": number,
        },
        institution_id=learner.institution_id,
    )
    return fact


def _decide_fact(
    session: Session,
    principal: Principal,
    fact: LearnerGroupFact | ResidenceFact,
    *,
    verify: bool,
    reason: str | None,
) -> None:
    learner = session.get(User, fact.user_id)
    if learner is None:
        raise FactNotFound()
    if verify:
        require_regulator(principal)
        if fact.status is not FactStatus.confirmed and fact.status is not FactStatus.verified:
            raise InvalidFact("Only a fact staff confirmed from evidence can be verified.")
        fact.status, fact.reason = FactStatus.verified, None
    else:
        if principal.is_regulator:
            require_regulator(principal)
        else:
            staff_learner(session, principal, learner.id)
        fact.status, fact.reason = FactStatus.rejected, reason_text(reason or "")
    fact.decided_at, fact.decided_by = clock.now(), str(principal.actor)
    session.add(fact)
    session.flush()
    what = "group" if isinstance(fact, LearnerGroupFact) else "residence"
    audit.append(
        session,
        actor=principal.actor,
        action=f"learner.{what}_{'verified' if verify else 'rejected'}",
        subject=f"user:{learner.id}",
        payload={"fact": str(fact.id), "reason": fact.reason},
        institution_id=learner.institution_id,
    )


def visible_fact(session: Session, principal: Principal, model: type[_F], fact_id: uuid.UUID) -> _F:
    fact = session.get(model, fact_id, with_for_update=True)
    if fact is None:
        raise FactNotFound()
    learner = session.get(User, fact.user_id)
    if learner is None or not principal.can_see_institution(learner.institution_id):
        raise FactNotFound()
    return fact


def verify_group(session: Session, principal: Principal, fact_id: uuid.UUID) -> LearnerGroupFact:
    require_regulator(principal)
    fact = visible_fact(session, principal, LearnerGroupFact, fact_id)
    _decide_fact(session, principal, fact, verify=True, reason=None)
    return fact


def reject_group(
    session: Session, principal: Principal, fact_id: uuid.UUID, *, reason: str
) -> LearnerGroupFact:
    fact = visible_fact(session, principal, LearnerGroupFact, fact_id)
    _decide_fact(session, principal, fact, verify=False, reason=reason)
    return fact


# ---------------------------------------------------------------- residence


def confirm_residence(
    session: Session,
    principal: Principal,
    learner_id: uuid.UUID,
    *,
    kind: str,
    region_code: str,
    evidence_kind: str,
    evidence_number: str | None,
) -> ResidenceFact:
    """Staff confirm where a learner lives or works (one region per kind; a new one replaces
    the old), from evidence."""
    learner = staff_learner(session, principal, learner_id)
    try:
        rkind = ResidenceKind(kind)
        ekind = EvidenceKind(evidence_kind)
    except ValueError:
        raise InvalidFact("Unknown residence or evidence kind.", field="kind") from None
    if ekind not in RESIDENCE_EVIDENCE[rkind]:
        allowed = ", ".join(k.value for k in RESIDENCE_EVIDENCE[rkind])
        raise InvalidFact(
            f"{ekind.value} does not prove a {rkind.value} region; one of: {allowed}.",
            field="evidence_kind",
        )
    region = regions.get_region(session, region_code)
    if region.code == regions.NATIONAL:
        raise InvalidFact("Name a province, prefecture or county.", field="region_code")
    number = _evidence_number(evidence_number)
    query = (
        select(ResidenceFact)
        .where(col(ResidenceFact.user_id) == learner.id, col(ResidenceFact.kind) == rkind)
        .with_for_update()
    )
    fact = session.exec(query).first() or _inserted(
        session,
        ResidenceFact(
            user_id=learner.id,
            kind=rkind,
            region_code=region.code,
            evidence_kind=ekind,
            status=FactStatus.confirmed,
            created_by=str(principal.actor),
        ),
        query,
    )
    fact.region_code, fact.evidence_kind, fact.evidence_number = region.code, ekind, number
    fact.status, fact.reason = FactStatus.confirmed, None
    fact.decided_at, fact.decided_by = clock.now(), str(principal.actor)
    session.add(fact)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="learner.residence_confirmed",
        subject=f"user:{learner.id}",
        payload={
            "fact": str(fact.id),
            "kind": rkind.value,
            "region_code": region.code,
            "evidence_kind": ekind.value,
            "number": number,
        },
        institution_id=learner.institution_id,
    )
    return fact


def verify_residence(session: Session, principal: Principal, fact_id: uuid.UUID) -> ResidenceFact:
    require_regulator(principal)
    fact = visible_fact(session, principal, ResidenceFact, fact_id)
    _decide_fact(session, principal, fact, verify=True, reason=None)
    return fact


def reject_residence(
    session: Session, principal: Principal, fact_id: uuid.UUID, *, reason: str
) -> ResidenceFact:
    fact = visible_fact(session, principal, ResidenceFact, fact_id)
    _decide_fact(session, principal, fact, verify=False, reason=reason)
    return fact


# ---------------------------------------------------------------- a learner's facts


@dataclass
class LearnerFactsView:
    learner: User
    groups: list[LearnerGroupFact]
    residences: list[ResidenceFact]
    externals: list[ExternalCertificate]
    #: Full names of the regions named (the residences' and the ID number's), by code.
    region_names: dict[str, str]


def facts_of(session: Session, principal: Principal, learner_id: uuid.UUID) -> LearnerFactsView:
    """Everything recorded about a learner's eligibility, for staff of their institution, a
    regulator whose jurisdiction covers it, or the learner."""
    learner = get_visible_learner(session, principal, learner_id)
    if principal.role is Role.learner and principal.user is not None:
        if principal.user.id != learner.id:
            raise Forbidden()
    groups = list(
        session.exec(
            select(LearnerGroupFact)
            .where(col(LearnerGroupFact.user_id) == learner.id)
            .order_by(col(LearnerGroupFact.created_at))
        )
    )
    residences = list(
        session.exec(
            select(ResidenceFact)
            .where(col(ResidenceFact.user_id) == learner.id)
            .order_by(col(ResidenceFact.kind))
        )
    )
    externals = list(
        session.exec(
            select(ExternalCertificate)
            .where(col(ExternalCertificate.user_id) == learner.id)
            .order_by(col(ExternalCertificate.issued_on).desc())
        )
    )
    codes = {r.region_code for r in residences}
    if learner.id_number_masked:
        codes.add(learner.id_number_masked[:6])
    names = {
        code: regions.full_name(session, code) if session.get(Region, code) else code
        for code in codes
    }
    return LearnerFactsView(learner, groups, residences, externals, names)
