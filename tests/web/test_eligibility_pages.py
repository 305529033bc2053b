"""The eligibility pages over HTTP: staff confirm groups and residence and record an external
certificate with its scan; the regulator verifies, and confirms the certificate from the queue;
another prefecture's regulator sees and acts on nothing; refusals in words; CSRF; the page shows
what ``GET /api/v1/learners/{id}/eligibility`` returns."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from app.accounts.models import LearnerGroup, Role, User
from app.audit.service import Actor
from app.db import transaction
from app.programmes import regions
from tests.factories import login, make_institution, make_learner, make_user
from tests.pdfs import SCAN_PDF
from tests.web.staff_world import sign_in

PDF = SCAN_PDF


@pytest.fixture
def world(engine: Engine, clock: Any) -> dict[str, Any]:
    clock.set(datetime(2026, 3, 12, 2, tzinfo=UTC))
    with transaction(engine) as s:
        regions.seed_demo_province(s, actor=Actor.system())
    inst = make_institution(engine, region="440305")
    return {
        "learner": make_learner(engine, inst, group=LearnerGroup.unemployed, real_name="陈志强"),
        "staff": make_user(engine, Role.staff, inst),
        "shenzhen": make_user(engine, Role.regulator, jurisdiction="440300"),
        "guangzhou": make_user(engine, Role.regulator, jurisdiction="440100"),
    }


def _statuses(html: str, what: str) -> dict[str, str]:
    return dict(re.findall(rf'<tr id="{what}-([0-9a-f-]{{36}})"[^>]*data-status="(\w+)"', html))


def test_staff_confirm_and_record_the_regulator_verifies_and_confirms(
    client: TestClient, world: dict[str, Any]
) -> None:
    learner: User = world["learner"]
    page = f"/staff/learners/{learner.id}/eligibility"
    csrf = sign_in(client, world["staff"].username)
    r = client.get(page)
    assert r.status_code == 200 and "陈志强" in r.text and "本人申报，待核实" in r.text
    # a veteran card does not prove unemployment: refused in words, next to the form
    r = client.post(
        f"/staff/learners/{learner.id}/groups",
        data={"csrf": csrf, "group": "unemployed", "evidence_kind": "veteran_card"},
    )
    assert r.status_code == 422 and 'id="group-error"' in r.text
    r = client.post(
        f"/staff/learners/{learner.id}/groups",
        data={
            "csrf": csrf,
            "group": "unemployed",
            "evidence_kind": "unemployment_registration",
            "evidence_number": "4403052026000123",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"/staff/learners/{learner.id}/residences",
        data={
            "csrf": csrf,
            "kind": "resident",
            "region_code": "440305",
            "evidence_kind": "other_document",
            "evidence_number": "居住证 4403050001",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    form = {
        "csrf": csrf,
        "kind": "special_operations",
        "number": "T440305199001010011",
        "issuer": "深圳市应急管理局",
        "issued_on": "2026-03-10",
        "occupation_code": "6-31-01-03",
        "occupation_name": "电工",
    }
    r = client.post(
        f"/staff/learners/{learner.id}/external-certificates",
        data=form,
        files={"scan": ("scan.gif", b"GIF89a", "image/gif")},
    )
    assert r.status_code == 422 and 'id="external-error"' in r.text and "PDF" in r.text
    r = client.post(
        f"/staff/learners/{learner.id}/external-certificates",
        data=form,
        files={"scan": ("scan.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    html = client.get(page).text
    assert "外部证书已登记" in html and "待人社部门确认" in html
    assert set(_statuses(html, "group").values()) == {"confirmed"}
    assert set(_statuses(html, "residence").values()) == {"confirmed"}
    # the page and the API say the same
    api = client.get(
        f"/api/v1/learners/{learner.id}/eligibility",
        headers=login(client, world["staff"].username),
    ).json()
    assert _statuses(html, "group") == {g["id"]: g["status"] for g in api["groups"]}
    assert _statuses(html, "external") == {
        e["id"]: e["status"] for e in api["external_certificates"]
    }
    [external_id] = _statuses(html, "external")
    [group_id] = _statuses(html, "group")

    # 广州's regulator: nothing in the queue, the learner's page hidden, no action taken
    csrf = sign_in(client, world["guangzhou"].username)
    queue = client.get("/regulator/external-certificates")
    assert queue.status_code == 200 and "T440305199001010011" not in queue.text
    assert client.get(f"/regulator/learners/{learner.id}/eligibility").status_code == 404
    r = client.post(
        f"/regulator/external-certificates/{external_id}/decision",
        data={"csrf": csrf, "decision": "confirm"},
    )
    assert r.status_code == 404
    # 深圳's regulator: verifies the group, confirms the certificate; a forged token is refused
    csrf = sign_in(client, world["shenzhen"].username)
    queue = client.get("/regulator/external-certificates")
    assert "T440305199001010011" in queue.text and 'href="/regulator/external-certificates"' in (
        queue.text
    )
    scan = client.get(f"/eligibility/external-certificates/{external_id}/scan")
    assert scan.status_code == 200 and scan.content == PDF
    r = client.post(
        f"/regulator/external-certificates/{external_id}/decision",
        data={"csrf": "forged", "decision": "confirm"},
    )
    assert r.status_code == 403
    r = client.post(
        f"/regulator/external-certificates/{external_id}/decision",
        data={"csrf": csrf, "decision": "confirm"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = client.post(
        f"/regulator/external-certificates/{external_id}/decision",
        data={"csrf": csrf, "decision": "reject", "reason": "重复"},
    )
    assert r.status_code == 409 and f'id="error-{external_id}"' in r.text
    r = client.post(
        f"/regulator/learner-groups/{group_id}/decision",
        data={"csrf": csrf, "decision": "verify"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    html = client.get(f"/regulator/learners/{learner.id}/eligibility").text
    assert _statuses(html, "group") == {group_id: "verified"}
    assert _statuses(html, "external") == {external_id: "confirmed"}
    assert "人社部门已核验" in html
    en = client.get(f"/regulator/learners/{learner.id}/eligibility?lang=en").text
    assert "Eligibility facts" in en


def test_staff_reject_a_group_and_a_residence_from_the_page(
    client: TestClient, engine: Engine, world: dict[str, Any]
) -> None:
    """Staff of the learner's institution reject a fact with the reason on the page, as the
    API's decision does (the same service, audited); verifying stays the regulator's; another
    institution's staff cannot touch the fact."""
    learner: User = world["learner"]
    page = f"/staff/learners/{learner.id}/eligibility"
    csrf = sign_in(client, world["staff"].username)
    r = client.post(
        f"/staff/learners/{learner.id}/residences",
        data={
            "csrf": csrf,
            "kind": "employed",
            "region_code": "440305",
            "evidence_kind": "labour_contract",
            "evidence_number": "HT-2026-0311",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    html = client.get(page).text
    (group_id,) = _statuses(html, "group")  # the declared one
    (residence_id,) = _statuses(html, "residence")
    assert f'action="/staff/learner-groups/{group_id}/decision"' in html
    # without a reason: refused in words next to the fact
    r = client.post(
        f"/staff/learner-groups/{group_id}/decision",
        data={"csrf": csrf, "decision": "reject", "reason": ""},
    )
    assert r.status_code == 422 and f'id="fact-{group_id}-error"' in r.text
    # verifying is the regulator's
    r = client.post(
        f"/staff/residences/{residence_id}/decision", data={"csrf": csrf, "decision": "verify"}
    )
    assert r.status_code == 403 and f'id="fact-{residence_id}-error"' in r.text
    # another institution's staff: not found, nothing changes
    other = make_user(engine, Role.staff, make_institution(engine, region="440305"))
    other_csrf = sign_in(client, other.username)
    r = client.post(
        f"/staff/learner-groups/{group_id}/decision",
        data={"csrf": other_csrf, "decision": "reject", "reason": "不是本机构学员"},
    )
    assert r.status_code == 404
    csrf = sign_in(client, world["staff"].username)
    for url, reason in (
        (f"/staff/learner-groups/{group_id}/decision", "失业登记证已过期，本人已就业"),
        (f"/staff/residences/{residence_id}/decision", "劳动合同已于 2025 年解除"),
    ):
        r = client.post(
            url, data={"csrf": csrf, "decision": "reject", "reason": reason}, follow_redirects=False
        )
        assert r.status_code == 303, r.text
    html = client.get(page).text
    assert _statuses(html, "group") == {group_id: "rejected"}
    assert _statuses(html, "residence") == {residence_id: "rejected"}
    assert "失业登记证已过期，本人已就业" in html and "劳动合同已于 2025 年解除" in html
    api = client.get(
        f"/api/v1/learners/{learner.id}/eligibility",
        headers=login(client, world["staff"].username),
    ).json()
    assert {g["status"] for g in api["groups"]} == {"rejected"}
    assert {x["status"] for x in api["residences"]} == {"rejected"}
