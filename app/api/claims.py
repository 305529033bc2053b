"""Subsidy claims: filing (staff), line review, approval, payment, findings and recoveries
(regulators), public notices and objections (anyone). Rules live in app/claims."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response, status

from app import clock
from app.accounts import exceptions as ax
from app.api.deps import PUBLIC, SessionDep, UserPrincipal
from app.certificates.claims import XLSX
from app.certificates.exceptions import CertificateNotFound, InvalidClaimPeriod
from app.claims import evidence, export
from app.claims import exceptions as cx
from app.claims import service as claims
from app.claims.models import LineDecision, ObjectionStatus, RecoveryStatus
from app.claims.schemas import (
    ApplicationIn,
    ApplicationOfferOut,
    BatchOut,
    BatchSummaryOut,
    CorrectionIn,
    EvidenceIn,
    ExportIn,
    FileQuarterIn,
    FindingIn,
    LearnerClaimOut,
    LineEvidenceOut,
    LineOut,
    LineReviewIn,
    NoticeOut,
    ObjectionIn,
    ObjectionOut,
    ObjectionReceivedOut,
    PaymentIn,
    PaymentOut,
    RecoveryOut,
    ResolveObjectionIn,
    SettleRecoveryIn,
    batch_out,
    line_out,
)
from app.errors import Forbidden, NotAuthenticated, problem_responses
from app.http.cookies import client_info
from app.programmes.exceptions import InstitutionNotApproved
from app.validation import InvalidText

router = APIRouter(tags=["claims"])

BatchId = Annotated[uuid.UUID, Path(description="Claim batch id")]
LineId = Annotated[uuid.UUID, Path(description="Claim line id")]
_auth = (NotAuthenticated, ax.InvalidToken, ax.InsufficientRole, Forbidden)
_input = (cx.InvalidClaimInput, InvalidText)


def _batch(session: SessionDep, principal: UserPrincipal, batch_id: uuid.UUID) -> BatchOut:
    return batch_out(claims.view(session, principal, batch_id))


def _line(session: SessionDep, principal: UserPrincipal, line_id: uuid.UUID) -> LineOut:
    line = claims.get_line(session, principal, line_id)
    return line_out(claims.view(session, principal, line.batch_id), line)


@router.post(
    "/claim-batches",
    status_code=status.HTTP_201_CREATED,
    response_model=BatchOut,
    responses=problem_responses(
        *_auth,
        cx.FilingBlocked,
        cx.NothingToClaim,
        cx.ClassNotClaimable,
        cx.CompletionNotApproved,
        InvalidClaimPeriod,
        InstitutionNotApproved,
    ),
)
def file_batch(body: FileQuarterIn, principal: UserPrincipal, session: SessionDep) -> Any:
    """File the institution's eligible, unclaimed certificates of a quarter or of a completed
    class as a frozen batch."""
    if body.period == "class":
        if body.class_id is None:
            raise InvalidClaimPeriod("Name the completed class (class_id).")
        batch = claims.file_class(session, principal, body.class_id)
    else:
        if body.year is None or body.quarter is None:
            raise InvalidClaimPeriod()
        batch = claims.file_quarter(session, principal, year=body.year, quarter=body.quarter)
    return _batch(session, principal, batch.id)


@router.post(
    "/claim-batches/corrections",
    status_code=status.HTTP_201_CREATED,
    response_model=BatchOut,
    responses=problem_responses(
        *_auth, *_input, cx.FilingBlocked, cx.LineNotFound, InstitutionNotApproved
    ),
)
def file_corrections(body: CorrectionIn, principal: UserPrincipal, session: SessionDep) -> Any:
    """Claim rejected lines again as new lines that reference the old ones (staff)."""
    batch = claims.file_corrections(session, principal, body.line_ids, body.reason)
    return _batch(session, principal, batch.id)


@router.get(
    "/claim-batches",
    response_model=list[BatchSummaryOut],
    responses=problem_responses(*_auth),
)
def list_batches(
    principal: UserPrincipal, session: SessionDep, institution_id: uuid.UUID | None = None
) -> Any:
    """Batches, newest first (staff: their institution's; regulators: their jurisdiction's)."""
    return [
        BatchSummaryOut.of(b)
        for b in claims.list_batches(session, principal, institution_id=institution_id)
    ]


@router.get(
    "/claim-batches/{batch_id}",
    response_model=BatchOut,
    responses=problem_responses(*_auth, cx.BatchNotFound),
)
def get_batch(batch_id: BatchId, principal: UserPrincipal, session: SessionDep) -> Any:
    """A batch with its frozen lines, every decision, payments and objections."""
    return _batch(session, principal, batch_id)


@router.post(
    "/claim-lines/{line_id}/review",
    response_model=LineOut,
    responses=problem_responses(
        *_auth, *_input, cx.LineNotFound, cx.BatchNotFound, cx.BatchNotReviewable
    ),
)
def review_line(
    line_id: LineId, body: LineReviewIn, principal: UserPrincipal, session: SessionDep
) -> Any:
    """Approve a line, reject it with a reason, or request evidence (regulator)."""
    claims.review_line(
        session, principal, line_id, decision=LineDecision(body.decision), reason=body.reason
    )
    return _line(session, principal, line_id)


@router.get(
    "/claim-lines/{line_id}/evidence",
    response_model=LineEvidenceOut,
    responses=problem_responses(*_auth, cx.LineNotFound),
)
def line_evidence(line_id: LineId, principal: UserPrincipal, session: SessionDep) -> Any:
    """The evidence behind a line: attendance, face checks with crops, roll-calls, quiz,
    certificate, fraud findings naming the learner (regulators; staff for their own lines)."""
    return LineEvidenceOut.model_validate(evidence.line_evidence(session, principal, line_id))


@router.post(
    "/claim-lines/{line_id}/evidence",
    response_model=LineOut,
    responses=problem_responses(*_auth, *_input, cx.LineNotFound, cx.BatchNotReviewable),
)
def provide_evidence(
    line_id: LineId, body: EvidenceIn, principal: UserPrincipal, session: SessionDep
) -> Any:
    """Answer the regulator's request for evidence on a line (staff); it returns to review."""
    claims.provide_evidence(session, principal, line_id, body.note)
    return _line(session, principal, line_id)


