"""Each course's learners and their progress; certificate issue and revocation."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import User
from app.accounts.principal import Principal
from app.attendance import service as attendance
from app.attendance.models import AttendanceEvent, ReviewStatus
from app.attendance.repository import has_crop
from app.certificates import exceptions as certx
from app.certificates import service as certificates
from app.courses import offline_records
from app.courses import service as courses
from app.courses.progress import practical_passed, progress
from app.courses.rollcall_report import rollcalls_by_event
from app.db import attempt
from app.errors import DomainError
from app.http.session import SessionDep
from app.programmes.exceptions import InstitutionNotApproved, OutsideApprovedScope
from app.web import listing
from app.web.attendance_words import (
    PURPOSES,
    actions_words,
    event_reason,
    liveness_words,
    match_words,
)
from app.web.enrolment_list import enrolment_rows, state_filter
from app.web.i18n import Lang, gettext, lang_of, message_for
from app.web.listing import ListSpec, Select
from app.web.render import (
    GROUP_NAMES,
    error_page,
    redirect,
    render,
)
from app.web.session import PageUser
from app.web.staff.forms import (
    staff_page,
    staff_post,
)

LEARNERS_PAGE = 50

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- learners and progress


def _learners(
    request: Request, staff: User, session: Session, fixed: uuid.UUID | None = None
) -> Response:
    """The institution's learners with their progress: search, course, state and enrolment
    dates (app/web/listing.py checks them), paged. ``fixed``: a course's own list."""
    principal = Principal.of_user(staff)
    lang: Lang = lang_of(request)
    t = gettext(lang)
    try:
        course = courses.get_own_course(session, principal, fixed) if fixed else None
        titles = courses.own_course_titles(session, principal)
    except DomainError as err:
        return error_page(request, staff, err)
    spec = ListSpec(
        search=t("姓名、用户名或手机号"),
        selects={
            "course": Select(t("课程"), {str(k): v for k, v in titles.items()}),
            "state": state_filter(t),
        },
        dates=t("报名日期"),
    )
    query, errors = listing.read(request, spec, t)
    if course is not None:
        asked = request.query_params.get("course")
        if asked is not None and asked != str(course.id) and "course" not in errors:
            # Another course (or all of them) chosen on a course's own list.
            return redirect(request, query.link("/staff/learners", page=1))
        query = replace(query, selected={**query.selected, "course": str(course.id)})
    result, items = enrolment_rows(session, principal, query, lang, per_page=LEARNERS_PAGE)
    base = request.url.path
    return render(
        request,
        "staff_learners.html",
        staff,
        status=400 if errors else 200,
        course=course,
        items=items,
        result=result,
        query=query,
        spec=spec,
        errors=errors,
        action=base,
        page_link=lambda n: query.link(base, page=n),
        groups=GROUP_NAMES,
    )


@router.get("/staff/learners")
def all_learners_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    return _learners(request, staff, session)


