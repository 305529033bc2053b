"""The learner's own certificate page: the certificate in words, its PDF, the QR code and the
public verification link, the subsidy evaluation, the signed credential as a file, and, where a
programme pays the individual, the learner's own subsidy application and where it stands
(全程网办: filed → in notice → approved → paid, or rejected with the reason).

Everything here is signed in by the session cookie alone (a link or an ``<img>`` cannot carry
the CSRF header, and these GETs change nothing); the REST endpoints keep requiring the header.
Who may see a certificate is the certificate service's rule: the learner themself, staff of the
issuing institution and regulators; anyone else gets the not-found page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import segno
from fastapi import APIRouter, Form, Path, Request, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.certificates import credential, pdf, subsidy
from app.certificates import photo as photos
from app.certificates import service as certificates
from app.certificates.models import Certificate, CertificateStatus
from app.claims import exceptions as cx
from app.claims import service as claims
from app.claims.models import AccountKind
from app.claims.schemas import ApplicationOfferOut, LearnerClaimOut
from app.clock import SHANGHAI
from app.db import attempt
from app.errors import DomainError
from app.http.session import SessionDep
from app.web import claim_views as cv
from app.web.i18n import lang_of, message_for
from app.web.render import error_page, redirect, render, secure_headers, to_login
from app.web.session import PageUser, check_csrf

router = APIRouter(include_in_schema=False)

Serial = Annotated[str, Path(min_length=1, max_length=64)]


@dataclass(frozen=True)
class CertificateView:
    """What the page shows, worked out once."""

    cert: Certificate
    valid: bool
    own: bool
    institution: str
    hours: float
    rollcall_rate: int | None
    issued: str
    revoked: str | None
    verify_url: str
    qr: str
    decision: subsidy.Decision
    #: The course's subsidy standard and what this certificate would be granted, in yuan.
    standard_yuan: str
    amount_yuan: str
    #: A programme paying individuals and what it offers (None: none applies, or not the
    #: learner's own certificate).
    offer: ApplicationOfferOut | None
    #: Where a claim on this certificate stands (the API's ``/me/subsidy-claims`` entry).
    claim: LearnerClaimOut | None
    #: Whether the PDF prints the learner's photo (their choice, app/certificates/photo.py).
    photo: bool


def qr_data_uri(url: str) -> str:
    """The verification address as an SVG QR code in a ``data:`` URI (the CSP allows
    ``img-src data:``): black on white with the standard 4-module quiet zone, sized by CSS."""
    code = segno.make(url, error="m", micro=False)
    return str(code.svg_data_uri(scale=1, border=4, omitsize=True, dark="#000", light="#fff"))


def _date(at: datetime | None) -> str | None:
    return at.astimezone(SHANGHAI).date().isoformat() if at is not None else None


def _learners_own(principal: Principal, cert: Certificate) -> bool:
    """Whether the page is the learner's own (only they apply; staff and regulators read)."""
    return (
        principal.user is not None
        and principal.role is Role.learner
        and principal.user.id == cert.user_id
    )


def _offer(session: Session, principal: Principal, cert: Certificate) -> ApplicationOfferOut | None:
    if not _learners_own(principal, cert):
        return None
    try:
        return ApplicationOfferOut.of(claims.offer(session, principal, cert.serial))
    except cx.NoIndividualProgramme:
        return None


def _claim(session: Session, principal: Principal, cert: Certificate) -> LearnerClaimOut | None:
    if not _learners_own(principal, cert):
        return None
    found = (c for c in claims.learner_claims(session, principal) if c.serial == cert.serial)
    claim = next(found, None)
    return LearnerClaimOut.model_validate(claim) if claim else None


def _view(user: User, cert: Certificate, session: Session) -> CertificateView:
    url = credential.verify_url(cert.serial)
    decision = subsidy.decide(session, cert)
    principal = Principal.of_user(user)
    return CertificateView(
        cert=cert,
        valid=cert.status is CertificateStatus.valid,
        own=cert.user_id == user.id,
        institution=certificates.institution_name(session, cert),
        hours=credential.hours(cert.credited_minutes),
        rollcall_rate=subsidy.pass_rate(cert),
        issued=_date(cert.issued_at) or "",
        revoked=_date(cert.revoked_at),
        verify_url=url,
        qr=qr_data_uri(url),
        decision=decision,
        standard_yuan=subsidy.yuan(cert.subsidy_fen),
        amount_yuan=subsidy.yuan(decision.amount_fen),
        offer=_offer(session, principal, cert),
        claim=_claim(session, principal, cert),
        photo=photos.current(session, cert.user_id) is not None,
    )


