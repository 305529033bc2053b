"""The admin console (``/admin``, platform admins only): system status, institutions (create,
rename, suspend, reactivate), accounts (create staff and regulator accounts, lock, unlock, reset a
password) and the audit chains.

The same services as the CLI: :mod:`app.accounts.service` (create) and
:mod:`app.accounts.administration` (the rest), :mod:`app.status` for the status page,
:mod:`app.audit.service` for the entries; downloads link to the export, checkpoint and JWKS
routes that already exist. Plain forms, each post carries the CSRF field; a password is shown
once, on the page the post renders (status 200, never cached, never in a cookie or a URL); other
successes redirect with a flash; a refusal re-renders the page with the reason in words.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.accounts import administration as admin
from app.accounts import service as accounts
from app.accounts.models import Institution, Role, User
from app.accounts.principal import Principal
from app.accounts.repository import users_by_id
from app.audit import service as audit
from app.audit.models import AuditEntry
from app.db import attempt
from app.errors import DomainError
from app.http.session import SessionDep
from app.status import system_status
from app.web.i18n import gettext, lang_of, message_for
from app.web.render import FLASHES, GROUP_NAMES, error_page, redirect, render, to_login
from app.web.session import PageUser, check_csrf

router = APIRouter(include_in_schema=False)

HOME = "/admin"
AUDIT_PAGE_SIZE = 50
RECENT = 10  # audit entries shown on an institution's or an account's page

FLASHES.update(
    {
        "inst_created": "培训机构已创建。可以为它添加工作人员账号。",
        "inst_saved": "机构名称已保存。",
        "inst_suspended": "该机构已暂停：其工作人员已被退出登录且无法再登录，API 密钥已停止使用。",
        "inst_reactivated": "该机构已恢复：工作人员可以重新登录，未撤销的 API 密钥恢复可用。",
        "user_locked": "账号已锁定，该用户已被退出登录。",
        "user_unlocked": "账号已解锁，该用户可以重新登录。",
        "password_set": "新密码已设置，该用户的登录状态已失效，请把新密码告知本人。",
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
    "certificate.issued": "颁发证书",
    "certificate.revoked": "撤销证书",
}

TEXTS = {
    "not_admin": "此页面仅供平台管理员使用。",
    "code_name_required": "请填写机构代码和名称。",
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


def _t(request: Request) -> Callable[[str], str]:
    return gettext(lang_of(request))


def _admin(request: Request, user: User | None) -> User | Response:
    """The signed-in admin, or the page to answer with (sign in, or a refusal in words)."""
    if user is None:
        return to_login(request)
    try:
        admin.require_admin(Principal.of_user(user))
    except DomainError:
        return render(
            request, "error.html", user, status=403, message=_t(request)(TEXTS["not_admin"])
        )
    return user


def _admin_post(request: Request, user: User | None, csrf: str) -> User | Response:
    check_csrf(request, csrf)
    return _admin(request, user)


def _page(request: Request, name: str, user: User, status: int = 200, **ctx: Any) -> Response:
    t = _t(request)
    return render(
        request,
        name,
        user,
        status=status,
        wide=True,
        role_names={r.value: t(n) for r, n in ROLE_NAMES.items()},
        inst_status=INST_STATUS,
        user_status=USER_STATUS,
        **ctx,
    )


def _int(value: str, default: int = 1) -> int:
    try:
        return max(int(value), 1)
    except ValueError:
        return default


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None


def _query(base: str, **params: Any) -> str:
    kept = {k: v for k, v in params.items() if v not in ("", None, 1)}
    return base + ("?" + urlencode(kept) if kept else "")


# ---------------------------------------------------------------- audit entries in words


def _actor_names(
    session: Session, entries: list[AuditEntry], t: Callable[[str], str]
) -> dict[str, str]:
    """``user:<id>`` → the username, for every actor of these entries (one query)."""
    ids = {
        u
        for e in entries
        if e.actor.startswith("user:") and (u := _uuid(e.actor.removeprefix("user:")))
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


def _entries_view(
    session: Session, entries: list[AuditEntry], t: Callable[[str], str]
) -> list[dict[str, Any]]:
    actors = _actor_names(session, entries, t)
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
                "subject_short": _short(e.subject),
                "subject_link": _subject_link(e.subject),
                "payload": json.dumps(payload, ensure_ascii=False) if payload else "",
                "hash": e.hash,
            }
        )
    return rows


def _short(subject: str) -> str:
    """``user:2f080858-…`` → ``user:2f080858…`` (the full text stays in the title)."""
    kind, _, ident = subject.partition(":")
    return f"{kind}:{ident[:8]}…" if _uuid(ident) else subject


def _subject_link(subject: str) -> str | None:
    kind, _, ident = subject.partition(":")
    if _uuid(ident) is None:
        return None
    if kind == "user":
        return f"{HOME}/users/{ident}"
    if kind == "institution":
        return f"{HOME}/institutions/{ident}"
    return None


def _chain_links(chain_inst: uuid.UUID | None) -> dict[str, str]:
    q = {"institution_id": str(chain_inst)} if chain_inst else {}
    return {
        "ndjson": "/regulator/audit/export?" + urlencode({**q, "format": "ndjson"}),
        "csv": "/regulator/audit/export?" + urlencode({**q, "format": "csv"}),
        "checkpoint": "/regulator/audit/checkpoint" + ("?" + urlencode(q) if q else ""),
        "jwks": "/.well-known/jwks.json",
    }


# ---------------------------------------------------------------- status


@router.get(HOME)
def status_page(request: Request, user: PageUser, session: SessionDep) -> Response:
    """System status: version, database and migration, face engine, queues, totals."""
    who = _admin(request, user)
    if isinstance(who, Response):
        return who
    return _page(request, "admin_status.html", who, s=system_status(session))


# ---------------------------------------------------------------- institutions


def _institutions_page(
    request: Request,
    who: User,
    session: Session,
    *,
    q: str = "",
    status: str = "",
    page: int = 1,
    http_status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    st = status if status in INST_STATUS else ""
    result = admin.list_institutions(
        session,
        q=q,
        status=st or None,  # type: ignore[arg-type]  # checked against INST_STATUS
        page=page,
    )
    counts = admin.institution_counts(session, [i.id for i in result.items])
    return _page(
        request,
        "admin_institutions.html",
        who,
        status=http_status,
        result=result,
        counts=counts,
        form={"q": q, "status": st},
        page_link=lambda n: _query(f"{HOME}/institutions", q=q, status=st, page=n),
        errors=errors or {},
        values=values or {},
    )


@router.get(f"{HOME}/institutions")
def institutions_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    q: str = "",
    status: str = "",
    page: str = "1",
) -> Response:
    who = _admin(request, user)
    if isinstance(who, Response):
        return who
    return _institutions_page(request, who, session, q=q[:100], status=status, page=_int(page))


@router.post(f"{HOME}/institutions")
def create_institution(
    request: Request,
    user: PageUser,
    session: SessionDep,
    code: Annotated[str, Form(max_length=32)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    who = _admin_post(request, user, csrf)
    if isinstance(who, Response):
        return who
    values = {"code": code, "name": name}
    if not code.strip() or not name.strip():
        return _institutions_page(
            request,
            who,
            session,
            http_status=422,
            errors={"create": _t(request)(TEXTS["code_name_required"])},
            values=values,
        )
    try:
        with attempt(session):
            inst = accounts.create_institution(
                session, code=code, name=name, actor=Principal.of_user(who).actor
            )
    except DomainError as err:
        return _institutions_page(
            request,
            who,
            session,
            http_status=err.status,
            errors={"create": message_for(err, lang_of(request))},
            values=values,
        )
    return redirect(request, f"{HOME}/institutions/{inst.id}", "inst_created")


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
    t = _t(request)
    staff = admin.list_users(session, role=Role.staff, institution_id=inst.id, per_page=100)
    entries = audit.recent_entries(session, chain=audit.chain_for(inst.id), limit=RECENT)
    return _page(
        request,
        "admin_institution.html",
        who,
        status=status,
        inst=inst,
        counts=admin.institution_counts(session, [inst.id])[inst.id],
        staff=staff,
        entries=_entries_view(session, entries, t),
        links=_chain_links(inst.id),
        errors=errors or {},
        values=values or {},
    )


@router.get(f"{HOME}/institutions/{{institution_id}}")
def institution_page(
    request: Request, institution_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    who = _admin(request, user)
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
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    who = _admin_post(request, user, csrf)
    if isinstance(who, Response):
        return who
    if not name.strip():
        errors = {"edit": _t(request)(TEXTS["name_required"])}
        return _institution_page(
            request, who, session, institution_id, status=422, errors=errors, values={"name": name}
        )
    try:
        with attempt(session):
            admin.update_institution(
                session, institution_id, name=name, actor=Principal.of_user(who).actor
            )
    except DomainError as err:
        errors = {"edit": message_for(err, lang_of(request))}
        return _institution_page(
            request,
            who,
            session,
            institution_id,
            status=err.status,
            errors=errors,
            values={"name": name},
        )
    return redirect(request, f"{HOME}/institutions/{institution_id}", "inst_saved")


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
    who = _admin_post(request, user, csrf)
    if isinstance(who, Response):
        return who
    if action not in ("suspend", "reactivate"):
        return Response(status_code=404)
    change = admin.suspend_institution if action == "suspend" else admin.reactivate_institution
    try:
        with attempt(session):
            change(session, institution_id, reason=reason, actor=Principal.of_user(who).actor)
    except DomainError as err:
        return _institution_page(
            request,
            who,
            session,
            institution_id,
            status=err.status,
            errors={"status": message_for(err, lang_of(request))},
            values={"reason": reason},
        )
    flash = "inst_suspended" if action == "suspend" else "inst_reactivated"
    return redirect(request, f"{HOME}/institutions/{institution_id}", flash)


# ---------------------------------------------------------------- accounts


def _users_page(
    request: Request,
    who: User,
    session: Session,
    *,
    q: str = "",
    role: str = "",
    institution_id: str = "",
    status: str = "",
    page: int = 1,
    http_status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    shown: dict[str, str] | None = None,
) -> Response:
    r = Role(role) if role in Role.__members__ else None
    inst = _uuid(institution_id)
    st = status if status in USER_STATUS else ""
    result = admin.list_users(
        session,
        q=q,
        role=r,
        institution_id=inst,
        status=st or None,  # type: ignore[arg-type]  # checked against USER_STATUS
        page=page,
    )
    institutions = admin.all_institutions(session)
    form = {
        "q": q,
        "role": r.value if r else "",
        "institution_id": str(inst) if inst else "",
        "status": st,
    }
    return _page(
        request,
        "admin_users.html",
        who,
        status=http_status,
        result=result,
        form=form,
        institutions=institutions,
        inst_by_id={i.id: i for i in institutions},
        creatable=[r.value for r in CREATABLE],
        group_names=GROUP_NAMES,
        page_link=lambda n: _query(f"{HOME}/users", **form, page=n),
        errors=errors or {},
        values=values or {},
        shown=shown,
    )


@router.get(f"{HOME}/users")
def users_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    q: str = "",
    role: str = "",
    institution_id: str = "",
    status: str = "",
    page: str = "1",
) -> Response:
    who = _admin(request, user)
    if isinstance(who, Response):
        return who
    return _users_page(
        request,
        who,
        session,
        q=q[:100],
        role=role,
        institution_id=institution_id,
        status=status,
        page=_int(page),
    )


@router.post(f"{HOME}/users")
def create_user(
    request: Request,
    user: PageUser,
    session: SessionDep,
    role: Annotated[str, Form(max_length=16)] = "",
    username: Annotated[str, Form(max_length=64)] = "",
    real_name: Annotated[str, Form(max_length=64)] = "",
    institution_id: Annotated[str, Form(max_length=36)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """Create a staff or regulator account; with no password given one is generated and shown
    once."""
    who = _admin_post(request, user, csrf)
    if isinstance(who, Response):
        return who
    t = _t(request)
    values = {
        "role": role,
        "username": username,
        "real_name": real_name,
        "institution_id": institution_id,
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
    inst = _uuid(institution_id) if r is Role.staff else None
    if r is Role.staff and inst is None:
        return refused(t(TEXTS["pick_institution"]))
    generated = None if password else admin.generate_password()
    try:
        with attempt(session):
            if inst is not None:
                accounts.get_institution(session, inst)
            created = accounts.create_user(
                session,
                role=r,
                username=username,
                password=password or str(generated),
                institution_id=inst,
                real_name=real_name.strip() or None,
                actor=Principal.of_user(who).actor,
            )
    except DomainError as err:
        return refused(message_for(err, lang_of(request)), err.status)
    shown = {"user_id": str(created.id), "username": created.username}
    if generated:
        shown["password"] = generated
    return _users_page(request, who, session, shown=shown)


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
    return _page(
        request,
        "admin_user.html",
        who,
        status=status,
        target=target,
        inst=inst,
        is_self=target.id == who.id,
        group_names=GROUP_NAMES,
        entries=_entries_view(session, entries, _t(request)),
        errors=errors or {},
        values=values or {},
        shown=shown,
    )


@router.get(f"{HOME}/users/{{user_id}}")
def user_page(
    request: Request, user_id: uuid.UUID, user: PageUser, session: SessionDep
) -> Response:
    who = _admin(request, user)
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
    who = _admin_post(request, user, csrf)
    if isinstance(who, Response):
        return who
    try:
        with attempt(session):
            _target, generated = admin.reset_password(
                session, user_id, actor=Principal.of_user(who).actor, new_password=password or None
            )
    except DomainError as err:
        return _user_page(
            request,
            who,
            session,
            user_id,
            status=err.status,
            errors={"password": message_for(err, lang_of(request))},
        )
    if generated is None:
        return redirect(request, f"{HOME}/users/{user_id}", "password_set")
    return _user_page(request, who, session, user_id, shown=generated)


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
    who = _admin_post(request, user, csrf)
    if isinstance(who, Response):
        return who
    if action not in ("lock", "unlock"):
        return Response(status_code=404)
    change = admin.lock_user if action == "lock" else admin.unlock_user
    try:
        with attempt(session):
            change(session, user_id, reason=reason, actor=Principal.of_user(who).actor)
    except DomainError as err:
        return _user_page(
            request,
            who,
            session,
            user_id,
            status=err.status,
            errors={"lock": message_for(err, lang_of(request))},
            values={"reason": reason},
        )
    return redirect(
        request, f"{HOME}/users/{user_id}", "user_locked" if action == "lock" else "user_unlocked"
    )


# ---------------------------------------------------------------- audit


@router.get(f"{HOME}/audit")
def audit_page(
    request: Request,
    user: PageUser,
    session: SessionDep,
    institution_id: str = "",
    before: str = "",
) -> Response:
    """One chain's newest entries, 50 a page back along the chain, and its downloads."""
    who = _admin(request, user)
    if isinstance(who, Response):
        return who
    t = _t(request)
    institutions = admin.all_institutions(session)
    inst = _uuid(institution_id)
    if inst is not None and not any(i.id == inst for i in institutions):
        inst = None
    chain = audit.chain_for(inst)
    before_seq = _int(before, 0) if before else None
    entries = audit.recent_entries(
        session, chain=chain, before_seq=before_seq, limit=AUDIT_PAGE_SIZE
    )
    head = audit.chain_head(session, chain)
    older = entries[-1].seq if entries and entries[-1].seq > 1 else None
    q = {"institution_id": str(inst)} if inst else {}
    return _page(
        request,
        "admin_audit.html",
        who,
        institutions=institutions,
        form={"institution_id": str(inst) if inst else ""},
        chain=chain,
        chain_name=next(
            (f"{i.name}（{i.code}）" for i in institutions if i.id == inst),
            t(TEXTS["platform_chain"]),
        ),
        head=head,
        entries=_entries_view(session, entries, t),
        newest_link=_query(f"{HOME}/audit", **q) if before_seq else None,
        older_link=_query(f"{HOME}/audit", **q, before=older) if older else None,
        links=_chain_links(inst),
    )
