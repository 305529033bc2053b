"""The public notice of subsidy claims (公示): who is to be paid how much, masked, and a form to
object while the notice runs. The same data as ``GET /api/v1/notices``; objections go through
the same service as ``POST /api/v1/notices/{batch_id}/objections``."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from app.certificates.subsidy import yuan
from app.claims import export
from app.claims import service as claims
from app.errors import DomainError
from app.http.cookies import client_info
from app.http.session import SessionDep
from app.web.i18n import lang_of, message_for
from app.web.render import redirect, render
from app.web.session import PageUser, check_csrf

router = APIRouter(include_in_schema=False)


def _page(
    request: Request,
    session: SessionDep,
    user: PageUser,
    *,
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "notices.html",
        user,
        status=status,
        notices=claims.current_notices(session),
        yuan=yuan,
        error=error,
    )


@router.get("/notices", response_class=HTMLResponse)
def notices_page(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    return _page(request, session, user)


@router.post("/notices/{batch_id}/objections", response_model=None)
def object_page(
    request: Request,
    batch_id: uuid.UUID,
    session: SessionDep,
    user: PageUser,
    csrf: Annotated[str, Form()] = "",
    text: Annotated[str, Form(max_length=2000)] = "",
    line_id: Annotated[str, Form(max_length=40)] = "",
    contact: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        line = uuid.UUID(line_id) if line_id else None
    except ValueError:
        line = None
    try:
        claims.raise_objection(
            session,
            batch_id,
            text=text,
            line_id=line,
            contact=contact,
            client=client_info(request)[0],
        )
    except DomainError as err:
        page = _page(
            request, session, user, error=message_for(err, lang_of(request)), status=err.status
        )
        if "retry_after" in err.extra:
            page.headers["Retry-After"] = str(err.extra["retry_after"])
        return page
    return redirect(request, "/notices", flash="objection_received")


@router.get("/schemas/claim-line-v1.schema.json")
def claim_line_schema() -> JSONResponse:
    """The JSON Schema of a claim export's JSON Lines records (for receiving systems)."""
    return JSONResponse(
        export.line_schema(),
        media_type="application/schema+json",
        headers={"Cache-Control": "public, max-age=3600"},
    )
