"""The registry's pages: the regulator's list (with the status filter) and an institution's
page with its history and the status actions; the staff's own record. They call the registry
service as the API does, so both answer a request alike; other prefectures see nothing."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.accounts.models import Institution, RegistryStatus, Role
from app.audit.models import AuditEntry
from app.audit.service import chain_for
from app.web.regulator.registry import parse_scope
from tests.factories import course_row, credit_code, login, make_institution, make_user
from tests.web.staff_world import sign_in

NANSHAN = "440305"
PAGE = "/regulator/institutions"


def _chain_length(engine: Engine, inst: Institution) -> int:
    with Session(engine) as s:
        return len(
            s.exec(select(AuditEntry.id).where(col(AuditEntry.chain) == chain_for(inst.id))).all()
        )


def test_scope_lines_take_codes_and_level_words() -> None:
    assert parse_scope("6-31-01-03 四级\n\n4-10-01-05，level5\n2-02-07-04 高级技师") == [
        ("6-31-01-03", "level4"),
        ("4-10-01-05", "level5"),
        ("2-02-07-04", "level1"),
    ]


def test_a_regulator_approves_and_suspends_through_the_pages(
    client: TestClient, engine: Engine
) -> None:
    pending = make_institution(
        engine, "NSPEND", region=NANSHAN, name="南山待审学校", status=RegistryStatus.pending
    )
    course_row(engine, pending, occupation_code="4-10-01-05", occupation_name="保育师")
    approved = make_institution(engine, "NSOK", region=NANSHAN, name="南山已核准学校")
    regulator = make_user(engine, Role.regulator, jurisdiction="440300")
    csrf = sign_in(client, regulator.username)

    page = client.get(PAGE)
    assert page.status_code == 200
    assert "南山待审学校" in page.text and "南山已核准学校" in page.text
    only = client.get(PAGE, params={"status": "pending"})
    assert "南山待审学校" in only.text and "南山已核准学校" not in only.text
    # the page lists what the API lists for the same caller
    api = client.get(
        "/api/v1/registry/institutions",
        params={"status": "pending"},
        headers=login(client, regulator.username),
    ).json()["items"]
    csrf = sign_in(client, regulator.username)
    assert set(re.findall(r'id="inst-([0-9a-f-]{36})"', only.text)) == {i["id"] for i in api}

    url = f"{PAGE}/{pending.id}"
    detail = client.get(url)
    assert detail.status_code == 200
    assert "4-10-01-05" in detail.text  # the approval starts from the courses' occupations
    bad = client.post(
        f"{url}/approve", data={"csrf": csrf, "approved_scope": "6-31-01-03", "reason": "核准开展"}
    )
    assert bad.status_code == 422 and 'id="approve-error"' in bad.text
    short = client.post(
        f"{url}/approve", data={"csrf": csrf, "approved_scope": "6-31-01-03 四级", "reason": "可"}
    )
    assert short.status_code == 422 and "请填写原因" in short.text
    done = client.post(
        f"{url}/approve",
        data={
            "csrf": csrf,
            "approved_scope": "6-31-01-03 四级\n4-10-01-05 五级",
            "reason": "材料齐全，核准",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    detail = client.get(url)
    assert 'data-status="approved"' in detail.text and "材料齐全，核准" in detail.text
    assert 'id="suspend-form"' in detail.text
    r = client.post(
        f"{url}/suspend", data={"csrf": csrf, "reason": "专项检查暂停"}, follow_redirects=False
    )
    assert r.status_code == 303
    again = client.post(f"{url}/suspend", data={"csrf": csrf, "reason": "专项检查暂停"})
    assert again.status_code == 409 and 'id="suspend-error"' in again.text
    # a forged CSRF token changes nothing
    before = _chain_length(engine, pending)
    r = client.post(f"{url}/revoke", data={"csrf": "forged", "reason": "伪造请求测试"})
    assert r.status_code in (400, 403) and _chain_length(engine, pending) == before
    with Session(engine) as s:
        row = s.get(Institution, pending.id)
        assert row is not None and row.registry_status is RegistryStatus.suspended
        assert row.approved_scope == [
            {"occupation_code": "4-10-01-05", "level": "level5"},
            {"occupation_code": "6-31-01-03", "level": "level4"},
        ]
    assert approved.id  # listed above; untouched


def test_other_prefectures_and_staff_cannot_use_the_regulator_pages(
    client: TestClient, engine: Engine
) -> None:
    inst = make_institution(
        engine, region=NANSHAN, name="南山保密学校", status=RegistryStatus.pending
    )
    guangzhou = make_user(engine, Role.regulator, jurisdiction="440100")
    csrf = sign_in(client, guangzhou.username)
    assert "南山保密学校" not in client.get(PAGE).text
    assert client.get(f"{PAGE}/{inst.id}").status_code == 404
    before = _chain_length(engine, inst)
    r = client.post(
        f"{PAGE}/{inst.id}/approve",
        data={"csrf": csrf, "approved_scope": "6-31-01-03 四级", "reason": "越权核准测试"},
    )
    assert r.status_code == 404 and "南山保密学校" not in r.text
    assert _chain_length(engine, inst) == before
    staff = make_user(engine, Role.staff, inst)
    sign_in(client, staff.username)
    assert client.get(PAGE).status_code == 403


def test_staff_read_and_complete_their_record(client: TestClient, engine: Engine) -> None:
    inst = make_institution(engine, region=NANSHAN, status=RegistryStatus.pending)
    staff = make_user(engine, Role.staff, inst)
    csrf = sign_in(client, staff.username)
    page = client.get("/staff/registry")
    assert page.status_code == 200 and 'data-status="pending"' in page.text
    assert 'id="edit-form"' in page.text
    r = client.post("/staff/registry", data={"csrf": csrf, "credit_code": "52440305MJL0863170"})
    assert r.status_code == 422 and "统一社会信用代码无效" in r.text
    fresh = credit_code(9090, region=NANSHAN)
    r = client.post(
        "/staff/registry",
        data={
            "csrf": csrf,
            "credit_code": fresh,
            "legal_name": "深圳市南山区示范培训学校",
            "kind": "public",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get("/staff/registry")
    assert fresh in page.text and "机构修改登记信息" in page.text
    with Session(engine) as s:
        row = s.get(Institution, inst.id)
        assert row is not None and (row.credit_code, row.kind) == (fresh, "public")
        entries = s.exec(
            select(AuditEntry).where(
                col(AuditEntry.chain) == chain_for(inst.id),
                col(AuditEntry.action) == "institution.registry.updated",
            )
        ).all()
        assert [json.loads(e.payload)["credit_code"] for e in entries] == [fresh]
    # regulators and learners have no such page
    regulator = make_user(engine, Role.regulator, jurisdiction="440300")
    sign_in(client, regulator.username)
    assert client.get("/staff/registry").status_code == 403


def test_the_registry_list_is_searched_and_paged_like_the_other_lists(
    client: TestClient, engine: Engine
) -> None:
    """25 institutions in 深圳: 20 a page, the rest on page 2; a search by credit code or name
    finds one; the status tabs count the whole jurisdiction; a bad page number or status is
    named in words (400) and ignored; another prefecture's institution never shows."""
    made = [
        make_institution(
            engine,
            f"SZ{n:03d}",
            region=NANSHAN,
            name=f"南山第{n}培训学校",
            status=RegistryStatus.pending if n % 5 == 0 else RegistryStatus.approved,
        )
        for n in range(1, 26)
    ]
    make_institution(engine, "GZ001", region="440106", name="天河培训学校")
    sign_in(client, make_user(engine, Role.regulator, jurisdiction="440300").username)
    first = client.get("/regulator/institutions")
    assert first.status_code == 200
    codes = re.findall(r'<code class="small">(SZ\d{3}|GZ\d{3})</code>', first.text)
    assert codes == [f"SZ{n:03d}" for n in range(1, 21)]
    assert "第 1 / 2 页，共 25 条" in first.text and 'id="next-page"' in first.text
    assert re.search(r'id="tab-all">[^<]*<span class="badge">25<', first.text)
    assert re.search(r'id="tab-pending">[^<]*<span class="badge">5<', first.text)
    second = client.get("/regulator/institutions", params={"page": "2"})
    codes = re.findall(r'<code class="small">(SZ\d{3}|GZ\d{3})</code>', second.text)
    assert codes == [f"SZ{n:03d}" for n in range(21, 26)]
    pending = client.get("/regulator/institutions", params={"status": "pending"})
    assert re.findall(r'<code class="small">(SZ\d{3})</code>', pending.text) == [
        "SZ005",
        "SZ010",
        "SZ015",
        "SZ020",
        "SZ025",
    ]
    target = made[16]
    assert target.credit_code is not None
    for q in (target.credit_code.lower(), "第17培训"):
        found = client.get("/regulator/institutions", params={"q": q})
        assert re.findall(r'<code class="small">(SZ\d{3})</code>', found.text) == ["SZ017"], q
    assert "GZ001" not in client.get("/regulator/institutions", params={"q": "GZ"}).text
    bad = client.get("/regulator/institutions", params={"page": "0", "status": "sleeping"})
    assert bad.status_code == 400 and 'id="registry-filters-errors"' in bad.text
    assert "页码应为" in bad.text and "已忽略" in bad.text
    assert len(re.findall(r'<code class="small">(SZ\d{3})</code>', bad.text)) == 20
