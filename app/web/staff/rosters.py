"""Enrolment by institutions and employers on the pages: a roster file checked into a preview
that shows every problem in words, committed all or nothing; one person typed in; the
activation codes shown once. The learner's own activation page (``/activate``) is here too."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from app.accounts import activation
from app.accounts.models import User
from app.accounts.principal import Principal
from app.courses import exceptions as cx
from app.courses import roster
from app.courses.models import RosterImport
from app.db import attempt
from app.errors import DomainError
from app.http.cookies import client_info
from app.http.session import SessionDep
from app.web.i18n import lang_of, message_for
from app.web.render import act, error_page, redirect, render
from app.web.session import PageUser, check_csrf
from app.web.staff.classes import class_view, on_class
from app.web.staff.forms import staff_page, staff_post

router = APIRouter(include_in_schema=False)


def _messages(imp: RosterImport, lang: str) -> list[dict[str, object]]:
    key = "message_zh" if lang == "zh" else "message_en"
    return [{"row": e["row"], "field": e["field"], "text": e[key]} for e in imp.errors]


def _preview(
    request: Request, user: User, imp: RosterImport, *, status: int = 200, **extra: object
) -> Response:
    return render(
        request,
        "staff_roster.html",
        user,
        status=status,
        imp=imp,
        ready=roster.is_ready(imp),
        problems=_messages(imp, lang_of(request)),
        field_names=roster.FIELD_NAMES_ZH,
        **extra,
    )


@router.post("/staff/classes/{class_id}/roster")
def check_roster(
    request: Request,
    class_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Without scripts: the form posts here and lands on the preview."""
    staff = staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    data = file.file.read(roster.MAX_BYTES + 1)
    return on_class(
        request,
        session,
        staff,
        class_id,
        lambda: roster.preview(
            session, Principal.of_user(staff), class_id, data, file.filename or ""
        ),
        refused=lambda err: {"roster_error": _words(err, request)},
        done=lambda previewed: redirect(request, f"/staff/roster-imports/{previewed[0].id}"),
    )


def _words(err: DomainError, request: Request) -> str:
    message = message_for(err, lang_of(request))
    missing = err.extra.get("missing")
    return f"{message}（{'、'.join(missing)}）" if missing else message


@router.get("/staff/roster-imports/{import_id}")
def roster_page(
    request: Request, import_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    staff = staff_page(request, user)
    if isinstance(staff, Response):
        return staff
    try:
        imp = roster.get_import(session, Principal.of_user(staff), import_id)
    except DomainError as err:
        return error_page(request, staff, err)
    return _preview(request, staff, imp)


@router.post("/staff/roster-imports/{import_id}/commit")
def commit_roster(
    request: Request,
    import_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    staff = staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    principal = Principal.of_user(staff)
    lang = lang_of(request)
    return act(
        request,
        session,
        staff,
        lambda: roster.commit(session, principal, import_id),
        refused=lambda err: _preview(
            request,
            staff,
            roster.get_import(session, principal, import_id),
            status=err.status,
            error=message_for(err, lang),
        ),
        # The codes are shown this once (only their hashes are kept): not a redirect.
        done=lambda enrolled: _preview(
            request, staff, roster.get_import(session, principal, import_id), enrolled=enrolled
        ),
        gone=(cx.RosterImportNotFound,),
    )


@router.post("/staff/classes/{class_id}/person")
def enrol_person(
    request: Request,
    class_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
    real_name: Annotated[str, Form(max_length=200)] = "",
    id_number: Annotated[str, Form(max_length=40)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    group: Annotated[str, Form(max_length=40)] = "",
    employer: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    staff = staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    values = {
        "real_name": real_name,
        "id_number": id_number,
        "phone": phone,
        "group": group,
        "employer": employer,
    }
    return on_class(
        request,
        session,
        staff,
        class_id,
        lambda: roster.enrol_person(
            session,
            Principal.of_user(staff),
            class_id,
            real_name=real_name,
            id_number=id_number,
            phone=phone or None,
            group=group or None,
            employer=employer or None,
        ),
        refused=lambda err: {
            "person_values": values,
            "person_errors": _person_errors(err, request),
        },
        done=lambda e: class_view(request, staff, session, class_id, person_enrolled=e),
    )


def _person_errors(err: DomainError, request: Request) -> dict[str, str]:
    """The refused rows' words by field, or the refusal's above the form."""
    rows = err.extra.get("errors") or []
    return {r["field"]: r["message_zh"] for r in rows} or {
        "_form": message_for(err, lang_of(request))
    }


# ---------------------------------------------------------------- the learner's activation


@router.get("/activate")
def activate_page(request: Request, user: PageUser) -> Response:
    return render(request, "activate.html", user, values={}, error=None)


@router.post("/activate")
def activate(
    request: Request,
    session: SessionDep,
    user: PageUser,
    csrf: Annotated[str, Form(max_length=100)] = "",
    id_number: Annotated[str, Form(max_length=40)] = "",
    activation_code: Annotated[str, Form(max_length=40)] = "",
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=128)] = "",
) -> Response:
    check_csrf(request, csrf)
    values = {"id_number": id_number, "username": username}
    try:
        with attempt(session):
            activation.activate(
                session,
                id_number=id_number,
                code=activation_code,
                username=username,
                password=password,
                client=client_info(request)[0],
            )
    except DomainError as err:
        return render(
            request,
            "activate.html",
            user,
            status=err.status,
            values=values,
            error=message_for(err, lang_of(request)),
        )
    return redirect(request, "/login", "activated")
