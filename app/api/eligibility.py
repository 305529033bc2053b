"""The facts eligibility is decided from: learners' groups with evidence, residence, external
certificates (issue 16 items 5 and 6). Rules live in app/programmes/facts.py; signed-in users
only (staff record, regulators verify and confirm, the learner reads their own)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, UploadFile, status
from fastapi.responses import FileResponse, Response

from app.accounts import exceptions as ax
from app.api.deps import SessionDep, UserPrincipal
from app.errors import Forbidden, NotAuthenticated, problem_responses
from app.http.media import scan_response
from app.programmes import exceptions as px
from app.programmes import external, facts, regions
from app.programmes.models import CertificateKind, ExternalStatus, ResidenceFact
from app.programmes.schemas import (
    ExternalCertificateOut,
    ExternalDecisionIn,
    FactDecisionIn,
    GroupFactIn,
    GroupFactOut,
    LearnerEligibilityOut,
    ResidenceFactIn,
    ResidenceFactOut,
)
from app.validation import InvalidText

router = APIRouter(tags=["eligibility"])

LearnerId = Annotated[uuid.UUID, Path(description="The learner's user id")]
FactId = Annotated[uuid.UUID, Path(description="The group fact's id")]
ResidenceId = Annotated[uuid.UUID, Path(description="The residence fact's id")]
ExternalId = Annotated[uuid.UUID, Path(description="The external certificate's id")]
_auth = (NotAuthenticated, ax.InvalidToken, ax.InsufficientRole, Forbidden)


def _residence(session: SessionDep, r: ResidenceFact) -> ResidenceFactOut:
    return ResidenceFactOut.of(r, regions.full_name(session, r.region_code))


@router.get(
    "/learners/{learner_id}/eligibility",
    response_model=LearnerEligibilityOut,
    responses=problem_responses(*_auth, ax.UserNotFound),
)
def learner_facts(
    learner_id: LearnerId, principal: UserPrincipal, session: SessionDep
) -> LearnerEligibilityOut:
    """Everything recorded about a learner's eligibility: groups with their evidence and
    state, residence, external certificates (staff of their institution, regulators whose
    jurisdiction covers it, the learner)."""
    view = facts.facts_of(session, principal, learner_id)
    masked = view.learner.id_number_masked
    return LearnerEligibilityOut(
        learner_id=view.learner.id,
        id_number_masked=masked,
        household_region_code=masked[:6] if masked else None,
        declared_group=view.learner.group,
        groups=[GroupFactOut.of(g) for g in view.groups],
        residences=[_residence(session, r) for r in view.residences],
        external_certificates=[ExternalCertificateOut.of(e) for e in view.externals],
    )


@router.post(
    "/learners/{learner_id}/groups",
    status_code=status.HTTP_201_CREATED,
    response_model=GroupFactOut,
    responses=problem_responses(*_auth, ax.UserNotFound, px.InvalidFact, InvalidText),
)
def confirm_group(
    learner_id: LearnerId, body: GroupFactIn, principal: UserPrincipal, session: SessionDep
) -> GroupFactOut:
    """Staff of the learner's institution confirm a group from its evidence (a learner may
    hold several; a declared one of the same group is replaced). Audited."""
    fact = facts.confirm_group(
        session,
        principal,
        learner_id,
        group=body.group.value,
        evidence_kind=body.evidence_kind.value,
        evidence_number=body.evidence_number,
    )
    return GroupFactOut.of(fact)


@router.post(
    "/learners/{learner_id}/residences",
    status_code=status.HTTP_201_CREATED,
    response_model=ResidenceFactOut,
    responses=problem_responses(
        *_auth,
        ax.UserNotFound,
        px.InvalidFact,
        px.InvalidRegionCode,
        px.RegionNotFound,
        InvalidText,
    ),
)
def confirm_residence(
    learner_id: LearnerId, body: ResidenceFactIn, principal: UserPrincipal, session: SessionDep
) -> ResidenceFactOut:
    """Staff confirm where the learner lives (常住地) or works (就业地), or a newer 户籍地 than
    the ID number's, from evidence; one region per kind. Audited."""
    fact = facts.confirm_residence(
        session,
        principal,
        learner_id,
        kind=body.kind.value,
        region_code=body.region_code,
        evidence_kind=body.evidence_kind.value,
        evidence_number=body.evidence_number,
    )
    return _residence(session, fact)


@router.post(
    "/learner-groups/{fact_id}/decision",
    response_model=GroupFactOut,
    responses=problem_responses(*_auth, px.FactNotFound, px.InvalidFact, InvalidText),
)
def decide_group(
    fact_id: FactId, body: FactDecisionIn, principal: UserPrincipal, session: SessionDep
) -> GroupFactOut:
    """A regulator verifies a group staff confirmed; a regulator or the learner's institution
    rejects one, with the reason. Audited."""
    if body.decision == "verify":
        return GroupFactOut.of(facts.verify_group(session, principal, fact_id))
    return GroupFactOut.of(
        facts.reject_group(session, principal, fact_id, reason=body.reason or "")
    )


