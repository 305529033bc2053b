"""Roster import on the pages (no browser): the form posts a file, the preview lists every
problem in words and offers no commit; a clean file commits and shows each activation code
once; one person typed in; the learner activates their account on /activate and signs in."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import PASSWORD, id_number, make_learner
from tests.web.staff_world import World, csrf_of, sign_in

HEADER = "姓名,身份证号,手机号,人员类别,工作单位\r\n"


def _class(client: TestClient, w: World, csrf: str) -> str:
    r = client.post(
        f"/staff/courses/{w.course.id}/classes",
        data={
            "csrf": csrf,
            "code": "2026-09",
            "name": "2026年第9期低压电工班",
            "starts_on": "2026-09-01",
            "ends_on": "2026-10-30",
            "capacity": "50",
            "head_teacher_id": str(w.staff.id),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return r.headers["location"]


def test_roster_preview_commit_and_activation_through_the_pages(
    client: TestClient, engine: Any
) -> None:
    w = World(engine)
    csrf = sign_in(client, w.staff.username)
    url = _class(client, w, csrf)
    page = client.get(url).text
    assert 'id="roster-form"' in page and 'id="person-form"' in page

    good = id_number(birth="19920815", region="440306", seq=101)
    bad = good[:17] + ("1" if good[17] != "1" else "2")
    taken = make_learner(engine, w.other_inst, id_number=id_number("19800101", "110105", 5))
    text = (
        HEADER
        + f"李建国,{good},13800138000,企业职工,深圳市城建集团\r\n"
        + f"@SUM(A1),{bad},,农民工,\r\n"
        + f"王芳,{good},,,\r\n"
        + f"赵丽,{taken.id_number_masked and id_number('19800101', '110105', 5)},,,\r\n"
    )
    r = client.post(
        f"{url}/roster",
        data={"csrf": csrf},
        files={"file": ("名册.csv", text.encode("utf-8-sig"), "text/csv")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    preview = client.get(r.headers["location"]).text
    assert 'data-ready="0"' in preview and 'id="commit-roster"' not in preview
    assert "第 3 行 姓名：以 = + - @ 开头" in preview
    assert "第 3 行 身份证号：校验码不对" in preview
    assert "第 4 行 身份证号：与第 2 行重复" in preview
    assert "第 5 行 身份证号：已在平台注册，但不是本机构的学员" in preview

    clean = HEADER + f"李建国,{good},13800138000,企业职工,深圳市城建集团\r\n"
    r = client.post(
        f"{url}/roster",
        data={"csrf": csrf},
        files={"file": ("名册.csv", clean.encode("gb18030"), "text/csv")},
        follow_redirects=False,
    )
    preview_url = r.headers["location"]
    preview = client.get(preview_url).text
    assert 'data-ready="1"' in preview
    done = client.post(f"{preview_url}/commit", data={"csrf": csrf_of(preview)})
    assert done.status_code == 200 and 'id="code-table"' in done.text
    code = re.search(r'<td class="serial">([0-9A-Z-]{14})</td>', done.text)
    assert code, done.text
    assert 'id="code-table"' not in client.get(preview_url).text  # shown once

    person = client.post(
        f"{url}/person",
        data={"csrf": csrf, "real_name": "周建华", "id_number": bad, "group": "外星人"},
    )
    assert person.status_code == 422
    assert "校验码不对" in person.text and "应为以下之一" in person.text

    client.cookies.clear()
    page = client.get("/activate").text
    r = client.post(
        "/activate",
        data={
            "csrf": csrf_of(page),
            "id_number": good,
            "activation_code": code.group(1),
            "username": "lijianguo",
            "password": PASSWORD,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/login"
    signed = sign_in(client, "lijianguo")
    assert signed
    assert "/consent" in client.get("/my").text  # consent is theirs to give
