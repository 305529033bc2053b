"""The quarterly subsidy claims: the table and its CSV/XLSX download."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app import clock
from app.accounts.principal import Principal
from app.certificates import claims
from app.certificates import exceptions as certx
from app.certificates.subsidy import yuan
from app.clock import SHANGHAI
from app.errors import DomainError
from app.http.session import SessionDep
from app.validation import ascii_int
from app.web.i18n import lang_of, message_for
from app.web.render import (
    error_page,
    render,
    secure_headers,
)
from app.web.session import PageUser
from app.web.staff.forms import (
    staff_page,
)

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- subsidy claims


def _this_quarter() -> tuple[int, int]:
    now: datetime = clock.now().astimezone(SHANGHAI)
    return now.year, (now.month - 1) // 3 + 1


def _period(year: str | None, quarter: str | None) -> tuple[int, int] | None:
    if year is None and quarter is None:
        return _this_quarter()
    y, q = ascii_int(year or ""), ascii_int(quarter or "")
    if y is None or q is None:
        return None
    return y, q


@router.get("/staff/claims")
def claims_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    year: Annotated[str | None, Query(max_length=8)] = None,
    quarter: Annotated[str | None, Query(max_length=2)] = None,
) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    this_year, this_quarter = _this_quarter()
    period = _period(year, quarter)
    report = None
    error = None
    if period is None:
        error = message_for(certx.InvalidClaimPeriod(), lang)
    else:
        try:
            report = claims.build(
                session, Principal.of_user(staff), year=period[0], quarter=period[1]
            )
        except DomainError as err:
            error = message_for(err, lang)
    shown_year, shown_quarter = period or (this_year, this_quarter)
    return render(
        request,
        "staff_claims.html",
        staff,
        status=422 if error else 200,
        report=report,
        error=error,
        year=year if period is None else shown_year,
        quarter=quarter if period is None else shown_quarter,
        years=list(range(this_year, this_year - 6, -1)),
        yuan=yuan,
    )


@router.get("/staff/claims/download")
def claims_download(
    request: Request,
    user: PageUser,
    session: SessionDep,
    year: Annotated[str, Query(max_length=8)] = "",
    quarter: Annotated[str, Query(max_length=2)] = "",
    format: Annotated[str, Query(max_length=8)] = "csv",
) -> Response:
    """The quarter's claims as CSV or XLSX, the bytes the API sends (same builder)."""
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    period = _period(year, quarter)
    try:
        if period is None or format not in ("csv", "xlsx"):
            raise certx.InvalidClaimPeriod()
        report = claims.build(session, Principal.of_user(staff), year=period[0], quarter=period[1])
    except DomainError as err:
        return error_page(request, staff, err)
    if format == "xlsx":
        body, media = claims.to_xlsx(report), claims.XLSX
    else:
        body, media = claims.to_csv(report), "text/csv; charset=utf-8"
    response = Response(body, media_type=media)
    secure_headers(response)
    response.headers["Cache-Control"] = "no-store, private"
    response.headers["Content-Disposition"] = f'attachment; filename="{report.filename}.{format}"'
    return response
