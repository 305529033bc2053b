"""The learner's own certificate page: the certificate in words, its PDF, the QR code and the
public verification link, the subsidy evaluation, and the signed credential as a file.

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
from fastapi import APIRouter, Path, Request, Response

from app.accounts.models import User
from app.accounts.principal import Principal
from app.certificates import credential, pdf, subsidy
from app.certificates import service as certificates
from app.certificates.models import Certificate, CertificateStatus
from app.clock import SHANGHAI
from app.errors import DomainError
from app.http.session import SessionDep
from app.web.render import error_page, render, secure_headers, to_login
from app.web.session import PageUser

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


def qr_data_uri(url: str) -> str:
    """The verification address as an SVG QR code in a ``data:`` URI (the CSP allows
    ``img-src data:``): black on white with the standard 4-module quiet zone, sized by CSS."""
    code = segno.make(url, error="m", micro=False)
    return str(code.svg_data_uri(scale=1, border=4, omitsize=True, dark="#000", light="#fff"))


def _date(at: datetime | None) -> str | None:
    return at.astimezone(SHANGHAI).date().isoformat() if at is not None else None


def _view(user: User, cert: Certificate, session: SessionDep) -> CertificateView:
    url = credential.verify_url(cert.serial)
    decision = subsidy.decide(session, cert)
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
    return render(
        request,
        "certificate.html",
        user,
        v=_view(user, found, session),
    )
