"""Staff file a class with the regulator from its page (开班备案 / 结业备案): the same call as
``POST /api/v1/classes/{class_id}/filings``; a refusal re-renders the class page with the reason
in words next to the filing section."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.accounts.principal import Principal
from app.filing import service as filing
from app.filing.exceptions import InvalidClassFiling
from app.filing.models import FilingKind
from app.http.session import SessionDep
from app.web.filing_words import FILING_KINDS
from app.web.i18n import lang_of, message_for
from app.web.render import redirect
from app.web.session import PageUser
from app.web.staff.classes import on_class
from app.web.staff.forms import staff_post

router = APIRouter(include_in_schema=False)


@router.post("/staff/classes/{class_id}/filings")
def file_class(
    request: Request,
    class_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    kind: Annotated[str, Form(max_length=20)] = "",
    site: Annotated[str, Form(max_length=1000)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    staff = staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)

    def change() -> object:
        if kind not in FILING_KINDS:
            raise InvalidClassFiling("kind must be opening or completion.", field="kind")
        return filing.file_class(
            session, Principal.of_user(staff), class_id, kind=FilingKind(kind), site=site, note=note
        )

    flash = "class_filed" if kind != FilingKind.completion.value else "class_completion_filed"
    return on_class(
        request,
        session,
        staff,
        class_id,
        change,
        refused=lambda err: {"filing_error": message_for(err, lang)},
        done=lambda _: redirect(request, f"/staff/classes/{class_id}", flash),
    )
