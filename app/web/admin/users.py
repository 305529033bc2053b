"""Accounts: listed and filtered; staff and regulator accounts created, locked, unlocked;
passwords reset."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.accounts import administration as admin
from app.accounts import service as accounts
from app.accounts.models import Institution, Role, User
from app.accounts.principal import Principal
from app.audit import service as audit
from app.errors import DomainError
from app.http.session import SessionDep
from app.programmes import regions
from app.web import listing
from app.web.admin.common import (
    CREATABLE,
    HOME,
    RECENT,
    ROLE_NAMES,
    TEXTS,
    USER_STATUS,
    admin_page,
    change_status,
    entries_view,
    on_subject,
    parse_uuid,
    require_admin,
    require_admin_post,
    texts_for,
)
from app.web.i18n import lang_of, message_for
from app.web.listing import ListSpec, Select
from app.web.render import GROUP_NAMES, act, error_page, redirect
from app.web.session import PageUser

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- accounts


def _users_page(
    request: Request,
    who: User,
    session: Session,
    *,
    http_status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    shown: dict[str, str] | None = None,
) -> Response:
    """The accounts, searched by username, name or phone, filtered by kind, institution and
    status, paged: the query string checked by the lists' helper (app/web/listing.py; a bad
    value named, status 400)."""
    t = texts_for(request)
    institutions = admin.all_institutions(session)
    spec = ListSpec(
        search=t("用户名、姓名或手机号"),
        selects={
            "role": Select(t("类型"), {r.value: t(n) for r, n in ROLE_NAMES.items()}),
            "institution_id": Select(
                t("所属机构"), {str(i.id): f"{i.name}（{i.code}）" for i in institutions}
            ),
            "status": Select(t("状态"), {k: t(v) for k, v in USER_STATUS.items()}),
        },
    )
    query, filter_errors = listing.read(request, spec, t)
    role, inst, st = query.get("role"), query.get("institution_id"), query.get("status")
    result = admin.list_users(
        session,
        q=query.q,
        role=Role(role) if role else None,
        institution_id=uuid.UUID(inst) if inst else None,
        status="active" if st == "active" else "locked" if st else None,
        page=query.page,
    )
    base = f"{HOME}/users"
    return admin_page(
        request,
        "admin_users.html",
        who,
        status=400 if filter_errors and http_status == 200 else http_status,
        result=result,
        form={"role": role, "institution_id": inst},
        query=query,
        spec=spec,
        filter_errors=filter_errors,
        action=base,
        institutions=institutions,
        inst_by_id={i.id: i for i in institutions},
        creatable=[r.value for r in CREATABLE],
        group_names=GROUP_NAMES,
        page_link=lambda n: query.link(base, page=n),
        errors=errors or {},
        values=values or {},
        shown=shown,
        regions=[
            (code, t(TEXTS["national"]) if code == regions.NATIONAL else name)
            for code, name in regions.labelled(session)
        ],
    )


@router.get(f"{HOME}/users")
def users_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    who = require_admin(request, user)
    if isinstance(who, Response):
        return who
    return _users_page(request, who, session)


@router.post(f"{HOME}/users")
def create_user(
    request: Request,
    user: PageUser,
    session: SessionDep,
    role: Annotated[str, Form(max_length=16)] = "",
    username: Annotated[str, Form(max_length=64)] = "",
    real_name: Annotated[str, Form(max_length=64)] = "",
    institution_id: Annotated[str, Form(max_length=36)] = "",
    jurisdiction_code: Annotated[str, Form(max_length=12)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Create a staff or regulator account; with no password given one is generated and shown
    once."""
    who = require_admin_post(request, user, csrf)
    if isinstance(who, Response):
        return who
    t = texts_for(request)
    values = {
        "role": role,
        "username": username,
        "real_name": real_name,
        "institution_id": institution_id,
        "jurisdiction_code": jurisdiction_code,
    }

    def refused(message: str, status: int = 422) -> Response:
        return _users_page(
            request, who, session, http_status=status, errors={"create": message}, values=values
        )

    if role not in [r.value for r in CREATABLE]:
        return refused(t(TEXTS["bad_role"]))
    if not username.strip():
        return refused(t(TEXTS["username_required"]))
    r = Role(role)
    inst = parse_uuid(institution_id) if r is Role.staff else None
    if r is Role.staff and inst is None:
        return refused(t(TEXTS["pick_institution"]))
    jurisdiction = jurisdiction_code.strip() if r is Role.regulator else ""
    if r is Role.regulator and not jurisdiction:
        return refused(t(TEXTS["pick_jurisdiction"]))
    generated = None if password else admin.generate_password()

    def create() -> User:
        if inst is not None:
            accounts.get_institution(session, inst)
        return accounts.create_user(
            session,
            role=r,
            username=username,
            password=password or str(generated),
            institution_id=inst,
            real_name=real_name.strip() or None,
            jurisdiction_code=jurisdiction or None,
            actor=Principal.of_user(who).actor,
        )

    def created(made: User) -> Response:
        shown = {"user_id": str(made.id), "username": made.username}
        if generated:
            shown["password"] = generated
        return _users_page(request, who, session, shown=shown)

    lang = lang_of(request)
    return act(
        request,
        session,
        who,
        create,
        refused=lambda err: refused(message_for(err, lang), err.status),
        done=created,
    )


