"""The class filing API: staff file, the regulator of the jurisdiction approves or returns, the
answers carry the late flag and the stable error codes the OpenAPI declares."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.accounts.models import Role
from tests.factories import course_row, login, make_institution, make_user


def test_file_return_refile_approve_over_the_api(
    client: TestClient, engine: Engine, clock: Any
) -> None:
    clock.set(datetime(2026, 3, 2, 1, tzinfo=UTC))
    inst = make_institution(engine, region="440305")
    staff = make_user(engine, Role.staff, inst)
    reg = login(client, make_user(engine, Role.regulator, jurisdiction="440300").username)
    other = login(client, make_user(engine, Role.regulator, jurisdiction="440100").username)
    h = login(client, staff.username)
    course = course_row(engine, inst)
    r = client.post(
        f"/api/v1/courses/{course.id}/classes",
        json={
            "code": "2026-04",
            "name": "电工 2026 年第 4 期",
            "starts_on": "2026-03-01",  # yesterday: the opening filing is late
            "ends_on": "2026-04-30",
            "capacity": 30,
            "head_teacher_id": str(staff.id),
        },
        headers=h,
    )
    assert r.status_code == 201, r.text
    class_id = r.json()["class_id"]
    r = client.post(f"/api/v1/classes/{class_id}/filings", json={"kind": "opening"}, headers=h)
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["status"], first["version"], first["late"], first["days_late"]) == (
        "pending",
        1,
        True,
        1,
    )
    assert first["due_on"] == "2026-03-01" and first["head_teacher_name"]
    again = client.post(f"/api/v1/classes/{class_id}/filings", json={"kind": "opening"}, headers=h)
    assert (again.status_code, again.json()["code"]) == (409, "class_filing_pending")
    early = client.post(
        f"/api/v1/classes/{class_id}/filings", json={"kind": "completion"}, headers=h
    )
    assert (early.status_code, early.json()["code"]) == (409, "completion_not_due")
    # the regulator's queue: within the jurisdiction only
    queue = client.get("/api/v1/class-filings", params={"status": "pending"}, headers=reg)
    assert [f["filing_id"] for f in queue.json()] == [first["filing_id"]]
    assert queue.json()[0]["institution_name"] == inst.name
    assert client.get("/api/v1/class-filings", headers=other).json() == []
    url = f"/api/v1/class-filings/{first['filing_id']}"
    assert client.get(url, headers=other).json()["code"] == "class_filing_not_found"
    r = client.post(f"{url}/return", json={"reason": "越权"}, headers=other)
    assert (r.status_code, r.json()["code"]) == (404, "class_filing_not_found")
    r = client.post(f"{url}/approve", json={}, headers=h)
    assert r.status_code == 403
    r = client.post(f"{url}/return", json={"reason": ""}, headers=reg)
    assert r.status_code == 422
    r = client.post(f"{url}/return", json={"reason": "未注明实操场地"}, headers=reg)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["decision_note"]) == ("returned", "未注明实操场地")
    r = client.post(f"{url}/approve", json={}, headers=reg)
    assert (r.status_code, r.json()["code"]) == (409, "class_filing_decided")
    r = client.post(
        f"/api/v1/classes/{class_id}/filings",
        json={"kind": "opening", "site": "深圳市南山区科技园实训基地"},
        headers=h,
    )
    assert r.status_code == 201 and r.json()["version"] == 2
    second = r.json()["filing_id"]
    r = client.post(f"/api/v1/class-filings/{second}/approve", json={"note": "同意"}, headers=reg)
    assert r.status_code == 200 and r.json()["status"] == "approved" and r.json()["late"]
    versions = client.get(f"/api/v1/classes/{class_id}/filings", headers=h).json()
    assert [(v["version"], v["status"]) for v in versions] == [(2, "approved"), (1, "returned")]
    assert client.get(f"/api/v1/classes/{class_id}/filings", headers=other).status_code == 404
    late = client.get("/api/v1/class-filings", params={"late": "true"}, headers=reg).json()
    assert {f["version"] for f in late} == {1, 2}
    # staff see their own institution's filings in the same list
    mine = client.get("/api/v1/class-filings", headers=h).json()
    assert {f["filing_id"] for f in mine} == {first["filing_id"], second}
    assert date.fromisoformat(mine[0]["starts_on"]) == date(2026, 3, 1)