@router.get("/staff/courses/{course_id}/learners")
def learners_page(
    request: Request, course_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    return _learners(request, staff, session, course_id)


def review_link(event: AttendanceEvent) -> str | None:
    """Where a flagged event sits in the review queue (pending or decided)."""
    if event.review_status is None:
        return None
    tab = "" if event.review_status is ReviewStatus.pending else "?tab=decided"
    return f"/staff/review{tab}#ev-{event.id}"


def _explained(session: Session, events: list[AttendanceEvent], lang: Lang) -> list[dict[str, Any]]:
    """Each face check with what it was for, what it found and why, in words."""
    rollcalls = rollcalls_by_event(session, [e.id for e in events])
    return [
        {
            "event": e,
            "review": review_link(e),
            "rollcall": rollcalls.get(e.id),
            "reason": event_reason(e, lang),
            "match": match_words(e, lang),
            "liveness": liveness_words(e, lang),
            "actions": actions_words(list(e.actions), lang),
            "crop": has_crop(e),
        }
        for e in events
    ]


def _enrollment_page(
    request: Request,
    user: User,
    session: Session,
    enrollment_id: uuid.UUID,
    *,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    principal = Principal.of_user(user)
    lang: Lang = lang_of(request)
    try:
        enrollment = courses.get_enrollment_for(session, principal, enrollment_id)
    except DomainError as err:
        return error_page(request, user, err)
    course = courses.course_of(session, enrollment)
    p = progress(enrollment, course, practical=practical_passed(session, enrollment))
    events = attendance.list_events(
        session,
        principal,
        user_id=enrollment.user_id,
        institution_id=enrollment.institution_id,
        limit=200,
    )
    ctx: dict[str, Any] = {
        "enrollment": enrollment,
        "course": course,
        "learner": accounts.get_user(session, enrollment.user_id),
        "p": p,
        "complete": enrollment.completed_at is not None or p.complete,
        "missing": p.missing_zh if lang == "zh" else p.missing,
        "events": _explained(session, events, lang),
        "purposes": {k: gettext(lang)(v) for k, v in PURPOSES.items()},
        "offline": offline_records.records_of(session, [enrollment.id]).get(enrollment.id, []),
        "certificate": certificates.certificate_of(session, enrollment.id),
        "groups": GROUP_NAMES,
        "issue_error": None,
        "issue_missing": None,
        "revoke_error": None,
        "confirm_reason": None,
        **extra,
    }
    return render(request, "staff_enrollment.html", user, status=status, **ctx)


@router.get("/staff/enrollments/{enrollment_id}")
def enrollment_page(
    request: Request, enrollment_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    return _enrollment_page(request, staff, session, enrollment_id)


@router.post("/staff/enrollments/{enrollment_id}/certificate")
def issue_certificate(
    request: Request,
    enrollment_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    staff = staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    try:
        with attempt(session):
            certificates.issue(session, Principal.of_user(staff), enrollment_id)
    except (
        certx.NotComplete,
        certx.AlreadyIssued,
        certx.NoRealName,
        InstitutionNotApproved,
        OutsideApprovedScope,
    ) as err:
        missing = err.extra.get("missing_zh" if lang == "zh" else "missing")
        message = message_for(err, lang)
        if isinstance(err, certx.AlreadyIssued):
            t = gettext(lang)
            message = f"{message} {t('证书编号：')}{err.extra.get('serial')}"
        return _enrollment_page(
            request,
            staff,
            session,
            enrollment_id,
            status=err.status,
            issue_error=message,
            issue_code=err.code,
            issue_missing=missing,
        )
    except DomainError as err:
        return error_page(request, staff, err)
    return redirect(request, f"/staff/enrollments/{enrollment_id}", "certificate_issued")


@router.post("/staff/enrollments/{enrollment_id}/revoke")
def revoke_certificate(
    request: Request,
    enrollment_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=2_000)] = "",
    confirm: Annotated[str, Form(max_length=8)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Two steps: the reason, then a confirmation showing it (revoking cannot be undone)."""
    staff = staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    reason = reason.strip()
    if not reason or len(reason) > certificates.REASON_CHARS:
        return _enrollment_page(
            request,
            staff,
            session,
            enrollment_id,
            status=422,
            revoke_error=message_for(certx.InvalidRevocation(), lang),
            reason_value=reason,
        )
    if confirm != "yes":
        return _enrollment_page(request, staff, session, enrollment_id, confirm_reason=reason)
    try:
        with attempt(session):
            certificates.revoke_for_enrollment(
                session, Principal.of_user(staff), enrollment_id, reason
            )
    except (certx.AlreadyRevoked, certx.InvalidRevocation) as err:
        return _enrollment_page(
            request,
            staff,
            session,
            enrollment_id,
            status=err.status,
            revoke_error=message_for(err, lang),
        )
    except DomainError as err:
        return error_page(request, staff, err)
    return redirect(request, f"/staff/enrollments/{enrollment_id}", "certificate_revoked")
