"""Staff page for partner integrations: the institution's API keys and webhook subscriptions.

The same services as the REST endpoints (``/api/v1/api-keys``, ``/api/v1/webhooks``): keys in
:mod:`app.accounts.service`, subscriptions in :mod:`app.webhooks.service`. Plain forms, every
post carries the CSRF field. A new key or signing secret is shown once, on the page the post
renders (status 200, never cached, never in a cookie or a URL); every other success redirects
with a flash; a refusal re-renders the page with the reason in words.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.accounts.principal import SCOPES, Principal
from app.db import attempt
from app.errors import DomainError
from app.http.session import SessionDep
from app.web.i18n import gettext, lang_of, message_for
from app.web.render import not_staff, redirect, render, to_login
from app.web.session import PageUser, check_csrf
from app.webhooks import service as webhooks
from app.webhooks.exceptions import SubscriptionNotFound
from app.webhooks.models import DeliveryStatus

router = APIRouter(include_in_schema=False)

PAGE = "/staff/integrations"
#: Deliveries listed under each subscription (the service keeps more, the REST API shows them).
SHOWN_DELIVERIES = 5

#: What each API key scope allows, in words (the scopes themselves are app.accounts.principal's).
SCOPE_NAMES: dict[str, str] = {
    "learners:read": "查看本机构学员",
    "learners:write": "创建学员",
    "verify": "提交人脸照片进行核验",
    "attendance:read": "查看考勤记录",
    "courses:read": "查看课程和报名",
    "certificates:read": "查看证书",
    "audit:read": "导出本机构审计日志",
    "webhooks:manage": "管理 Webhook 订阅、轮换密钥、查看投递记录",
    "enrolments:write": "为学员报名班级（逐个或名册批量导入）",
}
#: What each webhook event announces, in words (the types are app.webhooks.service's).
EVENT_NAMES: dict[str, str] = {
    "attendance.verified": "记录了一次人脸核验（任何用途和结果）",
    "attendance.reviewed": "工作人员审核了待复核的人脸核验",
    "rollcall.missed": "随机点名超时未应答",
    "enrollment.completed": "学员完成课程要求",
    "certificate.issued": "颁发了证书",
    "certificate.revoked": "撤销了证书",
    "ping": "测试消息",
}
DELIVERY_NAMES: dict[str, str] = {
    DeliveryStatus.pending.value: "待发送",
    DeliveryStatus.delivered.value: "已送达",
    DeliveryStatus.failed.value: "发送失败",
    DeliveryStatus.cancelled.value: "已取消",
}
DISABLED_NAMES: dict[str, str] = {
    "manual": "手动停用",
    "failing": "连续 3 天发送失败，已自动停用",
    "gone": "对方返回 410，已自动停用",
}
NAME_REQUIRED = "请填写密钥名称。"


def _staff(request: Request, user: User | None) -> User | Response:
    if user is None:
        return to_login(request)
    if user.role is not Role.staff or user.institution_id is None:
        return not_staff(request, user)
    return user


def _staff_post(request: Request, user: User | None, csrf: str) -> User | Response:
    check_csrf(request, csrf)
    return _staff(request, user)


def _page(
    request: Request,
    staff: User,
    session: Session,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    shown: dict[str, str] | None = None,
) -> Response:
    """The page: keys, subscriptions with their latest deliveries; perhaps a secret shown once
    (``shown``) or a refusal in words next to the form it concerns (``errors``)."""
    principal = Principal.of_user(staff)
    keys = accounts.list_api_keys(session, webhooks.manager_institution(principal))
    subs = [
        (s, webhooks.recent_deliveries(session, s, limit=SHOWN_DELIVERIES))
        for s in webhooks.list_for(session, principal)
    ]
    return render(
        request,
        "staff_integrations.html",
        staff,
        status=status,
        keys=keys,
        subs=subs,
        scopes=list(SCOPES),
        event_types=list(webhooks.EVENT_TYPES),
        scope_names=SCOPE_NAMES,
        event_names=EVENT_NAMES,
        delivery_names=DELIVERY_NAMES,
        disabled_names=DISABLED_NAMES,
        errors=errors or {},
        values=values or {},
        shown=shown,
    )


def _refused(
    request: Request,
    staff: User,
    session: Session,
    err: DomainError,
    where: str,
    values: dict[str, Any] | None = None,
) -> Response:
    return _page(
        request,
        staff,
        session,
        status=err.status,
        errors={where: message_for(err, lang_of(request))},
        values=values,
    )


@router.get(PAGE)
def integrations_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    staff = _staff(request, user)
    if isinstance(staff, Response):
        return staff
    return _page(request, staff, session)


# ---------------------------------------------------------------- API keys


@router.post(f"{PAGE}/keys")
def create_key(
    request: Request,
    user: PageUser,
    session: SessionDep,
    name: Annotated[str, Form(max_length=100)] = "",
    scopes: Annotated[list[str], Form(max_length=20)] = [],  # noqa: B006 (FastAPI copies it)
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    staff = _staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    values = {"name": name, "scopes": scopes}
    if not name.strip():
        t = gettext(lang_of(request))
        return _page(
            request, staff, session, status=422, errors={"key": t(NAME_REQUIRED)}, values=values
        )
    principal = Principal.of_user(staff)
    try:
        with attempt(session):
            key, full = accounts.create_api_key(
                session,
                institution_id=webhooks.manager_institution(principal),
                name=name,
                scopes=scopes,
                actor=principal.actor,
            )
    except DomainError as err:
        return _refused(request, staff, session, err, "key", values)
    return _page(request, staff, session, shown={"kind": "key", "name": key.name, "value": full})


@router.post(f"{PAGE}/keys/{{key_id}}/revoke")
def revoke_key(
    request: Request,
    key_id: uuid.UUID,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    staff = _staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    try:
        with attempt(session):
            accounts.revoke_api_key(session, key_id=key_id, principal=Principal.of_user(staff))
    except DomainError as err:
        return _refused(request, staff, session, err, "keys")
    return redirect(request, f"{PAGE}#keys", "api_key_revoked")


# ---------------------------------------------------------------- webhooks


@router.post(f"{PAGE}/webhooks")
def create_webhook(
    request: Request,
    user: PageUser,
    session: SessionDep,
    url: Annotated[str, Form(max_length=2048)] = "",
    events: Annotated[list[str], Form(max_length=20)] = [],  # noqa: B006 (FastAPI copies it)
    description: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    staff = _staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    values = {"url": url, "events": events, "description": description}
    try:
        with attempt(session):
            sub, secret = webhooks.create(
                session,
                Principal.of_user(staff),
                url=url.strip(),
                events=events,
                description=description,
            )
    except DomainError as err:
        return _refused(request, staff, session, err, "webhook", values)
    return _page(
        request, staff, session, shown={"kind": "webhook", "name": sub.url, "value": secret}
    )


WebhookAction = Literal["disable", "enable", "rotate", "test"]


@router.post(f"{PAGE}/webhooks/{{webhook_id}}/{{action}}")
def webhook_action(
    request: Request,
    webhook_id: uuid.UUID,
    action: WebhookAction,
    user: PageUser,
    session: SessionDep,
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Disable, enable, rotate the secret of (shown once) or send a test ping to a webhook."""
    staff = _staff_post(request, user, csrf)
    if isinstance(staff, Response):
        return staff
    principal = Principal.of_user(staff)
    try:
        with attempt(session):
            if action == "disable":
                webhooks.disable(session, principal, webhook_id)
            elif action == "enable":
                webhooks.enable(session, principal, webhook_id)
            elif action == "test":
                webhooks.send_test(session, principal, webhook_id)
            else:
                sub, secret = webhooks.rotate_secret(session, principal, webhook_id)
    except SubscriptionNotFound as err:  # not on the page: say it above the list
        return _refused(request, staff, session, err, "webhooks")
    except DomainError as err:
        return _refused(request, staff, session, err, f"webhook-{webhook_id}")
    if action == "rotate":
        shown = {"kind": "rotated", "name": sub.url, "value": secret}
        return _page(request, staff, session, shown=shown)
    return redirect(request, f"{PAGE}#webhook-{webhook_id}", f"webhook_{action}")
