"""The regulator's class filings (开班备案 / 结业备案): the queue within the jurisdiction with the
late flag, one filing with the class's history and (for a completion) the roster's results, and
approving or returning it with the reason.

A thin layer over :mod:`app.filing.service` — the same calls as ``/api/v1/class-filings`` — so
the page and the API answer alike. Plain forms with the CSRF field; a success redirects with a
flash, a refusal re-renders the filing with the reason in words.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.db import attempt
from app.errors import DomainError, Forbidden
from app.filing import exceptions as fx
from app.filing import service as filing
from app.filing.models import FilingKind, FilingStatus
from app.http.session import SessionDep
from app.web import filing_words
from app.web.i18n import lang_of, message_for
from app.web.regulator.standards import LEVEL_NAMES
from app.web.render import error_page, redirect, render, to_login
from app.web.session import PageUser, check_csrf

router = APIRouter(include_in_schema=False)

PAGE = "/regulator/filings"


def _regulator(request: Request, user: User | None) -> Principal | Response:
    if user is None:
        return to_login(request)
    principal = Principal.of_user(user)
    if principal.role is not Role.regulator or principal.jurisdiction is None:
        return error_page(request, user, Forbidden("Class filings are decided by regulators."))
    return principal


@dataclass
class Filters:
    status: str = FilingStatus.pending.value
    kind: str = ""
    late: str = ""


@router.get(PAGE)
def filings_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    status: str = FilingStatus.pending.value,
    kind: str = "",
    late: str = "",
) -> Response:
    """The queue: pending filings oldest first, then decided ones; filters by status, kind and
    lateness (an unknown value means "all")."""
    who = _regulator(request, user)
    if not isinstance(who, Principal):
        return who
    assert user is not None  # noqa: S101 - _regulator answered otherwise
    f = Filters(
        status=status if status in filing_words.FILING_STATUSES else "",
        kind=kind if kind in filing_words.FILING_KINDS else "",
        late=late if late in ("yes", "no") else "",
    )
    rows = filing.queue(
        session,
        who,
        status=FilingStatus(f.status) if f.status else None,
        kind=FilingKind(f.kind) if f.kind else None,
        late={"yes": True, "no": False}.get(f.late),
    )
    return render(
        request,
        "regulator_filings.html",
        user,
        rows=rows,
        filters=f,
        institutions=filing.institution_names(session, rows),
        level_names=LEVEL_NAMES,
        **filing_words.names(),
    )


def _detail(
    request: Request,
    user: User,
    principal: Principal,
    session: Session,
    filing_id: uuid.UUID,
    *,
    status: int = 200,
    error: str | None = None,
) -> Response:
    try:
        f = filing.get_filing(session, principal, filing_id)
    except DomainError as err:
        return error_page(request, user, err)
    return render(
        request,
        "regulator_filing.html",
        user,
        status=status,
        f=f,
        institution=filing.institution_names(session, [f]).get(f.institution_id, ""),
        lines=filing.lines_of(session, f),
        history=filing.versions(session, f.class_id),
        level_names=LEVEL_NAMES,
        error=error,
        **filing_words.names(),
    )


@router.get(PAGE + "/{filing_id}")
def filing_page(
    request: Request, filing_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    who = _regulator(request, user)
    if not isinstance(who, Principal):
        return who
    assert user is not None  # noqa: S101
    return _detail(request, user, who, session, filing_id)


def _decide(
    request: Request,
    user: User | None,
    session: Session,
    filing_id: uuid.UUID,
    csrf: str,
    text: str,
    *,
    approve: bool,
) -> Response:
    check_csrf(request, csrf)
    who = _regulator(request, user)
    if not isinstance(who, Principal):
        return who
    assert user is not None  # noqa: S101
    try:
        with attempt(session):
            if approve:
                filing.approve(session, who, filing_id, note=text)
            else:
                filing.return_filing(session, who, filing_id, reason=text)
    except fx.ClassFilingNotFound as err:
        return error_page(request, user, err)
    except DomainError as err:
        return _detail(
            request,
            user,
            who,
            session,
            filing_id,
            status=err.status,
            error=message_for(err, lang_of(request)),
        )
    return redirect(
        request,
        f"{PAGE}/{filing_id}",
        "filing_approved" if approve else "filing_returned",
    )


@router.post(PAGE + "/{filing_id}/approve")
def approve(
    request: Request,
    filing_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    return _decide(request, user, session, filing_id, csrf, note, approve=True)


@router.post(PAGE + "/{filing_id}/return")
def return_filing(
    request: Request,
    filing_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    return _decide(request, user, session, filing_id, csrf, reason, approve=False)
