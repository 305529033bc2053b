"""转班: the staff's form moving one learner to another class of the same course, reached from
the class roster's "转班" action (the rule: app/courses/classes/moves.py; the API:
``POST /api/v1/enrollments/{id}/class``)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.accounts.models import User
from app.accounts.principal import Principal
from app.courses import classes
from app.courses import exceptions as cx
from app.errors import DomainError
from app.http.session import SessionDep
from app.web.i18n import gettext, lang_of, message_for
from app.web.render import act, error_page, redirect, render
from app.web.session import PageUser
from app.web.staff.forms import staff_page, staff_post

router = APIRouter(include_in_schema=False)


def move_view(
    request: Request,
    user: User,
    session: Session,
    enrollment_id: uuid.UUID,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> HTMLResponse:
    """The form: the learner, her course and class, the classes she can move to, the reason."""
    lang = lang_of(request)
    try:
        choice = classes.move_choice(session, Principal.of_user(user), enrollment_id)
    except DomainError as err:
        return error_page(request, user, err)
    return render(
        request,
        "staff_class_move.html",
        user,
        status=status,
        choice=choice,
        teachers=classes.head_teacher_names(session, choice.targets),
        seats=choice.seats_left,
        blocked=message_for(choice.blocked, lang) if choice.blocked else None,
        errors=errors or {},
        values=values or {},
        reason_chars=classes.REASON_CHARS,
    )


@router.get("/staff/enrollments/{enrollment_id}/class")
def move_page(
    request: Request, enrollment_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    return move_view(request, staff, session, enrollment_id)


@router.post("/staff/enrollments/{enrollment_id}/class")
def move_learner(
    request: Request,
    enrollment_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    once: Annotated[str, Form(max_length=64)] = "",
    class_id: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=2_000)] = "",
) -> Response:
    staff = staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    lang = lang_of(request)
    values = {"class_id": class_id, "reason": reason}
    try:
        target = uuid.UUID(class_id.strip())
    except ValueError:
        return move_view(
            request,
            staff,
            session,
            enrollment_id,
            status=422,
            errors={"class_id": gettext(lang)("请从列表中选择要转入的班级。")},
            values=values,
        )

    def refused(err: DomainError) -> Response:
        field = "reason" if err.extra.get("field") == "reason" else "_form"
        return move_view(
            request,
            staff,
            session,
            enrollment_id,
            status=err.status,
            errors={field: message_for(err, lang)},
            values=values,
        )

    return act(
        request,
        session,
        staff,
        lambda: classes.move_to_class(
            session, Principal.of_user(staff), enrollment_id, target, reason=reason
        ),
        refused=refused,
        # The answer is the flash at the top of the new class's page (an anchor to her row
        # would scroll it out of view); her row is on its roster below.
        done=lambda moved: redirect(request, f"/staff/classes/{moved.klass.id}", "class_moved"),
        gone=(cx.EnrollmentNotFound,),
        once=once,
    )
