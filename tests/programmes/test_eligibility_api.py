"""The eligibility API: standards carry the programme's rules; staff confirm groups and
residence and record external certificates with a scan; regulators within their jurisdiction
verify and confirm; the subsidy decision follows, in words."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session

from app.accounts.models import LearnerGroup, Role
from app.audit.service import Actor
from app.db import transaction
from app.programmes import regions
from app.programmes.models import ExternalCertificate
from tests.factories import certified, id_number, login, make_institution, make_learner, make_user
from tests.pdfs import SCAN_PDF

API = "/api/v1"
PDF = SCAN_PDF


def _setup(engine: Engine, clock: Any) -> dict[str, Any]:
    clock.set(datetime(2026, 3, 2, 2, tzinfo=UTC))
    with transaction(engine) as s:
        regions.seed_demo_province(s, actor=Actor.system())
    inst = make_institution(engine, region="440305")
    return {
        "inst": inst,
        "learner": make_learner(
            engine,
            inst,
            group=LearnerGroup.unemployed,
            id_number=id_number("19620510", region="440305", seq=1),
        ),
        "staff": make_user(engine, Role.staff, inst),
        "nanshan": make_user(engine, Role.regulator, jurisdiction="440305"),
        "guangzhou": make_user(engine, Role.regulator, jurisdiction="440100"),
    }


def _standard(client: TestClient, h: dict[str, str], **rules: Any) -> Any:
    return client.post(
        f"{API}/subsidy-standards",
        json={
            "occupation_code": "6-31-01-03",
            "occupation_name": "电工",
            "level": "level4",
            "amount_fen": 150000,
            "effective_from": "2026-01-01",
            **rules,
        },
        headers=h,
    )


def test_groups_through_the_api(client: TestClient, engine: Engine, clock: Any) -> None:
    w = _setup(engine, clock)
    reg, staff = login(client, w["nanshan"].username), login(client, w["staff"].username)
    r = _standard(client, reg, retirement_rule="at_65")
    assert r.status_code == 422 and r.json()["code"] == "invalid_standard"
    r = _standard(client, reg, target_groups=["ex_serviceman"], max_per_year=2)
    assert r.status_code == 201, r.text
    assert r.json()["target_groups"] == ["ex_serviceman"] and r.json()["max_per_year"] == 2
    cert = certified(engine, w["learner"], w["inst"], subsidy_fen=0)
    learner = login(client, w["learner"].username)
    subsidy = client.get(f"{API}/certificates/{cert.serial}/subsidy", headers=learner).json()
    assert [x["rule"] for x in subsidy["rules"] if not x["passed"]] == ["target_group"]

    lid = w["learner"].id
    r = client.post(
        f"{API}/learners/{lid}/groups",
        json={"group": "ex_serviceman", "evidence_kind": "unemployment_registration"},
        headers=staff,
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_fact"
    r = client.post(
        f"{API}/learners/{lid}/groups",
        json={
            "group": "ex_serviceman",
            "evidence_kind": "veteran_card",
            "evidence_number": "粤退证 440300-0012",
        },
        headers=staff,
    )
    assert r.status_code == 201 and r.json()["status"] == "confirmed"
    fact_id = r.json()["id"]
    mine = client.get(f"{API}/learners/{lid}/eligibility", headers=learner).json()
    assert mine["declared_group"] == "unemployed" and mine["household_region_code"] == "440305"
    assert {(g["group"], g["status"]) for g in mine["groups"]} == {
        ("unemployed", "declared"),
        ("ex_serviceman", "confirmed"),
    }
    subsidy = client.get(f"{API}/certificates/{cert.serial}/subsidy", headers=learner).json()
    assert subsidy["eligible"] is True and subsidy["amount_fen"] == 150000
    # 广州's regulator sees none of it; 南山's verifies, and a rejection needs a reason.
    other = login(client, w["guangzhou"].username)
    assert client.get(f"{API}/learners/{lid}/eligibility", headers=other).status_code == 404
    r = client.post(
        f"{API}/learner-groups/{fact_id}/decision", json={"decision": "verify"}, headers=other
    )
    assert r.status_code == 404 and r.json()["code"] == "fact_not_found"
    r = client.post(
        f"{API}/learner-groups/{fact_id}/decision", json={"decision": "verify"}, headers=reg
    )
    assert r.status_code == 200 and r.json()["status"] == "verified"
    r = client.post(
        f"{API}/learner-groups/{fact_id}/decision", json={"decision": "reject"}, headers=reg
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_fact"
    r = client.post(
        f"{API}/learners/{lid}/residences",
        json={"kind": "resident", "region_code": "440106", "evidence_kind": "other_document"},
        headers=staff,
    )
    assert r.status_code == 201 and r.json()["region_name"] == "广东省广州市天河区"


def test_external_certificates_through_the_api(
    storage: str, client: TestClient, engine: Engine, clock: Any
) -> None:
    w = _setup(engine, clock)
    reg, staff = login(client, w["nanshan"].username), login(client, w["staff"].username)
    assert _standard(client, reg, certificate_kind="skill_level").status_code == 201
    cert = certified(engine, w["learner"], w["inst"], subsidy_fen=0)
    clock.set(datetime(2026, 3, 12, 2, tzinfo=UTC))  # a later day: sign in again
    reg, staff = login(client, w["nanshan"].username), login(client, w["staff"].username)
    form = {
        "kind": "skill_level",
        "number": "S000044030500001",
        "issuer": "深圳市南山区职业技能鉴定所",
        "issued_on": "2026-03-10",
        "occupation_code": "6-31-01-03",
        "occupation_name": "电工",
        "level": "level4",
    }
    url = f"{API}/learners/{w['learner'].id}/external-certificates"
    r = client.post(
        url, data=form, files={"scan": ("a.gif", b"GIF89a", "image/png")}, headers=staff
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_scan"
    r = client.post(
        url, data=form, files={"scan": ("a.pdf", PDF, "application/pdf")}, headers=staff
    )
    assert r.status_code == 201, r.text
    ext = r.json()
    assert ext["status"] == "recorded" and ext["scan_media_type"] == "application/pdf"
    r = client.post(
        url, data=form, files={"scan": ("a.pdf", PDF, "application/pdf")}, headers=staff
    )
    assert r.status_code == 409 and r.json()["code"] == "external_certificate_exists"

    waiting = client.get(f"{API}/external-certificates?status=recorded", headers=reg).json()
    assert [e["id"] for e in waiting] == [ext["id"]]
    other = login(client, w["guangzhou"].username)
    assert client.get(f"{API}/external-certificates", headers=other).json() == []
    scan = client.get(f"{API}/external-certificates/{ext['id']}/scan", headers=reg)
    assert scan.status_code == 200 and scan.content == PDF
    assert scan.headers["content-type"] == "application/pdf"
    assert scan.headers["content-disposition"].startswith("attachment")
    # Bytes that are not the recorded scan (its sha256 is in the row and the audit) are refused.
    from app.storage import media_store

    with Session(engine) as s:
        row = s.get(ExternalCertificate, uuid.UUID(ext["id"]))
        assert row is not None
    media_store().put_bytes(row.scan_key, PDF + b"%changed")
    bad = client.get(f"{API}/external-certificates/{ext['id']}/scan", headers=reg)
    assert (bad.status_code, bad.json()["code"]) == (503, "scan_unavailable")
    media_store().delete(row.scan_key)
    gone = client.get(f"{API}/external-certificates/{ext['id']}/scan", headers=reg)
    assert (gone.status_code, gone.json()["code"]) == (503, "scan_unavailable")
    media_store().put_bytes(row.scan_key, PDF)

    learner = login(client, w["learner"].username)
    subsidy = client.get(f"{API}/certificates/{cert.serial}/subsidy", headers=learner).json()
    refused = {x["rule"]: x for x in subsidy["rules"] if not x["passed"]}
    assert set(refused) == {"certificate_kind"}
    assert "待人社部门确认" in refused["certificate_kind"]["detail_zh"]
    decision = f"{API}/external-certificates/{ext['id']}/decision"
    assert client.post(decision, json={"decision": "confirm"}, headers=other).status_code == 404
    r = client.post(decision, json={"decision": "confirm"}, headers=reg)
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    r = client.post(decision, json={"decision": "reject", "reason": "补录"}, headers=reg)
    assert r.status_code == 409 and r.json()["code"] == "external_certificate_decided"
    subsidy = client.get(f"{API}/certificates/{cert.serial}/subsidy", headers=learner).json()
    assert subsidy["eligible"] is True
