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

import hashlib
import tempfile
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Institution, LearnerGroup, Role, User
from app.accounts.principal import Principal
from app.accounts.service import acting_institution, get_visible_learner
from app.aftercommit import after_rollback
from app.audit import service as audit
from app.errors import Forbidden
from app.programmes import regions
from app.programmes.exceptions import (
    ExternalCertificateDecided,
    ExternalCertificateExists,
    ExternalCertificateNotFound,
    FactNotFound,
    InvalidExternalCertificate,
    InvalidFact,
    InvalidScan,
)
from app.programmes.models import (
    CertificateKind,
    EvidenceKind,
    ExternalCertificate,
    ExternalStatus,
    FactStatus,
    LearnerGroupFact,
    Region,
    ResidenceFact,
    ResidenceKind,
)
from app.programmes.standards import LEVELS, normalise_occupation_code
from app.storage import media_store
from app.validation import check_text, normalise_identifier

MAX_SCAN_BYTES = 5 * 1024 * 1024
EXTERNAL_KINDS = (
    CertificateKind.skill_level,
    CertificateKind.special_ability,
    CertificateKind.special_operations,
)
#: Evidence that proves a group (anything else is refused for that group).
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
#: The leading bytes of each accepted scan type.
_MAGIC = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


# ---------------------------------------------------------------- who may do what


def _staff_learner(session: Session, principal: Principal, learner_id: uuid.UUID) -> User:
    """A learner of the institution the caller (staff, or its API key) acts for."""
    institution = acting_institution(principal)
    learner = get_visible_learner(session, principal, learner_id)
    if learner.institution_id != institution:
        raise Forbidden("Only the learner's own institution records their facts.")
    return learner


def _regulator(principal: Principal) -> None:
    if principal.user is None or not principal.is_regulator:
        raise Forbidden("Only regulators verify facts and confirm external certificates.")


def _evidence_number(raw: str | None) -> str | None:
    if raw is None or not raw.strip():
        return None
    value = normalise_identifier(raw)
    if len(value) > 64:
        raise InvalidFact("The evidence number is at most 64 characters.", field="evidence_number")
    return check_text(value, field="evidence_number")


def _reason(raw: str) -> str:
    reason = " ".join(raw.split())
    if not reason or len(reason) > 500:
        raise InvalidFact("Say why (1-500 characters).", field="reason")
    reason = check_text(reason, field="reason")
    if not reason:
        raise InvalidFact("Say why (1-500 characters).", field="reason")
    return reason


