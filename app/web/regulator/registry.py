"""The institution registry's pages: the regulator's list (within the jurisdiction, by status),
one institution's record with its history and the status actions, and the staff's own record.

A thin layer over :mod:`app.programmes.registry` — the same calls as ``/api/v1/registry/…``
and ``/api/v1/me/institution/registry`` (``listing``, ``approve``, ``suspend``, ``revoke``,
``own_record``, ``update_record``, ``history``), so the pages and the API answer alike. Plain
forms with the CSRF field; a success redirects with a flash, a refusal re-renders the page with
the reason in words next to the form it concerns.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.accounts.models import Institution, InstitutionKind, RegistryStatus, Role, User
from app.accounts.principal import Principal
from app.courses import catalogue
from app.db import attempt
from app.errors import DomainError, Forbidden
from app.http.session import SessionDep
from app.programmes import regions, registry
from app.programmes.jurisdiction import supervised_institution
from app.web import listing
from app.web.i18n import gettext, lang_of, message_for
from app.web.listing import ListSpec, Select
from app.web.regulator.standards import LEVEL_NAMES
from app.web.render import error_page, not_staff, redirect, render, to_login
from app.web.session import PageUser, check_csrf

router = APIRouter(include_in_schema=False)

PAGE = "/regulator/institutions"
STAFF_PAGE = "/staff/registry"

STATUS_NAMES: dict[str, str] = {
    RegistryStatus.pending.value: "待审核",
    RegistryStatus.approved.value: "已核准",
    RegistryStatus.suspended.value: "已暂停",
    RegistryStatus.revoked.value: "已撤销",
}
KIND_NAMES: dict[str, str] = {
    InstitutionKind.public.value: "公办培训机构",
    InstitutionKind.private.value: "民办培训机构",
    InstitutionKind.enterprise.value: "企业",
    InstitutionKind.technical_school.value: "技工院校",
}
ACTION_NAMES: dict[str, str] = {
    "institution.created": "创建机构",
    "institution.updated": "平台管理员修改名称或所在地区",
    "institution.suspended": "平台管理员暂停账号使用",
    "institution.reactivated": "平台管理员恢复账号使用",
    registry.MIGRATED: "系统迁移：按已有课程核准",
    registry.RECORD_UPDATED: "机构修改登记信息",
    "institution.registry.approved": "核准",
    "institution.registry.suspended": "暂停",
    "institution.registry.revoked": "撤销",
}
parse_scope = registry.parse_scope  # the approval form's scope, as the CLI reads it


def scope_text(items: list[tuple[str, str]]) -> str:
    return "\n".join(
        f"{code} {LEVEL_NAMES.get(level, level).split('/')[0]}" for code, level in items
    )


def _regulator(request: Request, user: User | None) -> Principal | Response:
    if user is None:
        return to_login(request)
    principal = Principal.of_user(user)
    if not principal.is_regulator or principal.jurisdiction is None:
        return error_page(request, user, Forbidden("The registry is read by regulators."))
    return principal


def _proposed_scope(session: Session, inst: Institution) -> list[tuple[str, str]]:
    """What the approval form starts with: the current scope, else the institution's courses'
    occupations and levels."""
    current = [(s.occupation_code, s.level) for s in registry.scope_of(inst)]
    return current or catalogue.occupations_taught(session, inst.id)


def _common(session: Session, inst: Institution) -> dict[str, Any]:
    history = registry.history(session, inst.id)
    return {
        "inst": inst,
        "region_name": regions.full_name(session, inst.region_code),
        "history": list(reversed(history)),
        "actor_names": registry.actor_names(session, history),
        "status_names": STATUS_NAMES,
        "kind_names": KIND_NAMES,
        "action_names": ACTION_NAMES,
        "level_names": LEVEL_NAMES,
    }


# ---------------------------------------------------------------- the regulator


@router.get(PAGE)
def institutions_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    """The registry within the regulator's jurisdiction: by status (the tabs), searched by
    code, name or credit code, paged — the query string checked by the lists' helper
    (app/web/listing.py: a bad value named beside the form, status 400)."""
    who = _regulator(request, user)
    if not isinstance(who, Principal):
        return who
    t = gettext(lang_of(request))
    spec = ListSpec(
        search=t("机构代码、名称或统一社会信用代码"),
        selects={"status": Select(t("登记状态"), {k: t(v) for k, v in STATUS_NAMES.items()})},
    )
    query, filter_errors = listing.read(request, spec, t)
    chosen = query.get("status")
    result = registry.listing_page(
        session,
        who,
        status=RegistryStatus(chosen) if chosen else None,
        q=query.q,
        page=query.page,
    )
    counts = {s.value: n for s, n in registry.status_counts(session, who).items()}
    jurisdiction = who.jurisdiction or regions.NATIONAL
    return render(
        request,
        "regulator_institutions.html",
        user,
        status=400 if filter_errors else 200,
        rows=result.items,
        result=result,
        query=query,
        spec=spec,
        filter_errors=filter_errors,
        page_link=lambda n: query.link(PAGE, page=n),
        total=sum(counts.values()),
        counts=counts,
        chosen=chosen,
        region_names={i.id: regions.full_name(session, i.region_code) for i in result.items},
        status_names=STATUS_NAMES,
        kind_names=KIND_NAMES,
        jurisdiction_name=regions.full_name(session, jurisdiction),
    )


def _detail(
    request: Request,
    user: User,
    session: Session,
    inst: Institution,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    principal = Principal.of_user(user)
    return render(
        request,
        "regulator_institution.html",
        user,
        status=status,
        may_decide=principal.role is Role.regulator,
        scope_value=(values or {}).get("approved_scope")
        or scope_text(_proposed_scope(session, inst)),
        errors=errors or {},
        values=values or {},
        **_common(session, inst),
    )


@router.get(PAGE + "/{institution_id}")
def institution_page(
    request: Request, institution_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    """One institution's record, approved scope and history, with the status actions."""
    who = _regulator(request, user)
    if not isinstance(who, Principal):
        return who
    assert user is not None  # noqa: S101 - _regulator answered otherwise
    try:
        inst = supervised_institution(session, who, institution_id)
    except DomainError as err:
        return error_page(request, user, err)
    return _detail(request, user, session, inst)


