"""A claim from filing to recovery, over the API: filing freezes the lines, the regulator
reviews them one by one (one rejected), approves the batch, the public notice shows it masked,
an objection is recorded and resolved, payment waits for the notice to end, a revoked
certificate opens a recovery item that is then recovered; the audit chain verifies offline
and the frozen lines never changed."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import Session

from app.accounts.models import Role, User
from app.audit.verify import verify_export
from app.claims import service as claims
from app.claims.models import ClaimBatch
from tests.factories import (
    audit_actions,
    certified,
    login,
    make_institution,
    make_learner,
    make_user,
)

API = "/api/v1"


def _three_certificates(engine: Any, clock: Any) -> tuple[Any, list[Any]]:
    inst = make_institution(engine, code="SZ017")
    clock.set(datetime(2026, 2, 10, 2, tzinfo=UTC))
    certs = [
        certified(
            engine,
            make_learner(engine, inst, real_name=name),
            inst,
            subsidy_fen=fen,  # the standard in force for the occupation
            occupation_code=code,
        )
        for name, fen, code in (
            ("王小明", 150_000, "6-31-01-03"),
            ("李华", 180_000, "4-10-01-02"),
            ("张伟强", 120_000, "4-03-02-01"),
        )
    ]
    return inst, certs


def test_filing_to_recovery(client: Any, engine: Any, clock: Any, tmp_path: Path) -> None:
    inst, certs = _three_certificates(engine, clock)
    staff = make_user(engine, Role.staff, inst)
    reg = make_user(engine, Role.regulator)
    clock.set(datetime(2026, 4, 2, 1, tzinfo=UTC))
    hs, hr = login(client, staff.username), login(client, reg.username)

    # 1. filing: three eligible certificates of Q1 become three frozen lines
    r = client.post(f"{API}/claim-batches", json={"year": 2026, "quarter": 1}, headers=hs)
    assert r.status_code == 201, r.text
    batch = r.json()
    assert batch["status"] == "filed" and batch["line_count"] == 3
    assert batch["total_fen"] == 450_000
    lines = {line["serial"]: line for line in batch["lines"]}
    assert set(lines) == {c.serial for c in certs}
    assert all(rule["passed"] for line in batch["lines"] for rule in line["rules"])
    assert {rule["rule"] for rule in batch["lines"][0]["rules"]} >= {
        "not_revoked",
        "attendance_passed",
        "max_per_year",
        "no_repeat_occupation_level",
    }
    frozen = {line["id"]: line["content_hash"] for line in batch["lines"]}
    # nothing left to claim in that quarter; staff cannot review their own claim
    again = client.post(f"{API}/claim-batches", json={"year": 2026, "quarter": 1}, headers=hs)
    assert again.status_code == 409 and again.json()["code"] == "nothing_to_claim"
    first, second, third = (lines[c.serial]["id"] for c in certs)
    own = client.post(
        f"{API}/claim-lines/{first}/review", json={"decision": "approved"}, headers=hs
    )
    assert own.status_code == 403

    # 2. review line by line: approve, reject with a reason, ask for evidence then approve
    ok = client.post(f"{API}/claim-lines/{first}/review", json={"decision": "approved"}, headers=hr)
    assert ok.status_code == 200 and ok.json()["decision"] == "approved"
    no_reason = client.post(
        f"{API}/claim-lines/{second}/review", json={"decision": "rejected"}, headers=hr
    )
    assert no_reason.status_code == 422
    rej = client.post(
        f"{API}/claim-lines/{second}/review",
        json={"decision": "rejected", "reason": "线下实操培训无签到记录"},
        headers=hr,
    )
    assert rej.json()["decision"] == "rejected"
    ask = client.post(
        f"{API}/claim-lines/{third}/review",
        json={"decision": "evidence_requested", "reason": "请补充实操考核记录"},
        headers=hr,
    )
    assert ask.json()["decision"] == "evidence_requested"
    early = client.post(f"{API}/claim-batches/{batch['id']}/approve", headers=hr)
    assert early.status_code == 409 and early.json()["code"] == "lines_undecided"
    assert early.json()["lines"] == [3]
    ans = client.post(
        f"{API}/claim-lines/{third}/evidence", json={"note": "实操考核记录编号 SX-031"}, headers=hs
    )
    assert ans.json()["decision"] == "evidence_provided"
    client.post(f"{API}/claim-lines/{third}/review", json={"decision": "approved"}, headers=hr)
    r = client.post(f"{API}/claim-batches/{batch['id']}/approve", headers=hr)
    assert r.status_code == 200, r.text
    approved = r.json()
    assert approved["status"] == "approved" and approved["approved_fen"] == 270_000
    ends = datetime.fromisoformat(approved["notice_ends_at"])
    assert ends - datetime.fromisoformat(approved["notice_starts_at"]) == timedelta(days=7)

    # the learners follow their own claims: one rejected with the reason, two in notice
    def followed(cert: Any) -> dict[str, Any]:
        with Session(engine) as s:
            user = s.get(User, cert.user_id)
            assert user is not None
            username = user.username
        (mine,) = client.get(f"{API}/me/subsidy-claims", headers=login(client, username)).json()
        assert mine["serial"] == cert.serial
        return dict(mine)

    assert followed(certs[0])["status"] == "in_notice"
    rejected = followed(certs[1])
    assert (rejected["status"], rejected["reason"]) == ("rejected", "线下实操培训无签到记录")

    # 3. public notice: approved lines only, masked, no sign-in
    notices = client.get(f"{API}/notices").json()
    (notice,) = [n for n in notices if n["batch_id"] == batch["id"]]
    assert [x["name_masked"] for x in notice["lines"]] == ["王*明", "张*强"]
    assert notice["total_fen"] == 270_000
    page = client.get("/notices")
    assert page.status_code == 200 and "王*明" in page.text and "王小明" not in page.text
    assert certs[0].id_number_masked in page.text

    # 4. an objection is recorded and goes to the regulator; payment waits for it and the notice
    obj = client.post(
        f"{API}/notices/{batch['id']}/objections",
        json={"text": "张*强并未参加线上学习。", "line_id": third, "contact": "13800138000"},
    )
    assert obj.status_code == 201, obj.text
    pay = {"amount_fen": 270_000, "paid_on": "2026-04-02", "reference": "深财拨〔2026〕118号"}
    r = client.post(f"{API}/claim-batches/{batch['id']}/payments", json=pay, headers=hr)
    assert r.status_code == 409 and r.json()["code"] == "notice_not_over"
    clock.set(ends + timedelta(minutes=1))
    hs, hr = login(client, staff.username), login(client, reg.username)
    late = client.post(f"{API}/notices/{batch['id']}/objections", json={"text": "太迟了"})
    assert late.status_code == 404
    pay["paid_on"] = "2026-04-09"
    r = client.post(f"{API}/claim-batches/{batch['id']}/payments", json=pay, headers=hr)
    assert r.status_code == 409 and r.json()["code"] == "objections_open"
    (open_obj,) = client.get(f"{API}/claim-objections?status=open", headers=hr).json()
    assert open_obj["id"] == obj.json()["id"] and open_obj["line_id"] == third
    r = client.post(
        f"{API}/claim-objections/{open_obj['id']}/resolve",
        json={"upheld": False, "resolution": "经核查人脸核验与随机点名记录，学员本人参训"},
        headers=hr,
    )
    assert r.json()["status"] == "dismissed"

    # 5. payment: exactly the approved amount, once
    wrong = client.post(
        f"{API}/claim-batches/{batch['id']}/payments",
        json={**pay, "amount_fen": 450_000},
        headers=hr,
    )
    assert wrong.status_code == 422 and wrong.json()["expected_fen"] == 270_000
    r = client.post(f"{API}/claim-batches/{batch['id']}/payments", json=pay, headers=hr)
    assert r.status_code == 201, r.text
    paid = client.get(f"{API}/claim-batches/{batch['id']}", headers=hs).json()
    assert paid["status"] == "paid"
    assert [line["paid"] for line in paid["lines"]] == [True, False, True]
    twice = client.post(f"{API}/claim-batches/{batch['id']}/payments", json=pay, headers=hr)
    assert twice.status_code == 409
    assert followed(certs[0])["status"] == "paid"
    hs, hr = login(client, staff.username), login(client, reg.username)

    # 6. revoking the first certificate opens a recovery item, seen by both sides
    r = client.post(
        f"{API}/certificates/{certs[0].serial}/revoke",
        json={"reason": "抽查发现代学，证书撤销"},
        headers=hs,
    )
    assert r.status_code == 200, r.text
    (item,) = client.get(f"{API}/claim-recoveries?status=open", headers=hs).json()
    assert item["amount_fen"] == 150_000 and item["source"] == "revocation"
    assert item["line_id"] == first and not item["overdue"]
    assert [i["id"] for i in client.get(f"{API}/claim-recoveries", headers=hr).json()] == [
        item["id"]
    ]
    denied = client.post(
        f"{API}/claim-recoveries/{item['id']}/settle",
        json={"outcome": "recovered", "reference": "x"},
        headers=hs,
    )
    assert denied.status_code == 403
    r = client.post(
        f"{API}/claim-recoveries/{item['id']}/settle",
        json={"outcome": "recovered", "reference": "缴款书 4403012026000123"},
        headers=hr,
    )
    assert r.status_code == 200 and r.json()["status"] == "recovered"
    assert client.get(f"{API}/claim-recoveries?status=open", headers=hr).json() == []

    # 7. the frozen lines are as filed, and the whole story is in the chain, which verifies
    final = client.get(f"{API}/claim-batches/{batch['id']}", headers=hr).json()
    assert {line["id"]: line["content_hash"] for line in final["lines"]} == frozen
    with Session(engine) as s:
        stored = s.get(ClaimBatch, uuid.UUID(batch["id"]))
        assert stored is not None and claims.verify_frozen(s, stored) == []
    assert audit_actions(engine, f"claim_batch:{batch['id']}") == [
        "claim.filed",
        "claim.line_reviewed",
        "claim.line_reviewed",
        "claim.line_reviewed",
        "claim.line_reviewed",  # evidence provided
        "claim.line_reviewed",
        "claim.batch_approved",
        "claim.objection_received",
        "claim.objection_resolved",
        "claim.paid",
    ]
    export = client.get(f"{API}/audit/export", params={"institution_id": str(inst.id)}, headers=hr)
    assert export.status_code == 200
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(client.get("/.well-known/jwks.json").json()))
    result = verify_export(io.BytesIO(export.content), keys)
    assert result.ok and result.checkpoint_verified
    filed = [
        json.loads(x)
        for x in export.content.splitlines()
        if json.loads(x).get("action") == "claim.filed"
    ]
    assert {x["content_hash"] for x in filed[0]["payload"]["lines"]} == set(frozen.values())
