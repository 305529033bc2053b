"""Class filing pages over HTTP, on both databases: staff file a class from its page and see the
regulator's return reason; the regulator's queue lists what ``GET /api/v1/class-filings``
returns for the same caller, with the late flag; approve/return from the filing page; another
prefecture's regulator sees and acts on nothing; a forged CSRF value is refused."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.accounts.models import Role
from app.filing.models import ClassFiling, FilingStatus
from tests.factories import audit_actions, course_row, login, make_institution, make_user
from tests.web.staff_world import sign_in

QUEUE = "/regulator/filings"


def _rows(page: str) -> list[str]:
    return re.findall(r'<tr id="filing-([0-9a-f-]{36})"', page)


def test_file_return_refile_and_approve_from_the_pages(
    client: TestClient, engine: Engine, clock: Any
) -> None:
    clock.set(datetime(2026, 3, 2, 2, tzinfo=UTC))
    inst = make_institution(engine, region="440305", name="南山页面培训学校")
    staff = make_user(engine, Role.staff, inst)
    reg = make_user(engine, Role.regulator, jurisdiction="440300")
    gz = make_user(engine, Role.regulator, jurisdiction="440100")
    course = course_row(engine, inst)
    r = client.post(
        f"/api/v1/courses/{course.id}/classes",
        json={
            "code": "2026-05",
            "name": "页面备案测试班",
            "starts_on": (date(2026, 3, 2) - timedelta(days=2)).isoformat(),  # started: late
            "ends_on": "2026-05-30",
            "capacity": 30,
            "head_teacher_id": str(staff.id),
        },
        headers=login(client, staff.username),
    )
    class_id = r.json()["class_id"]
    class_page = f"/staff/classes/{class_id}"
    csrf = sign_in(client, staff.username)
    page = client.get(class_page)
    assert 'id="file-opening"' in page.text and 'data-status="none"' in page.text
    r = client.post(
        f"{class_page}/filings",
        data={"csrf": csrf, "kind": "opening", "site": "南山区实训基地"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get(class_page)
    assert (
        "开班备案已提交" in page.text and 'id="filing-opening" data-status="pending"' in page.text
    )
    assert 'data-late="2"' in page.text and "逾期 2 天" in page.text
    again = client.post(f"{class_page}/filings", data={"csrf": csrf, "kind": "opening"})
    assert again.status_code == 409 and "等待人社部门审核" in again.text  # refusal in words
    forged = client.post(
        f"{class_page}/filings", data={"csrf": "forged", "kind": "opening"}, follow_redirects=False
    )
    assert forged.status_code == 403
    with Session(engine) as s:
        (first,) = s.exec(select(ClassFiling)).all()
        first_id = str(first.id)
    # the regulator's queue is the API's answer for the same caller
    csrf = sign_in(client, reg.username)
    queue = client.get(QUEUE)
    assert queue.status_code == 200 and 'href="/regulator/filings"' in queue.text
    api = client.get(
        "/api/v1/class-filings", params={"status": "pending"}, headers=login(client, reg.username)
    )
    assert _rows(queue.text) == [f["filing_id"] for f in api.json()] == [first_id]
    assert "南山页面培训学校" in queue.text and "逾期 2 天" in queue.text
    assert _rows(client.get(QUEUE, params={"late": "no"}).text) == []
    assert _rows(client.get(QUEUE, params={"status": "bogus", "kind": "x"}).text) == [first_id]
    detail = client.get(f"{QUEUE}/{first_id}")
    assert "南山区实训基地" in detail.text and 'id="return-form"' in detail.text
    r = client.post(f"{QUEUE}/{first_id}/return", data={"csrf": csrf, "reason": " "})
    assert r.status_code == 422 and 'id="page-error"' in r.text
    r = client.post(
        f"{QUEUE}/{first_id}/return",
        data={"csrf": csrf, "reason": "实操场地地址不完整"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert 'data-status="returned"' in client.get(f"{QUEUE}/{first_id}").text
    # another prefecture's regulator: nothing in the queue, a 404 on the filing, no action
    gz_csrf = sign_in(client, gz.username)
    assert _rows(client.get(QUEUE, params={"status": ""}).text) == []
    assert client.get(f"{QUEUE}/{first_id}").status_code == 404
    r = client.post(f"{QUEUE}/{first_id}/approve", data={"csrf": gz_csrf}, follow_redirects=False)
    assert r.status_code == 404
    # staff see the reason and file again
    csrf = sign_in(client, staff.username)
    page = client.get(class_page)
    assert "退回原因：实操场地地址不完整" in page.text and "重新提交开班备案" in page.text
    r = client.post(
        f"{class_page}/filings",
        data={"csrf": csrf, "kind": "opening", "site": "深圳市南山区西丽街道实训基地 2 层"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    with Session(engine) as s:
        second = next(f for f in s.exec(select(ClassFiling)).all() if f.version == 2)
        second_id = str(second.id)
    csrf = sign_in(client, reg.username)
    r = client.post(
        f"{QUEUE}/{second_id}/approve", data={"csrf": csrf, "note": "同意"}, follow_redirects=False
    )
    assert r.status_code == 303
    detail = client.get(f"{QUEUE}/{second_id}")
    assert "已同意该备案" in detail.text and 'id="filing-history"' in detail.text
    with Session(engine) as s:
        assert s.get(ClassFiling, second.id).status is FilingStatus.approved  # type: ignore[union-attr]
    assert audit_actions(engine, f"class_filing:{second_id}") == [
        "class_filing.filed",
        "class_filing.approved",
    ]
    # staff: approved, nothing more to file until 结业
    sign_in(client, staff.username)
    page = client.get(class_page)
    assert 'id="filing-opening" data-status="approved"' in page.text
    assert 'id="file-opening"' not in page.text and 'id="file-completion"' not in page.text
