"""A roll-call as staff see it: every attempt explained (why the check was made, its outcome,
the reason in words, the face comparison and the liveness result, the challenge, the evidence
crop), what it cost the learner, and the exception staff may grant with a required reason —
which credits the forfeited time again (``study.grant_exception``, audited)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import User
from app.accounts.principal import Principal
from app.attendance import service as attendance
from app.attendance.models import AttendanceEvent
from app.attendance.repository import has_crop
from app.courses import service as courses
from app.courses import study
from app.courses.exceptions import RollCallNotExcusable
from app.courses.rollcall_report import get_report
from app.db import attempt
from app.errors import DomainError, ValidationFailed
from app.http.session import SessionDep
from app.web.attendance_words import (
    PURPOSES,
    actions_words,
    event_reason,
    liveness_words,
    match_words,
    rollcall_reason,
    rollcall_sentence,
)
from app.web.i18n import Lang, gettext, lang_of, message_for
from app.web.render import error_page, redirect, render
from app.web.session import PageUser
from app.web.staff.forms import staff_page, staff_post

router = APIRouter(include_in_schema=False)


def _rollcall_page(
    request: Request,
    user: User,
    session: Session,
    rollcall_id: uuid.UUID,
    *,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    principal = Principal.of_user(user)
    lang: Lang = lang_of(request)
    t = gettext(lang)
    try:
        report = get_report(session, principal, rollcall_id)
        enrollment = courses.get_enrollment_for(session, principal, report.rollcall.enrollment_id)
    except DomainError as err:
        return error_page(request, user, err)
    rows = []
    last_failed: AttendanceEvent | None = None
    for a in report.attempts:
        event = attendance.get_event(session, principal, a.attendance_event_id)
        if event.outcome.value != "passed":
            last_failed = event
        rows.append(
            {
                "attempt": a,
                "event": event,
                "reason": event_reason(event, lang),
                "match": match_words(event, lang),
                "liveness": liveness_words(event, lang),
                "actions": actions_words(list(event.actions), lang),
                "crop": has_crop(event),
            }
        )
    rc = report.rollcall
    excused_by = accounts.get_user(session, rc.excused_by) if rc.excused_by else None
    excusable = study.can_excuse(session, rc)
    ctx: dict[str, Any] = {
        "report": report,
        "rc": rc,
        "enrollment": enrollment,
        "course": courses.course_of(session, enrollment),
        "learner": accounts.get_user(session, enrollment.user_id),
        "rows": rows,
        "sentence": rollcall_sentence(report, lang),
        "reason": rollcall_reason(report, lang, last_failed),
        "purpose_words": t(PURPOSES["rollcall"]),
        "excusable": excusable,
        "max_attempts": study.MAX_ATTEMPTS,
        "excused_by": excused_by,
        "exception_error": None,
        "reason_value": "",
        **extra,
    }
    return render(request, "staff_rollcall.html", user, status=status, **ctx)


@router.get("/staff/rollcalls/{rollcall_id}")
def rollcall_page(
    request: Request, rollcall_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    return _rollcall_page(request, staff, session, rollcall_id)


@router.post("/staff/rollcalls/{rollcall_id}/exception")
def grant_exception(
    request: Request,
    rollcall_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=2_000)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """The same request as ``POST /api/v1/rollcalls/{id}/exception``, from the page's form."""
    staff = staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    try:
        with attempt(session):
            study.grant_exception(session, Principal.of_user(staff), rollcall_id, reason=reason)
    except (ValidationFailed, RollCallNotExcusable) as err:
        return _rollcall_page(
            request,
            staff,
            session,
            rollcall_id,
            status=err.status,
            exception_error=message_for(err, lang),
            reason_value=reason,
        )
    except DomainError as err:
        return error_page(request, staff, err)
    return redirect(request, f"/staff/rollcalls/{rollcall_id}", "exception_granted")
