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
import io
import logging
import uuid
import warnings
from dataclasses import dataclass
from datetime import date

import simplejpeg
from PIL import Image
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import clock
from app.accounts.models import Institution, Role, User
from app.accounts.principal import Principal
from app.accounts.service import acting_institution
from app.aftercommit import after_rollback
from app.audit import service as audit
from app.programmes import pdfscan
from app.programmes.eligibility import identity
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
from app.validation import check_text, normalise_identifier, starts_like_formula

log = logging.getLogger(__name__)

MAX_SCAN_BYTES = 5 * 1024 * 1024
#: Pixels a JPEG/PNG scan may declare: an A4 page at 600 dpi (4961 x 7016) fits; a
#: decompression bomb's header declares far more and is refused before anything is inflated.
MAX_SCAN_PIXELS = 36_000_000
#: The PDF's ``%%EOF`` marker must lie within this many bytes of its end.
PDF_TAIL_BYTES = 1024
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
            if ext == "pdf":
                _check_pdf(data)
            else:
                _check_picture(data)
            return media_type, ext
    raise InvalidScan("The scan is not a PDF, JPEG or PNG file.", field="scan")


def _check_pdf(data: bytes) -> None:
    """A PDF ends with its ``%%EOF`` marker (ISO 32000-1 §7.5.5; writers may add a few bytes
    after it): a file cut off in the upload, or something else behind a PDF signature, lacks it.
    Then it must be a document pypdf can read with nothing in it that acts (scripts, launch
    actions, embedded files: :mod:`app.programmes.pdfscan`)."""
    if b"%%EOF" not in data[-PDF_TAIL_BYTES:]:
        raise InvalidScan(
            "The PDF is incomplete (no end-of-file marker): it was cut off; upload it again.",
            field="scan",
        )
    pdfscan.check_pdf(data)


def _check_picture(data: bytes) -> None:
    """A JPEG or PNG scan must be one whole picture of at most :data:`MAX_SCAN_PIXELS`: the
    header is read first (a decompression bomb declares its size there and is refused before
    any pixel is inflated), then the data is read through to its end (a PNG's every chunk
    checksum; a JPEG decoded strictly at 1/8 scale, nearly free) so a truncated or corrupt
    picture — or other bytes behind a picture signature — is refused before a regulator opens
    it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=("JPEG", "PNG")) as im:
                width, height = im.size
                if width <= 0 or height <= 0:
                    raise InvalidScan("The scan picture has no pixels.", field="scan")
                if width * height > MAX_SCAN_PIXELS:
                    raise InvalidScan(
                        f"The scan picture is {width}x{height} pixels; at most "
                        f"{MAX_SCAN_PIXELS} pixels (scan at 300 dpi).",
                        field="scan",
                    )
                if getattr(im, "n_frames", 1) != 1:
                    raise InvalidScan("The scan is an animated picture.", field="scan")
                if im.format == "PNG":
                    im.verify()  # every chunk's CRC, through IEND; nothing is inflated
                else:  # strict: libjpeg's "corrupt data" warnings raise (Pillow fills grey)
                    simplejpeg.decode_jpeg(
                        data,
                        colorspace="CMYK" if im.mode == "CMYK" else "GRAY",
                        strict=True,
                        min_width=max(1, width // 8),
                        min_height=max(1, height // 8),
                    )
    except InvalidScan:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombWarning):
        # Pillow: UnidentifiedImageError (an OSError), "image file is truncated", broken
        # chunks (SyntaxError from PNG's chunk reader), DecompressionBombError/Warning.
        raise InvalidScan(
            "The scan picture is damaged or incomplete; scan or export it again.", field="scan"
        ) from None


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
    if starts_like_formula(number):
        raise InvalidExternalCertificate(
            "A certificate number does not start with = + - or @.", field="number"
        )
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


def _number_taken(session: Session, kind: CertificateKind, number: str) -> bool:
    """Whether a certificate of ``kind`` with ``number`` is already recorded (the unique
    constraint decides between two recordings that both got past this look)."""
    found = session.exec(
        select(col(ExternalCertificate.id)).where(
            col(ExternalCertificate.kind) == kind, col(ExternalCertificate.number) == number
        )
    ).first()
    return found is not None


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
    birth, _, _ = identity(learner)
    if birth is not None and checked.issued_on < birth:
        raise InvalidExternalCertificate(
            "The issue date is before the holder was born (by the ID number).", field="issued_on"
        )
    media_type, ext = scan_type(scan)
    kind = CertificateKind(checked.kind)
    if _number_taken(session, kind, checked.number):
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
    try:
        with session.begin_nested():  # two recordings of one number at once: one wins
            session.add(cert)
            session.flush()
    except IntegrityError:
        raise ExternalCertificateExists() from None
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
