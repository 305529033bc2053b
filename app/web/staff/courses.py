"""The institution's courses: the list, a new draft, the course page, its settings, publishing."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.accounts.models import User
from app.accounts.principal import Principal
from app.courses import exceptions as cx
from app.courses import service as courses
from app.courses.models import Course, CourseStatus, Level
from app.courses.service import CourseChanges
from app.db import attempt
from app.errors import DomainError
from app.http.session import SessionDep
from app.web.durations import UNIT_NAMES
from app.web.i18n import gettext, lang_of, message_for
from app.web.render import (
    act,
    error_page,
    redirect,
    render,
)
from app.web.session import PageUser
from app.web.staff.forms import (
    COURSE_RULES,
    CREDIT_POLICY_NAMES,
    KIND_NAMES,
    LESSON_KIND_NAMES,
    OPTION_ROWS,
    QUIZ_OPENS_NAMES,
    CourseForm,
    course_values,
    field_error,
    parse_course,
    policy_of,
    staff_page,
    staff_post,
    submit,
)

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- courses


@router.get("/staff/courses")
def courses_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    rows = courses.list_institution_courses(session, Principal.of_user(staff))
    return render(request, "staff_courses.html", staff, rows=rows)


def _new_course_page(
    request: Request,
    user: User,
    *,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "staff_course_new.html",
        user,
        status=status,
        values=values,
        errors=errors or {},
        **choices(),
    )


def choices() -> dict[str, Any]:
    return {
        "levels": list(Level),
        "credit_policies": CREDIT_POLICY_NAMES,
        "quiz_opens_names": QUIZ_OPENS_NAMES,
        "unit_names": UNIT_NAMES,
        "kind_names": KIND_NAMES,
        "lesson_kind_names": LESSON_KIND_NAMES,
    }


@router.get("/staff/courses/new")
def new_course_page(request: Request, user: PageUser) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    return _new_course_page(request, staff, values=course_values(None))


@router.post("/staff/courses/new")
def create_course(
    request: Request,
    user: PageUser,
    session: SessionDep,
    form: Annotated[CourseForm, Form()],
) -> Response:
    staff = staff_post(request, user, form.csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    changes, errors = parse_course(form, gettext(lang))

    def create(parsed: dict[str, Any]) -> Course:
        c: CourseChanges = parsed["changes"]
        return courses.create_course(
            session,
            Principal.of_user(staff),
            title=form.title,
            occupation_code=form.occupation_code,
            occupation_name=form.occupation_name,
            level=form.level,
            required_minutes=c.required_minutes or 0,
            pass_score=c.pass_score or 0,
            subsidy_fen=c.subsidy_fen or 0,
            description=form.description,
            policy=policy_of(c),
        )

    return submit(
        request,
        session,
        staff,
        form,
        ({"changes": changes} if changes is not None else None, errors),
        partial(_new_course_page, request, staff),
        create,
        refusal=lambda err: field_error(err, lang, COURSE_RULES, ""),
        done=lambda course: redirect(request, f"/staff/courses/{course.id}", "course_created"),
    )


def course_view(
    request: Request,
    user: User,
    session: Session,
    course_id: uuid.UUID,
    *,
    status: int = 200,
    **forms: Any,
) -> HTMLResponse:
    """The course page; ``forms`` carries a refused form's input and errors to show again."""
    principal = Principal.of_user(user)
    try:
        course = courses.get_own_course(session, principal, course_id)
    except DomainError as err:
        return error_page(request, user, err)
    lessons = courses.list_lessons(session, principal, course.id)
    questions = courses.list_questions(session, principal, course.id)
    ctx: dict[str, Any] = {
        "course": course,
        "draft": course.status is CourseStatus.draft,
        "lessons": lessons,
        "questions": questions,
        "values": course_values(course),
        "errors": {},
        "lesson_target": None,
        "lesson_values": {"kind": "text", "minutes": "10"},
        "lesson_errors": {},
        "question_target": None,
        "question_values": None,
        "question_errors": {},
        "publish_missing": None,
        "option_rows": OPTION_ROWS,
        **choices(),
        **forms,
    }
    return render(request, "staff_course.html", user, status=status, **ctx)


@router.get("/staff/courses/{course_id}")
def course_page(
    request: Request, course_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    return course_view(request, staff, session, course_id)


def course_refused(
    request: Request,
    user: User,
    session: Session,
    course_id: uuid.UUID,
    err: DomainError,
    **forms: Any,
) -> Response:
    """A refused edit: not found / not yours as the error page, anything else on the course
    page next to the form it concerns."""
    if isinstance(err, cx.CourseNotFound | cx.LessonNotFound | cx.QuestionNotFound):
        return error_page(request, user, err)
    if isinstance(err, cx.CoursePublished):
        forms = {"error": message_for(err, lang_of(request))}
    return course_view(request, user, session, course_id, status=err.status, **forms)


@router.post("/staff/courses/{course_id}")
def update_course(
    request: Request,
    course_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    form: Annotated[CourseForm, Form()],
) -> Response:
    staff = staff_post(request, user, form.csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    values = form.model_dump(exclude={"csrf", "once"})
    changes, errors = parse_course(form, gettext(lang))
    if changes is None:
        return course_view(
            request, staff, session, course_id, status=422, values=values, errors=errors
        )
    return act(
        request,
        session,
        staff,
        lambda: courses.update_course(session, Principal.of_user(staff), course_id, changes),
        refused=lambda err: course_refused(
            request,
            staff,
            session,
            course_id,
            err,
            values=values,
            errors=field_error(err, lang, COURSE_RULES, ""),
        ),
        done=lambda _: redirect(request, f"/staff/courses/{course_id}", "course_saved"),
    )


@router.post("/staff/courses/{course_id}/publish")
def publish_course(
    request: Request,
    course_id: uuid.UUID,
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
            courses.publish_course(session, Principal.of_user(staff), course_id)
    except cx.CourseIncomplete as err:
        missing = err.extra.get("missing_zh" if lang == "zh" else "missing") or []
        return course_view(
            request, staff, session, course_id, status=err.status, publish_missing=missing
        )
    except DomainError as err:
        return course_refused(request, staff, session, course_id, err)
    return redirect(request, f"/staff/courses/{course_id}", "course_published")
