"""The admin console over HTTP, on both databases: only platform admins get in; institutions are
created, renamed, suspended (their staff refused at sign-in with a stable code, their open
sessions ended, their API keys refused) and reactivated; accounts are created, locked, unlocked
and given a new password shown once; every change has its audit entry; the audit chain and the
system status pages render."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import Institution, Role, User
from app.api.deps import CSRF_COOKIE
from app.audit import service as audit
from app.audit.models import AuditEntry
from app.audit.service import Actor
from app.db import transaction
from app.programmes import regions
from tests.factories import PASSWORD, csrf_of, make_institution, make_learner, make_user

ADMIN_PAGES = ("/admin", "/admin/institutions", "/admin/users", "/admin/audit")


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    """Sign in through the login form; returns the response (a redirect when it worked)."""
    client.cookies.clear()
    page = client.get("/login")
    return client.post(
        "/login",
        data={"csrf": csrf_of(page.text), "username": username, "password": password},
        follow_redirects=False,
    )


def signed_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    r = sign_in(client, username, password)
    assert r.status_code == 303, r.text
    return str(client.cookies.get(CSRF_COOKIE))


def audits(engine: Any, action: str, subject: str | None = None) -> list[AuditEntry]:
    with Session(engine) as s:
        stmt = select(AuditEntry).where(col(AuditEntry.action) == action)
        if subject is not None:
            stmt = stmt.where(col(AuditEntry.subject) == subject)
        return list(s.exec(stmt))


def error_text(page: str) -> str:
    m = re.search(r'<p class="error" role="alert"[^>]*>([^<]+)</p>', page)
    assert m, "no error on the page"
    return html.unescape(m.group(1))


class World:
    def __init__(self, engine: Any) -> None:
        self.admin = make_user(engine, Role.admin)
        self.inst = make_institution(engine)
        self.staff = make_user(engine, Role.staff, self.inst)
        self.regulator = make_user(engine, Role.regulator)
        self.learner = make_learner(engine, self.inst)


# ---------------------------------------------------------------- who gets in


def test_admin_lands_on_the_console_and_others_are_refused(client: TestClient, engine: Any) -> None:
    w = World(engine)
    for path in ADMIN_PAGES:
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path

    r = sign_in(client, w.admin.username)
    assert r.status_code == 303 and r.headers["location"] == "/admin"  # not /my and a 403
    home = client.get("/admin")
    assert home.status_code == 200 and "系统状态" in home.text
    assert 'href="/admin/institutions"' in home.text  # the nav
    assert "unsafe-inline" not in home.headers["content-security-policy"]
    assert client.get("/login", follow_redirects=False).headers["location"] == "/admin"
    for path in ADMIN_PAGES:
        assert client.get(path).status_code == 200, path
    assert client.get(f"/admin/institutions/{w.inst.id}").status_code == 200
    assert client.get(f"/admin/users/{w.staff.id}").status_code == 200
    assert 'id="email"' not in client.get(f"/admin/users/{w.staff.id}").text  # none on file

    for who in (w.staff, w.regulator, w.learner):
        csrf = signed_in(client, who.username)
        for path in ADMIN_PAGES:
            r = client.get(path)
            assert r.status_code == 403 and "此页面仅供平台管理员使用" in r.text, (who.role, path)
        r = client.post("/admin/institutions", data={"csrf": csrf, "code": "X1", "name": "x"})
        assert r.status_code == 403
        r = client.post(f"/admin/users/{w.admin.id}/lock", data={"csrf": csrf, "reason": "夺权"})
        assert r.status_code == 403
        r = client.post(f"/admin/users/{w.admin.id}/password", data={"csrf": csrf})
        assert r.status_code == 403
    with Session(engine) as s:
        assert s.exec(select(Institution).where(col(Institution.code) == "X1")).first() is None
        admin = s.get(User, w.admin.id)
        assert admin is not None and admin.is_active
    assert audits(engine, "user.password_reset") == []


def test_posts_need_the_csrf_field(client: TestClient, engine: Any) -> None:
    w = World(engine)
    signed_in(client, w.admin.username)
    r = client.post("/admin/institutions", data={"code": "NOCSRF", "name": "无令牌"})
    assert r.status_code == 403
    r = client.post(f"/admin/institutions/{w.inst.id}/suspend", data={"reason": "x"})
    assert r.status_code == 403
    with Session(engine) as s:
        inst = s.get(Institution, w.inst.id)
        assert inst is not None and not inst.is_suspended
        assert s.exec(select(Institution).where(col(Institution.code) == "NOCSRF")).first() is None


# ---------------------------------------------------------------- institutions


def test_create_edit_suspend_and_reactivate_an_institution(client: TestClient, engine: Any) -> None:
    w = World(engine)
    with transaction(engine) as s:
        _key, secret = accounts.create_api_key(
            s, institution_id=w.inst.id, name="对接", scopes=["learners:read"], actor=Actor.system()
        )
    staff_api = TestClient(client.app)
    r = staff_api.post(
        "/api/v1/auth/token", data={"username": w.staff.username, "password": PASSWORD}
    )
    staff_token = r.json()["access_token"]
    staff_headers = {"Authorization": f"Bearer {staff_token}"}
    assert staff_api.get("/api/v1/me", headers=staff_headers).is_success
    key_headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/learners", headers=key_headers).status_code == 200

    csrf = signed_in(client, w.admin.username)
    # create: refusals in words, then one that works
    with transaction(engine) as s:
        regions.seed_demo_province(s, actor=Actor.system())
    r = client.post("/admin/institutions", data={"csrf": csrf, "code": "", "name": "x"})
    assert r.status_code == 422 and "请填写机构代码、名称和所在地区" in error_text(r.text)
    place = {"csrf": csrf, "region_code": "440111"}
    r = client.post("/admin/institutions", data={**place, "code": w.inst.code, "name": "重名"})
    assert r.status_code == 409 and "该机构代码已存在" in error_text(r.text)
    for bad, code in (("12345", "行政区划代码无效"), ("449999", "找不到该行政区划")):
        r = client.post(
            "/admin/institutions",
            data={**place, "code": "GZ008", "name": "某校", "region_code": bad},
        )
        assert r.status_code in (404, 422) and code in error_text(r.text), bad
    assert 'value="440111"' in client.get("/admin/institutions").text  # the region picker
    r = client.post(
        "/admin/institutions",
        data={**place, "code": "GZ007", "name": "广州市第七职业培训学校"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    new_id = uuid.UUID(r.headers["location"].rsplit("/", 1)[1])
    page = client.get(r.headers["location"])
    assert "培训机构已创建" in page.text and "广州市第七职业培训学校" in page.text
    assert "广东省广州市白云区" in page.text
    [created] = audits(engine, "institution.created", f"institution:{new_id}")
    assert created.actor == f"user:{w.admin.id}" and '"region_code":"440111"' in created.payload

    # search and filter
    listing = client.get("/admin/institutions", params={"q": "gz0"})
    assert "GZ007" in listing.text and w.inst.code not in listing.text
    assert 'id="inst-empty"' in client.get("/admin/institutions?q=%25_").text  # LIKE escaped

    # rename
    r = client.post(f"/admin/institutions/{new_id}", data={"csrf": csrf, "name": "  "})
    assert r.status_code == 422
    r = client.post(f"/admin/institutions/{new_id}", data={"csrf": csrf, "name": "广州七职校"})
    assert r.status_code == 200 and "机构名称已保存" in r.text
    [renamed] = audits(engine, "institution.updated", f"institution:{new_id}")
    assert '"to":"广州七职校"' in renamed.payload
    # moved to another region: now supervised there (audited with both codes)
    moved = {"csrf": csrf, "name": "广州七职校", "region_code": "440305"}
    r = client.post(f"/admin/institutions/{new_id}", data=moved)
    assert r.status_code == 200 and "广东省深圳市南山区" in r.text
    [_, move] = audits(engine, "institution.updated", f"institution:{new_id}")
    assert '"region_code":{"from":"440111","to":"440305"}' in move.payload

    # suspend: the reason is required
    r = client.post(f"/admin/institutions/{w.inst.id}/suspend", data={"csrf": csrf, "reason": " "})
    assert r.status_code == 422 and "请填写原因" in error_text(r.text)
    with Session(engine) as s:
        inst = s.get(Institution, w.inst.id)
        assert inst is not None and not inst.is_suspended
    page = client.get(f"/admin/institutions/{w.inst.id}")
    assert "API 密钥立即停止使用" in page.text  # the page says what suspension does
    r = client.post(
        f"/admin/institutions/{w.inst.id}/suspend",
        data={"csrf": csrf, "reason": "资质过期，待年检"},
    )
    assert r.status_code == 200 and "该机构已暂停" in r.text
    assert 'data-status="suspended"' in r.text and "资质过期，待年检" in r.text
    [suspended] = audits(engine, "institution.suspended", f"institution:{w.inst.id}")
    assert suspended.actor == f"user:{w.admin.id}"
    assert '"reason":"资质过期，待年检"' in suspended.payload
    assert '"api_keys":1' in suspended.payload and '"staff_signed_out":1' in suspended.payload
    assert suspended.chain == f"inst:{w.inst.id}"

    # ... its staff: the open session ends, a new sign-in is refused with a stable code
    r = staff_api.get("/api/v1/me", headers=staff_headers)
    assert r.status_code == 401
    refused = sign_in(TestClient(client.app), w.staff.username)
    assert refused.status_code == 403
    assert "您所在的培训机构已被平台暂停使用" in error_text(refused.text)
    r = staff_api.post(
        "/api/v1/auth/token", data={"username": w.staff.username, "password": PASSWORD}
    )
    assert r.status_code == 403 and r.json()["code"] == "institution_suspended"
    wrong = staff_api.post(
        "/api/v1/auth/token", data={"username": w.staff.username, "password": "not-it-123"}
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
    assert audits(engine, "auth.login_refused", f"user:{w.staff.id}")
    # ... its API keys are refused
    r = client.get("/api/v1/learners", headers=key_headers)
    assert r.status_code == 401 and r.json()["code"] == "invalid_token"
    assert "暂停" in r.json()["detail"]
    # ... its learners keep their access
    assert sign_in(TestClient(client.app), w.learner.username).status_code == 303

    # suspending again changes nothing (no second entry)
    client.post(f"/admin/institutions/{w.inst.id}/suspend", data={"csrf": csrf, "reason": "再次"})
    assert len(audits(engine, "institution.suspended", f"institution:{w.inst.id}")) == 1

    # reactivate: reason required, then sign-in and the key work again
    r = client.post(
        f"/admin/institutions/{w.inst.id}/reactivate", data={"csrf": csrf, "reason": ""}
    )
    assert r.status_code == 422
    r = client.post(
        f"/admin/institutions/{w.inst.id}/reactivate",
        data={"csrf": csrf, "reason": "年检通过"},
    )
    assert r.status_code == 200 and "该机构已恢复" in r.text
    [back] = audits(engine, "institution.reactivated", f"institution:{w.inst.id}")
    assert '"reason":"年检通过"' in back.payload
    assert sign_in(TestClient(client.app), w.staff.username).status_code == 303
    assert client.get("/api/v1/learners", headers=key_headers).status_code == 200

    nowhere = f"/admin/institutions/{uuid.uuid4()}/suspend"
    r = client.post(nowhere, data={"csrf": csrf, "reason": "x"})
    assert r.status_code == 404 and "找不到该培训机构" in r.text


# ---------------------------------------------------------------- accounts


def test_create_accounts_with_the_password_shown_once(client: TestClient, engine: Any) -> None:
    w = World(engine)
    csrf = signed_in(client, w.admin.username)
    base = {"csrf": csrf, "real_name": "李四"}
    r = client.post("/admin/users", data={**base, "role": "staff", "username": "lisi"})
    assert r.status_code == 422 and "需要选择所属机构" in error_text(r.text)
    r = client.post("/admin/users", data={**base, "role": "learner", "username": "lisi"})
    assert r.status_code == 422
    r = client.post("/admin/users", data={**base, "role": "admin", "username": "lisi"})
    assert r.status_code == 422
    r = client.post(
        "/admin/users",
        data={
            **base,
            "role": "staff",
            "username": w.staff.username,
            "institution_id": str(w.inst.id),
        },
    )
    assert r.status_code == 409 and "该用户名已被使用" in error_text(r.text)
    r = client.post(
        "/admin/users",
        data={
            **base,
            "role": "staff",
            "username": "lisi",
            "institution_id": str(w.inst.id),
            "password": "123456",
        },
    )
    assert r.status_code == 422 and "密码太弱" in error_text(r.text)

    r = client.post(
        "/admin/users",
        data={**base, "role": "staff", "username": "lisi", "institution_id": str(w.inst.id)},
    )
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    password = html.unescape(re.search(r'id="shown-password">([^<]+)<', r.text).group(1))  # type: ignore[union-attr]
    assert "lisi" in r.text
    with Session(engine) as s:
        lisi = s.exec(select(User).where(col(User.username) == "lisi")).one()
        assert lisi.role is Role.staff and lisi.institution_id == w.inst.id
        assert password not in lisi.password_hash
    [created] = audits(engine, "user.created", f"user:{lisi.id}")
    assert created.actor == f"user:{w.admin.id}"
    assert "shown-password" not in client.get("/admin/users").text  # once
    assert sign_in(TestClient(client.app), "lisi", password).status_code == 303

    reg = {**base, "role": "regulator", "username": "jianguan", "password": "Jian-Guan-2026!"}
    r = client.post("/admin/users", data=reg)  # no jurisdiction: refused in words
    assert r.status_code == 422 and "监管人员必须填写管辖区域" in error_text(r.text)
    r = client.post("/admin/users", data={**reg, "jurisdiction_code": "000000"})
    assert r.status_code == 200 and 'id="shown-password"' not in r.text
    with Session(engine) as s:
        jg = s.exec(select(User).where(col(User.username) == "jianguan")).one()
        assert jg.jurisdiction_code == "000000"
    assert "全国" in client.get(f"/admin/users/{jg.id}").text
    assert sign_in(TestClient(client.app), "jianguan", "Jian-Guan-2026!").status_code == 303

    # the list: search, filter by role, institution and status
    listing = client.get("/admin/users", params={"q": "lisi"})
    assert 'data-username="lisi"' in listing.text
    assert f'data-username="{w.staff.username}"' not in listing.text
    by_role = client.get("/admin/users", params={"role": "regulator"})
    assert 'data-username="jianguan"' in by_role.text and 'data-username="lisi"' not in by_role.text
    by_inst = client.get("/admin/users", params={"institution_id": str(w.inst.id)})
    for name in ("lisi", w.staff.username, w.learner.username):
        assert f'data-username="{name}"' in by_inst.text
    assert 'data-username="jianguan"' not in by_inst.text
    assert 'id="users-empty"' in client.get("/admin/users", params={"status": "locked"}).text


def test_lock_unlock_and_reset_a_password(client: TestClient, engine: Any) -> None:
    w = World(engine)
    other = TestClient(client.app)
    signed_in(other, w.staff.username)
    assert other.get("/staff/review").status_code == 200

    csrf = signed_in(client, w.admin.username)
    r = client.post(f"/admin/users/{w.staff.id}/lock", data={"csrf": csrf, "reason": ""})
    assert r.status_code == 422 and "请填写原因" in error_text(r.text)
    r = client.post(f"/admin/users/{w.admin.id}/lock", data={"csrf": csrf, "reason": "手滑"})
    assert r.status_code == 403 and "不能锁定自己" in error_text(r.text)
    r = client.post(
        f"/admin/users/{w.staff.id}/lock", data={"csrf": csrf, "reason": "离职，账号停用"}
    )
    assert r.status_code == 200 and "账号已锁定" in r.text and "离职，账号停用" in r.text
    [locked] = audits(engine, "user.locked", f"user:{w.staff.id}")
    assert locked.actor == f"user:{w.admin.id}" and "离职" in locked.payload

    # the open session ended; signing in is refused in words, with a stable code over the API
    assert other.get("/staff/review", follow_redirects=False).status_code == 303
    refused = sign_in(TestClient(client.app), w.staff.username)
    assert refused.status_code == 403 and "该账号已被平台管理员锁定" in error_text(refused.text)
    r = other.post("/api/v1/auth/token", data={"username": w.staff.username, "password": PASSWORD})
    assert r.status_code == 403 and r.json()["code"] == "account_locked"
    assert 'data-username="' + w.staff.username in client.get("/admin/users?status=locked").text

    r = client.post(f"/admin/users/{w.staff.id}/unlock", data={"csrf": csrf, "reason": "返聘"})
    assert r.status_code == 200 and "账号已解锁" in r.text
    assert audits(engine, "user.unlocked", f"user:{w.staff.id}")
    assert sign_in(TestClient(client.app), w.staff.username).status_code == 303

    # reset: a typed password that is too weak is refused; a generated one is shown once
    r = client.post(f"/admin/users/{w.learner.id}/password", data={"csrf": csrf, "password": "abc"})
    assert r.status_code == 422 and "密码太弱" in error_text(r.text)
    assert audits(engine, "user.password_reset") == []
    signed_in(other, w.learner.username)
    r = client.post(f"/admin/users/{w.learner.id}/password", data={"csrf": csrf})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    new = html.unescape(re.search(r'id="shown-password">([^<]+)<', r.text).group(1))  # type: ignore[union-attr]
    assert "shown-password" not in client.get(f"/admin/users/{w.learner.id}").text
    [reset] = audits(engine, "user.password_reset", f"user:{w.learner.id}")
    assert reset.payload == '{"generated":true,"must_change":true}'
    assert reset.actor == f"user:{w.admin.id}"
    assert other.get("/my", follow_redirects=False).status_code == 303  # old session ended
    assert sign_in(TestClient(client.app), w.learner.username).status_code == 401  # old password
    # The admin knows it: like a staff member's reset, the account must choose its own first.
    forced = sign_in(TestClient(client.app), w.learner.username, new)
    assert forced.status_code == 403 and 'id="temporary-note"' in forced.text
    assert 'id="must-change"' in client.get(f"/admin/users/{w.learner.id}").text

    r = client.post(
        f"/admin/users/{w.learner.id}/password",
        data={"csrf": csrf, "password": "Set-By-Admin-2026"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert sign_in(TestClient(client.app), w.learner.username, new).status_code == 401
    mine = TestClient(client.app)
    again = sign_in(mine, w.learner.username, "Set-By-Admin-2026")
    assert again.status_code == 403 and 'id="temporary-note"' in again.text
    changed = mine.post(
        "/password/change",
        data={
            "csrf": csrf_of(again.text),
            "username": w.learner.username,
            "current_password": "Set-By-Admin-2026",
            "new_password": "Chosen-By-Me-2026",
            "new_password_again": "Chosen-By-Me-2026",
            "temporary": "1",
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert (
        sign_in(TestClient(client.app), w.learner.username, "Chosen-By-Me-2026").status_code == 303
    )
    assert 'id="must-change"' not in client.get(f"/admin/users/{w.learner.id}").text
    assert len(audits(engine, "user.password_reset", f"user:{w.learner.id}")) == 2

    page = client.get(f"/admin/users/{w.staff.id}")
    assert 'data-action="user.locked"' in page.text and 'data-action="user.unlocked"' in page.text


# ---------------------------------------------------------------- audit and status


def test_the_console_lists_check_their_query_like_every_list(
    client: TestClient, engine: Any
) -> None:
    """Institutions, accounts and the audit chain read their filters through the lists' helper
    (app/web/listing.py): a bad value is dropped and named in words with status 400, the rest of
    the filters still apply, and the pager keeps them."""
    w = World(engine)
    signed_in(client, w.admin.username)

    r = client.get("/admin/institutions", params={"status": "closed", "q": w.inst.code})
    assert r.status_code == 400 and "“状态”的值不在列表中" in r.text
    assert f'id="inst-{w.inst.id}"' in r.text  # the search still applies
    r = client.get("/admin/institutions", params={"page": "0"})
    assert r.status_code == 400 and "页码应为" in r.text
    assert client.get("/admin/institutions", params={"q": "x" * 101}).status_code == 400

    r = client.get(
        "/admin/users", params={"role": "superuser", "institution_id": "not-an-id", "status": "x"}
    )
    assert r.status_code == 400
    for words in ("“类型”的值不在列表中", "“所属机构”的值不在列表中", "“状态”的值不在列表中"):
        assert words in r.text
    r = client.get("/admin/users", params={"role": "staff", "institution_id": str(w.inst.id)})
    assert r.status_code == 200 and f'data-username="{w.staff.username}"' in r.text
    assert f'<option value="{w.inst.id}" selected>' in r.text

    r = client.get("/admin/audit", params={"institution_id": str(uuid.uuid4()), "before": "abc"})
    assert r.status_code == 400
    assert "“审计链”的值不在列表中" in r.text and "“更早的记录”的位置应为正整数" in r.text
    assert "平台（机构之外的操作）" in r.text  # shown the platform chain instead
    r = client.get("/admin/audit", params={"institution_id": str(w.inst.id)})
    assert r.status_code == 200 and f'<option value="{w.inst.id}" selected>' in r.text


def test_audit_and_status_pages(client: TestClient, engine: Any) -> None:
    w = World(engine)
    csrf = signed_in(client, w.admin.username)
    client.post(f"/admin/users/{w.regulator.id}/lock", data={"csrf": csrf, "reason": "审计测试"})
    page = client.get("/admin/audit")  # the platform chain: regulators' and admins' accounts
    assert page.status_code == 200
    assert 'data-action="user.locked"' in page.text and "审计测试" in page.text
    assert "/regulator/audit/export?format=ndjson" in page.text
    assert "/regulator/audit/checkpoint" in page.text and "/.well-known/jwks.json" in page.text
    inst_page = client.get("/admin/audit", params={"institution_id": str(w.inst.id)})
    assert 'data-action="institution.created"' in inst_page.text
    assert f"institution_id={w.inst.id}" in inst_page.text  # its export links
    # the download links work for the admin
    r = client.get(f"/regulator/audit/export?institution_id={w.inst.id}&format=ndjson")
    assert r.status_code == 200 and b'"institution.created"' in r.content

    # paging back along a chain
    with transaction(engine) as s:
        for i in range(60):
            accounts.create_institution(s, code=f"P{i:03d}", name="分页", actor=Actor.system())
            audit.append(s, actor=Actor.system(), action="test.entry", subject=f"n:{i}")
    first = client.get("/admin/audit")
    seqs = [int(x) for x in re.findall(r'data-seq="(\d+)"', first.text)]
    assert len(seqs) == 50 and seqs == sorted(seqs, reverse=True)
    older = re.search(r'href="([^"]+)" id="older-page"', first.text)
    assert older
    second = client.get(html.unescape(older.group(1)))
    more = [int(x) for x in re.findall(r'data-seq="(\d+)"', second.text)]
    assert more and max(more) == min(seqs) - 1

    listing = client.get("/admin/institutions")
    assert "第 1 / 4 页" in listing.text and 'id="next-page"' in listing.text
    assert "第 2 / 4 页" in client.get("/admin/institutions?page=2").text

    status = client.get("/admin")
    assert status.status_code == 200
    assert 'data-current="yes"' in status.text  # the database is at the migrations' head
    assert re.search(r'id="q-rollcalls">0', status.text)
    assert "PostgreSQL" in status.text or "SQLite" in status.text
    english = client.get("/admin", params={"lang": "en"})
    assert "System status" in english.text
    main = english.text.split("<main", 1)[1].split("</main>")[0]
    assert not re.search(r"[\u4e00-\u9fff]", main)


@pytest.mark.parametrize(
    "page",
    [
        "/admin/institutions",
        "/admin/institutions/{inst}",
        "/admin/users",
        "/admin/users/{staff}",
        "/admin/audit",
    ],
)
def test_pages_in_english(client: TestClient, engine: Any, page: str) -> None:
    w = World(engine)
    csrf = signed_in(client, w.admin.username)
    # something to say about each: a suspended institution, a locked account
    client.post(f"/admin/institutions/{w.inst.id}/suspend", data={"csrf": csrf, "reason": "x"})
    client.post(f"/admin/users/{w.staff.id}/lock", data={"csrf": csrf, "reason": "y"})
    english = client.get(page.format(inst=w.inst.id, staff=w.staff.id), params={"lang": "en"})
    assert english.status_code == 200
    main = english.text.split("<main", 1)[1].split("</main>")[0]
    # Chinese left only in data (the test world's institution and learner names)
    assert not re.search(r"[\u4e00-\u9fff]", main.replace("测试培训学校", "").replace("王小明", ""))


def test_the_status_page_shows_the_file_store(
    storage: str, client: TestClient, engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Local data dir or S3 bucket, and whether it answers; a bucket that went away is shown
    as unreachable with the store's answer (the page still renders)."""
    from app.config import get_settings

    w = World(engine)
    signed_in(client, w.admin.username)
    page = client.get("/admin")
    assert page.status_code == 200 and 'id="storage-state" data-ok="yes"' in page.text
    if storage == "local":
        assert "本地数据目录" in page.text
        assert str(get_settings().data_dir.resolve()) in page.text
        return
    bucket = get_settings().s3_bucket
    assert "S3 兼容对象存储" in page.text and f"s3://{bucket}/node-shared/" in page.text
    monkeypatch.setenv("SKILLTRACE_S3_BUCKET", "skilltrace-gone")
    get_settings.cache_clear()
    page = client.get("/admin")
    assert page.status_code == 200 and 'data-ok="no"' in page.text
    assert "无法访问" in page.text and "cannot use bucket s3://skilltrace-gone/" in page.text
    english = client.get("/admin", params={"lang": "en"})
    assert "File storage" in english.text and "Unreachable" in english.text


