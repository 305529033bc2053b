"""Certificates: issue, read, verify (public), revoke; subsidy eligibility; claim exports;
certificate settings; the learner's electronic training record."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Path, Query, Response, UploadFile, status

from app.accounts import exceptions as ax
from app.accounts.principal import Principal
from app.api import examples
from app.api.deps import (
    PUBLIC,
    SCOPE_ERRORS,
    USER_ERRORS,
    CertificatesRead,
    CurrentLearner,
    CurrentUser,
    SessionDep,
)
from app.certificates import claims, credential, record, subsidy
from app.certificates import exceptions as cx
from app.certificates import photo as photos
from app.certificates import seal as seals
from app.certificates import service as certificates
from app.certificates.models import Certificate, CertificatePhoto, CertificateSettings
from app.certificates.schemas import (
    CertificateOut,
    CertificatePhotoIn,
    CertificatePhotoOut,
    CertificateSettingsIn,
    CertificateSettingsOut,
    IssuedOut,
    RecordCertificateOut,
    RecordEntryOut,
    RecordOut,
    RecordSubsidyOut,
    RevokeIn,
    RuleOut,
    SubsidyOut,
    VerifyOut,
)
from app.config import get_settings
from app.courses import exceptions as coursex
from app.courses.models import LEVEL_NAMES_ZH
from app.errors import problem_responses
from app.programmes.exceptions import InstitutionNotApproved, OutsideApprovedScope

router = APIRouter(tags=["certificates"])

Serial = Annotated[str, Path(min_length=1, max_length=64, description="Certificate serial")]


XLSX = claims.XLSX


def pdf_url(serial: str) -> str:
    return f"{get_settings().base_url}/certificates/{serial}.pdf"


def _certificate_out(cert: Certificate, *, for_learner: bool = False) -> CertificateOut:
    return CertificateOut(
        identity_salt=cert.identity_salt if for_learner else None,
        id=cert.id,
        serial=cert.serial,
        status=cert.status,
        enrollment_id=cert.enrollment_id,
        user_id=cert.user_id,
        course_id=cert.course_id,
        institution_id=cert.institution_id,
        learner_name=cert.learner_name,
        id_number_masked=cert.id_number_masked,
        course=cert.course_title,
        occupation_code=cert.occupation_code,
        occupation=cert.occupation_name,
        level=cert.level,
        level_name=LEVEL_NAMES_ZH[cert.level],
        minutes=cert.credited_minutes,
        hours=credential.hours(cert.credited_minutes),
        quiz_score=cert.quiz_score,
        rollcalls_total=cert.rollcalls_total,
        rollcalls_passed=cert.rollcalls_passed,
        attendance_passed=cert.attendance_passed,
        issued_at=cert.issued_at,
        revoked_at=cert.revoked_at,
        revoked_reason=cert.revoked_reason,
        credential_jwt=cert.credential_jwt,
        pdf_url=pdf_url(cert.serial),
        verify_url=credential.verify_url(cert.serial),
    )


@router.post(
    "/enrollments/{enrollment_id}/certificate",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedOut,
    responses=problem_responses(
        *USER_ERRORS,
        coursex.EnrollmentNotFound,
        cx.NotComplete,
        cx.AlreadyIssued,
        cx.NoRealName,
        InstitutionNotApproved,
        OutsideApprovedScope,
    ),
)
def issue(enrollment_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> IssuedOut:
    """Issue the certificate of a completed enrolment (the learner, or staff of the institution).

    409 `not_complete` lists what is `missing`; a second request gets 409 `already_issued` with
    the existing `serial`.
    """
    cert = certificates.issue(session, Principal.of_user(user), enrollment_id)
    return IssuedOut(
        serial=cert.serial,
        credential_jwt=cert.credential_jwt,
        pdf_url=pdf_url(cert.serial),
        verify_url=credential.verify_url(cert.serial),
    )


@router.get(
    "/certificates/{serial}",
    response_model=CertificateOut,
    responses=problem_responses(*SCOPE_ERRORS, cx.CertificateNotFound),
)
def get_certificate(serial: Serial, principal: CertificatesRead, session: SessionDep) -> Any:
    """A certificate in full, with its signed credential (learner, staff, regulators)."""
    cert = certificates.get_certificate(session, principal, serial)
    own = principal.user is not None and principal.user.id == cert.user_id
    return _certificate_out(cert, for_learner=own)


@router.get(
    "/certificates/{serial}/verify",
    response_model=VerifyOut,
    responses=problem_responses(cx.CertificateNotFound),
    dependencies=[PUBLIC],
)
def verify(serial: Serial, session: SessionDep) -> VerifyOut:
    """Public check of a certificate: valid or revoked (with date and reason), masked name."""
    cert = certificates.by_serial(session, serial)
    return VerifyOut.of(cert, institution=certificates.institution_name(session, cert))


@router.post(
    "/certificates/{serial}/revoke",
    response_model=CertificateOut,
    responses=problem_responses(
        *USER_ERRORS, cx.CertificateNotFound, cx.AlreadyRevoked, cx.InvalidRevocation
    ),
)
def revoke(serial: Serial, body: RevokeIn, user: CurrentUser, session: SessionDep) -> Any:
    """Revoke a certificate with a reason (staff of the issuing institution; audited)."""
    cert = certificates.revoke(session, Principal.of_user(user), serial, body.reason)
    return _certificate_out(cert)


@router.get(
    "/certificates/{serial}/subsidy",
    response_model=SubsidyOut,
    responses=problem_responses(*SCOPE_ERRORS, cx.CertificateNotFound),
)
def get_subsidy(serial: Serial, principal: CertificatesRead, session: SessionDep) -> SubsidyOut:
    """Subsidy eligibility with every rule named: passed or not, and why."""
    cert = certificates.get_certificate(session, principal, serial)
    decision = subsidy.decide(session, cert)
    return SubsidyOut(
        serial=cert.serial,
        eligible=decision.eligible,
        amount_fen=decision.amount_fen,
        rules=[RuleOut(**vars(r)) for r in decision.rules],
    )


@router.get(
    "/subsidy-claims",
    response_class=Response,
    responses={
        200: {
            "description": "One row per eligible certificate, then a totals row",
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": examples.CLAIMS_CSV},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **problem_responses(*USER_ERRORS, ax.InstitutionNotFound, cx.InvalidClaimPeriod),
    },
)
def export_claims(
    user: CurrentUser,
    session: SessionDep,
    year: Annotated[int, Query(ge=2000, le=2999)],
    quarter: Annotated[int, Query(ge=1, le=4)],
    institution_id: uuid.UUID | None = None,
    format: Literal["csv", "xlsx"] = "csv",
) -> Response:
    """Quarterly subsidy claims as CSV or XLSX (staff: own institution; regulators: any)."""
    report = claims.build(
        session, Principal.of_user(user), year=year, quarter=quarter, institution_id=institution_id
    )
    if format == "xlsx":
        body, media = claims.to_xlsx(report), XLSX
    else:
        body, media = claims.to_csv(report), "text/csv; charset=utf-8"
    return Response(
        body,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{report.filename}.{format}"'},
    )


def _settings_out(
    institution_id: uuid.UUID, row: CertificateSettings | None
) -> CertificateSettingsOut:
    if row is None:
        return CertificateSettingsOut(
            institution_id=institution_id, auto_issue=False, updated_at=None
        )
    seal_url = None
    if row.seal_sha256 is not None:
        seal_url = f"/api/v1/institutions/{institution_id}/certificate-settings/seal"
    return CertificateSettingsOut(
        institution_id=row.institution_id,
        auto_issue=row.auto_issue,
        updated_at=row.updated_at,
        seal_sha256=row.seal_sha256,
        seal_url=seal_url,
    )


@router.get(
    "/institutions/{institution_id}/certificate-settings",
    response_model=CertificateSettingsOut,
    responses=problem_responses(*USER_ERRORS, ax.InstitutionNotFound),
)
def get_certificate_settings(
    institution_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> CertificateSettingsOut:
    """Whether the institution issues certificates automatically on completion, and its seal."""
    row = certificates.get_settings_for(session, Principal.of_user(user), institution_id)
    return _settings_out(institution_id, row)


@router.put(
    "/institutions/{institution_id}/certificate-settings",
    response_model=CertificateSettingsOut,
    responses=problem_responses(*USER_ERRORS, ax.InstitutionNotFound),
)
def put_certificate_settings(
    institution_id: uuid.UUID,
    body: CertificateSettingsIn,
    user: CurrentUser,
    session: SessionDep,
) -> CertificateSettingsOut:
    """Choose automatic issuing on completion (staff of the institution; audited)."""
    row = certificates.update_settings(
        session, Principal.of_user(user), institution_id, auto_issue=body.auto_issue
    )
    return _settings_out(institution_id, row)


SealFile = Annotated[
    UploadFile,
    File(
        description="A PNG or JPEG scan or photo of the seal on white (or transparent) "
        "background, at most 2 MB and 4000×4000 px. The paper is made transparent and the "
        "image cropped to the ink."
    ),
]


@router.put(
    "/institutions/{institution_id}/certificate-settings/seal",
    response_model=CertificateSettingsOut,
    responses=problem_responses(
        *USER_ERRORS, ax.InstitutionNotFound, cx.InvalidSealImage, cx.SealImageTooLarge
    ),
)
def put_seal(
    institution_id: uuid.UUID, file: SealFile, user: CurrentUser, session: SessionDep
) -> CertificateSettingsOut:
    """Upload the institution's seal (staff of the institution; audited). Certificates issued
    from now on carry it, stamped over the issue date; issued ones keep the seal they had."""
    data = file.file.read(seals.MAX_BYTES + 1)
    row = seals.set_seal(session, Principal.of_user(user), institution_id, data)
    return _settings_out(institution_id, row)


@router.delete(
    "/institutions/{institution_id}/certificate-settings/seal",
    response_model=CertificateSettingsOut,
    responses=problem_responses(*USER_ERRORS, ax.InstitutionNotFound),
)
def delete_seal(
    institution_id: uuid.UUID, user: CurrentUser, session: SessionDep
) -> CertificateSettingsOut:
    """Stop placing a seal on new certificates (the image is kept: issued ones refer to it)."""
    row = seals.clear_seal(session, Principal.of_user(user), institution_id)
    return _settings_out(institution_id, row)


@router.get(
    "/institutions/{institution_id}/certificate-settings/seal",
    response_class=Response,
    responses={
        200: {
            "description": "The seal in force (PNG, transparent background)",
            "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(*USER_ERRORS, ax.InstitutionNotFound, cx.SealNotFound),
    },
)
def get_seal(institution_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> Response:
    """The seal certificates are issued with now (the institution's staff, regulators)."""
    found = seals.current_seal(session, Principal.of_user(user), institution_id)
    return Response(
        found.png,
        media_type="image/png",
        headers={"Cache-Control": "private, max-age=300", "ETag": f'"{found.sha256}"'},
    )


PHOTO_IMAGE = "/api/v1/me/certificate-photo/image"


def _photo_out(found: CertificatePhoto | None) -> CertificatePhotoOut:
    if found is None:
        return CertificatePhotoOut(enabled=False)
    return CertificatePhotoOut(
        enabled=True,
        sha256=found.sha256,
        source_event_id=found.source_event_id,
        granted_at=found.granted_at,
        image_url=PHOTO_IMAGE,
    )


@router.get(
    "/me/certificate-photo",
    response_model=CertificatePhotoOut,
    responses=problem_responses(*USER_ERRORS),
)
def get_certificate_photo(user: CurrentLearner, session: SessionDep) -> CertificatePhotoOut:
    """Whether my certificates' PDFs show my photo (off unless I turned it on)."""
    return _photo_out(photos.current(session, user.id))


@router.put(
    "/me/certificate-photo",
    response_model=CertificatePhotoOut,
    responses=problem_responses(*USER_ERRORS, cx.CertificatePhotoUnavailable),
)
def put_certificate_photo(
    body: CertificatePhotoIn, user: CurrentLearner, session: SessionDep
) -> CertificatePhotoOut:
    """Show my face-enrolment photo on my certificates, or withdraw it (audited). On keeps a
    copy of the enrolment crop past the evidence retention period; off deletes that copy."""
    return _photo_out(photos.set_choice(session, user, enabled=body.enabled))


@router.get(
    "/me/certificate-photo/image",
    response_class=Response,
    responses={
        200: {
            "description": "The photo my certificates show (JPEG, the enrolment crop)",
            "content": {"image/jpeg": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(*USER_ERRORS, cx.CertificatePhotoNotFound),
    },
)
def get_certificate_photo_image(user: CurrentLearner, session: SessionDep) -> Response:
    """The photo kept for my certificates, while I consent to it."""
    found = photos.own_photo(session, user)
    assert found.jpeg is not None  # noqa: S101 - own_photo refuses a withdrawn one
    return Response(
        found.jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store, private"}
    )


def _record_out(rec: record.TrainingRecord) -> RecordOut:
    entries: list[RecordEntryOut] = []
    for e in rec.entries:
        cert, decision, p = e.certificate, e.decision, e.progress
        entries.append(
            RecordEntryOut(
                enrollment_id=e.enrollment.id,
                course_id=e.course.id,
                course=e.course.title,
                institution=e.institution.name,
                occupation_code=e.course.occupation_code,
                occupation=e.course.occupation_name,
                level=e.course.level,
                level_name=LEVEL_NAMES_ZH[e.course.level],
                enrolled_at=e.enrollment.created_at,
                credited_minutes=p.credited_minutes,
                required_minutes=p.required_minutes,
                hours=credential.hours(p.credited_minutes),
                offline_minutes=p.offline_minutes,
                offline_required_minutes=p.offline_required_minutes,
                rollcalls_total=p.rollcalls_total,
                rollcalls_passed=p.rollcalls_passed,
                rollcall_pass_rate=p.rollcall_pass_rate,
                min_pass_rate=p.min_pass_rate,
                quiz_passed=p.quiz_passed,
                best_quiz_score=p.best_quiz_score,
                complete=e.enrollment.completed_at is not None or p.complete,
                completed_at=e.enrollment.completed_at,
                certificate=RecordCertificateOut(
                    serial=cert.serial,
                    status=cert.status,
                    issued_at=cert.issued_at,
                    verify_url=credential.verify_url(cert.serial),
                )
                if cert
                else None,
                subsidy=RecordSubsidyOut(
                    eligible=decision.eligible,
                    amount_fen=decision.amount_fen,
                    refused_by=decision.refused_by,
                )
                if decision
                else None,
            )
        )
    granted = [e.subsidy for e in entries if e.subsidy and e.subsidy.eligible]
    return RecordOut(
        learner_id=rec.learner.id,
        real_name=rec.learner.real_name,
        id_number_masked=rec.learner.id_number_masked,
        group=rec.learner.group,
        enrollments=entries,
        completed=sum(1 for e in entries if e.complete),
        certificates=sum(1 for e in entries if e.certificate),
        subsidised=len(granted),
        subsidy_total_fen=sum(s.amount_fen for s in granted),
    )


@router.get(
    "/me/record",
    response_model=RecordOut,
    responses=problem_responses(*USER_ERRORS, cx.LearnerNotFound),
)
def my_record(user: CurrentLearner, session: SessionDep) -> RecordOut:
    """My electronic training record (职业培训电子档案)."""
    return _record_out(record.record(session, Principal.of_user(user), user.id))


@router.get(
    "/learners/{learner_id}/record",
    response_model=RecordOut,
    responses=problem_responses(*USER_ERRORS, cx.LearnerNotFound),
)
def learner_record(learner_id: uuid.UUID, user: CurrentUser, session: SessionDep) -> RecordOut:
    """A learner's training record: staff see their institution's part, regulators all of it."""
    return _record_out(record.record(session, Principal.of_user(user), learner_id))