@router.post(
    "/claim-batches/{batch_id}/approve",
    response_model=BatchOut,
    responses=problem_responses(*_auth, cx.BatchNotFound, cx.BatchNotReviewable, cx.LinesUndecided),
)
def approve_batch(batch_id: BatchId, principal: UserPrincipal, session: SessionDep) -> Any:
    """Approve a reviewed batch (regulator): its approved lines go on public notice."""
    claims.approve_batch(session, principal, batch_id)
    return _batch(session, principal, batch_id)


@router.post(
    "/claim-batches/{batch_id}/payments",
    status_code=status.HTTP_201_CREATED,
    response_model=PaymentOut,
    responses=problem_responses(
        *_auth,
        *_input,
        cx.PaymentMismatch,
        cx.BatchNotFound,
        cx.LineNotFound,
        cx.BatchNotPayable,
        cx.NoticeNotOver,
        cx.ObjectionsOpen,
    ),
)
def record_payment(
    batch_id: BatchId, body: PaymentIn, principal: UserPrincipal, session: SessionDep
) -> Any:
    """Record a payment after the notice period (regulator; the platform moves no money)."""
    payment = claims.record_payment(
        session,
        principal,
        batch_id,
        amount_fen=body.amount_fen,
        paid_on=body.paid_on,
        reference=body.reference,
        line_id=body.line_id,
        account=body.account,
    )
    return PaymentOut.model_validate(payment)


JSONL_EXAMPLE = (
    '{"amount_fen":150000,"batch_id":"0b5c1f6e-3f7a-4c1e-9a53-5a0d4d7c2e11",'
    '"batch_reference":"SZJN-B00003","batch_status":"approved",...}\n'
)


