"""Institutions: listed with search and paging, created, renamed, suspended and reactivated."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.accounts import administration as admin
from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.audit import service as audit
from app.errors import DomainError
from app.http.session import SessionDep
from app.programmes import regions
from app.web import listing
from app.web.admin.common import (
    HOME,
    INST_STATUS,
    RECENT,
    TEXTS,
    admin_page,
    chain_links,
    change_status,
    entries_view,
    on_subject,
    require_admin,
    require_admin_post,
    texts_for,
)
from app.web.i18n import lang_of, message_for
from app.web.listing import ListSpec, Select
from app.web.regulator.registry import KIND_NAMES
from app.web.render import act, error_page, redirect
from app.web.session import PageUser

router = APIRouter(include_in_schema=False)


# ---------------------------------------------------------------- institutions


def _institutions_page(
    request: Request,
    who: User,
    session: Session,
    *,
    http_status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    """The institutions, searched by code or name, filtered by status, paged: the query string
    checked by the lists' helper (app/web/listing.py; a bad value named, status 400)."""
    t = texts_for(request)
    spec = ListSpec(
        search=t("机构代码或名称"),
        selects={"status": Select(t("状态"), {k: t(v) for k, v in INST_STATUS.items()})},
    )
    query, filter_errors = listing.read(request, spec, t)
    st = query.get("status")
    result = admin.list_institutions(
        session,
        q=query.q,
        status="active" if st == "active" else "suspended" if st else None,
        page=query.page,
    )
    counts = admin.institution_counts(session, [i.id for i in result.items])
    base = f"{HOME}/institutions"
    return admin_page(
        request,
        "admin_institutions.html",
        who,
        status=400 if filter_errors and http_status == 200 else http_status,
        result=result,
        counts=counts,
        query=query,
        spec=spec,
        filter_errors=filter_errors,
        action=base,
        page_link=lambda n: query.link(base, page=n),
        errors=errors or {},
        values=values or {},
        regions=regions.labelled(session, places_only=True),
        kind_names=KIND_NAMES,
    )


@router.get(f"{HOME}/institutions")
def institutions_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    who = require_admin(request, user)
    if isinstance(who, Response):
        return who
    return _institutions_page(request, who, session)


@router.post(f"{HOME}/institutions")
def create_institution(
    request: Request,
    user: PageUser,
    session: SessionDep,
    code: Annotated[str, Form(max_length=32)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    region_code: Annotated[str, Form(max_length=12)] = "",
    credit_code: Annotated[str, Form(max_length=40)] = "",
    legal_name: Annotated[str, Form(max_length=400)] = "",
    kind: Annotated[str, Form(max_length=32)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """A new institution, pending until the regulator of its region approves it; its registry
    record (credit code, legal name, kind) may be given now or filled in by its staff, as
    ``skilltrace create-institution`` and the staff's /staff/registry do."""
    who = require_admin_post(request, user, csrf)
    if isinstance(who, Response):
        return who
    values = {
        "code": code,
        "name": name,
        "region_code": region_code,
        "credit_code": credit_code,
        "legal_name": legal_name,
        "kind": kind,
    }
    if not code.strip() or not name.strip() or not region_code.strip():
        return _institutions_page(
            request,
            who,
            session,
            http_status=422,
            errors={"create": texts_for(request)(TEXTS["code_name_required"])},
            values=values,
        )
    lang = lang_of(request)
    return act(
        request,
        session,
        who,
        lambda: accounts.create_institution(
            session,
            code=code,
            name=name,
            region_code=region_code,
            credit_code=credit_code or None,
            legal_name=legal_name or None,
            kind=kind or None,
            actor=Principal.of_user(who).actor,
        ),
        refused=lambda err: _institutions_page(
            request,
            who,
            session,
            http_status=err.status,
            errors={"create": message_for(err, lang)},
            values=values,
        ),
        done=lambda inst: redirect(request, f"{HOME}/institutions/{inst.id}", "inst_created"),
    )


def _institution_page(
    request: Request,
    who: User,
    session: Session,
    institution_id: uuid.UUID,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    try:
        inst = accounts.get_institution(session, institution_id)
    except DomainError as err:
        return error_page(request, who, err)
    t = texts_for(request)
    staff = admin.list_users(session, role=Role.staff, institution_id=inst.id, per_page=100)
    entries = audit.recent_entries(session, chain=audit.chain_for(inst.id), limit=RECENT)
    return admin_page(
        request,
        "admin_institution.html",
        who,
        status=status,
        inst=inst,
        counts=admin.institution_counts(session, [inst.id])[inst.id],
        staff=staff,
        entries=entries_view(session, entries, t),
        links=chain_links(inst.id),
        errors=errors or {},
        values=values or {},
        regions=regions.labelled(session, places_only=True),
        region_name=regions.full_name(session, inst.region_code),
    )


@router.get(f"{HOME}/institutions/{{institution_id}}")
def institution_page(
    request: Request, institution_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    who = require_admin(request, user)
    if isinstance(who, Response):
        return who
    return _institution_page(request, who, session, institution_id)


@router.post(f"{HOME}/institutions/{{institution_id}}")
def edit_institution(
    request: Request,
    institution_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    name: Annotated[str, Form(max_length=200)] = "",
    region_code: Annotated[str, Form(max_length=12)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    who = require_admin_post(request, user, csrf)
    if isinstance(who, Response):
        return who
    values = {"name": name, "region_code": region_code}
    if not name.strip():
        errors = {"edit": texts_for(request)(TEXTS["name_required"])}
        return _institution_page(
            request, who, session, institution_id, status=422, errors=errors, values=values
        )
    return on_subject(
        request,
        who,
        session,
        institution_id,
        lambda: admin.update_institution(
            session,
            institution_id,
            name=name,
            region_code=region_code.strip() or None,
            actor=Principal.of_user(who).actor,
        ),
        page=_institution_page,
        error_field="edit",
        values=values,
        done=lambda _: redirect(request, f"{HOME}/institutions/{institution_id}", "inst_saved"),
    )


@router.post(f"{HOME}/institutions/{{institution_id}}/{{action}}")
def institution_status(
    request: Request,
    institution_id: uuid.UUID,
    action: str,
    user: PageUser,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Suspend or reactivate, with the reason the audit entry keeps."""
    return change_status(
        request,
        user,
        session,
        csrf,
        subject_id=institution_id,
        action=action,
        reason=reason,
        changes={
            "suspend": (admin.suspend_institution, "inst_suspended"),
            "reactivate": (admin.reactivate_institution, "inst_reactivated"),
        },
        page=_institution_page,
        error_field="status",
        home=f"{HOME}/institutions",
    )
