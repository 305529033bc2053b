"""Staff review of attendance events: the queue, the decision, and the evidence crops shown
next to each event (also used by the regulator's pages)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.accounts.models import User
from app.accounts.principal import Principal
from app.attendance import repository as visible
from app.attendance import service as attendance
from app.attendance.models import Purpose, ReviewStatus
from app.courses import rollcall_report
from app.courses import service as courses
from app.db import attempt
from app.errors import DomainError, Forbidden
from app.http.session import SessionDep
from app.web import listing
from app.web.attendance_words import rollcall_reason, rollcall_sentence
from app.web.i18n import (
    gettext,
    labeller,
    lang_of,
)
from app.web.listing import ListSpec, Select
from app.web.render import (
    error_page,
    evidence_image,
    not_staff,
    redirect,
    render,
    to_login,
)
from app.web.session import PageUser, check_csrf

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- staff: attendance review


REVIEW_PAGE = 20


def _review_page(
    request: Request,
    user: User,
    session: Session,
    *,
    tab: str,
    status: int = 200,
    error: str | None = None,
    error_event: uuid.UUID | None = None,
) -> HTMLResponse:
    principal = Principal.of_user(user)
    lang = lang_of(request)
    t = gettext(lang)
    label = labeller(lang)
    try:
        titles = courses.course_filter_titles(session, principal)
    except Forbidden:
        return not_staff(request, user)
    spec = ListSpec(
        search=t("姓名、用户名或手机号"),
        selects={
            "course": Select(t("课程"), {str(k): v for k, v in titles.items()}),
            "purpose": Select(t("验证用途"), {p.value: label("purpose", p.value) for p in Purpose}),
        },
        dates=t("验证日期"),
    )
    query, errors = listing.read(request, spec, t)
    purpose = query.get("purpose")
    course = query.get("course")
    learners = courses.course_learners(session, principal, uuid.UUID(course)) if course else None
    where = visible.ReviewFilter(
        q=query.q,
        purpose=Purpose(purpose) if purpose else None,
        created_from=listing.day_start(query.date_from),
        created_before=listing.day_after(query.date_to),
        learners=learners,
    )
    decided = (ReviewStatus.approved, ReviewStatus.rejected)
    try:
        result = visible.review_page(
            session,
            principal,
            decided if tab == "decided" else (ReviewStatus.pending,),
            where,
            page=query.page,
            per_page=REVIEW_PAGE,
        )
    except Forbidden:
        return not_staff(request, user)
    base = request.url.path
    extra = {"tab": "decided"} if tab == "decided" else {}
    excused = None
    if tab == "decided":
        # The exceptions staff granted on failed or missed roll-calls: decisions too, listed
        # with the same filters (the date is the day of the exception), paged on their own.
        epage = listing.extra_page(request, "epage", t, errors)
        excused = rollcall_report.excused_page(
            session,
            principal,
            q=query.q,
            learners=learners,
            excused_from=where.created_from,
            excused_before=where.created_before,
            page=epage,
            per_page=REVIEW_PAGE,
        )
        extra_link = {**extra, "page": query.page}
        excused_link = lambda n: query.link(base, **extra_link, epage=n)  # noqa: E731
    else:
        excused_link = None
    return render(
        request,
        "staff_review.html",
        user,
        status=status if status != 200 else (400 if errors else 200),
        tab=tab,
        pending_count=visible.pending_count(session, principal),
        items=result.items,
        result=result,
        query=query,
        spec=spec,
        filter_errors=errors,
        action=base,
        tab_fields=extra,
        page_link=lambda n: query.link(base, **extra, page=n),
        excused=excused,
        excused_link=excused_link,
        excused_rows=[
            {
                "row": row,
                "why": rollcall_reason(row.report, lang),
                "sentence": rollcall_sentence(row.report, lang),
            }
            for row in (excused.items if excused is not None else [])
        ],
        error=error,
        error_event=error_event,
    )


@router.get("/staff/review")
def staff_review_page(
    request: Request, user: PageUser, session: SessionDep, tab: str = "pending"
) -> Response:
    if user is None:
        return to_login(request)
    return _review_page(request, user, session, tab="decided" if tab == "decided" else "pending")


@router.post("/staff/review/{event_id}")
def staff_review_decide(
    request: Request,
    event_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    decision: Annotated[str, Form(max_length=16)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    if user is None:
        return to_login(request)
    t = gettext(lang_of(request))
    if decision not in ("approve", "reject") or not reason.strip():
        return _review_page(
            request,
            user,
            session,
            tab="pending",
            status=422,
            error=t("请填写审核理由，再选择“批准”或“驳回”。"),
            error_event=event_id,
        )
    approve = decision == "approve"
    try:
        with attempt(session):
            attendance.review(
                session, Principal.of_user(user), event_id, approve=approve, reason=reason
            )
    except DomainError as err:
        return error_page(request, user, err)
    return redirect(request, "/staff/review", "review_approved" if approve else "review_rejected")


@router.get("/staff/evidence/{event_id}.jpg")
def staff_evidence(event_id: uuid.UUID, user: PageUser, session: SessionDep) -> Response:
    """An evidence crop for an ``<img>`` of the review page: the session cookie alone signs in
    (an image request cannot carry the CSRF header, and a GET changes nothing). The REST
    endpoint keeps requiring the header."""
    if user is None:
        return Response(status_code=401, headers={"Cache-Control": "no-store"})
    return evidence_image(session, user, event_id)
