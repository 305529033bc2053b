"""The institution's certificate settings: automatic issuing and the seal on its certificates.

Both forms call the services the REST API calls (``certificates.update_settings``,
``seal.set_seal`` / ``seal.clear_seal``); the seal preview is the image the API serves.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response

from app.accounts.models import User
from app.accounts.principal import Principal
from app.certificates import seal as seals
from app.certificates import service as certificates
from app.db import attempt
from app.errors import DomainError, Forbidden
from app.http.session import SessionDep
from app.web.i18n import lang_of, message_for
from app.web.render import error_page, redirect, render, secure_headers
from app.web.session import PageUser
from app.web.staff.forms import staff_page, staff_post

router = APIRouter(include_in_schema=False)

PAGE = "/staff/certificates/settings"


def _page(
    request: Request, staff: User, session: SessionDep, *, status: int = 200, error: str = ""
) -> Response:
    assert staff.institution_id is not None  # noqa: S101 - staff_page lets only staff through
    settings = certificates.get_settings_for(
        session, Principal.of_user(staff), staff.institution_id
    )
    return render(
        request,
        "staff_certificate_settings.html",
        staff,
        status=status,
        settings=settings,
        error=error,
        max_mb=seals.MAX_BYTES // (1024 * 1024),
        max_side=seals.MAX_SIDE,
    )


def _own_staff(request: Request, user: User | None, csrf: str | None = None) -> User | Response:
    staff = staff_page(request, user) if csrf is None else staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    if staff.institution_id is None:  # an admin: settings belong to one institution's staff
        return error_page(request, staff, Forbidden())
    return staff


@router.get(PAGE)
def settings_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    staff = _own_staff(request, user)
    if isinstance(staff, Response):
        return staff
    return _page(request, staff, session)


@router.post(PAGE)
def save_settings(
    request: Request,
    user: PageUser,
    session: SessionDep,
    auto_issue: Annotated[str, Form(max_length=8)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    staff = _own_staff(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    assert staff.institution_id is not None  # noqa: S101 - checked by _own_staff
    try:
        with attempt(session):
            certificates.update_settings(
                session,
                Principal.of_user(staff),
                staff.institution_id,
                auto_issue=auto_issue == "on",
            )
    except DomainError as err:
        return _page(
            request, staff, session, status=err.status, error=message_for(err, lang_of(request))
        )
    return redirect(request, PAGE, "certificate_settings_saved")


@router.post(f"{PAGE}/seal")
def upload_seal(
    request: Request,
    user: PageUser,
    session: SessionDep,
    file: Annotated[UploadFile, File()],
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    staff = _own_staff(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    assert staff.institution_id is not None  # noqa: S101 - checked by _own_staff
    data = file.file.read(seals.MAX_BYTES + 1)
    try:
        with attempt(session):
            seals.set_seal(session, Principal.of_user(staff), staff.institution_id, data)
    except DomainError as err:
        return _page(
            request, staff, session, status=err.status, error=message_for(err, lang_of(request))
        )
    return redirect(request, PAGE, "seal_saved")


@router.post(f"{PAGE}/seal/remove")
def remove_seal(
    request: Request,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    staff = _own_staff(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    assert staff.institution_id is not None  # noqa: S101 - checked by _own_staff
    try:
        with attempt(session):
            seals.clear_seal(session, Principal.of_user(staff), staff.institution_id)
    except DomainError as err:
        return _page(
            request, staff, session, status=err.status, error=message_for(err, lang_of(request))
        )
    return redirect(request, PAGE, "seal_removed")


@router.get(f"{PAGE}/seal.png")
def seal_image(request: Request, user: PageUser, session: SessionDep) -> Response:
    """The seal in force, for the preview on this page (the API's image)."""
    staff = _own_staff(request, user)
    if isinstance(staff, Response):
        return staff
    assert staff.institution_id is not None  # noqa: S101 - checked by _own_staff
    try:
        found = seals.current_seal(session, Principal.of_user(staff), staff.institution_id)
    except DomainError as err:
        return error_page(request, staff, err)
    response = Response(found.png, media_type="image/png")
    secure_headers(response)
    response.headers["Cache-Control"] = "no-store, private"
    return response
