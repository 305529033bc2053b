"""Password pages: forgotten (a code by text message or e-mail), changing one's own (the way out
of a temporary password), a learner's reset by their institution's staff, and the account's
e-mail address (added, confirmed by a code, removed). The rules are in app/accounts/recovery.py
and app/accounts/emails.py, the same ones the API (app/api/passwords.py) answers with."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.accounts import emails, notify, recovery
from app.accounts.models import User
from app.accounts.principal import Principal
from app.config import get_settings
from app.db import attempt
from app.errors import DomainError
from app.http.cookies import client_info
from app.http.session import SessionDep
from app.web.i18n import gettext, lang_of, message_for
from app.web.render import (
    error_page,
    redirect,
    render,
    start_page,
    to_login,
    with_retry_after,
)
from app.web.session import PageUser, check_csrf, sign_in
from app.web.staff.forms import staff_post

router = APIRouter(include_in_schema=False)

Field = Annotated[str, Form(max_length=256)]
Csrf = Annotated[str, Form(max_length=100)]


def _minutes() -> int:
    return get_settings().password_reset_code_ttl_s // 60


# ---------------------------------------------------------------- forgotten: a code by SMS, e-mail


@router.get("/password/forgot")
def forgot_page(request: Request, user: PageUser) -> Response:
    return render(
        request, "password_forgot.html", user, step="ask", login="", channel="sms", error=None
    )


@router.post("/password/forgot")
def forgot_submit(
    request: Request,
    user: PageUser,
    session: SessionDep,
    login: Annotated[str, Form(max_length=254)] = "",
    channel: Annotated[str, Form(max_length=8)] = "sms",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    lang = lang_of(request)
    via: notify.Channel = "email" if channel == "email" else "sms"
    if not login.strip():
        return render(
            request,
            "password_forgot.html",
            user,
            status=422,
            step="ask",
            login="",
            channel=via,
            error=gettext(lang)("请填写用户名、手机号码或电子邮箱。"),
        )
    try:
        with attempt(session):
            recovery.request_code(session, login=login, client=client_info(request)[0], channel=via)
    except DomainError as err:  # the per-address limit (429)
        return with_retry_after(
            err,
            render(
                request,
                "password_forgot.html",
                user,
                status=err.status,
                step="ask",
                login=login,
                channel=via,
                error=message_for(err, lang),
            ),
        )
    return render(
        request,
        "password_forgot.html",
        user,
        step="code",
        login=login,
        channel=via,
        minutes=_minutes(),
        error=None,
    )


@router.post("/password/reset")
def reset_submit(
    request: Request,
    user: PageUser,
    session: SessionDep,
    login: Annotated[str, Form(max_length=254)] = "",
    channel: Annotated[str, Form(max_length=8)] = "sms",
    code: Annotated[str, Form(max_length=16)] = "",
    new_password: Field = "",
    new_password_again: Field = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    lang = lang_of(request)

    def again(status: int, error: str, code_: str | None = None) -> HTMLResponse:
        return render(
            request,
            "password_forgot.html",
            user,
            status=status,
            step="code",
            login=login,
            channel="email" if channel == "email" else "sms",
            minutes=_minutes(),
            error=error,
            error_code=code_,
        )

    if new_password != new_password_again:
        return again(422, gettext(lang)("两次输入的新密码不一致。"), "password_mismatch")
    try:
        with attempt(session):
            recovery.reset_with_code(
                session,
                login=login,
                code=code,
                new_password=new_password,
                client=client_info(request)[0],
            )
    except DomainError as err:
        return with_retry_after(err, again(err.status, message_for(err, lang), err.code))
    return redirect(request, "/login", "password_reset_done")


# ---------------------------------------------------------------- changing one's own


def change_form(
    request: Request,
    *,
    username: str,
    status: int = 200,
    error: str | None = None,
    error_code: str | None = None,
    temporary: bool = False,
) -> HTMLResponse:
    """The form; ``temporary``: the sign-in was refused because the password is one the
    institution chose (the page says so)."""
    return render(
        request,
        "password_change.html",
        None,
        status=status,
        username=username,
        error=error,
        error_code=error_code,
        temporary=temporary,
    )


@router.get("/password/change")
def change_page(request: Request, user: PageUser) -> Response:
    return change_form(request, username=user.username if user else "")


@router.post("/password/change")
def change_submit(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    current_password: Field = "",
    new_password: Field = "",
    new_password_again: Field = "",
    temporary: Annotated[str, Form(max_length=1)] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    lang = lang_of(request)
    if new_password != new_password_again:
        return change_form(
            request,
            username=username,
            status=422,
            error=gettext(lang)("两次输入的新密码不一致。"),
            error_code="password_mismatch",
            temporary=bool(temporary),
        )
    try:
        with attempt(session):
            user = recovery.change_password(
                session,
                username=username,
                current_password=current_password,
                new_password=new_password,
                client=client_info(request)[0],
            )
    except DomainError as err:
        refused = change_form(
            request,
            username=username,
            status=err.status,
            error=message_for(err, lang),
            error_code=err.code,
            temporary=bool(temporary),
        )
        return with_retry_after(err, refused)
    response = redirect(request, start_page(user), "password_changed")
    sign_in(response, request, user)
    return response


# ---------------------------------------------------------------- by the institution's staff


@router.post("/staff/learners/{learner_id}/password-reset")
def staff_reset(
    request: Request,
    learner_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    back: Annotated[str, Form(max_length=200)] = "",
    csrf: Csrf = "",
) -> Response:
    """A temporary password for a learner of the staff member's institution, shown once."""
    staff = staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    try:
        with attempt(session):
            learner, temporary = recovery.reset_by_staff(
                session, Principal.of_user(staff), learner_id
            )
    except DomainError as err:
        return error_page(request, staff, err)
    response = render(
        request,
        "staff_password_reset.html",
        staff,
        learner=learner,
        temporary=temporary,
        back=back if back.startswith("/staff/") else "/staff/courses",
    )
    response.headers["Cache-Control"] = "no-store"  # the password is shown once
    return response


