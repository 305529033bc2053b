"""Signing up and in, consent to face processing, and face enrolment (the camera runs in
``static/js`` and calls the REST API)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from app.accounts import registration
from app.accounts import service as accounts
from app.accounts.consent import consent_is_current, consent_state
from app.accounts.exceptions import PasswordChangeRequired
from app.accounts.models import LearnerGroup, Role, User
from app.attendance import service as attendance
from app.certificates import photo as photos
from app.config import get_settings
from app.courses import invites
from app.db import attempt
from app.errors import DomainError
from app.http.cookies import client_info
from app.http.session import SessionDep
from app.web import passwords as passwords_web
from app.web.i18n import (
    gettext,
    lang_of,
    message_for,
)
from app.web.render import (
    GROUP_NAMES,
    error_page,
    not_learner,
    redirect,
    render,
    safe_next,
    secure_headers,
    start_page,
    to_login,
    with_retry_after,
)
from app.web.session import PageUser, check_csrf, sign_in, sign_out

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- home, sign-up, sign-in


@router.get("/")
def home(request: Request, user: PageUser) -> Response:
    return redirect(request, start_page(user) if user else "/login")


def _register_form(
    request: Request, session: SessionDep, user: PageUser, *, status: int = 200, **context: object
) -> HTMLResponse:
    return render(
        request,
        "register.html",
        user,
        status=status,
        groups=GROUP_NAMES,
        institutions=registration.active_institutions(session),
        **context,
    )


@router.get("/register")
def register_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    institution: str | None = None,
    code: str | None = None,
) -> Response:
    """The form; ``?institution=CODE`` (a link or QR code an institution hands out) picks it;
    ``?code=`` fills the typed code (a class invite code's link)."""
    form = {"institution": (institution or "")[:32], "institution_code": (code or "")[:32]}
    return _register_form(request, session, user, form=form, error=None)


@router.post("/register")
def register_submit(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    real_name: Annotated[str, Form(max_length=64)] = "",
    id_number: Annotated[str, Form(max_length=32)] = "",
    phone: Annotated[str, Form(max_length=20)] = "",
    group: Annotated[str, Form(max_length=32)] = "",
    institution: Annotated[str, Form(max_length=32)] = "",
    institution_code: Annotated[str, Form(max_length=32)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    form = {
        "username": username,
        "real_name": real_name,
        "id_number": id_number,
        "phone": phone,
        "group": group,
        "institution": institution,
        "institution_code": institution_code,
    }
    lang = lang_of(request)
    t = gettext(lang)
    if not (username and password and real_name and id_number):
        return _register_form(
            request,
            session,
            None,
            status=422,
            form=form,
            error=t("请填写用户名、密码、姓名和身份证号码。"),
        )
    # A code the institution gave (typed) wins over the list; one of the two is required.
    code = institution_code.strip() or institution.strip()
    if not code:
        return _register_form(
            request,
            session,
            None,
            status=422,
            form=form,
            error=t("请选择您参加培训的机构，或填写机构提供的机构代码。"),
            error_code="institution_required",
            error_field="institution",
        )
    try:
        with attempt(session):
            user, enrollment = invites.register_with_code(
                session,
                code=code,
                username=username,
                password=password,
                real_name=real_name,
                id_number=id_number,
                phone=phone.strip() or None,
                group=LearnerGroup(group) if group in LearnerGroup.__members__ else None,
                client=request.client.host if request.client else None,
            )
    except DomainError as err:
        return with_retry_after(
            err,
            _register_form(
                request,
                session,
                None,
                status=err.status,
                form=form,
                error=message_for(err, lang),
                error_code=err.code,
                error_field=err.extra.get("field"),
            ),
        )
    response = redirect(request, "/consent", "registered_class" if enrollment else "registered")
    sign_in(response, request, user)
    return response


@router.get("/login")
def login_page(request: Request, user: PageUser, next: str | None = None) -> Response:
    if user is not None:  # already signed in: where they asked to go, or their own home
        return redirect(request, safe_next(next) if next else start_page(user))
    return render(request, "login.html", None, next=safe_next(next), error=None, username="")


@router.post("/login")
def login_submit(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next: Annotated[str, Form(max_length=500)] = "/my",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    try:
        with attempt(session):
            user = accounts.authenticate(
                session, username, password, client=request.client.host if request.client else None
            )
    except PasswordChangeRequired as err:
        # A temporary password from the institution: set one's own before signing in.
        return passwords_web.change_form(
            request,
            username=username,
            status=err.status,
            error=message_for(err, lang_of(request)),
            error_code=err.code,
            temporary=True,
        )
    except DomainError as err:
        return with_retry_after(
            err,
            render(
                request,
                "login.html",
                None,
                status=err.status,
                next=safe_next(next),
                error=message_for(err, lang_of(request)),
                username=username,
            ),
        )
    target = safe_next(next)
    if user.role is Role.learner and not consent_is_current(user) and target == "/my":
        target = "/consent"
    elif target == "/my":
        target = start_page(user)
    response = redirect(request, target, "signed_in")
    sign_in(response, request, user)
    return response


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    check_csrf(request, csrf)
    response = redirect(request, "/login", "signed_out")
    sign_out(response, request)
    return response


# ---------------------------------------------------------------- consent and face


def _consent_page(
    request: Request,
    user: User,
    session: SessionDep,
    *,
    status: int = 200,
    photo_error: str | None = None,
) -> HTMLResponse:
    enrolled = attendance.active_template(session, user.id) is not None
    learner = user.role is Role.learner
    return render(
        request,
        "consent.html",
        user,
        status=status,
        consent_text=accounts.CONSENT_TEXT_ZH,
        retention_days=get_settings().evidence_retention_days,
        version=get_settings().consent_version,
        state=consent_state(user).value,
        face_enrolled=enrolled,
        learner=learner,
        certificate_photo=photos.current(session, user.id) if learner else None,
        photo_error=photo_error,
    )


@router.get("/consent")
def consent_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    if user is None:
        return to_login(request)
    return _consent_page(request, user, session)


@router.post("/consent/certificate-photo")
def certificate_photo_submit(
    request: Request,
    user: PageUser,
    session: SessionDep,
    decision: Annotated[str, Form(max_length=16)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """The learner's choice of a photo on their certificates (the API's PUT
    /me/certificate-photo)."""
    check_csrf(request, csrf)
    if user is None:
        return to_login(request)
    if user.role is not Role.learner:
        return not_learner(request, user)
    enabled = decision == "on"
    try:
        with attempt(session):
            photos.set_choice(session, user, enabled=enabled)
    except DomainError as err:
        error = message_for(err, lang_of(request))
        return _consent_page(request, user, session, status=err.status, photo_error=error)
    flash = "certificate_photo_on" if enabled else "certificate_photo_off"
    return redirect(request, "/consent#certificate-photo", flash)


@router.get("/my/certificate-photo.jpg")
def certificate_photo_image(request: Request, user: PageUser, session: SessionDep) -> Response:
    """The photo kept for the learner's certificates, for the preview on the consent page."""
    if user is None:
        return to_login(request)
    try:
        found = photos.own_photo(session, user)
    except DomainError as err:
        return error_page(request, user, err)
    assert found.jpeg is not None  # noqa: S101 - own_photo refuses a withdrawn one
    response = Response(found.jpeg, media_type="image/jpeg")
    secure_headers(response)
    response.headers["Cache-Control"] = "no-store, private"
    return response


@router.post("/consent")
def consent_submit(
    request: Request,
    user: PageUser,
    session: SessionDep,
    decision: Annotated[str, Form(max_length=16)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    check_csrf(request, csrf)
    if user is None:
        return to_login(request)
    granted = decision == "grant"
    ip, ua = client_info(request)
    accounts.set_biometric_consent(session, user, granted=granted, ip=ip, user_agent=ua)
    if granted:
        enrolled = attendance.active_template(session, user.id) is not None
        return redirect(request, "/my" if enrolled else "/face", "consent_granted")
    return redirect(request, "/consent", "consent_withdrawn")


@router.get("/face")
def face_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    if user is None:
        return to_login(request)
    if user.role is not Role.learner:
        return not_learner(request, user)
    if not consent_is_current(user):
        return redirect(request, "/consent", "need_consent")
    if registration.needs_institution(user):
        return redirect(request, "/institution?next=/face", "need_institution")
    template = attendance.active_template(session, user.id)
    return render(
        request,
        "face.html",
        user,
        template=template,
        reenrol=template is not None and not attendance.template_is_current(template),
        max_frames=get_settings().face_max_frames,
    )