@router.post(
    "/residences/{residence_id}/decision",
    response_model=ResidenceFactOut,
    responses=problem_responses(*_auth, px.FactNotFound, px.InvalidFact, InvalidText),
)
def decide_residence(
    residence_id: ResidenceId, body: FactDecisionIn, principal: UserPrincipal, session: SessionDep
) -> ResidenceFactOut:
    """Verify or reject a confirmed residence, as for groups. Audited."""
    if body.decision == "verify":
        return _residence(session, facts.verify_residence(session, principal, residence_id))
    fact = facts.reject_residence(session, principal, residence_id, reason=body.reason or "")
    return _residence(session, fact)


@router.post(
    "/learners/{learner_id}/external-certificates",
    status_code=status.HTTP_201_CREATED,
    response_model=ExternalCertificateOut,
    responses=problem_responses(
        *_auth,
        ax.UserNotFound,
        px.InvalidExternalCertificate,
        px.InvalidOccupationCode,
        px.InvalidScan,
        px.ExternalCertificateExists,
        InvalidText,
    ),
)
def record_external(
    learner_id: LearnerId,
    principal: UserPrincipal,
    session: SessionDep,
    kind: Annotated[
        CertificateKind, Form(description="skill_level, special_ability or special_operations")
    ],
    number: Annotated[str, Form(max_length=64, examples=["S000044030500001"])],
    issuer: Annotated[str, Form(max_length=200, examples=["深圳市南山区职业技能鉴定所"])],
    issued_on: Annotated[date, Form()],
    occupation_code: Annotated[str, Form(max_length=32, examples=["6-31-01-03"])],
    occupation_name: Annotated[str, Form(max_length=100, examples=["电工"])],
    scan: Annotated[
        UploadFile,
        File(
            description="PDF, JPEG or PNG, at most 5 MB; a PDF with scripts, launch or other "
            "actions, attached files or an XFA form is refused (422 invalid_scan)"
        ),
    ],
    level: Annotated[str | None, Form(max_length=16, description="skill_level only")] = None,
) -> ExternalCertificateOut:
    """Staff of the learner's institution record a certificate someone else issued, with its
    scan (the type is taken from the bytes). It counts for a programme that requires its kind
    once a regulator confirmed it. Audited."""
    data = scan.file.read(external.MAX_SCAN_BYTES + 1)
    cert = external.record_external(
        session,
        principal,
        learner_id,
        external.ExternalInput(
            kind=kind.value,
            number=number,
            issuer=issuer,
            issued_on=issued_on,
            occupation_code=occupation_code,
            occupation_name=occupation_name,
            level=level or None,
        ),
        data,
    )
    return ExternalCertificateOut.of(cert)


@router.get(
    "/external-certificates",
    response_model=list[ExternalCertificateOut],
    responses=problem_responses(*_auth),
)
def list_externals(
    principal: UserPrincipal,
    session: SessionDep,
    status_: Annotated[ExternalStatus | None, Query(alias="status")] = None,
    learner_id: uuid.UUID | None = None,
) -> list[ExternalCertificateOut]:
    """External certificates the caller may see, newest first: a regulator's jurisdiction
    (``status=recorded``: the ones awaiting confirmation), staff's institution, a learner's
    own."""
    rows = external.list_externals(session, principal, status=status_, learner_id=learner_id)
    return [ExternalCertificateOut.of(e) for e in rows]


@router.get(
    "/external-certificates/{external_id}/scan",
    response_class=FileResponse,
    responses={
        200: {
            "description": "The scan as recorded (PDF, JPEG or PNG)",
            "content": {
                t: {"schema": {"type": "string", "format": "binary"}}
                for t in ("application/pdf", "image/jpeg", "image/png")
            },
        },
        **problem_responses(*_auth, px.ExternalCertificateNotFound, px.ScanUnavailable),
    },
)
def external_scan(
    external_id: ExternalId, principal: UserPrincipal, session: SessionDep
) -> Response:
    """The scan of an external certificate (whoever may see the certificate)."""
    cert = external.get_external(session, principal, external_id)
    return scan_response(cert, external.scan_bytes(cert))


@router.post(
    "/external-certificates/{external_id}/decision",
    response_model=ExternalCertificateOut,
    responses=problem_responses(
        *_auth,
        px.ExternalCertificateNotFound,
        px.ExternalCertificateDecided,
        px.InvalidFact,
        InvalidText,
    ),
)
def decide_external(
    external_id: ExternalId, body: ExternalDecisionIn, principal: UserPrincipal, session: SessionDep
) -> ExternalCertificateOut:
    """A regulator whose jurisdiction covers the recording institution confirms the certificate
    (it now counts) or rejects it with the reason; either is final. Audited."""
    cert = external.decide_external(
        session,
        principal,
        external_id,
        confirm=body.decision == "confirm",
        reason=body.reason,
    )
    return ExternalCertificateOut.of(cert)
