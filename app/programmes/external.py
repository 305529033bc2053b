"""External certificates (issue 16 item 5): a 职业技能等级证书 by a recognised evaluation
organisation, a 专项职业能力证书 or a 特种作业操作证, recorded by staff of the learner's
institution with number, issuer, date, occupation (and level) and a scan — a PDF, JPEG or PNG by
its bytes, at most 5 MB, kept in the media store (written before commit, removed if the
transaction rolls back). It counts for a programme that requires its kind only once a regulator
within whose jurisdiction the recording institution lies confirmed it; confirmation and
rejection are final. Every change is audited on the institution's chain.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Institution, Role, User
from app.accounts.principal import Principal
from app.accounts.service import acting_institution
from app.aftercommit import after_rollback
from app.audit import service as audit
from app.programmes.exceptions import (
    ExternalCertificateDecided,
    ExternalCertificateExists,
    ExternalCertificateNotFound,
    InvalidExternalCertificate,
    InvalidScan,
    ScanUnavailable,
)
from app.programmes.facts import reason_text, require_regulator, staff_learner
from app.programmes.models import CertificateKind, ExternalCertificate, ExternalStatus
from app.programmes.standards import LEVELS, normalise_occupation_code
from app.storage import ObjectMissing, media_store
from app.validation import check_text, normalise_identifier

log = logging.getLogger(__name__)

MAX_SCAN_BYTES = 5 * 1024 * 1024
EXTERNAL_KINDS = (
    CertificateKind.skill_level,
    CertificateKind.special_ability,
    CertificateKind.special_operations,
)
#: Evidence that proves a group (anything else is refused for that group).
#: The leading bytes of each accepted scan type.
_MAGIC = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)


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
    learner = staff_learner(session, principal, learner_id)
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
    store, key = media_store(), cert.scan_key
    after_rollback(session, lambda: store.delete(key))
    store.put_bytes(key, scan)
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
    require_regulator(principal)
    cert = _visible_external(session, principal, external_id, lock=True)
    if principal.user is not None and principal.user.id == cert.user_id:
        raise ExternalCertificateNotFound()
    if cert.status is not ExternalStatus.recorded:
        raise ExternalCertificateDecided()
    cert.status = ExternalStatus.confirmed if confirm else ExternalStatus.rejected
    cert.reason = None if confirm else reason_text(reason or "")
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


def scan_bytes(cert: ExternalCertificate) -> bytes:
    """The certificate's scan as recorded, checked against the sha256 its row and audit entry
    hold (:class:`ScanUnavailable` if the store lost or changed it)."""
    try:
        data = media_store().read(cert.scan_key)
    except ObjectMissing:
        log.error("external certificate %s: scan %s is missing", cert.id, cert.scan_key)
        raise ScanUnavailable() from None
    if hashlib.sha256(data).hexdigest() != cert.scan_sha256:
        log.error(
            "external certificate %s: scan %s does not match its hash", cert.id, cert.scan_key
        )
        raise ScanUnavailable("The stored scan does not match its recorded hash.")
    return data


def learners_of(session: Session, rows: list[ExternalCertificate]) -> dict[uuid.UUID, User]:
    """The learners of some external certificates the caller was allowed to list."""
    ids = list({r.user_id for r in rows})
    if not ids:
        return {}
    return {u.id: u for u in session.exec(select(User).where(col(User.id).in_(ids)))}
