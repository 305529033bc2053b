"""The account number a learner types for a subsidy paid to them, as a Chinese input method
types it: full-width digits and hyphens, the ideographic space, are the same number; other
scripts' digits, control characters and formula-like text are refused with
``invalid_payee_account``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.claims.accounts import account_digits, mask_account
from app.claims.exceptions import InvalidPayeeAccount
from tests.claims.application_world import ACCOUNT, world
from tests.factories import login

API = "/api/v1"


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.mark.parametrize(
    "typed",
    [
        ACCOUNT,
        f"{ACCOUNT[:4]} {ACCOUNT[4:8]}-{ACCOUNT[8:]}",
        _full_width(ACCOUNT),  # ６２１７…
        _full_width(f"{ACCOUNT[:4]}-{ACCOUNT[4:]}"),  # with a full-width hyphen
        f"{ACCOUNT[:4]}\u3000{ACCOUNT[4:]}",  # the ideographic space
    ],
)
def test_the_number_as_typed_is_the_same_number(typed: str) -> None:
    assert account_digits(typed) == ACCOUNT
    assert mask_account(account_digits(typed)) == ACCOUNT[:4] + "*" * 11 + ACCOUNT[-4:]


@pytest.mark.parametrize(
    "typed",
    [
        "".join(chr(0x0660 + int(c)) for c in ACCOUNT),  # Arabic-Indic digits
        ACCOUNT[:8] + "\u200b" + ACCOUNT[8:],  # a zero-width space inside
        ACCOUNT + "\x00",
        "=" + ACCOUNT,
        "+" + ACCOUNT,
        ACCOUNT[:-1] + "x",
        "1" * 10_000,
        "",
    ],
)
def test_anything_else_is_refused(typed: str) -> None:
    with pytest.raises(InvalidPayeeAccount):
        account_digits(typed)


def test_the_regulator_records_a_payment_to_an_account_in_ascii_digits_only(
    client: Any, engine: Any, clock: Any
) -> None:
    w = world(engine, clock)
    cert, learner = w["certs"][0], w["learners"][0]
    hl = login(client, learner.username)
    r = client.post(
        f"{API}/me/certificates/{cert.serial}/subsidy-application",
        json={"account_kind": "social_security_card", "account": ACCOUNT, "declared_insured": True},
        headers=hl,
    )
    assert r.status_code == 201, r.text
    hr = login(client, w["reg"].username)
    (summary,) = client.get(f"{API}/claim-batches", headers=hr).json()
    (line,) = client.get(f"{API}/claim-batches/{summary['id']}", headers=hr).json()["lines"]
    review = {"decision": "approved"}
    assert client.post(f"{API}/claim-lines/{line['id']}/review", json=review, headers=hr).is_success
    assert client.post(f"{API}/claim-batches/{summary['id']}/approve", headers=hr).is_success
    clock.set(datetime(2026, 4, 12, 1, tzinfo=UTC))  # the 7-day notice is over
    hr = login(client, w["reg"].username)
    pay = {"amount_fen": 120_000, "paid_on": "2026-04-12", "line_id": line["id"]}
    url = f"{API}/claim-batches/{summary['id']}/payments"
    arabic = "".join(chr(0x0660 + int(c)) for c in "6217001234")  # isdigit() is true
    for n, account in enumerate((arabic, "²" * 12 + "\u200b", "=1+2" * 4)):
        r = client.post(url, json={**pay, "account": account, "reference": f"R{n}"}, headers=hr)
        assert r.status_code == 422, (account, r.text)
        assert r.json()["code"] in ("invalid_claim_input", "invalid_text"), r.text
    typed = _full_width("6217-0012-3456")  # a regulator's input method
    r = client.post(url, json={**pay, "account": typed, "reference": "SB-1"}, headers=hr)
    assert r.status_code == 201, r.text
    assert r.json()["account_masked"] == "6217" + "*" * 4 + "3456"
