"""Blended training pages (线下实训): the learner's offline sessions with their rotating QR; the
staff's sessions of a class (and scheduling one), a session's attendance sheet with the
practical assessments, and the check-in station page a staff tablet or phone runs at the site.

The QR, the station's scans, its face checks and its decisions all go through the REST API
(static/js/offline.js, static/js/station.js); the rules are app/courses/offline.py's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from app import clock
from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.clock import SHANGHAI
from app.courses import classes, offline, offline_records
from app.courses import exceptions as cx
from app.courses import service as courses
from app.db import attempt
from app.errors import DomainError
from app.http.session import SessionDep
from app.web.i18n import Lang, gettext, lang_of, message_for
from app.web.render import error_page, not_learner, redirect, render, to_login
from app.web.session import PageUser
from app.web.staff.forms import (
    Parsed,
    Rules,
    field_error,
    parse_fields,
    staff_page,
    staff_post,
    submit,
)

router = APIRouter(include_in_schema=False)

SESSION_RULES: Rules = {
    "title": ("必填，不超过 %s 字。", (offline.TITLE_CHARS,)),
    "site_address": ("必填，不超过 %s 字：实训场地的详细地址。", (offline.SITE_CHARS,)),
    "starts_at": ("请选择开始时间（北京时间）。", ()),
    "ends_at": (
        "请选择结束时间：晚于开始时间，单场不超过 %s 小时，且尚未过去。",
        (offline.MAX_HOURS,),
    ),
    "capacity": ("应为 %s–%s 之间的整数。", offline.CAPACITY),
    "instructor_id": ("请从列表中选择本机构的工作人员担任实训指导教师。", ()),
}


# ---------------------------------------------------------------- the learner


@router.get("/offline")
def my_offline_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    """The offline sessions of the learner's classes; the QR for the one the station takes."""
    if user is None:
        return to_login(request)
    if user.role is not Role.learner:
        return not_learner(request, user)
    now = clock.now()
    rows = offline.my_sessions(session, user)
    return render(
        request,
        "offline.html",
        user,
        rows=rows,
        open_now={m.offline.id for m in rows if _qr_now(m, now)},
    )


def _qr_now(m: offline.MySession, now: datetime) -> bool:
    a = m.attendance
    return (a is None or a.checkout_at is None) and m.token_open(now)


# ---------------------------------------------------------------- staff: sessions of a class


class SessionForm(BaseModel):
    csrf: str = Field(default="", max_length=100)
    #: The one-use token of the form that makes something (app/web/render.py ``act``).
    once: str = Field(default="", max_length=64)
    title: str = Field(default="", max_length=1000)
    site_address: str = Field(default="", max_length=1000)
    starts_at: str = Field(default="", max_length=30)
    ends_at: str = Field(default="", max_length=30)
    capacity: str = Field(default="", max_length=20)
    instructor_id: str = Field(default="", max_length=40)


def _local(value: str) -> datetime:
    """A ``datetime-local`` field: Beijing time (the site's clock), to an aware instant."""
    return datetime.fromisoformat(value.strip()).replace(tzinfo=SHANGHAI)


def _parse(form: SessionForm, lang: Lang) -> Parsed:
    parsers: dict[str, Callable[[str], object]] = {
        "starts_at": _local,
        "ends_at": _local,
        "capacity": int,
        "instructor_id": uuid.UUID,
    }
    return parse_fields(form, lang, SESSION_RULES, parsers, text=("title", "site_address"))


