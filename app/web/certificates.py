"""The certificate's public verification page (the QR code's address) and its PDF."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from sqlmodel import Session

from app.accounts import exceptions as ax
from app.accounts.principal import Principal
from app.api.deps import SessionDep, require_scope
from app.certificates import credential, pdf
from app.certificates import exceptions as cx
from app.certificates import service as certificates
from app.certificates.models import Certificate, CertificateStatus
from app.courses.models import LEVEL_NAMES_ZH
from app.errors import Forbidden, NotAuthenticated, problem_responses
from app.web.i18n import Lang, gettext
from app.web.pages import secure_headers

router = APIRouter(tags=["certificates"])

TEMPLATES = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(FsPath(__file__).parent / "templates"), autoescape=True)
)
SHANGHAI = ZoneInfo("Asia/Shanghai")
CertificatesRead = Annotated[Principal, require_scope("certificates:read")]
Serial = Annotated[str, Path(min_length=1, max_length=64, description="Certificate serial")]

LEVEL_NAMES_EN = {
    "level5": "Level 5 (junior worker)",
    "level4": "Level 4 (intermediate worker)",
    "level3": "Level 3 (senior worker)",
    "level2": "Level 2 (technician)",
    "level1": "Level 1 (senior technician)",
    "special": "Special skill / training qualified",
}


# Registered before the page: ``/certificates/{serial}`` would also match ``….pdf``.
@router.get(
    "/certificates/{serial}.pdf",
    response_class=Response,
    responses={
        200: {
            "description": "The certificate as a PDF",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(
            NotAuthenticated, ax.InvalidToken, ax.MissingScope, Forbidden, cx.CertificateNotFound
        ),
    },
)
def certificate_pdf(serial: Serial, principal: CertificatesRead, session: SessionDep) -> Response:
    """The certificate PDF with its QR code (the learner, the institution's staff, regulators)."""
    cert = certificates.get_certificate(session, principal, serial)
    body = pdf.render(cert, institution_name=certificates.institution_name(session, cert))
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{cert.serial}.pdf"'},
    )


def _view(session: Session, cert: Certificate, lang: str) -> dict[str, Any]:
    return {
        "serial": cert.serial,
        "valid": cert.status is CertificateStatus.valid,
        "name": certificates.mask_name(cert.learner_name),
        "course": cert.course_title,
        "occupation": f"{cert.occupation_name}（{cert.occupation_code}）",
        "level": LEVEL_NAMES_ZH[cert.level] if lang == "zh" else LEVEL_NAMES_EN[cert.level],
        "hours": credential.hours(cert.credited_minutes),
        "minutes": cert.credited_minutes,
        "institution": certificates.institution_name(session, cert),
        "issued": cert.issued_at.astimezone(SHANGHAI).date().isoformat(),
        "revoked": cert.revoked_at.astimezone(SHANGHAI).date().isoformat()
        if cert.revoked_at
        else None,
        "reason": cert.revoked_reason,
    }


@router.get(
    "/certificates/{serial}",
    response_class=HTMLResponse,
    responses={404: {"description": "No such certificate", "content": {"text/html": {}}}},
)
def verification_page(
    request: Request, serial: Serial, session: SessionDep, lang: str = "zh-CN"
) -> HTMLResponse:
    """Public verification page (the QR code's address); zh-CN by default, `?lang=en`."""
    lang_key: Lang = "en" if lang.lower().startswith("en") else "zh"
    try:
        cert = certificates.by_serial(session, serial)
    except cx.CertificateNotFound:
        cert = None
    context = {
        "lang": lang_key,
        "_": gettext(lang_key),
        "serial": serial,
        "cert": _view(session, cert, lang_key) if cert else None,
    }
    response = TEMPLATES.TemplateResponse(
        request,
        "certificate_verify.html",
        context,
        status_code=200 if cert else 404,
    )
    secure_headers(response)  # the same strict CSP as every page: no inline style or script
    return response