def _visible(
    request: Request, user: User | None, session: SessionDep, serial: str
) -> Certificate | Response:
    """The certificate if this signed-in user may see it; else the sign-in or not-found page."""
    if user is None:
        return to_login(request)
    try:
        return certificates.get_certificate(session, Principal.of_user(user), serial)
    except DomainError as err:
        return error_page(request, user, err)


# Registered before the page: ``/my/certificates/{serial}`` would also match ``….pdf``.
@router.get("/my/certificates/{serial}.pdf")
def my_certificate_pdf(
    request: Request, serial: Serial, user: PageUser, session: SessionDep
) -> Response:
    """The certificate PDF for the page's "download" link (the same PDF as the REST route)."""
    found = _visible(request, user, session, serial)
    if isinstance(found, Response):
        return found
    body = pdf.document(session, found)
    response = Response(body, media_type="application/pdf")
    secure_headers(response)
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["Content-Disposition"] = f'attachment; filename="{found.serial}.pdf"'
    return response


@router.get("/my/certificates/{serial}.jwt")
def my_certificate_credential(
    request: Request, serial: Serial, user: PageUser, session: SessionDep
) -> Response:
    """The signed credential (Open Badges 3.0 VC-JWT) as a file to keep or hand on."""
    found = _visible(request, user, session, serial)
    if isinstance(found, Response):
        return found
    response = Response(found.credential_jwt, media_type="application/jwt")
    secure_headers(response)
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["Content-Disposition"] = f'attachment; filename="{found.serial}.jwt"'
    return response


@router.get("/my/certificates/{serial}")
def my_certificate_page(
    request: Request, serial: Serial, user: PageUser, session: SessionDep
) -> Response:
    found = _visible(request, user, session, serial)
    if isinstance(found, Response):
        return found
    assert user is not None  # noqa: S101 - _visible returned the sign-in page otherwise
    return _page(request, user, session, found)


def _page(
    request: Request,
    user: User,
    session: Session,
    cert: Certificate,
    *,
    status: int = 200,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "certificate.html",
        user,
        status=status,
        v=_view(user, cert, session),
        words=cv.WORDS,
        yuan=subsidy.yuan,
        apply_error=error,
        values=values or {},
    )


class ApplicationForm(BaseModel):
    csrf: str = Field(default="", max_length=100)
    account_kind: str = Field(default="", max_length=32)
    account: str = Field(default="", max_length=64)
    bank_name: str = Field(default="", max_length=100)
    declared_insured: str = Field(default="", max_length=8)


@router.post("/my/certificates/{serial}/subsidy-application")
def apply_for_subsidy(
    request: Request,
    serial: Serial,
    user: PageUser,
    session: SessionDep,
    form: Annotated[ApplicationForm, Form()],
) -> Response:
    """The learner applies for a subsidy paid to them, as POST
    /me/certificates/{serial}/subsidy-application does; the page then shows where it stands."""
    check_csrf(request, form.csrf)
    found = _visible(request, user, session, serial)
    if isinstance(found, Response):
        return found
    assert user is not None  # noqa: S101 - _visible returned the sign-in page otherwise
    try:
        with attempt(session):
            if form.account_kind not in AccountKind.__members__:
                raise cx.InvalidPayeeAccount("Choose the kind of account.", field="account_kind")
            claims.apply_for_subsidy(
                session,
                Principal.of_user(user),
                found.serial,
                account_kind=AccountKind(form.account_kind),
                account=form.account,
                bank_name=form.bank_name or None,
                declared_insured=form.declared_insured == "yes",
            )
    except DomainError as err:
        return _page(
            request,
            user,
            session,
            found,
            status=err.status,
            error=message_for(err, lang_of(request)),
            values=form.model_dump(exclude={"csrf"}),
        )
    return redirect(request, f"/my/certificates/{found.serial}#subsidy-claim", "subsidy_applied")
