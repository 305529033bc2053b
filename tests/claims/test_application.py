"""A learner's own subsidy application where the programme pays the individual (issue 17 item 8,
全程网办): the 参保职工技能提升补贴 standard in force for the certificate's occupation and level
offers it; the learner applies with an account that is checked (Luhn), kept encrypted and shown
masked; the claim goes filed → in notice → approved → paid to that account, or rejected with the
reason in words; it is claimed once, by the learner or by the institution, never both."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import jsonschema_rs
from sqlmodel import Session, select

from app.claims import export
from app.claims.models import ClaimApplication
from tests.claims.application_world import ACCOUNT, world
from tests.factories import audit_log, certified, login, make_learner

API = "/api/v1"


def _apply(client: Any, h: dict[str, str], serial: str, **body: Any) -> Any:
    payload = {"account_kind": "social_security_card", "account": ACCOUNT}
    payload.update({"declared_insured": True, **body})
    return client.post(
        f"{API}/me/certificates/{serial}/subsidy-application", json=payload, headers=h
    )


def _status(client: Any, h: dict[str, str]) -> list[tuple[str, str, str | None]]:
    r = client.get(f"{API}/me/subsidy-claims", headers=h)
    assert r.status_code == 200, r.text
    return [(c["serial"], c["status"], c["reason"]) for c in r.json()]


def test_apply_follow_and_get_paid_to_the_account_given(
    client: Any, engine: Any, clock: Any
) -> None:
    w = world(engine, clock)
    cert, learner = w["certs"][0], w["learners"][0]
    hl = login(client, learner.username)
    offer = client.get(f"{API}/me/certificates/{cert.serial}/subsidy-application", headers=hl)
    assert offer.status_code == 200, offer.text
    o = offer.json()
    assert (
        o["programme_kind"] == "insured_upgrading" and o["programme_name"] == "参保职工技能提升补贴"
    )
    assert o["amount_fen"] == 120_000 and o["standard_id"] == str(w["standard"].id)
    assert o["eligible"] and o["can_apply"] and o["refusal"] is None and o["claim"] is None
    assert {r["rule"] for r in o["rules"]} >= {"standard_in_force", "attendance_passed"}

    # a mistyped digit, a short number, no declaration: refused in words, nothing filed
    wrong = ACCOUNT[:-1] + str((int(ACCOUNT[-1]) + 1) % 10)
    for body, code in (
        ({"account": wrong}, "invalid_payee_account"),
        ({"account": "62170012345"}, "invalid_payee_account"),
        ({"declared_insured": False}, "insurance_declaration_required"),
    ):
        r = _apply(client, hl, cert.serial, **body)
        assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert _status(client, hl) == []

    r = _apply(client, hl, cert.serial, account=" ".join([ACCOUNT[:4], ACCOUNT[4:]]))
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["status"] == "filed" and mine["payee"] == "learner" and mine["own_application"]
    assert mine["amount_fen"] == 120_000
    assert _apply(client, hl, cert.serial).json()["code"] == "certificate_already_claimed"
    again = client.get(f"{API}/me/certificates/{cert.serial}/subsidy-application", headers=hl)
    assert not again.json()["can_apply"] and again.json()["claim"]["status"] == "filed"

    # the institution cannot claim the same certificate again in its quarter
    hs = login(client, w["staff"].username)
    q = client.post(f"{API}/claim-batches", json={"year": 2026, "quarter": 1}, headers=hs)
    assert q.status_code == 409 and q.json()["code"] == "nothing_to_claim", q.text

    # the regulator sees the application: masked account, the programme's standard on the line
    hr = login(client, w["reg"].username)
    (summary,) = client.get(f"{API}/claim-batches", headers=hr).json()
    batch = client.get(f"{API}/claim-batches/{summary['id']}", headers=hr)
    assert ACCOUNT not in batch.text  # the full number never leaves in a view
    b = batch.json()
    assert b["period_kind"] == "application" and b["payee"] == "learner"
    assert b["application"]["account_masked"] == ACCOUNT[:4] + "*" * 11 + ACCOUNT[-4:]
    assert b["application"]["declared_insured"] is True
    (line,) = b["lines"]
    assert line["programme_kind"] == "insured_upgrading" and line["standard_version"] == 1
    assert line["standard_version_id"] == str(w["standard"].id) and line["amount_fen"] == 120_000

    r = client.post(
        f"{API}/claim-lines/{line['id']}/review", json={"decision": "approved"}, headers=hr
    )
    assert r.status_code == 200, r.text
    assert _status(client, hl) == [(cert.serial, "filed", None)]
    assert client.post(f"{API}/claim-batches/{b['id']}/approve", headers=hr).status_code == 200
    assert _status(client, hl) == [(cert.serial, "in_notice", None)]
    clock.set(datetime(2026, 4, 12, 1, tzinfo=UTC))  # the 7-day notice is over
    hl, hr = login(client, learner.username), login(client, w["reg"].username)
    assert _status(client, hl) == [(cert.serial, "approved", None)]
    # paid to the account the learner gave, without the regulator typing it
    paid = client.post(
        f"{API}/claim-batches/{b['id']}/payments",
        json={
            "amount_fen": 120_000,
            "paid_on": "2026-04-12",
            "reference": "SB-20260412-0001",
            "line_id": line["id"],
        },
        headers=hr,
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["account_masked"] == b["application"]["account_masked"]
    (c,) = client.get(f"{API}/me/subsidy-claims", headers=hl).json()
    assert c["status"] == "paid" and c["paid_on"] == "2026-04-12"
    assert c["account_masked"] == b["application"]["account_masked"]

    # audited with the masked account only; the full number is stored encrypted
    filed = audit_log(engine, action="claim.filed")
    assert filed[-1][1]["application"]["account_masked"] == b["application"]["account_masked"]
    assert filed[-1][1]["application"]["programme_kind"] == "insured_upgrading"
    assert all(ACCOUNT not in json.dumps(p) for _, p in audit_log(engine))
    with Session(engine) as s:
        (row,) = s.exec(select(ClaimApplication)).all()
        assert ACCOUNT not in row.account_enc and row.account_masked.endswith(ACCOUNT[-4:])


def test_rejected_with_the_reason_in_words(client: Any, engine: Any, clock: Any) -> None:
    w = world(engine, clock)
    cert, learner = w["certs"][0], w["learners"][0]
    hl = login(client, learner.username)
    assert _apply(client, hl, cert.serial, account_kind="bank_card").status_code == 201
    hr = login(client, w["reg"].username)
    (summary,) = client.get(f"{API}/claim-batches", headers=hr).json()
    (line,) = client.get(f"{API}/claim-batches/{summary['id']}", headers=hr).json()["lines"]
    reason = "经核验社会保险记录，申请时未参加失业保险满 1 年"
    r = client.post(
        f"{API}/claim-lines/{line['id']}/review",
        json={"decision": "rejected", "reason": reason},
        headers=hr,
    )
    assert r.status_code == 200, r.text
    assert _status(client, hl) == [(cert.serial, "rejected", reason)]


def test_who_may_apply_and_for_what(client: Any, engine: Any, clock: Any) -> None:
    w = world(engine, clock, names=("王小明", "李华"))
    a, (ca, cb) = w["learners"][0], w["certs"]
    ha = login(client, a.username)
    # another learner's certificate is not found; staff do not apply for learners
    url = f"{API}/me/certificates/{cb.serial}/subsidy-application"
    assert client.get(url, headers=ha).status_code == 404
    assert _apply(client, login(client, w["staff"].username), ca.serial).status_code == 403

    # the institution filed first: the learner sees why they cannot apply
    hs = login(client, w["staff"].username)
    q = client.post(f"{API}/claim-batches", json={"year": 2026, "quarter": 1}, headers=hs)
    assert q.status_code == 201, q.text
    o = client.get(
        f"{API}/me/certificates/{ca.serial}/subsidy-application", headers=login(client, a.username)
    ).json()
    assert not o["can_apply"] and o["refusal"]["code"] == "certificate_already_claimed"
    assert o["claim"]["payee"] == "institution"

    # a certificate whose occupation has no programme paying individuals in the region
    c = make_learner(engine, w["inst"], real_name="张伟强")
    other = certified(engine, c, w["inst"], subsidy_fen=150_000, occupation_code="4-10-01-02")
    hc = login(client, c.username)
    r = client.get(f"{API}/me/certificates/{other.serial}/subsidy-application", headers=hc)
    assert r.status_code == 409 and r.json()["code"] == "no_individual_programme"
    assert _apply(client, hc, other.serial).json()["code"] == "no_individual_programme"


def test_the_payment_office_gets_the_account_only_from_the_regulator(
    client: Any, engine: Any, clock: Any
) -> None:
    w = world(engine, clock)
    cert, learner = w["certs"][0], w["learners"][0]
    assert _apply(client, login(client, learner.username), cert.serial).status_code == 201
    hr, hs = login(client, w["reg"].username), login(client, w["staff"].username)
    (summary,) = client.get(f"{API}/claim-batches", headers=hr).json()
    url = f"{API}/claim-batches/{summary['id']}/exports"
    why = "报送社保基金支付科拨付到学员本人社保卡"
    schema = json.loads(export.SCHEMA_FILE.read_text(encoding="utf-8"))
    validator = jsonschema_rs.Draft202012Validator(schema, validate_formats=True)
    accounts = {}
    for who, h, body in (
        ("reg", hr, {"format": "jsonl", "reason": why}),
        ("staff", hs, {"format": "jsonl"}),
    ):
        r = client.post(url, json=body, headers=h)
        assert r.status_code == 200, r.text
        (record,) = [json.loads(x) for x in r.content.decode().splitlines()]
        validator.validate(record)
        accounts[who] = record["payee_account"]
    assert accounts["reg"] == {
        "kind": "social_security_card",
        "number": ACCOUNT,
        "masked": False,
        "bank_name": None,
    }
    assert accounts["staff"]["masked"] and ACCOUNT not in accounts["staff"]["number"]
    exported = [p for _, p in audit_log(engine, action="claim.exported")]
    assert [p["full_payee_accounts"] for p in exported] == [1, 0]
    assert all(ACCOUNT not in json.dumps(p) for p in exported)