def _user_page(
    request: Request,
    who: User,
    session: Session,
    user_id: uuid.UUID,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    shown: str | None = None,
) -> Response:
    try:
        target = admin.get_user(session, user_id)
    except DomainError as err:
        return error_page(request, who, err)
    inst: Institution | None = (
        accounts.get_institution(session, target.institution_id) if target.institution_id else None
    )
    entries = audit.recent_entries(session, subject=f"user:{target.id}", limit=RECENT)
    return admin_page(
        request,
        "admin_user.html",
        who,
        status=status,
        target=target,
        inst=inst,
        is_self=target.id == who.id,
        group_names=GROUP_NAMES,
        jurisdiction=texts_for(request)(TEXTS["national"])
        if target.jurisdiction_code == regions.NATIONAL
        else regions.full_name(session, target.jurisdiction_code),
        entries=entries_view(session, entries, texts_for(request)),
        errors=errors or {},
        values=values or {},
        shown=shown,
    )


@router.get(f"{HOME}/users/{{user_id}}")
def user_page(
    request: Request, user_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    who = require_admin(request, user)
    if isinstance(who, Response):
        return who
    return _user_page(request, who, session, user_id)


@router.post(f"{HOME}/users/{{user_id}}/password")
def reset_password(
    request: Request,
    user_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    password: Annotated[str, Form(max_length=256)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """A new password: the one typed, or a generated one shown once on the page this renders."""
    who = require_admin_post(request, user, csrf)
    if isinstance(who, Response):
        return who

    def done(reset: tuple[object, str | None]) -> Response:
        generated = reset[1]
        if generated is None:
            return redirect(request, f"{HOME}/users/{user_id}", "password_set")
        return _user_page(request, who, session, user_id, shown=generated)

    return on_subject(
        request,
        who,
        session,
        user_id,
        lambda: admin.reset_password(
            session, user_id, actor=Principal.of_user(who).actor, new_password=password or None
        ),
        page=_user_page,
        error_field="password",
        done=done,
    )


@router.post(f"{HOME}/users/{{user_id}}/{{action}}")
def user_lock(
    request: Request,
    user_id: uuid.UUID,
    action: str,
    user: PageUser,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Lock or unlock an account, with the reason the audit entry keeps."""
    return change_status(
        request,
        user,
        session,
        csrf,
        subject_id=user_id,
        action=action,
        reason=reason,
        changes={
            "lock": (admin.lock_user, "user_locked"),
            "unlock": (admin.unlock_user, "user_unlocked"),
        },
        page=_user_page,
        error_field="lock",
        home=f"{HOME}/users",
    )