# ---------------------------------------------------------------- groups


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
    learner = _staff_learner(session, principal, learner_id)
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
    fact = session.exec(
        select(LearnerGroupFact)
        .where(col(LearnerGroupFact.user_id) == learner.id, col(LearnerGroupFact.group) == group)
        .with_for_update()
    ).first()
    if fact is None:
        fact = LearnerGroupFact(
            user_id=learner.id,
            group=group,
            evidence_kind=kind,
            status=FactStatus.confirmed,
            created_by=str(principal.actor),
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
        _regulator(principal)
        if fact.status is not FactStatus.confirmed and fact.status is not FactStatus.verified:
            raise InvalidFact("Only a fact staff confirmed from evidence can be verified.")
        fact.status, fact.reason = FactStatus.verified, None
    else:
        if principal.is_regulator:
            _regulator(principal)
        else:
            _staff_learner(session, principal, learner.id)
        fact.status, fact.reason = FactStatus.rejected, _reason(reason or "")
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


_F = TypeVar("_F", LearnerGroupFact, ResidenceFact)


def visible_fact(session: Session, principal: Principal, model: type[_F], fact_id: uuid.UUID) -> _F:
    fact = session.get(model, fact_id, with_for_update=True)
    if fact is None:
        raise FactNotFound()
    learner = session.get(User, fact.user_id)
    if learner is None or not principal.can_see_institution(learner.institution_id):
        raise FactNotFound()
    return fact


def verify_group(session: Session, principal: Principal, fact_id: uuid.UUID) -> LearnerGroupFact:
    _regulator(principal)
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
    learner = _staff_learner(session, principal, learner_id)
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
    fact = session.exec(
        select(ResidenceFact)
        .where(col(ResidenceFact.user_id) == learner.id, col(ResidenceFact.kind) == rkind)
        .with_for_update()
    ).first()
    if fact is None:
        fact = ResidenceFact(
            user_id=learner.id,
            kind=rkind,
            region_code=region.code,
            evidence_kind=ekind,
            status=FactStatus.confirmed,
            created_by=str(principal.actor),
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
    _regulator(principal)
    fact = visible_fact(session, principal, ResidenceFact, fact_id)
    _decide_fact(session, principal, fact, verify=True, reason=None)
    return fact


def reject_residence(
    session: Session, principal: Principal, fact_id: uuid.UUID, *, reason: str
) -> ResidenceFact:
    fact = visible_fact(session, principal, ResidenceFact, fact_id)
    _decide_fact(session, principal, fact, verify=False, reason=reason)
    return fact


# ---------------------------------------------------------------- external certificates


def scan_type(data: bytes) -> tuple[str, str]:
    """(media type, extension) of a scan from its bytes, or 422 ``invalid_scan``."""
    if not data:
        raise InvalidScan("The scan is empty.", field="scan")
    if len(data) > MAX_SCAN_BYTES:
        raise InvalidScan(
            f"The scan is {len(data)} bytes; at most {MAX_SCAN_BYTES} bytes.", field="scan"
        )
    for magic, media_type, ext in _MAGIC:
        if data.startswith(magic):
            return media_type, ext
    raise InvalidScan("The scan is not a PDF, JPEG or PNG file.", field="scan")


@dataclass(frozen=True)
class ExternalInput:
    kind: str
    number: str
    issuer: str
    issued_on: date
    occupation_code: str
    occupation_name: str
    level: str | None = None


def _checked(data: ExternalInput) -> ExternalInput:
    try:
        kind = CertificateKind(data.kind)
    except ValueError:
        kind = CertificateKind.training_certificate
    if kind not in EXTERNAL_KINDS:
        raise InvalidExternalCertificate(
            f"The kind is one of {', '.join(k.value for k in EXTERNAL_KINDS)}.", field="kind"
        )
    number = normalise_identifier(data.number)
    if not number or len(number) > 64:
        raise InvalidExternalCertificate("The number is 1-64 characters.", field="number")
    number = check_text(number, field="number")
    issuer = check_text(" ".join(data.issuer.split()), field="issuer")
    if not issuer or len(issuer) > 200:
        raise InvalidExternalCertificate("Name the issuer (1-200 characters).", field="issuer")
    if data.issued_on > clock.now().date():
        raise InvalidExternalCertificate("The issue date is in the future.", field="issued_on")
    name = check_text(" ".join(data.occupation_name.split()), field="occupation_name")
    if not name or len(name) > 100:
        raise InvalidExternalCertificate(
            "The occupation name is 1-100 characters.", field="occupation_name"
        )
    level = data.level or None
    if kind is CertificateKind.skill_level:
        if level not in LEVELS or level == "special":
            raise InvalidExternalCertificate(
                "A skill level certificate names its level (level5 … level1).", field="level"
            )
    elif level is not None:
        raise InvalidExternalCertificate(
            "Only skill level certificates have a level.", field="level"
        )
    return ExternalInput(
        kind=kind.value,
        number=number,
        issuer=issuer,
        issued_on=data.issued_on,
        occupation_code=normalise_occupation_code(data.occupation_code),
        occupation_name=name,
        level=level,
    )


def record_external(
    session: Session,
    principal: Principal,
    learner_id: uuid.UUID,
    data: ExternalInput,
    scan: bytes,
) -> ExternalCertificate:
    """Staff record a certificate someone else issued, with its scan: it awaits the
    regulator's confirmation (``recorded``)."""
    learner = _staff_learner(session, principal, learner_id)
    checked = _checked(data)
    media_type, ext = scan_type(scan)
    kind = CertificateKind(checked.kind)
    if session.exec(
        select(col(ExternalCertificate.id)).where(
            col(ExternalCertificate.kind) == kind,
            col(ExternalCertificate.number) == checked.number,
        )
    ).first():
        raise ExternalCertificateExists()
    sha = hashlib.sha256(scan).hexdigest()
    cert = ExternalCertificate(
        user_id=learner.id,
        institution_id=learner.institution_id or acting_institution(principal),
        kind=kind,
        number=checked.number,
        issuer=checked.issuer,
        issued_on=checked.issued_on,
        occupation_code=checked.occupation_code,
        occupation_name=checked.occupation_name,
        level=checked.level,
        scan_key="",
        scan_sha256=sha,
        scan_media_type=media_type,
        scan_bytes=len(scan),
        status=ExternalStatus.recorded,
        recorded_at=clock.now(),
        recorded_by=str(principal.actor),
    )
    cert.scan_key = f"external-certificates/{cert.id}/{sha}.{ext}"
    session.add(cert)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="external_certificate.recorded",
        subject=f"external_certificate:{cert.id}",
        payload={
            "user": str(learner.id),
            "kind": kind.value,
            "number": cert.number,
            "issuer": cert.issuer,
            "issued_on": cert.issued_on.isoformat(),
            "occupation_code": cert.occupation_code,
            "level": cert.level,
            "scan_sha256": sha,
        },
        institution_id=cert.institution_id,
    )
    store = media_store()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scan"
        path.write_bytes(scan)
        store.put(cert.scan_key, path)
    key = cert.scan_key
    after_rollback(session, lambda: store.delete(key))
    return cert


def _visible_external(
    session: Session, principal: Principal, external_id: uuid.UUID, *, lock: bool = False
) -> ExternalCertificate:
    cert = session.get(ExternalCertificate, external_id, with_for_update=lock)
    if cert is None:
        raise ExternalCertificateNotFound()
    learner = session.get(User, cert.user_id)
    if principal.user is not None and principal.user.id == cert.user_id:
        return cert  # the learner's own
    if learner is None or not principal.can_see_institution(cert.institution_id):
        raise ExternalCertificateNotFound()
    return cert


def get_external(
    session: Session, principal: Principal, external_id: uuid.UUID
) -> ExternalCertificate:
    return _visible_external(session, principal, external_id)


def decide_external(
    session: Session,
    principal: Principal,
    external_id: uuid.UUID,
    *,
    confirm: bool,
    reason: str | None = None,
) -> ExternalCertificate:
    """A regulator within whose jurisdiction the recording institution lies confirms the
    certificate (it now counts) or rejects it with a reason; either is final."""
    _regulator(principal)
    cert = _visible_external(session, principal, external_id, lock=True)
    if principal.user is not None and principal.user.id == cert.user_id:
        raise ExternalCertificateNotFound()
    if cert.status is not ExternalStatus.recorded:
        raise ExternalCertificateDecided()
    cert.status = ExternalStatus.confirmed if confirm else ExternalStatus.rejected
    cert.reason = None if confirm else _reason(reason or "")
    cert.decided_at, cert.decided_by = clock.now(), str(principal.actor)
    session.add(cert)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action=f"external_certificate.{'confirmed' if confirm else 'rejected'}",
        subject=f"external_certificate:{cert.id}",
        payload={"number": cert.number, "reason": cert.reason},
        institution_id=cert.institution_id,
    )
    return cert


