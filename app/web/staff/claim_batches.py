"""Staff claim batches (issue 17): the institution's batches, filing a quarter or a completed
class, a batch's frozen lines with each line's decision, answering an evidence request, open
recoveries. Thin: every rule is app/claims', called as the API calls it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.accounts.models import User
from app.accounts.principal import Principal
from app.certificates.exceptions import InvalidClaimPeriod
from app.certificates.subsidy import yuan
from app.claims import evidence
from app.claims import exceptions as cx
from app.claims import service as claims
from app.claims.models import ClaimBatch, RecoveryStatus
from app.claims.schemas import LineEvidenceOut
from app.db import attempt
from app.errors import DomainError
from app.http.session import SessionDep
from app.validation import ascii_int
from app.web import claim_views as cv
from app.web.i18n import lang_of, message_for
from app.web.render import error_page, redirect, render
from app.web.session import PageUser
from app.web.staff.claims import _this_quarter
from app.web.staff.forms import staff_page, staff_post

router = APIRouter(include_in_schema=False)


class FileForm(BaseModel):
    csrf: str = Field(default="", max_length=100)
    period: str = Field(default="quarter", max_length=16)
    year: str = Field(default="", max_length=8)
    quarter: str = Field(default="", max_length=2)
    class_id: str = Field(default="", max_length=64)


def _list_view(
    request: Request,
    staff: User,
    session: Session,
    *,
    status: int = 200,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    principal = Principal.of_user(staff)
    this_year, this_quarter = _this_quarter()
    institution_id = staff.institution_id
    return cv.list_page(
        request,
        staff,
        session,
        "staff",
        status=status,
        batches=cv.summaries(session, principal),
        recoveries=cv.recoveries(session, principal, status=RecoveryStatus.open),
        classes=cv.closed_classes(session, institution_id) if institution_id else [],
        years=list(range(this_year, this_year - 6, -1)),
        values=values or {"year": str(this_year), "quarter": str(this_quarter)},
        error=error,
    )


@router.get("/staff/claims/batches")
def batches_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    return _list_view(request, staff, session)


@router.post("/staff/claims/batches")
def file_batch(
    request: Request, user: PageUser, session: SessionDep, form: Annotated[FileForm, Form()]
) -> Response:
    """File a quarter or a completed class, as POST /claim-batches does."""
    staff = staff_post(request, user, form.csrf)
    if isinstance(staff, Response):
        return staff
    principal = Principal.of_user(staff)
    try:
        with attempt(session):
            if form.period == "class":
                class_id = cv.uuid_of(form.class_id, "class_id")
                if class_id is None:
                    raise InvalidClaimPeriod("Name the completed class (class_id).")
                filed = claims.file_class(session, principal, class_id)
            else:
                year, quarter = ascii_int(form.year), ascii_int(form.quarter)
                if year is None or quarter is None or not 1 <= quarter <= 4:
                    raise InvalidClaimPeriod()
                filed = claims.file_quarter(session, principal, year=year, quarter=quarter)
    except DomainError as err:
        return _list_view(
            request,
            staff,
            session,
            status=err.status,
            error=message_for(err, lang_of(request)),
            values=form.model_dump(exclude={"csrf"}),
        )
    return redirect(request, f"/staff/claims/batches/{filed.id}", "claim_filed")


@router.get("/staff/claims/batches/{batch_id}")
def batch_page(
    request: Request, batch_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    return cv.batch_page(request, staff, session, batch_id, "staff")


@router.post("/staff/claims/lines/{line_id}/evidence")
def provide_evidence(
    request: Request,
    line_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    note: Annotated[str, Form(max_length=1_000)] = "",
) -> Response:
    """Answer the regulator's evidence request on a line, as POST /claim-lines/{id}/evidence."""
    staff = staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    principal = Principal.of_user(staff)
    try:
        line = claims.get_line(session, principal, line_id)
    except DomainError as err:
        return error_page(request, staff, err)
    return cv.act(
        request,
        staff,
        session,
        "staff",
        batch_id=line.batch_id,
        key=f"line-{line_id}",
        run=lambda: claims.provide_evidence(session, principal, line_id, note),
        done=f"/staff/claims/batches/{line.batch_id}#line-{line_id}",
        flash="claim_evidence_provided",
        values={"note": note},
    )


class CorrectionForm(BaseModel):
    csrf: str = Field(default="", max_length=100)
    line_ids: list[str] = Field(default_factory=list, max_length=500)
    reason: str = Field(default="", max_length=1_000)


@router.post("/staff/claims/batches/{batch_id}/corrections")
def file_corrections(
    request: Request,
    batch_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    form: Annotated[CorrectionForm, Form()],
) -> Response:
    """Claim rejected lines of this batch again as new lines that reference them, as POST
    /claim-batches/corrections does; the new batch's page follows."""
    staff = staff_post(request, user, form.csrf)
    if isinstance(staff, Response):
        return staff
    principal = Principal.of_user(staff)

    def run() -> ClaimBatch:
        ids = [cv.uuid_of(x, "line_ids") for x in form.line_ids]
        chosen = [x for x in ids if x is not None]
        if not chosen:
            raise cx.InvalidClaimInput(
                "Choose the rejected lines to claim again.", field="line_ids"
            )
        return claims.file_corrections(session, principal, chosen, form.reason)

    return cv.act(
        request,
        staff,
        session,
        "staff",
        batch_id=batch_id,
        key="corrections",
        run=run,
        done=lambda filed: f"/staff/claims/batches/{filed.id}",
        flash="claim_corrections_filed",
        values={"reason": form.reason},
    )


def evidence_view(
    request: Request, user: User, session: Session, line_id: uuid.UUID, role: str
) -> Response:
    """A line's evidence, as GET /claim-lines/{id}/evidence returns it."""
    principal = Principal.of_user(user)
    try:
        line = claims.get_line(session, principal, line_id)
        data = LineEvidenceOut.model_validate(evidence.line_evidence(session, principal, line_id))
    except DomainError as err:
        return error_page(request, user, err)
    return render(
        request,
        "claim_evidence.html",
        user,
        role=role,
        line=line,
        ev=data,
        yuan=yuan,
    )


@router.get("/staff/claims/lines/{line_id}/evidence")
def evidence_page(
    request: Request, line_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    return evidence_view(request, staff, session, line_id, "staff")
