"""Classes (班级/期次) of a course: the list and a new class, the class page with its roster and
progress, 开班 and 结业, and enrolling one of the institution's learners."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date
from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import User
from app.accounts.principal import Principal
from app.courses import classes, invites
from app.courses import exceptions as cx
from app.courses import service as courses
from app.courses.models import ClassStatus
from app.errors import DomainError
from app.http.session import SessionDep
from app.web import filing_words
from app.web.i18n import Lang, gettext, lang_of, message_for
from app.web.render import GROUP_NAMES, act, error_page, redirect, render
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
T = TypeVar("T")

CLASS_RULES: Rules = {
    "code": ("必填，不超过 %s 个字符，同一课程内不重复，例如 2026-03。", (classes.CODE_CHARS,)),
    "name": ("必填，不超过 %s 字。", (classes.NAME_CHARS,)),
    "starts_on": ("请选择开班日期。", ()),
    "ends_on": ("请选择结业日期，不早于开班日期，整期不超过 %s 天。", (classes.MAX_DAYS,)),
    "capacity": ("应为 %s–%s 之间的整数，且不少于已报名人数。", classes.CAPACITY),
    "head_teacher_id": ("请从列表中选择本机构的工作人员担任班主任。", ()),
    "employer": ("选填，不超过 %s 字。", (classes.EMPLOYER_CHARS,)),
}
STATUS_NAMES = {
    ClassStatus.planned.value: "计划中",
    ClassStatus.open.value: "已开班",
    ClassStatus.closed.value: "已结业",
}


class ClassForm(BaseModel):
    csrf: str = Field(default="", max_length=100)
    #: The one-use token of the form that makes something (app/web/render.py ``act``).
    once: str = Field(default="", max_length=64)
    code: str = Field(default="", max_length=100)
    name: str = Field(default="", max_length=1000)
    starts_on: str = Field(default="", max_length=20)
    ends_on: str = Field(default="", max_length=20)
    capacity: str = Field(default="", max_length=20)
    head_teacher_id: str = Field(default="", max_length=40)


def _parse(form: ClassForm, lang: Lang) -> Parsed:
    """The form's values as the service takes them, or the fields in error with their rule."""
    parsers: dict[str, Callable[[str], object]] = {
        "starts_on": date.fromisoformat,
        "ends_on": date.fromisoformat,
        "capacity": int,
        "head_teacher_id": uuid.UUID,
    }
    return parse_fields(form, lang, CLASS_RULES, parsers, text=("code", "name"))


