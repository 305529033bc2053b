"""The learner's own subsidy application on the certificate page (issue 17 item 8): the form
where a programme pays the individual, a mistyped account refused in words with what was typed
kept, the application filed, and at every step after (filed → in notice → approved → paid, or
rejected with the reason) the page shows the status the API gives for the same claim."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.claims.application_world import ACCOUNT, world
from tests.factories import login
from tests.web.staff_world import sign_in

API = "/api/v1"


def _page_status(client: TestClient, username: str, serial: str) -> tuple[str, str]:
    """(status, reason shown) of the claim on the learner's certificate page."""
    sign_in(client, username)
    html = client.get(f"/my/certificates/{serial}").text
    m = re.search(r'id="subsidy-claim" data-claim-status="([a-z_]+)"', html)
    assert m, "no claim on the page"
    reason = re.search(r'id="claim-reason">(.*?)</span>', html)
    return m.group(1), reason.group(1) if reason else ""


def _api_status(client: TestClient, username: str, serial: str) -> tuple[str, str]:
    mine = client.get(f"{API}/me/subsidy-claims", headers=login(client, username)).json()
    (c,) = [c for c in mine if c["serial"] == serial]
    return c["status"], c["reason"] or ""


def _same(client: TestClient, username: str, serial: str) -> str:
    page = _page_status(client, username, serial)
    assert page == _api_status(client, username, serial)
    return page[0]


def _regulator(client: TestClient, engine: Any, reg: Any) -> tuple[dict[str, str], dict[str, Any]]:
    hr = login(client, reg.username)
    (summary,) = client.get(f"{API}/claim-batches", headers=hr).json()
    return hr, client.get(f"{API}/claim-batches/{summary['id']}", headers=hr).json()


def test_apply_from_the_certificate_page_and_follow_it(
    client: TestClient, engine: Any, clock: Any
) -> None:
    w = world(engine, clock)
    cert, learner = w["certs"][0], w["learners"][0]
    csrf = sign_in(client, learner.username)
    page = client.get(f"/my/certificates/{cert.serial}")
    assert page.status_code == 200
    assert 'id="apply-form"' in page.text and "参保职工技能提升补贴" in page.text
    assert 'id="subsidy-claim"' not in page.text
    url = f"/my/certificates/{cert.serial}/subsidy-application"
    form = {
        "csrf": csrf,
        "account_kind": "social_security_card",
        "account": ACCOUNT[:-1] + str((int(ACCOUNT[-1]) + 3) % 10),  # one digit mistyped
        "bank_name": "中国建设银行深圳分行",
        "declared_insured": "yes",
    }
    wrong = client.post(url, data=form)
    assert wrong.status_code == 422 and 'id="apply-error"' in wrong.text
    assert "逐位核对" in wrong.text and form["account"] in wrong.text  # kept to correct
    assert client.post(url, data={**form, "csrf": "forged"}).status_code == 403
    r = client.post(url, data={**form, "account": ACCOUNT}, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert r.headers["location"] == f"/my/certificates/{cert.serial}#subsidy-claim"
    html = client.get(r.headers["location"]).text
    assert 'id="apply-form"' not in html and "补贴申请已提交" in html
    assert ACCOUNT not in html
    assert _same(client, learner.username, cert.serial) == "filed"

    # the regulator's page shows the masked account and pays to it without retyping
    hr, b = _regulator(client, engine, w["reg"])
    csrf = sign_in(client, w["reg"].username)
    reg_page = client.get(f"/regulator/claims/{b['id']}").text
    assert 'id="application-account"' in reg_page and b["application"]["account_masked"] in reg_page
    assert ACCOUNT not in reg_page
    line_id = b["lines"][0]["id"]
    review = {"csrf": csrf, "decision": "approved"}
    assert client.post(f"/regulator/claims/lines/{line_id}/review", data=review).status_code == 200
    assert _same(client, learner.username, cert.serial) == "filed"
    sign_in(client, w["reg"].username)
    csrf = str(client.cookies.get("st_csrf") or "")
    r = client.post(f"/regulator/claims/{b['id']}/approve", data={"csrf": csrf})
    assert r.status_code == 200, r.text
    assert _same(client, learner.username, cert.serial) == "in_notice"
    clock.set(datetime(2026, 4, 12, 1, tzinfo=UTC))
    assert _same(client, learner.username, cert.serial) == "approved"
    csrf = sign_in(client, w["reg"].username)
    paid = {
        "csrf": csrf,
        "amount_yuan": "1200.00",
        "paid_on": "2026-04-12",
        "reference": "SB-20260412-0001",
        "line_id": line_id,
        "account": "",
    }
    r = client.post(f"/regulator/claims/{b['id']}/payments", data=paid, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert _same(client, learner.username, cert.serial) == "paid"
    html = client.get(f"/my/certificates/{cert.serial}").text
    assert b["application"]["account_masked"] in html and "2026-04-12" in html


def test_a_rejection_shows_its_reason_on_the_page(
    client: TestClient, engine: Any, clock: Any
) -> None:
    w = world(engine, clock)
    cert, learner = w["certs"][0], w["learners"][0]
    csrf = sign_in(client, learner.username)
    r = client.post(
        f"/my/certificates/{cert.serial}/subsidy-application",
        data={
            "csrf": csrf,
            "account_kind": "bank_card",
            "account": ACCOUNT,
            "declared_insured": "yes",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    hr, b = _regulator(client, engine, w["reg"])
    reason = "经核验社会保险记录，申请时未参加失业保险满 1 年"
    client.post(
        f"{API}/claim-lines/{b['lines'][0]['id']}/review",
        json={"decision": "rejected", "reason": reason},
        headers=hr,
    )
    assert _same(client, learner.username, cert.serial) == "rejected"
    assert _page_status(client, learner.username, cert.serial)[1] == reason


def test_no_form_where_no_programme_pays_individuals(
    client: TestClient, engine: Any, clock: Any
) -> None:
    from tests.factories import certified, make_institution, make_learner

    inst = make_institution(engine, "SZB017", region="440305")
    clock.set(datetime(2026, 2, 10, 2, tzinfo=UTC))
    learner = make_learner(engine, inst, real_name="李华")
    cert = certified(engine, learner, inst, subsidy_fen=150_000)
    csrf = sign_in(client, learner.username)
    html = client.get(f"/my/certificates/{cert.serial}").text
    assert 'id="subsidy-apply"' not in html and 'id="subsidy"' in html
    r = client.post(
        f"/my/certificates/{cert.serial}/subsidy-application",
        data={
            "csrf": csrf,
            "account_kind": "bank_card",
            "account": ACCOUNT,
            "declared_insured": "yes",
        },
    )
    assert r.status_code == 409 and 'id="apply-error"' in r.text
    assert "由培训机构申领" in r.text