def list_externals(
    session: Session,
    principal: Principal,
    *,
    status: ExternalStatus | None = None,
    learner_id: uuid.UUID | None = None,
    limit: int = 200,
) -> list[ExternalCertificate]:
    """External certificates the caller may see: a regulator's jurisdiction, staff's own
    institution (a learner: their own), newest first."""
    stmt = select(ExternalCertificate)
    if principal.role is Role.learner and principal.user is not None:
        stmt = stmt.where(col(ExternalCertificate.user_id) == principal.user.id)
    elif principal.is_regulator:
        p = principal.region_prefix
        if p is None:
            return []
        if p:
            inside = select(col(Institution.id)).where(col(Institution.region_code).startswith(p))
            stmt = stmt.where(col(ExternalCertificate.institution_id).in_(inside))
    else:
        stmt = stmt.where(col(ExternalCertificate.institution_id) == principal.institution_id)
    if status is not None:
        stmt = stmt.where(col(ExternalCertificate.status) == status)
    if learner_id is not None:
        stmt = stmt.where(col(ExternalCertificate.user_id) == learner_id)
    stmt = stmt.order_by(col(ExternalCertificate.recorded_at).desc()).limit(limit)
    return list(session.exec(stmt))


def scan_path(cert: ExternalCertificate) -> Path:
    return media_store().path(cert.scan_key)


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


def learners_of(session: Session, rows: list[ExternalCertificate]) -> dict[uuid.UUID, User]:
    """The learners of some external certificates the caller was allowed to list."""
    ids = list({r.user_id for r in rows})
    if not ids:
        return {}
    return {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids)))}