def _classes_view(
    request: Request,
    user: User,
    session: Session,
    course_id: uuid.UUID,
    *,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    principal = Principal.of_user(user)
    try:
        course = courses.get_own_course(session, principal, course_id)
        rows = classes.list_classes(session, principal, course.id)
    except DomainError as err:
        return error_page(request, user, err)
    assert user.institution_id is not None  # noqa: S101 - staff_page let only staff in
    return render(
        request,
        "staff_classes.html",
        user,
        status=status,
        course=course,
        rows=rows,
        teachers=classes.head_teacher_names(session, [s.klass for s in rows]),
        staff=accounts.list_institution_staff(session, user.institution_id),
        status_names=STATUS_NAMES,
        values=values or {"capacity": "50", "head_teacher_id": str(user.id)},
        errors=errors or {},
    )


@router.get("/staff/courses/{course_id}/classes")
def classes_page(
    request: Request, course_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    return _classes_view(request, staff, session, course_id)


@router.post("/staff/courses/{course_id}/classes")
def create_class(
    request: Request,
    course_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    form: Annotated[ClassForm, Form()],
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
        partial(_classes_view, request, staff, session, course_id),
        lambda parsed: classes.create_class(session, Principal.of_user(staff), course_id, **parsed),
        refusal=lambda err: (
            {"code": message_for(err, lang)}
            if isinstance(err, cx.ClassCodeTaken)
            else field_error(err, lang, CLASS_RULES, "code")
        ),
        gone=(cx.CourseNotFound,),
        done=lambda klass: redirect(request, f"/staff/classes/{klass.id}", "class_created"),
    )


def class_view(
    request: Request,
    user: User,
    session: Session,
    class_id: uuid.UUID,
    *,
    status: int = 200,
    error: str | None = None,
    enrol_errors: dict[str, str] | None = None,
    **extra: Any,
) -> HTMLResponse:
    """The class page: facts, 开班/结业, the roster with progress, enrolling a learner;
    ``extra`` carries what the roster import adds to it."""
    principal = Principal.of_user(user)
    lang = lang_of(request)
    try:
        klass = classes.get_class(session, principal, class_id)
        if klass.institution_id != user.institution_id:
            raise cx.ClassNotFound()
        lines = classes.roster(session, principal, class_id)
        candidates = classes.learners_to_enrol(session, principal, klass)
    except DomainError as err:
        return error_page(request, user, err)
    course = courses.get_own_course(session, principal, klass.course_id)
    return render(
        request,
        "staff_class.html",
        user,
        status=status,
        klass=klass,
        **filing_words.class_context(session, klass),
        invite=invites.shown(klass.invite_code),
        course=course,
        summary=classes.summary(session, klass),
        teacher=classes.head_teacher_names(session, [klass]).get(klass.id),
        lines=lines,
        missing={
            line.enrollment.id: (
                line.progress.missing_zh if lang == "zh" else line.progress.missing
            )
            for line in lines
        },
        candidates=candidates,
        groups=GROUP_NAMES,
        status_names=STATUS_NAMES,
        error=error,
        enrol_errors=enrol_errors or {},
        **extra,
    )


def on_class(
    request: Request,
    session: Session,
    staff: User,
    class_id: uuid.UUID,
    change: Callable[[], T],
    *,
    refused: Callable[[DomainError], dict[str, Any]],
    done: Callable[[T], Response],
) -> Response:
    """A button or form of the class page: ``change`` in a savepoint; the class not found as the
    error page, a refusal as the class page again with what ``refused`` makes of it (the words
    and where they go), else ``done``."""
    return act(
        request,
        session,
        staff,
        change,
        refused=lambda err: class_view(
            request, staff, session, class_id, status=err.status, **refused(err)
        ),
        done=done,
        gone=(cx.ClassNotFound,),
    )


@router.get("/staff/classes/{class_id}")
def class_page(
    request: Request, class_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    return class_view(request, staff, session, class_id)


def _transition(
    request: Request,
    class_id: uuid.UUID,
    user: User | None,
    session: Session,
    csrf: str,
    *,
    close: bool,
) -> Response:
    staff = staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    change = classes.close_class if close else classes.open_class
    lang = lang_of(request)
    return on_class(
        request,
        session,
        staff,
        class_id,
        lambda: change(session, Principal.of_user(staff), class_id),
        refused=lambda err: {"error": message_for(err, lang)},
        done=lambda _: redirect(
            request, f"/staff/classes/{class_id}", "class_closed" if close else "class_opened"
        ),
    )


@router.post("/staff/classes/{class_id}/open")
def open_class(
    request: Request,
    class_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    return _transition(request, class_id, user, session, csrf, close=False)


@router.post("/staff/classes/{class_id}/close")
def close_class(
    request: Request,
    class_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    return _transition(request, class_id, user, session, csrf, close=True)


@router.post("/staff/classes/{class_id}/enrol")
def enrol_learner(
    request: Request,
    class_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    learner_id: Annotated[str, Form(max_length=40)] = "",
    employer: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    staff = staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    try:
        learner = uuid.UUID(learner_id.strip())
    except ValueError:
        return class_view(
            request,
            staff,
            session,
            class_id,
            status=422,
            enrol_errors={"learner_id": gettext(lang)("请从列表中选择学员。")},
        )
    return on_class(
        request,
        session,
        staff,
        class_id,
        lambda: classes.enrol_learner(
            session, Principal.of_user(staff), class_id, learner, employer=employer or None
        ),
        refused=lambda err: {"enrol_errors": _enrol_refused(err, lang)},
        done=lambda _: redirect(request, f"/staff/classes/{class_id}", "class_enrolled"),
    )


def _enrol_refused(err: DomainError, lang: Lang) -> dict[str, str]:
    """A refused enrolment in the staff's words: the service's ``already_enrolled`` speaks to
    the learner ("您已报名"); here it is about the learner chosen, above the form (sent twice,
    the learner is no longer in the form's list, nor may the form be there at all)."""
    if isinstance(err, cx.AlreadyEnrolled):
        return {"_form": gettext(lang)("该学员已报名本课程，不能重复报名。")}
    return field_error(err, lang, CLASS_RULES, "employer")