def _decide(
    request: Request,
    institution_id: uuid.UUID,
    user: User | None,
    session: Session,
    csrf: str,
    action: str,
    reason: str,
    approved_scope: str = "",
) -> Response:
    check_csrf(request, csrf)
    who = _regulator(request, user)
    if not isinstance(who, Principal):
        return who
    assert user is not None  # noqa: S101
    try:
        with attempt(session):
            if action == "approve":
                registry.approve(
                    session, who, institution_id, scope=parse_scope(approved_scope), reason=reason
                )
            elif action == "suspend":
                registry.suspend(session, who, institution_id, reason=reason)
            else:
                registry.revoke(session, who, institution_id, reason=reason)
    except DomainError as err:
        try:
            inst = supervised_institution(session, who, institution_id)
        except DomainError:
            return error_page(request, user, err)
        return _detail(
            request,
            user,
            session,
            inst,
            status=err.status,
            errors={action: message_for(err, lang_of(request))},
            values={"approved_scope": approved_scope, f"{action}_reason": reason},
        )
    flash = {"approve": "approved", "suspend": "suspended", "revoke": "revoked"}[action]
    return redirect(request, f"{PAGE}/{institution_id}", f"registry_{flash}")


@router.post(PAGE + "/{institution_id}/approve")
def approve(
    request: Request,
    institution_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    approved_scope: Annotated[str, Form(max_length=8000)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """核准 for the scope typed one per line: ``registry.approve``, as the API."""
    return _decide(request, institution_id, user, session, csrf, "approve", reason, approved_scope)


@router.post(PAGE + "/{institution_id}/suspend")
def suspend(
    request: Request,
    institution_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """暂停: ``registry.suspend``, as the API."""
    return _decide(request, institution_id, user, session, csrf, "suspend", reason)


@router.post(PAGE + "/{institution_id}/revoke")
def revoke(
    request: Request,
    institution_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """撤销: ``registry.revoke``, as the API."""
    return _decide(request, institution_id, user, session, csrf, "revoke", reason)


# ---------------------------------------------------------------- the staff's own record


def _staff_page(
    request: Request,
    user: User,
    session: Session,
    *,
    status: int = 200,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    inst = registry.own_record(session, Principal.of_user(user))
    pending = inst.registry_status is RegistryStatus.pending
    editable = {
        name: pending or getattr(inst, name) is None
        for name in ("credit_code", "legal_name", "kind")
    }
    return render(
        request,
        "staff_registry.html",
        user,
        status=status,
        editable=editable,
        error=error,
        values=values or {},
        **_common(session, inst),
    )


@router.get(STAFF_PAGE)
def staff_registry_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    """The institution's own registry record, status, approved scope and history."""
    if user is None:
        return to_login(request)
    if user.role is not Role.staff or user.institution_id is None:
        return not_staff(request, user)
    return _staff_page(request, user, session)


@router.post(STAFF_PAGE)
def staff_registry_edit(
    request: Request,
    user: PageUser,
    session: SessionDep,
    credit_code: Annotated[str | None, Form(max_length=40)] = None,
    legal_name: Annotated[str | None, Form(max_length=200)] = None,
    kind: Annotated[str | None, Form(max_length=32)] = None,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Edit the record: ``registry.update_record``, as ``PATCH /api/v1/me/institution/registry``
    (only the fields the form shows are sent)."""
    check_csrf(request, csrf)
    if user is None:
        return to_login(request)
    if user.role is not Role.staff or user.institution_id is None:
        return not_staff(request, user)
    fields = {
        k: v
        for k, v in (("credit_code", credit_code), ("legal_name", legal_name), ("kind", kind))
        if v is not None
    }
    try:
        with attempt(session):
            registry.update_record(session, Principal.of_user(user), **fields)
    except DomainError as err:
        return _staff_page(
            request,
            user,
            session,
            status=err.status,
            error=message_for(err, lang_of(request)),
            values={k: v or "" for k, v in fields.items()},
        )
    return redirect(request, STAFF_PAGE, "registry_updated")
