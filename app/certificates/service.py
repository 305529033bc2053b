"""Certificate rules: issuing (on request or automatically on completion), serial numbers,
who may see a certificate, public verification, revocation, institution settings.

Functions take the request's session, ``flush()`` and never commit; each write appends its
audit entry in the same transaction.

Serial numbers are ``{institution_code}-{year}-{seq:06d}``, the year being the Asia/Shanghai
calendar year of issue. The counter row of (institution, year) is created if missing and then
locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite already holds the write lock), so
concurrent issuers on any number of nodes take consecutive numbers; the unique constraints on
the serial and on (institution, year, seq) are the last line of defence. An enrolment has at
most one certificate: its row is locked while issuing and ``enrollment_id`` is unique.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app import clock
from app.accounts.exceptions import InstitutionNotFound
from app.accounts.models import Institution, Role, User
from app.accounts.principal import Principal
from app.accounts.privacy import mask_name as mask_name  # the public view's masked name
from app.audit import service as audit
from app.audit.service import Actor
from app.certificates import credential, status
from app.certificates.exceptions import (
    AlreadyIssued,
    AlreadyRevoked,
    CertificateNotFound,
    InvalidRevocation,
    NoRealName,
    NotComplete,
)
from app.certificates.models import (
    Certificate,
    CertificateCounter,
    CertificateSettings,
    CertificateStatus,
)
from app.certificates.subsidy import attendance_passed
from app.clock import SHANGHAI
from app.courses import progress as course_progress
from app.courses.ledger import day_of
from app.courses.models import Course, Enrollment, StudySession
from app.courses.service import course_of, get_enrollment_for
from app.crypto import decrypt
from app.errors import DomainError, Forbidden
from app.programmes import registry, standards
from app.validation import check_text, normalise_identifier

log = logging.getLogger("skilltrace.certificates")

#: Called with (session, certificate, actor) right after a certificate is issued or revoked, in
#: the same transaction (and savepoint, for automatic issuing); app/webhooks listens here
#: (subscribed in app/wiring.py).
issued_hooks: list[Callable[[Session, Certificate, Actor], None]] = []
revoked_hooks: list[Callable[[Session, Certificate, Actor], None]] = []

REASON_CHARS = 500


# ---------------------------------------------------------------- who may see what


def can_see_certificate(principal: Principal, cert: Certificate) -> bool:
    """The learner themself, staff of the issuing institution, regulators, and API keys of that
    institution with the ``certificates:read`` scope."""
    if principal.user is not None and principal.user.id == cert.user_id:
        return True
    if principal.role is Role.learner:
        return False
    if principal.api_key is not None and "certificates:read" not in principal.scopes:
        return False
    return principal.can_see_institution(cert.institution_id)


def require_staff_of(principal: Principal, institution_id: uuid.UUID) -> None:
    if principal.user is None or principal.role not in (Role.staff, Role.admin):
        raise Forbidden("Only staff of the issuing institution may do this.")
    if principal.role is Role.staff and principal.institution_id != institution_id:
        raise Forbidden("Only staff of the issuing institution may do this.")


def by_serial(session: Session, serial: str, *, for_update: bool = False) -> Certificate:
    """The certificate of a serial as typed (NFKC: full-width digits fold; spaces go)."""
    serial = normalise_identifier(serial)
    stmt = select(Certificate).where(col(Certificate.serial) == serial)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    cert = session.exec(stmt).one_or_none()
    if cert is None:
        raise CertificateNotFound()
    return cert


def get_certificate(session: Session, principal: Principal, serial: str) -> Certificate:
    """A certificate the caller may see in full; else 404 (its existence is public anyway)."""
    cert = by_serial(session, serial)
    if not can_see_certificate(principal, cert):
        raise CertificateNotFound()
    return cert


def certificate_of(session: Session, enrollment_id: uuid.UUID) -> Certificate | None:
    return session.exec(
        select(Certificate).where(col(Certificate.enrollment_id) == enrollment_id)
    ).one_or_none()


# ---------------------------------------------------------------- issuing


def _next_seq(session: Session, institution_id: uuid.UUID, year: int) -> int:
    bind = session.get_bind()
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(CertificateCounter)
        .values(institution_id=institution_id, year=year, last_seq=0)
        .on_conflict_do_nothing()
    )
    counter = session.exec(
        select(CertificateCounter)
        .where(
            col(CertificateCounter.institution_id) == institution_id,
            col(CertificateCounter.year) == year,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    counter.last_seq += 1
    session.add(counter)
    session.flush()
    return counter.last_seq


def make_serial(institution_code: str, year: int, seq: int) -> str:
    return f"{institution_code}-{year}-{seq:06d}"


def _study_period(
    session: Session, enrollment: Enrollment
) -> tuple[datetime | None, datetime | None]:
    """The training period: the first study session's start, the last one's end (or its last
    heartbeat, or its start, while one is still open). (None, None) without sessions."""
    rows = session.exec(
        select(StudySession).where(col(StudySession.enrollment_id) == enrollment.id)
    ).all()
    if not rows:
        return None, None
    started = min(r.started_at for r in rows)
    ended = max(r.ended_at or r.last_heartbeat_at or r.started_at for r in rows)
    return started, ended


def _issue(session: Session, enrollment: Enrollment, course: Course, actor: Actor) -> Certificate:
    """Issue for a locked, complete enrolment that has no certificate yet; only an institution
    the regulator has approved issues (409 ``institution_not_approved``), and only for an
    occupation and level its approval covers (409 ``outside_approved_scope``)."""
    registry.ensure_in_scope(
        session, enrollment.institution_id, course.occupation_code, course.level.value
    )
    user = session.get(User, enrollment.user_id)
    institution = session.get(Institution, enrollment.institution_id)
    if user is None or institution is None:  # pragma: no cover - foreign keys guarantee them
        raise CertificateNotFound()
    if not user.real_name or not user.id_number_enc or not user.id_number_masked:
        raise NoRealName()
    id_number = decrypt("id_number", user.id_number_enc).decode()
    now = clock.now()
    year = now.astimezone(SHANGHAI).year
    seq = _next_seq(session, institution.id, year)
    p = course_progress.progress(enrollment, course)
    blended = course.offline_required_minutes > 0 or p.offline_minutes > 0
    status_list, status_index = status.allocate(year, seq)
    study_started, study_ended = _study_period(session, enrollment)
    found = standards.standard_in_force(
        session, institution, course.occupation_code, course.level.value, day_of(now)
    )
    cert = Certificate(
        serial=make_serial(institution.code, year, seq),
        institution_id=institution.id,
        year=year,
        seq=seq,
        enrollment_id=enrollment.id,
        user_id=user.id,
        course_id=course.id,
        learner_name=user.real_name,
        id_number_masked=user.id_number_masked,
        learner_group=user.group,
        identity_salt=secrets.token_hex(16),
        course_title=course.title,
        occupation_code=course.occupation_code,
        occupation_name=course.occupation_name,
        level=course.level,
        required_minutes=course.required_minutes,
        credited_minutes=p.credited_minutes,
        offline_minutes=p.offline_minutes if blended else None,
        offline_required_minutes=course.offline_required_minutes if blended else None,
        quiz_score=enrollment.best_quiz_score,
        pass_score=course.pass_score,
        rollcalls_total=enrollment.rollcalls_total,
        rollcalls_passed=enrollment.rollcalls_passed,
        min_pass_rate=course.rollcall_min_pass_rate,
        attendance_passed=False,
        subsidy_fen=found.amount_fen if found else 0,
        subsidy_standard_id=found.standard.id if found else None,
        subsidy_standard_version=found.standard.version if found else None,
        subsidy_region_code=found.standard.region_code if found else None,
        completed_at=enrollment.completed_at,
        study_started_at=study_started,
        study_ended_at=study_ended,
        status_list=status_list,
        status_index=status_index,
        issued_at=now,
        issued_by=str(actor),
        seal_sha256=seal_in_force(session, institution.id),
    )
    cert.attendance_passed = attendance_passed(cert)
    cert.credential_jwt = credential.sign(
        credential.build(cert, institution_name=institution.name, id_number=id_number)
    )
    session.add(cert)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        # A concurrent request issued for the same enrolment (the row lock makes this rare).
        existing = certificate_of(session, enrollment.id)
        raise AlreadyIssued(serial=existing.serial if existing else None) from None
    audit.append(
        session,
        actor=actor,
        action="certificate.issued",
        subject=f"certificate:{cert.serial}",
        payload={
            "certificate": str(cert.id),
            "enrollment": str(enrollment.id),
            "user": str(user.id),
            "course": str(course.id),
            "occupation_code": cert.occupation_code,
            "level": cert.level.value,
            "credited_minutes": cert.credited_minutes,
            **({"offline_minutes": cert.offline_minutes} if blended else {}),
            "quiz_score": cert.quiz_score,
            "rollcalls": [cert.rollcalls_passed, cert.rollcalls_total],
            "attendance_passed": cert.attendance_passed,
            "subsidy_fen": cert.subsidy_fen,
            "subsidy_standard": str(cert.subsidy_standard_id) if found else None,
            "subsidy_standard_version": cert.subsidy_standard_version,
        },
        institution_id=institution.id,
    )
    for hook in issued_hooks:
        hook(session, cert, actor)
    return cert


def issue(session: Session, principal: Principal, enrollment_id: uuid.UUID) -> Certificate:
    """Issue the certificate of a completed enrolment: the learner or the institution's staff.

    Refused with 409 ``not_complete`` (carrying ``missing``) before completion, and with 409
    ``already_issued`` (carrying ``serial``) the second time, so a retry is safe.
    """
    enrollment = get_enrollment_for(session, principal, enrollment_id, for_update=True)
    is_learner = principal.user is not None and principal.user.id == enrollment.user_id
    if not is_learner:
        require_staff_of(principal, enrollment.institution_id)
    existing = certificate_of(session, enrollment.id)
    if existing is not None:
        raise AlreadyIssued(serial=existing.serial)
    course = course_of(session, enrollment)
    p = course_progress.progress(
        enrollment, course, practical=course_progress.practical_passed(session, enrollment)
    )
    if not p.complete:
        raise NotComplete(missing=p.missing, missing_zh=p.missing_zh)
    return _issue(session, enrollment, course, principal.actor)


def auto_issue(session: Session, enrollment: Enrollment, course: Course, actor: Actor) -> None:
    """Completion hook: issue at once if the institution chose to (see :class:`Settings`).

    Runs inside the completing request's transaction, in a savepoint: a certificate that cannot
    be issued (say, a learner without an ID number) must not undo the completion itself.
    """
    settings = session.get(CertificateSettings, enrollment.institution_id)
    if settings is None or not settings.auto_issue:
        return
    if certificate_of(session, enrollment.id) is not None:
        return
    try:
        with session.begin_nested():
            _issue(session, enrollment, course, actor)
    except DomainError as exc:
        log.warning("no automatic certificate for enrollment %s: %s", enrollment.id, exc.code)


# ---------------------------------------------------------------- revocation


def revoke(session: Session, principal: Principal, serial: str, reason: str) -> Certificate:
    """Revoke with a reason (staff of the issuing institution; audited)."""
    reason = check_text(reason, field="reason", multiline=True, required=False)
    if not reason or len(reason) > REASON_CHARS:
        raise InvalidRevocation()
    # The serial is public (the verification page), so a stranger learns nothing from a 403.
    cert = by_serial(session, serial, for_update=True)
    require_staff_of(principal, cert.institution_id)
    if cert.status is CertificateStatus.revoked:
        raise AlreadyRevoked()
    cert.status = CertificateStatus.revoked
    cert.revoked_at = clock.now()
    cert.revoked_reason = reason
    cert.revoked_by = str(principal.actor)
    session.add(cert)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="certificate.revoked",
        subject=f"certificate:{cert.serial}",
        payload={"certificate": str(cert.id), "reason": reason},
        institution_id=cert.institution_id,
    )
    for hook in revoked_hooks:
        hook(session, cert, principal.actor)
    return cert


# ---------------------------------------------------------------- settings


def get_settings_for(
    session: Session, principal: Principal, institution_id: uuid.UUID
) -> CertificateSettings | None:
    """The institution's certificate settings (None: never set, the defaults apply)."""
    if principal.role is Role.learner or not principal.can_see_institution(institution_id):
        raise Forbidden("Only the institution's staff and regulators see its settings.")
    if session.get(Institution, institution_id) is None:
        raise InstitutionNotFound()
    return session.get(CertificateSettings, institution_id)