def _sessions_view(
    request: Request,
    user: User,
    session: Session,
    class_id: uuid.UUID,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    principal = Principal.of_user(user)
    try:
        klass = classes.get_class(session, principal, class_id)
        if klass.institution_id != user.institution_id:
            raise cx.ClassNotFound()
        course = courses.get_own_course(session, principal, klass.course_id)
        rows = [
            s
            for s in offline.list_sessions(session, principal, course.id)
            if s.offline.class_id == klass.id
        ]
    except DomainError as err:
        return error_page(request, user, err)
    assert user.institution_id is not None  # noqa: S101 - staff_page let only staff in
    return render(
        request,
        "staff_offline_sessions.html",
        user,
        status=status,
        klass=klass,
        course=course,
        rows=rows,
        staff=accounts.list_institution_staff(session, user.institution_id),
        values=values or {"capacity": "30", "instructor_id": str(user.id)},
        errors=errors or {},
    )


@router.get("/staff/classes/{class_id}/offline")
def sessions_page(
    request: Request, class_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    return _sessions_view(request, staff, session, class_id)


@router.post("/staff/classes/{class_id}/offline")
def schedule_session(
    request: Request,
    class_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    form: Annotated[SessionForm, Form()],
) -> Response:
    staff = staff_post(request, user, form.csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    return submit(
        request,
        session,
        staff,
        form,
        _parse(form, lang),
        partial(_sessions_view, request, staff, session, class_id),
        lambda parsed: offline.schedule_session(
            session, Principal.of_user(staff), class_id, **parsed
        ),
        refusal=lambda err: field_error(err, lang, SESSION_RULES, "title"),
        gone=(cx.ClassNotFound, cx.ClassClosed),
        done=lambda s: redirect(request, f"/staff/offline/{s.id}", "offline_scheduled"),
    )


# ---------------------------------------------------------------- staff: one session


def _sheet_view(
    request: Request,
    user: User,
    session: Session,
    session_id: uuid.UUID,
    *,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    principal = Principal.of_user(user)
    try:
        s, lines = offline.attendance_sheet(session, principal, session_id)
        if s.institution_id != user.institution_id:
            raise cx.OfflineSessionNotFound()
        course = courses.get_own_course(session, principal, s.course_id)
        klass = classes.get_class(session, principal, s.class_id)
    except DomainError as err:
        return error_page(request, user, err)
    return render(
        request,
        "staff_offline.html",
        user,
        status=status,
        s=offline.summary(session, s),
        course=course,
        klass=klass,
        lines=lines,
        instructor=user.id == s.instructor_id,
        error=error,
    )


@router.get("/staff/offline/{session_id}")
def sheet_page(
    request: Request, session_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    return _sheet_view(request, staff, session, session_id)


class AssessForm(BaseModel):
    csrf: str = Field(default="", max_length=100)
    result: str = Field(default="", max_length=8)
    note: str = Field(default="", max_length=2000)


@router.post("/staff/offline/{session_id}/assessments/{enrollment_id}")
def assess(
    request: Request,
    session_id: uuid.UUID,
    enrollment_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    form: Annotated[AssessForm, Form()],
) -> Response:
    staff = staff_post(request, user, form.csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    if form.result not in ("pass", "fail"):
        return _sheet_view(
            request,
            staff,
            session,
            session_id,
            status=422,
            error=gettext(lang)("请选择合格或不合格。"),
        )
    try:
        with attempt(session):
            offline_records.assess(
                session,
                Principal.of_user(staff),
                session_id,
                enrollment_id,
                passed=form.result == "pass",
                note=form.note,
            )
    except DomainError as err:
        return _sheet_view(
            request, staff, session, session_id, status=err.status, error=message_for(err, lang)
        )
    return redirect(request, f"/staff/offline/{session_id}#line-{enrollment_id}", "assessed")


class CancelForm(BaseModel):
    csrf: str = Field(default="", max_length=100)
    reason: str = Field(default="", max_length=2000)


@router.post("/staff/offline/{session_id}/cancel")
def cancel(
    request: Request,
    session_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    form: Annotated[CancelForm, Form()],
) -> Response:
    """Cancel a session nobody has checked in to, with a reason (the API's rule and audit)."""
    staff = staff_post(request, user, form.csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    try:
        with attempt(session):
            offline.cancel_session(
                session, Principal.of_user(staff), session_id, reason=form.reason
            )
    except cx.OfflineSessionNotFound as err:
        return error_page(request, staff, err)
    except DomainError as err:
        t = gettext(lang)
        if isinstance(err, cx.OfflineSessionClosed):
            message = t("已有学员签到，本场不能取消（已计入的线下学时不会收回）。")
        elif err.extra.get("field") == "reason":
            message = t("请填写取消原因（不超过 %d 字），学员会在自己的实训安排中看到。") % (
                offline.NOTE_CHARS
            )
        else:
            message = message_for(err, lang)
        return _sheet_view(request, staff, session, session_id, status=err.status, error=message)
    return redirect(request, f"/staff/offline/{session_id}", "offline_cancelled")


# ---------------------------------------------------------------- the station


@router.get("/staff/stations/{session_id}")
def station_page(
    request: Request, session_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    """The check-in station: scan a learner's QR (the camera, or a scanner that types it), then
    the same camera checks their face. Signed-in staff of the session's institution."""
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    principal = Principal.of_user(staff)
    try:
        s = offline.get_session(session, principal, session_id)
        if s.institution_id != staff.institution_id:
            raise cx.OfflineSessionNotFound()
        course = courses.get_own_course(session, principal, s.course_id)
    except DomainError as err:
        return error_page(request, staff, err)
    return render(
        request, "staff_station.html", staff, s=offline.summary(session, s), course=course
    )