@router.post(
    "/claim-batches/{batch_id}/exports",
    response_class=Response,
    responses={
        200: {
            "description": "The batch as JSON Lines (one record per line, see "
            "/schemas/claim-line-v1.schema.json) or XLSX. Headers: `X-JWS-Signature` a detached "
            "JWS (RFC 7515 appendix F, RS256, key in /.well-known/jwks.json) over the body, "
            "`X-Content-SHA256` its SHA-256. Regulators get full ID numbers, staff masked ones.",
            "headers": {
                "X-JWS-Signature": {
                    "description": "Detached compact JWS over the body",
                    "schema": {"type": "string"},
                },
                "X-Content-SHA256": {
                    "description": "SHA-256 (hex) of the body",
                    "schema": {"type": "string"},
                },
            },
            "content": {
                export.JSONL: {"schema": {"type": "string"}, "example": JSONL_EXAMPLE},
                XLSX: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **problem_responses(*_auth, *_input, cx.BatchNotFound),
    },
)
def export_batch(
    batch_id: BatchId, body: ExportIn, principal: UserPrincipal, session: SessionDep
) -> Response:
    """Export a batch, signed; regulators with full ID numbers and a reason (both audited)."""
    out = export.export_batch(session, principal, batch_id, fmt=body.format, reason=body.reason)
    return Response(
        out.content,
        media_type=out.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{out.filename}"',
            "X-JWS-Signature": out.jws,
            "X-Content-SHA256": out.sha256,
            "Cache-Control": "no-store",
        },
    )


@router.post(
    "/claim-lines/{line_id}/findings",
    status_code=status.HTTP_201_CREATED,
    response_model=RecoveryOut,
    responses=problem_responses(*_auth, *_input, cx.LineNotFound, cx.BatchNotFound, cx.LineNotPaid),
)
def record_finding(
    line_id: LineId, body: FindingIn, principal: UserPrincipal, session: SessionDep
) -> Any:
    """A regulator's finding on a paid line: opens a recovery item against the institution."""
    item = claims.record_finding(
        session, principal, line_id, reason=body.reason, amount_fen=body.amount_fen
    )
    return RecoveryOut.of(item, clock.now())


@router.get(
    "/claim-recoveries",
    response_model=list[RecoveryOut],
    responses=problem_responses(*_auth),
)
def list_recoveries(
    principal: UserPrincipal,
    session: SessionDep,
    status: Annotated[RecoveryStatus | None, Query()] = None,
    institution_id: uuid.UUID | None = None,
) -> Any:
    """Recovery items (staff: their institution's; regulators: their jurisdiction's)."""
    now = clock.now()
    return [
        RecoveryOut.of(r, now)
        for r in claims.list_recoveries(
            session, principal, status=status, institution_id=institution_id
        )
    ]


@router.post(
    "/claim-recoveries/{recovery_id}/settle",
    response_model=RecoveryOut,
    responses=problem_responses(*_auth, *_input, cx.RecoveryNotFound, cx.RecoveryClosed),
)
def settle_recovery(
    recovery_id: uuid.UUID, body: SettleRecoveryIn, principal: UserPrincipal, session: SessionDep
) -> Any:
    """Close a recovery item as recovered or written off (regulator)."""
    item = claims.settle_recovery(
        session,
        principal,
        recovery_id,
        outcome=RecoveryStatus(body.outcome),
        reference=body.reference,
    )
    return RecoveryOut.of(item, clock.now())


@router.get(
    "/claim-objections",
    response_model=list[ObjectionOut],
    responses=problem_responses(*_auth),
)
def list_objections(
    principal: UserPrincipal,
    session: SessionDep,
    status: Annotated[ObjectionStatus | None, Query()] = None,
) -> Any:
    """Objections raised during public notices, oldest first (regulator)."""
    return [
        ObjectionOut.model_validate(o)
        for o in claims.list_objections(session, principal, status=status)
    ]


@router.post(
    "/claim-objections/{objection_id}/resolve",
    response_model=ObjectionOut,
    responses=problem_responses(
        *_auth, *_input, cx.ObjectionNotFound, cx.BatchNotFound, cx.ObjectionClosed
    ),
)
def resolve_objection(
    objection_id: uuid.UUID,
    body: ResolveObjectionIn,
    principal: UserPrincipal,
    session: SessionDep,
) -> Any:
    """Uphold an objection (its line is rejected) or dismiss it (regulator)."""
    o = claims.resolve_objection(
        session, principal, objection_id, upheld=body.upheld, resolution=body.resolution
    )
    return ObjectionOut.model_validate(o)


@router.get(
    "/me/subsidy-claims",
    response_model=list[LearnerClaimOut],
    responses=problem_responses(*_auth),
)
def my_claims(principal: UserPrincipal, session: SessionDep) -> Any:
    """The learner's own subsidy claims and where each stands: filed, evidence requested, in
    public notice, approved, paid, or rejected with the reason."""
    return [LearnerClaimOut.model_validate(c) for c in claims.learner_claims(session, principal)]


Serial = Annotated[str, Path(min_length=1, max_length=64, description="Certificate serial")]


@router.get(
    "/me/certificates/{serial}/subsidy-application",
    response_model=ApplicationOfferOut,
    responses=problem_responses(*_auth, CertificateNotFound, cx.NoIndividualProgramme),
)
def subsidy_offer(serial: Serial, principal: UserPrincipal, session: SessionDep) -> Any:
    """What a programme paying individuals (参保职工技能提升补贴) offers for one of the
    learner's certificates: the amount, every rule's outcome, whether the learner may apply now
    (or why not) and, once applied, where the claim stands."""
    return ApplicationOfferOut.of(claims.offer(session, principal, serial))


@router.post(
    "/me/certificates/{serial}/subsidy-application",
    status_code=status.HTTP_201_CREATED,
    response_model=LearnerClaimOut,
    responses=problem_responses(
        *_auth,
        InvalidText,
        cx.InvalidPayeeAccount,
        cx.DeclarationRequired,
        CertificateNotFound,
        cx.NoIndividualProgramme,
        cx.CertificateClaimed,
        cx.NotEligible,
    ),
)
def apply_for_subsidy(
    serial: Serial, body: ApplicationIn, principal: UserPrincipal, session: SessionDep
) -> Any:
    """The learner applies for a subsidy paid to them (全程网办), giving the account to pay:
    a batch of one frozen line goes to the regulator's review; its status then follows
    filed → in notice → approved → paid, or rejected with the reason."""
    batch = claims.apply_for_subsidy(
        session,
        principal,
        serial,
        account_kind=body.account_kind,
        account=body.account,
        bank_name=body.bank_name,
        declared_insured=body.declared_insured,
    )
    mine = claims.learner_claims(session, principal)
    return LearnerClaimOut.model_validate(
        next(c for c in mine if c.batch_reference == batch.reference)
    )


@router.get("/notices", response_model=list[NoticeOut], dependencies=[PUBLIC])
def list_notices(session: SessionDep) -> Any:
    """Claims in public notice now (公示): masked names and ID numbers, course, amount."""
    return [NoticeOut.of(n) for n in claims.current_notices(session)]


@router.post(
    "/notices/{batch_id}/objections",
    status_code=status.HTTP_201_CREATED,
    response_model=ObjectionReceivedOut,
    dependencies=[PUBLIC],
    responses=problem_responses(*_input, cx.NoticeNotFound, cx.LineNotFound, ax.RateLimited),
)
def raise_objection(
    batch_id: BatchId, body: ObjectionIn, session: SessionDep, request: Request
) -> Any:
    """Object to a claim in notice (anyone); the objection goes to the regulator. Objections
    from one address are limited per window (429 ``rate_limited`` with ``Retry-After``)."""
    o = claims.raise_objection(
        session,
        batch_id,
        text=body.text,
        line_id=body.line_id,
        contact=body.contact,
        client=client_info(request)[0],
    )
    return ObjectionReceivedOut(id=o.id, received_at=o.received_at)
