"""What the admin pages share: access, texts, paging and the audit entries in words."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session

from app.accounts import administration as admin
from app.accounts.models import Role, User
from app.accounts.principal import Principal
from app.accounts.repository import users_by_id
from app.audit.models import AuditEntry
from app.audit.service import Actor
from app.errors import DomainError
from app.web.i18n import gettext, lang_of, message_for
from app.web.render import FLASHES, act, redirect, render, to_login
from app.web.session import check_csrf

HOME = "/admin"
AUDIT_PAGE_SIZE = 50
T = TypeVar("T")
RECENT = 10  # audit entries shown on an institution's or an account's page

FLASHES.update(
    {
        "inst_created": "培训机构已创建。可以为它添加工作人员账号。",
        "inst_saved": "机构名称已保存。",
        "inst_suspended": "该机构已暂停：其工作人员已被退出登录且无法再登录，API 密钥已停止使用。",
        "inst_reactivated": "该机构已恢复：工作人员可以重新登录，未撤销的 API 密钥恢复可用。",
        "user_locked": "账号已锁定，该用户已被退出登录。",
        "user_unlocked": "账号已解锁，该用户可以重新登录。",
        "password_set": (
            "临时密码已设置，该用户的登录状态已失效。请把它告知本人：本人登录后须设置自己的新密码。"
        ),
    }
)

ROLE_NAMES = {
    Role.learner: "学员",
    Role.staff: "机构工作人员",
    Role.regulator: "监管人员",
    Role.admin: "平台管理员",
}
#: Accounts the console creates (learners register themselves or come from a partner's system;
#: admins are made with the CLI).
CREATABLE = (Role.staff, Role.regulator)
INST_STATUS = {"active": "正常", "suspended": "已暂停"}
USER_STATUS = {"active": "正常", "locked": "已锁定"}

#: Audit actions in words; others are shown by their code.
ACTION_NAMES = {
    "institution.created": "创建机构",
    "institution.updated": "修改机构",
    "institution.suspended": "暂停机构",
    "institution.reactivated": "恢复机构",
    "user.created": "创建账号",
    "user.locked": "锁定账号",
    "user.unlocked": "解锁账号",
    "user.password_reset": "重置密码",
    "learner.registered": "学员注册",
    "auth.login": "登录",
    "auth.login_failed": "登录失败",
    "auth.login_locked": "登录失败次数过多",
    "auth.login_refused": "拒绝登录",
    "api_key.created": "创建 API 密钥",
    "api_key.revoked": "撤销 API 密钥",
    "consent.granted": "同意人脸信息处理",
    "consent.withdrawn": "撤回同意",
    "course.created": "创建课程",
    "course.published": "发布课程",
    "enrollment.created": "报名",
    "enrollment.class_changed": "转班",
    "certificate.issued": "颁发证书",
    "certificate.revoked": "撤销证书",
}

TEXTS = {
    "not_admin": "此页面仅供平台管理员使用。",
    "code_name_required": "请填写机构代码、名称和所在地区。",
    "national": "全国（全部地区）",
    "pick_jurisdiction": "监管人员必须填写管辖区域（行政区划代码，全国为 000000）。",
    "name_required": "请填写机构名称。",
    "reason_required": "请填写原因：它会记入审计日志。",
    "bad_role": "请选择账号类型：机构工作人员或监管人员。",
    "pick_institution": "机构工作人员账号需要选择所属机构。",
    "username_required": "请填写用户名。",
    "platform_chain": "平台（机构之外的操作）",
    "system": "系统（命令行或后台任务）",
    "anonymous": "匿名",
    "api_key": "API 密钥",
    "in_process": "在请求线程中分析（未启用进程池）",
    "pool": "进程池",
}


def texts_for(request: Request) -> Callable[[str], str]:
    return gettext(lang_of(request))


def require_admin(request: Request, user: User | None) -> User | Response:
    """The signed-in admin, or the page to answer with (sign in, or a refusal in words)."""
    if user is None:
        return to_login(request)
    try:
        admin.require_admin(Principal.of_user(user))
    except DomainError:
        return render(
            request, "error.html", user, status=403, message=texts_for(request)(TEXTS["not_admin"])
        )
    return user


def require_admin_post(request: Request, user: User | None, csrf: str) -> User | Response:
    check_csrf(request, csrf)
    return require_admin(request, user)


def admin_page(request: Request, name: str, user: User, status: int = 200, **ctx: Any) -> Response:
    t = texts_for(request)
    return render(
        request,
        name,
        user,
        status=status,
        role_names={r.value: t(n) for r, n in ROLE_NAMES.items()},
        inst_status=INST_STATUS,
        user_status=USER_STATUS,
        **ctx,
    )


def page_number(value: str, default: int = 1) -> int:
    try:
        return max(int(value), 1)
    except ValueError:
        return default


def parse_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def page_query(base: str, **params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in ("", None, 1)}
    return base + ("?" + urlencode(kept) if kept else "")


# ---------------------------------------------------------------- status changes


class StatusChange(Protocol):
    """A service call that suspends/reactivates an institution or locks/unlocks an account."""

    def __call__(
        self, session: Session, subject_id: uuid.UUID, /, *, reason: str, actor: Actor
    ) -> object: ...


class SubjectPage(Protocol):
    """An institution's or an account's page, shown again with the refusal in words."""

    def __call__(
        self,
        request: Request,
        who: User,
        session: Session,
        subject_id: uuid.UUID,
        /,
        *,
        status: int = ...,
        errors: dict[str, str] | None = ...,
        values: dict[str, str] | None = ...,
    ) -> Response: ...


def change_status(
    request: Request,
    user: User | None,
    session: Session,
    csrf: str,
    *,
    subject_id: uuid.UUID,
    action: str,
    reason: str,
    changes: dict[str, tuple[StatusChange, str]],
    page: SubjectPage,
    error_field: str,
    home: str,
) -> Response:
    """An admin's status change with the reason the audit entry keeps: ``changes`` maps the
    URL's action to the service call and the flash that confirms it (an unknown action is 404);
    a refusal shows ``page`` again with the message under ``error_field``."""
    who = require_admin_post(request, user, csrf)
    if isinstance(who, Response):
        return who
    if action not in changes:
        return Response(status_code=404)
    change, flash = changes[action]
    return on_subject(
        request,
        who,
        session,
        subject_id,
        lambda: change(session, subject_id, reason=reason, actor=Principal.of_user(who).actor),
        page=page,
        error_field=error_field,
        values={"reason": reason},
        done=lambda _: redirect(request, f"{home}/{subject_id}", flash),
    )


def on_subject(
    request: Request,
    who: User,
    session: Session,
    subject_id: uuid.UUID,
    change: Callable[[], T],
    *,
    page: SubjectPage,
    error_field: str,
    values: dict[str, str] | None = None,
    done: Callable[[T], Response],
) -> Response:
    """A form on an institution's or an account's page: ``change`` in a savepoint; a refusal
    shows ``page`` again with the message under ``error_field`` and what was typed (``values``);
    else ``done``."""
    lang = lang_of(request)
    return act(
        request,
        session,
        who,
        change,
        refused=lambda err: page(
            request,
            who,
            session,
            subject_id,
            status=err.status,
            errors={error_field: message_for(err, lang)},
            values=values,
        ),
        done=done,
    )


# ---------------------------------------------------------------- audit entries in words


def actor_names(
    session: Session, entries: list[AuditEntry], t: Callable[[str], str]
) -> dict[str, str]:
    """``user:<id>`` → the username, for every actor of these entries (one query)."""
    ids = {
        u
        for e in entries
        if e.actor.startswith("user:") and (u := parse_uuid(e.actor.removeprefix("user:")))
    }
    names = {f"user:{u.id}": u.username for u in users_by_id(session, ids).values()}
    out: dict[str, str] = {}
    for e in entries:
        kind = e.actor.split(":", 1)[0]
        if e.actor in names:
            out[e.actor] = names[e.actor]
        elif kind == "system":
            out[e.actor] = t(TEXTS["system"])
        elif kind in ("anonymous", "api_key"):
            out[e.actor] = t(TEXTS[kind])
        else:
            out[e.actor] = e.actor
    return out


def entries_view(
    session: Session, entries: list[AuditEntry], t: Callable[[str], str]
) -> list[dict[str, Any]]:
    actors = actor_names(session, entries, t)
    rows = []
    for e in entries:
        payload = json.loads(e.payload)
        rows.append(
            {
                "seq": e.seq,
                "chain": e.chain,
                "time": e.time,
                "actor": actors.get(e.actor, e.actor),
                "action": t(ACTION_NAMES[e.action]) if e.action in ACTION_NAMES else e.action,
                "code": e.action,
                "subject": e.subject,
                "subject_short": short_subject(e.subject),
                "subject_link": subject_link(e.subject),
                "payload": json.dumps(payload, ensure_ascii=False) if payload else "",
                "hash": e.hash,
            }
        )
    return rows


def short_subject(subject: str) -> str:
    """``user:2f080858-…`` → ``user:2f080858…`` (the full text stays in the title)."""
    kind, _, ident = subject.partition(":")
    return f"{kind}:{ident[:8]}…" if parse_uuid(ident) else subject


def subject_link(subject: str) -> str | None:
    kind, _, ident = subject.partition(":")
    if parse_uuid(ident) is None:
        return None
    if kind == "user":
        return f"{HOME}/users/{ident}"
    if kind == "institution":
        return f"{HOME}/institutions/{ident}"
    return None


def chain_links(chain_inst: uuid.UUID | None) -> dict[str, str]:
    q = {"institution_id": str(chain_inst)} if chain_inst else {}
    return {
        "ndjson": "/regulator/audit/export?" + urlencode({**q, "format": "ndjson"}),
        "csv": "/regulator/audit/export?" + urlencode({**q, "format": "csv"}),
        "checkpoint": "/regulator/audit/checkpoint" + ("?" + urlencode(q) if q else ""),
        "jwks": "/.well-known/jwks.json",
    }