def seal_in_force(session: Session, institution_id: uuid.UUID) -> str | None:
    """The seal a certificate issued now carries (app/certificates/seal.py)."""
    settings = session.get(CertificateSettings, institution_id)
    return None if settings is None else settings.seal_sha256


def update_settings(
    session: Session, principal: Principal, institution_id: uuid.UUID, *, auto_issue: bool
) -> CertificateSettings:
    """Staff of the institution choose whether certificates are issued on completion."""
    require_staff_of(principal, institution_id)
    if session.get(Institution, institution_id) is None:
        raise InstitutionNotFound()
    found = session.get(CertificateSettings, institution_id, with_for_update=True)
    row = found or CertificateSettings(institution_id=institution_id, updated_by="")
    row.auto_issue = auto_issue
    row.updated_at = clock.now()
    row.updated_by = str(principal.actor)
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=principal.actor,
        action="certificate_settings.updated",
        subject=f"institution:{institution_id}",
        payload={"auto_issue": auto_issue},
        institution_id=institution_id,
    )
    return row


# ---------------------------------------------------------------- public view


def institution_name(session: Session, cert: Certificate) -> str:
    inst = session.get(Institution, cert.institution_id)
    return inst.name if inst else ""


# ---------------------------------------------------------------- staff pages


def certificates_of(
    session: Session, principal: Principal, enrollment_ids: list[uuid.UUID]
) -> dict[uuid.UUID, Certificate]:
    """The certificates of these enrolments the caller may see, by enrolment (one query)."""
    if not enrollment_ids:
        return {}
    rows = session.exec(
        select(Certificate).where(col(Certificate.enrollment_id).in_(enrollment_ids))
    ).all()
    return {c.enrollment_id: c for c in rows if can_see_certificate(principal, c)}


def revoke_for_enrollment(
    session: Session, principal: Principal, enrollment_id: uuid.UUID, reason: str
) -> Certificate:
    """Revoke the certificate of an enrolment the caller may see (see :func:`revoke`)."""
    enrollment = get_enrollment_for(session, principal, enrollment_id)
    cert = certificate_of(session, enrollment.id)
    if cert is None:
        raise CertificateNotFound()
    return revoke(session, principal, cert.serial, reason)