def test_the_create_form_takes_the_registry_record(client: TestClient, engine: Any) -> None:
    """The admin's new institution carries its credit code, legal name and kind as the CLI's
    create-institution does (checked by the same service), and starts pending."""
    from tests.factories import credit_code

    w = World(engine)
    csrf = signed_in(client, w.admin.username)
    with transaction(engine) as s:
        regions.seed_demo_province(s, actor=Actor.system())
    form = {"csrf": csrf, "code": "NS009", "name": "南山第九培训学校", "region_code": "440305"}
    page = client.get("/admin/institutions").text
    assert 'name="credit_code"' in page and 'value="technical_school"' in page
    bad = client.post("/admin/institutions", data={**form, "credit_code": "91440300MA5F0000X0"})
    assert bad.status_code == 422 and "统一社会信用代码" in error_text(bad.text)
    assert 'value="91440300MA5F0000X0"' in bad.text  # what was typed is kept
    good = credit_code(909)
    r = client.post(
        "/admin/institutions",
        data={
            **form,
            "credit_code": good,
            "legal_name": "深圳市南山区第九职业培训学校",
            "kind": "private",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with Session(engine) as s:
        inst = s.exec(select(Institution).where(col(Institution.code) == "NS009")).one()
    assert (inst.credit_code, inst.legal_name, inst.kind, inst.registry_status.value) == (
        good,
        "深圳市南山区第九职业培训学校",
        "private",
        "pending",
    )
    # the same code again is refused in words
    again = client.post("/admin/institutions", data={**form, "code": "NS010", "credit_code": good})
    assert again.status_code == 409 and "统一社会信用代码" in error_text(again.text)


def test_the_account_page_shows_a_verified_email(client: TestClient, engine: Any) -> None:
    """An account's verified e-mail (where its reset codes may go) is on the admin's page."""
    w = World(engine)
    with transaction(engine) as s:
        staff = s.get(User, w.staff.id)
        assert staff is not None
        staff.email = "li.hua@example.cn"
        staff.email_verified_at = staff.created_at
    signed_in(client, w.admin.username)
    page = client.get(f"/admin/users/{w.staff.id}").text
    assert re.search(r'id="email"><code class="wrap">li\.hua@example\.cn</code>', page)