# ---------------------------------------------------------------- the account's e-mail address

EMAIL_PAGE = "/account/email"


def _email_page(
    request: Request,
    user: User,
    *,
    status: int = 200,
    sent_to: str | None = None,
    error: str | None = None,
    error_code: str | None = None,
    typed: str = "",
) -> HTMLResponse:
    return render(
        request,
        "account_email.html",
        user,
        status=status,
        sent_to=sent_to,
        minutes=_minutes(),
        error=error,
        error_code=error_code,
        typed=typed,
        masked=notify.mask_address("email", user.email) if user.email else None,
    )


@router.get(EMAIL_PAGE)
def email_page(request: Request, user: PageUser) -> Response:
    if user is None:
        return to_login(request)
    return _email_page(request, user)


@router.post(EMAIL_PAGE)
def email_submit(
    request: Request,
    user: PageUser,
    session: SessionDep,
    email: Annotated[str, Form(max_length=254)] = "",
    csrf: Csrf = "",
) -> Response:
    """Send a code to the address typed (it counts once the code comes back)."""
    check_csrf(request, csrf)
    if user is None:
        return to_login(request)
    try:
        with attempt(session):
            address = emails.request_verification(
                session, user, email, client=client_info(request)[0]
            )
    except DomainError as err:
        refused = _email_page(
            request,
            user,
            status=err.status,
            error=message_for(err, lang_of(request)),
            error_code=err.code,
            typed=email,
        )
        return with_retry_after(err, refused)
    return _email_page(request, user, sent_to=address)


@router.post(EMAIL_PAGE + "/confirm")
def email_confirm(
    request: Request,
    user: PageUser,
    session: SessionDep,
    code: Annotated[str, Form(max_length=16)] = "",
    sent_to: Annotated[str, Form(max_length=254)] = "",
    csrf: Csrf = "",
) -> Response:
    check_csrf(request, csrf)
    if user is None:
        return to_login(request)
    try:
        with attempt(session):
            emails.confirm(session, user, code, client=client_info(request)[0])
    except DomainError as err:
        refused = _email_page(
            request,
            user,
            status=err.status,
            sent_to=sent_to or None,
            error=message_for(err, lang_of(request)),
            error_code=err.code,
        )
        return with_retry_after(err, refused)
    return redirect(request, EMAIL_PAGE, "email_verified")


@router.post(EMAIL_PAGE + "/remove")
def email_remove(
    request: Request, user: PageUser, session: SessionDep, csrf: Csrf = ""
) -> Response:
    check_csrf(request, csrf)
    if user is None:
        return to_login(request)
    with attempt(session):
        emails.remove(session, user)
    return redirect(request, EMAIL_PAGE, "email_removed")
