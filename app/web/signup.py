"""The institution a learner trains with: chosen once by a learner who has none (registered
through the API without one, or before every registration named one)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from app.accounts import registration
from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.courses import invites
from app.courses import service as courses
from app.db import attempt
from app.errors import DomainError
from app.http.session import SessionDep
from app.web.i18n import lang_of, message_for
from app.web.render import not_learner, redirect, render, safe_next, start_page, to_login
from app.web.session import PageUser, check_csrf

router = APIRouter(include_in_schema=False)


def _page(
    request: Request, session: SessionDep, user: User, *, status: int = 200, **ctx: object
) -> Response:
    choices = registration.active_institutions(session)
    # A learner enrolled in one institution's courses is offered that one first.
    studied = {
        e.institution_id for e, _c in courses.list_my_enrollments(session, Principal.of_user(user))
    }
    suggested = [c for c in choices if c.id in studied]
    ctx.setdefault("chosen", suggested[0].code if len(suggested) == 1 else "")
    return render(
        request,
        "institution.html",
        user,
        status=status,
        institutions=choices,
        suggested=suggested,
        **ctx,
    )


@router.get("/institution")
def institution_page(
    request: Request, user: PageUser, session: SessionDep, next: str | None = None
) -> Response:
    if user is None:
        return to_login(request)
    if user.role is not Role.learner:
        return not_learner(request, user)
    if not registration.needs_institution(user):
        return redirect(request, safe_next(next) if next else start_page(user))
    return _page(request, session, user, next=safe_next(next), error=None)


@router.post("/institution")
def institution_submit(
    request: Request,
    user: PageUser,
    session: SessionDep,
    institution: Annotated[str, Form(max_length=32)] = "",
    institution_code: Annotated[str, Form(max_length=32)] = "",
    next: Annotated[str, Form(max_length=500)] = "/my",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    if user is None:
        return to_login(request)
    if user.role is not Role.learner:
        return not_learner(request, user)
    code = institution_code.strip() or institution.strip()
    try:
        with attempt(session):
            invites.choose_with_code(session, user, code)
    except DomainError as err:
        return _page(
            request,
            session,
            user,
            status=err.status,
            next=safe_next(next),
            error=message_for(err, lang_of(request)),
            error_code=err.code,
            chosen=institution,
            typed=institution_code,
        )
    return redirect(request, safe_next(next), "institution_chosen")
