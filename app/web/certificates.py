"""The certificate's public verification page (the QR code's address) and its PDF, and the
public documents a verifier of the signed credential dereferences: the issuer Profile
(``issuer.id``), the signing key (``kid``), the revocation status lists (``credentialStatus``)
and our JSON-LD context (the ``training`` terms)."""

from __future__ import annotations

import uuid
from pathlib import Path as FsPath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from sqlmodel import Session

from app.accounts import exceptions as ax
from app.accounts import service as accounts
from app.certificates import credential, pdf, status
from app.certificates import exceptions as cx
from app.certificates import service as certificates
from app.certificates.models import Certificate, CertificateStatus
from app.clock import SHANGHAI
from app.courses.models import LEVEL_NAMES_ZH
from app.errors import Forbidden, NotAuthenticated, problem_responses
from app.http.access import PUBLIC, CertificatesRead  # the PDF and documents answer as the API
from app.http.session import SessionDep
from app.web.i18n import Lang, gettext
from app.web.render import secure_headers

router = APIRouter(tags=["certificates"])

TEMPLATES = Jinja2Templates(
    env=Environment(loader=FileSystemLoader(FsPath(__file__).parent / "templates"), autoescape=True)
)
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
    body = pdf.document(session, cert)
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
    responses={
        200: {
            "description": "The public verification page (HTML for people; machines read "
            "`GET /api/v1/certificates/{serial}/verify`)",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        404: {
            "description": "No such certificate. HTML by design, not problem+json: this is the "
            "address printed in the certificate's QR code, opened by a person's phone, so the "
            "answer is a page that says the serial is unknown.",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
    },
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


# ---------------------------------------------------------------- documents verifiers fetch

JSONLD = "application/ld+json"


class JSONLDResponse(JSONResponse):
    media_type = JSONLD


class JWKResponse(JSONResponse):
    media_type = "application/jwk+json"


_EXAMPLE_ISSUER = "https://skilltrace.example.cn/institutions/0f8fad5b-d9cb-469f-a165-70867728950e"
PROFILE_EXAMPLE = {
    "@context": [credential.VC_CONTEXT, credential.OB_CONTEXT],
    "id": _EXAMPLE_ISSUER,
    "type": ["Profile"],
    "name": "上海示范职业培训学校",
    "otherIdentifier": [
        {"type": "IdentifierEntry", "identifier": "SHJN", "identifierType": "identifier"}
    ],
}
JWK_EXAMPLE = {
    "e": "AQAB",
    "kty": "RSA",
    "n": "1K0cF0S8…",
    "kid": "https://skilltrace.example.cn/keys/nqA58LpwEvnvwcZuktwDpWdkRVJqnJ_PM9h1-lnymv0",
    "use": "sig",
    "alg": "RS256",
}


def _json_doc(content: dict[str, Any], media_type: str, max_age: int = 3600) -> JSONResponse:
    return JSONResponse(
        content, media_type=media_type, headers={"Cache-Control": f"public, max-age={max_age}"}
    )


@router.get(
    "/institutions/{institution_id}",
    dependencies=[PUBLIC],
    response_class=JSONLDResponse,
    responses={
        200: {
            "description": "The issuer's Open Badges 3.0 Profile (JSON-LD)",
            "content": {JSONLD: {"schema": {"type": "object"}, "example": PROFILE_EXAMPLE}},
        },
        **problem_responses(ax.InstitutionNotFound),
    },
)
def issuer_profile(institution_id: uuid.UUID, session: SessionDep) -> JSONResponse:
    """The issuer Profile a credential's ``issuer.id`` names (public; no contact data)."""
    inst = accounts.get_institution(session, institution_id)  # 404 institution_not_found
    return _json_doc(credential.issuer_profile(inst), JSONLD)


@router.get(
    "/institutions/{institution_id}/status-lists/{status_list}",
    dependencies=[PUBLIC],
    response_class=Response,
    responses={
        200: {
            "description": "The signed BitstringStatusListCredential (VC-JWT, RS256, the key "
            "of /.well-known/jwks.json); its bit at a credential's statusListIndex is 1 when "
            "the certificate is revoked",
            "content": {
                "application/jwt": {
                    "schema": {"type": "string"},
                    "example": "eyJhbGciOiJSUzI1NiIsImtpZCI6Imh0dHBzOi8v….eyJpc3MiOi….c2lnbmF0dXJl",
                }
            },
        },
        **problem_responses(cx.StatusListNotFound),
    },
)
def status_list(
    institution_id: uuid.UUID,
    session: SessionDep,
    status_list: Annotated[int, Path(ge=0, le=2**31 - 1)],
) -> Response:
    """Revocation status of an institution's credentials, checkable offline (public)."""
    token = status.list_credential(session, institution_id, status_list)
    return Response(
        token,
        media_type="application/jwt",
        headers={"Cache-Control": f"public, max-age={status.TTL_SECONDS}"},
    )


@router.get(
    "/keys/{thumbprint}",
    dependencies=[PUBLIC],
    response_class=JWKResponse,
    responses={
        200: {
            "description": "The public JWK a credential's ``kid`` names",
            "content": {
                "application/jwk+json": {"schema": {"type": "object"}, "example": JWK_EXAMPLE}
            },
        },
        **problem_responses(cx.KeyNotFound),
    },
)
def signing_key(thumbprint: Annotated[str, Path(max_length=64)]) -> JSONResponse:
    """The credential signing key (public half, RFC 7638 thumbprint in the path)."""
    jwk = credential.jwk_by_thumbprint(thumbprint)
    if jwk is None:
        raise cx.KeyNotFound()
    return _json_doc(jwk, "application/jwk+json")


@router.get(
    credential.CONTEXT_PATH,
    dependencies=[PUBLIC],
    response_class=JSONLDResponse,
    responses={
        200: {
            "description": "Our JSON-LD context (the credential's ``training`` terms)",
            "content": {
                JSONLD: {
                    "schema": {"type": "object"},
                    "example": {"@context": {"@version": 1.1, "training": {"@id": "…"}}},
                }
            },
        }
    },
)
def credential_context() -> JSONResponse:
    """The JSON-LD context our credentials name third in ``@context``."""
    return _json_doc(credential.context_document(), JSONLD, max_age=86400)
